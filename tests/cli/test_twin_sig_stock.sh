#!/usr/bin/env bash
# test_twin_sig.sh on stock firmware (the pure-Python engine).
OTA_STOCK=1 . "$(dirname "$0")/test_twin_sig.sh"
