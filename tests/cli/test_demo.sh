#!/usr/bin/env bash
# The README's main command (scripts/demo.sh) runs end to end on the built
# CLI and reaches its final state: v2 confirmed, v3 rolled back.
. "$(dirname "$0")/lib.sh"
expect_status 0 env MPOTA_BUILD_DIR="$(dirname "$MPOTA")" bash "$MPOTA_SRC/scripts/demo.sh"
expect_err 'full flash image'
expect_out 'device flash byte-identical'
expect_out 'rebooted into ota_1'
expect_out 'state PENDING_VERIFY'
expect_out 'rolled back'
expect_out 'demo complete'
finish
