#!/usr/bin/env bash
# `mpota flash`: a device as esptool leaves it, then MicroPython's
# partition_ota.py otadata trace (SPEC §3.13) step by step with set-boot / boot
# / confirm, checking the otadata bytes after each step; refusals; and power
# cuts injected from outside with MPOTA_FLASH_FAIL_AFTER.
. "$(dirname "$0")/lib.sh"
need_testdata
IMG="$TESTDATA/images"
PT="$TESTDATA/partition-tables"

# otadata sector N (0 or 1) first 32 bytes as hex (otadata at 0xd000).
otadata() { od -An -v -tx1 -j $((0xd000 + 0x1000 * $1)) -N 32 dev.flash | tr -d ' \n'; }
FF20=ffffffffffffffffffffffffffffffffffffffff   # seq_label, 20 bytes of 0xFF
BLANK=$(printf 'ff%.0s' $(seq 32))
entry() { echo "$1$FF20$2$3"; }  # seq(le) state(le) crc(le)
SEQ1=01000000; CRC1=9a984347      # 0x4743989A
SEQ2=02000000; CRC2=7437f655      # 0x55F63774
SEQ3=03000000; CRC3=11504aed      # 0xED4A5011
NEW=00000000; PENDING=01000000; VALID=02000000; ABORTED=04000000
expect_otadata() {
  local s0 s1; s0=$(otadata 0); s1=$(otadata 1)
  if [ "$s0" = "$1" ] && [ "$s1" = "$2" ]; then ok; else fail "otadata after $3: $s0 / $s1, want $1 / $2"; fi
}

expect_status 0 "$MPOTA" flash new dev.flash --size 4M --table "$PT/micropython/partitions-4MiB-ota.csv" --app "$IMG/app-v1.0.1.bin"
[ "$(stat -c %s dev.flash)" -eq $((4 * 1024 * 1024)) ] && ok || fail "flash file is not 4 MiB"
cmp -s <(dd if=dev.flash bs=4096 skip=8 count=1 2>/dev/null | head -c 3072) "$PT/micropython/partitions-4MiB-ota.bin" && ok || fail "table not at 0x8000"
cmp -s <(dd if=dev.flash bs=65536 skip=1 2>/dev/null | head -c 65680) "$IMG/app-v1.0.1.bin" && ok || fail "app not in ota_0"
expect_otadata "$BLANK" "$BLANK" "flash new"

expect_status 0 "$MPOTA" flash status dev.flash --json
expect_json 'j["boot"], j["next_update"]' "('ota_0', 'ota_1')"
expect_json '[(s["label"], s["valid"], s["version"]) for s in j["slots"]]' "[('ota_0', True, 'v1.0.1'), ('ota_1', False, None)]"
expect_json '[e["crc_valid"] for e in j["otadata"]]' "[False, False]"

# Step 1: first boot on blank otadata boots ota_0 and writes {1, VALID}.
expect_status 0 "$MPOTA" flash boot dev.flash --json
expect_json 'j["booted"]' ota_0
expect_otadata "$(entry $SEQ1 $VALID $CRC1)" "$BLANK" "first boot"

# Step 2: copy to ota_1 and set_boot(ota_1) -> sector 1 {2, NEW}; reset -> PENDING_VERIFY.
expect_status 0 "$MPOTA" flash write-slot dev.flash ota_1 "$IMG/app-v1.0.1.bin"
expect_status 0 "$MPOTA" flash set-boot dev.flash ota_1
expect_otadata "$(entry $SEQ1 $VALID $CRC1)" "$(entry $SEQ2 $NEW $CRC2)" "set-boot ota_1"
expect_status 0 "$MPOTA" flash boot dev.flash --json
expect_json 'j["booted"]' ota_1
expect_otadata "$(entry $SEQ1 $VALID $CRC1)" "$(entry $SEQ2 $PENDING $CRC2)" "boot into ota_1"

# Step 3: no confirmation, reset -> ABORTED, back to ota_0.
expect_status 0 "$MPOTA" flash boot dev.flash --json
expect_json 'j["booted"]' ota_0
expect_otadata "$(entry $SEQ1 $VALID $CRC1)" "$(entry $SEQ2 $ABORTED $CRC2)" "unconfirmed reset"

# Step 4: set_boot(ota_1) again, boot, confirm, reset -> still ota_1.
expect_status 0 "$MPOTA" flash set-boot dev.flash ota_1
expect_otadata "$(entry $SEQ1 $VALID $CRC1)" "$(entry $SEQ2 $NEW $CRC2)" "set-boot ota_1 again"
expect_status 0 "$MPOTA" flash boot dev.flash
expect_status 0 "$MPOTA" flash confirm dev.flash
expect_otadata "$(entry $SEQ1 $VALID $CRC1)" "$(entry $SEQ2 $VALID $CRC2)" "confirm"
expect_status 0 "$MPOTA" flash boot dev.flash --json
expect_json 'j["booted"]' ota_1

# Step 5: set_boot(ota_0) -> sector 0 {3, NEW}; boot; confirm.
expect_status 0 "$MPOTA" flash set-boot dev.flash ota_0
expect_otadata "$(entry $SEQ3 $NEW $CRC3)" "$(entry $SEQ2 $VALID $CRC2)" "set-boot ota_0"
expect_status 0 "$MPOTA" flash boot dev.flash --json
expect_json 'j["booted"]' ota_0
expect_status 0 "$MPOTA" flash confirm dev.flash
expect_otadata "$(entry $SEQ3 $VALID $CRC3)" "$(entry $SEQ2 $VALID $CRC2)" "final confirm"

# Status tells it plainly.
expect_status 0 "$MPOTA" flash status dev.flash --json
expect_json 'j["boot"], j["next_update"]' "('ota_0', 'ota_1')"
expect_json '[(e["seq"], e["state"], e["crc_valid"]) for e in j["otadata"]]' "[(3, 'VALID', True), (2, 'VALID', True)]"
expect_json '[s["state"] for s in j["slots"]]' "['VALID', 'VALID']"

# Explicit rollback: ota_1 holds a valid app, so rolling back from ota_0 works,
# and ends, as esp_ota_mark_app_invalid_rollback_and_reboot does, with the
# previous app running.
expect_status 0 "$MPOTA" flash rollback dev.flash
expect_out '^ota_0 marked INVALID$'
expect_out '^rebooted: ota_1 runs$'
expect_status 0 "$MPOTA" flash status dev.flash --json
expect_json 'j["running"]' ota_1
expect_status 0 "$MPOTA" flash boot dev.flash --json
expect_json 'j["booted"]' ota_1

# Refusals change nothing.
cp dev.flash before.flash
expect_status 1 "$MPOTA" flash set-boot dev.flash nvs
expect_status 1 "$MPOTA" flash set-boot dev.flash nosuchlabel
expect_err 'nosuchlabel'
head -c 30000 "$IMG/app-v2.0.0-ota.bin" > short.bin
expect_status 1 "$MPOTA" flash write-slot dev.flash ota_0 short.bin
expect_err 'truncated'
expect_status 1 "$MPOTA" flash write-slot dev.flash ota_0 "$PT/micropython/partitions-4MiB-ota.bin"
expect_err 'partition table'
expect_status 1 "$MPOTA" flash write-slot dev.flash ota_1 "$IMG/app-v2.0.0-ota.bin"
expect_err 'running app'
same_bytes dev.flash before.flash

# The device is an ESP32 (the chip of its first app): an ESP32-S3 app is refused.
expect_status 0 "$MPOTA" flash status dev.flash --json
expect_json 'j["chip"]' ESP32
"$MPOTA" image build -o s3.bin --size 200000 --chip esp32s3 >/dev/null
expect_status 1 "$MPOTA" flash write-slot dev.flash ota_0 s3.bin
expect_err 'built for ESP32-S3'
same_bytes dev.flash before.flash

# Without --chip a new device is the chip of its first app.
expect_status 0 "$MPOTA" flash new s3.flash --size 4M --table "$PT/micropython/partitions-4MiB-ota.bin" --app s3.bin
expect_status 0 "$MPOTA" flash status s3.flash --json
expect_json 'j["chip"]' ESP32-S3

# A fresh device whose only app is running cannot roll back.
expect_status 0 "$MPOTA" flash new solo.flash --size 4M --table "$PT/micropython/partitions-4MiB-ota.bin" --app "$IMG/app-v2.0.0-ota.bin"
expect_status 0 "$MPOTA" flash boot solo.flash
expect_status 1 "$MPOTA" flash rollback solo.flash
expect_err 'rollback'

# Power cut from outside: the first otadata write of a boot is torn, exit 75;
# the next boot still boots the app.
expect_status 0 "$MPOTA" flash new cut.flash --size 4M --table "$PT/micropython/partitions-4MiB-ota.bin" --app "$IMG/app-v1.0.1.bin"
MPOTA_FLASH_FAIL_AFTER=1 expect_status 75 "$MPOTA" flash boot cut.flash
expect_status 0 "$MPOTA" flash boot cut.flash --json
expect_json 'j["booted"]' ota_0
expect_status 0 "$MPOTA" flash write-slot cut.flash ota_1 "$IMG/app-v2.0.0-ota.bin"
for n in 1 2; do
  # ota_1 boots pending verification; confirm's rewrite is cut at its erase
  # (1) or its program (2): either app may boot, but one always does.
  expect_status 0 "$MPOTA" flash set-boot cut.flash ota_1
  expect_status 0 "$MPOTA" flash boot cut.flash --json
  expect_json 'j["booted"]' ota_1
  MPOTA_FLASH_FAIL_AFTER=$n expect_status 75 "$MPOTA" flash confirm cut.flash
  expect_status 0 "$MPOTA" flash boot cut.flash --json
  expect_json 'j["booted"] in ("ota_0", "ota_1")' True
done

# Usage errors.
expect_status 2 "$MPOTA" flash new x.flash
expect_status 2 "$MPOTA" flash boot
# A flash size the emulator cannot make is a bad --size value: usage.
expect_status 2 "$MPOTA" flash new x.flash --size 3M --table "$PT/micropython/partitions-4MiB-ota.bin"
expect_err '^mpota: --size: a size from 2M to 32M, a power of two .* got .3M.$'

finish
