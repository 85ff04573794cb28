#!/usr/bin/env bash
# Anti-rollback on the emulated device (CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK):
# the chip's security version lives in <flash>.efuse and only grows. An
# update below it is refused before anything is erased; confirming an app
# raises it; the bootloader skips apps below it and falls back as ESP-IDF's
# does. Then a power-cut sweep over an update + boot + confirm that raises
# the counter by 4 bits: a cut at every flash operation and every eFuse bit
# burn leaves a device that boots a valid app with the counter between the
# old and the new value.
. "$(dirname "$0")/lib.sh"

M="$MPOTA"
for v in 1 2 3 4 6; do
  "$M" image build -o sv$v.bin --size $((160000 + v * 4000)) --version v$v.0.0 \
    --secure-version $v --seed $v >/dev/null
done
"$M" image build -o sv40.bin --size 160000 --version v40 --secure-version 40 --seed 9 >/dev/null
"$M" part make --layout ota --flash-size 4M -o table.bin >/dev/null

counter() {  # the security version that `flash status --json` shows
  "$M" flash status dev.flash --json >status.json && json_get status.json 'j["security_version"]'
}
LAST=0
expect_counter() {  # N: the counter is N and never went down
  local got; got=$(counter)
  if [ "$got" = "$1" ]; then ok; else fail "security version $got, want $1"; fi
  if [ "$got" -ge "$LAST" ]; then ok; else fail "security version went down: $LAST -> $got"; fi
  LAST=$got
}

# Bad input changes nothing: a counter beyond ESP32-C2's 4-bit field (or
# any 32-bit one), an app below the counter, --security-version without
# --anti-rollback.
expect_status 1 "$M" flash new dev.flash --size 4M --table table.bin --chip ESP32-C2 \
  --anti-rollback --security-version 5
expect_err 'security-version 5 is more than the ESP32-C2 eFuse field can count \(4 bits.*at most 4'
expect_status 2 "$M" flash new dev.flash --size 4M --table table.bin --anti-rollback \
  --security-version 33
expect_status 2 "$M" flash new dev.flash --size 4M --table table.bin --security-version 2
expect_status 1 "$M" flash new dev.flash --size 4M --table table.bin --app sv1.bin \
  --anti-rollback --security-version 2
expect_err "secure_version is 1, below the chip's security version 2"
if [ ! -e dev.flash ] && [ ! -e dev.flash.efuse ]; then ok; else fail "a refused flash new left files"; fi

# The device: v2 (secure_version 2) in ota_0, counter 2.
expect_status 0 "$M" flash new dev.flash --size 4M --table table.bin --app sv2.bin \
  --anti-rollback --security-version 2
expect_out 'anti-rollback on, security version 2'
expect_status 0 "$M" flash boot dev.flash
expect_status 0 "$M" flash status dev.flash --json
expect_json 'j["anti_rollback"], j["security_version"], j["security_version_bits"]' "(True, 2, 32)"
expect_counter 2

# An update below the counter: refused before any erase, the flash
# byte-identical, both numbers and what to do in the message.
cp dev.flash before.flash
expect_status 1 "$M" flash update dev.flash sv1.bin
expect_err "secure_version is 1, below the chip's security version 2"
expect_err 'CONFIG_BOOTLOADER_APP_SECURE_VERSION=2 or higher'
same_bytes dev.flash before.flash
expect_status 1 "$M" flash update dev.flash sv40.bin
expect_err 'secure_version is 40, but the .* field counts at most 32'
same_bytes dev.flash before.flash
expect_counter 2

# v3, never confirmed: the next reset rolls back to v2, which still passes
# (the counter is raised only by a confirmation).
expect_status 0 "$M" flash update dev.flash sv3.bin
expect_status 0 "$M" flash boot dev.flash
expect_out 'booted ota_1'
expect_status 0 "$M" flash boot dev.flash --json
expect_json 'j["booted"], j["skipped"], j["raised_to"]' "('ota_0', [], None)"
expect_counter 2

# v3 again, confirmed: the counter becomes 3; v2 in ota_0 is now below it.
expect_status 0 "$M" flash update dev.flash sv3.bin
expect_status 0 "$M" flash boot dev.flash
expect_status 0 "$M" flash confirm dev.flash
expect_out 'security version raised from 2 to 3'
expect_counter 3
expect_status 0 "$M" flash status dev.flash
expect_out 'secure_version 2 \(below the security version'
# No rollback to it (esp_ota_check_rollback_is_possible), nothing written.
cp dev.flash before.flash
expect_status 1 "$M" flash rollback dev.flash
same_bytes dev.flash before.flash
# set-boot of it is refused with the numbers, otadata untouched.
expect_status 1 "$M" flash set-boot dev.flash ota_0
expect_err "secure_version is 2, below the chip's security version 3"
same_bytes dev.flash before.flash

# The bootloader: with v3 broken, v2 is skipped and nothing is left to boot,
# as on ESP-IDF; once ota_0 holds v4 (esptool), the fallback boots it, and
# its VALID record raises the counter to 4.
head -c 4096 /dev/zero >zeros.bin
expect_status 0 "$M" flash write-slot --force dev.flash ota_1 zeros.bin
expect_status 1 "$M" flash boot dev.flash
expect_out "skipped ota_0: its secure_version 2 is below the chip's security version 3"
expect_err 'no bootable app'
expect_status 0 "$M" flash write-slot dev.flash ota_0 sv4.bin
expect_status 0 "$M" flash boot dev.flash --json
expect_json 'j["booted"], [s["label"] for s in j["skipped"]], j["raised_to"], j["security_version"]' \
  "('ota_0', ['ota_1'], 4, 4)"
expect_counter 4

# --- Power cuts --------------------------------------------------------------
# From counter 2 with v2 running, v6 is installed and confirmed: 4 bits. Each
# cut is followed by a reset that must boot a valid app; the counter must lie
# in [2, 6] and never decrease; a second reset must boot too.
expect_status 0 "$M" flash new dev.flash --size 4M --table table.bin --app sv2.bin \
  --anti-rollback --security-version 2
expect_status 0 "$M" flash boot dev.flash
for f in dev.flash dev.flash.state dev.flash.efuse; do cp $f template.${f#dev.}; done
fresh() { for f in flash flash.state flash.efuse; do cp template.$f dev.$f; done; LAST=2; }

after_cut() {  # TAG: resets boot a valid app, the counter in [2, 6]
  local booted c
  for reset in 1 2; do
    "$M" flash boot dev.flash --json >boot.json 2>boot.err
    read -r booted c < <(json_get boot.json '"%s %s" % (j["booted"] is not None, j["security_version"])')
    if [ "$booted" = True ]; then ok
    else fail "$1: reset $reset booted nothing: $(cat boot.err)"; fi
    if [ "$c" -ge 2 ] && [ "$c" -le 6 ] && [ "$c" -ge "$LAST" ]; then ok
    else fail "$1: security version $c after reset $reset (last $LAST)"; fi
    LAST=$c
  done
}

# The clean cycle, to count its operations.
fresh
expect_status 0 "$M" flash update dev.flash sv6.bin --json
update_ops=$(json_get "$WORK/out" 'j["flash_ops"]["erase"] + j["flash_ops"]["program"]')
expect_status 0 "$M" flash boot dev.flash
expect_status 0 "$M" flash confirm dev.flash
expect_out 'raised from 2 to 6'
expect_counter 6

cuts=0 update_cuts=0
# POWERLOSS_STRIDE=K cuts every K-th operation only (the sanitizer build).
for ((n = 1; n <= update_ops; n += ${POWERLOSS_STRIDE:-1})); do
  fresh
  MPOTA_FLASH_FAIL_AFTER=$n expect_status 75 "$M" flash update dev.flash sv6.bin
  after_cut "update cut $n"; cuts=$((cuts + 1)); update_cuts=$((update_cuts + 1))
done
for n in 1 2; do
  fresh
  expect_status 0 "$M" flash update dev.flash sv6.bin
  MPOTA_FLASH_FAIL_AFTER=$n expect_status 75 "$M" flash boot dev.flash
  after_cut "boot cut $n"; cuts=$((cuts + 1))
done
for n in 1 2; do
  fresh
  expect_status 0 "$M" flash update dev.flash sv6.bin
  expect_status 0 "$M" flash boot dev.flash
  MPOTA_FLASH_FAIL_AFTER=$n expect_status 75 "$M" flash confirm dev.flash
  after_cut "confirm flash cut $n"; cuts=$((cuts + 1))
done
# The burns of confirm: before bit 1, 2, 3, 4. otadata says VALID already,
# so the next reset finishes the raise.
for n in 1 2 3 4; do
  fresh
  expect_status 0 "$M" flash update dev.flash sv6.bin
  expect_status 0 "$M" flash boot dev.flash
  MPOTA_EFUSE_FAIL_AFTER=$n expect_status 75 "$M" flash confirm dev.flash
  got=$(counter)
  if [ "$got" = $((2 + n - 1)) ]; then ok; else fail "eFuse cut $n left counter $got"; fi
  LAST=$got
  after_cut "confirm eFuse cut $n"; cuts=$((cuts + 1))
  expect_counter 6
done
# The bootloader's own raise, cut at each bit: a VALID v6 record with the
# counter still 2 (a copy of the chip's eFuses from before the confirm).
fresh
expect_status 0 "$M" flash update dev.flash sv6.bin
expect_status 0 "$M" flash boot dev.flash
MPOTA_EFUSE_FAIL_AFTER=1 expect_status 75 "$M" flash confirm dev.flash
cp dev.flash valid6.flash
cp dev.flash.state valid6.flash.state
for n in 1 2 3 4; do
  cp valid6.flash dev.flash; cp valid6.flash.state dev.flash.state
  cp template.flash.efuse dev.flash.efuse; LAST=2
  MPOTA_EFUSE_FAIL_AFTER=$n expect_status 75 "$M" flash boot dev.flash
  after_cut "boot eFuse cut $n"; cuts=$((cuts + 1))
  expect_counter 6
done
echo "anti-rollback: $cuts power cuts checked ($update_cuts of the update's $update_ops operations)"
finish
