#!/usr/bin/env bash
# Secure Boot V2 on the emulated chip (issue 12): `flash new --trust PEM
# [--revoke N]` burns key digests into its eFuses; `flash status` shows them;
# updates must be signed by an unrevoked eFuse key (the running app's keys
# and --key no longer count); set-boot and the bootloader check the same, so
# an app whose signature broke on flash is not started and the device falls
# back. ESP32 has one key slot and reads signature block 0 only. Every
# refusal leaves otadata and the running slot byte-identical; a refused
# `flash new` leaves no file.
. "$(dirname "$0")/lib.sh"
V="$MPOTA_SRC/tests/vectors/sbv2"
M="$MPOTA"
hexof() { od -An -tx1 "$1" | tr -d ' \n'; }
RSA=$(hexof "$V/rsa3072.digest"); RSA_B=$(hexof "$V/rsa3072_b.digest")
"$M" part make --layout ota --flash-size 4M -o table.csv >/dev/null || fail "part make"
OTA0=$((0x10000)) OTA1=$((0x190000)) SLOT=$((0x180000)) OTADATA=$((0xD000))
part() { dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) 2>/dev/null | sha256sum; }
untouched() {
  [ "$(part dev.flash $OTA0 $SLOT)$(part dev.flash $OTADATA 8192)" = \
    "$(part dev0.flash $OTA0 $SLOT)$(part dev0.flash $OTADATA 8192)" ] && ok || fail "$1: changed otadata or ota_0"
}
restore() { for f in "" .state .efuse; do cp "dev0.flash$f" "dev.flash$f"; done; }
keep() { for f in "" .state .efuse; do cp "dev.flash$f" "dev0.flash$f"; done; }
refused() {  # refused CODE IMAGE [OPTIONS]
  local code=$1 img=$2; shift 2
  restore
  expect_status 1 "$M" flash update dev.flash "$img" "$@" --json
  expect_json 'j["code"]' "$code"
  untouched "$code"
}
"$M" image sign "$V/app.bin" --key "$V/rsa3072_b.pem" -o b_only.bin >/dev/null || fail "image sign"

# --- flash new refuses what could not work, and leaves nothing ------------------
expect_status 1 "$M" flash new x.flash --size 4M --table table.csv --app "$V/app.bin" --trust "$V/rsa3072.pub.pem"
expect_err "secure boot would never start it"
expect_status 1 "$M" flash new x.flash --size 4M --table table.csv --app "$V/rsa.bin" --trust "$V/rsa3072.pub.pem" --revoke 0
expect_err "every trusted key would be revoked"
expect_status 1 "$M" flash new x.flash --size 4M --table table.csv --app "$V/rsa.bin" --trust "$V/rsa3072.pub.pem" --revoke 2
expect_err "slot 2 holds no key"
expect_status 1 "$M" flash new x.flash --size 4M --table table.csv --chip esp32 --trust "$V/rsa3072.pub.pem" --trust "$V/rsa3072_b.pub.pem"
expect_err "ESP32 has 1 key digest slot"
expect_status 2 "$M" flash new x.flash --size 4M --table table.csv --revoke 0
[ ! -e x.flash ] && [ ! -e x.flash.efuse ] && ok || fail "a refused flash new left files"

# --- an ESP32-S3 with two keys, the second revoked ---------------------------------
expect_status 0 "$M" flash new dev.flash --size 4M --table table.csv --app "$V/rsa.bin" \
  --trust "$V/rsa3072.pub.pem" --trust "$V/rsa3072_b.pem" --revoke 1
expect_out "secure boot on \(2 keys\)"
expect_status 0 "$M" flash new j.flash --size 4M --table table.csv --app "$V/rsa.bin" \
  --trust "$V/rsa3072.pub.pem" --json
expect_json '(j["chip"], j["app_slot"], j["secure_boot"]["enabled"], [k["key_digest"] for k in j["secure_boot"]["keys"]])' \
  "('ESP32-S3', 'ota_0', True, ['$RSA'])"
expect_status 0 "$M" flash boot dev.flash
expect_status 0 "$M" flash status dev.flash --json
expect_json '(j["secure_boot"]["enabled"], [(k["slot"], k["key_digest"], k["revoked"]) for k in j["secure_boot"]["keys"]])' \
  "(True, [(0, '$RSA', False), (1, '$RSA_B', True)])"
expect_status 0 "$M" flash status dev.flash
expect_out "^  key digest 1: $RSA_B \(revoked\)$"
keep
refused MPOTA_ERR_SIG_MISSING "$V/app.bin"
refused MPOTA_ERR_SIG_UNTRUSTED "$V/ec256.bin"
refused MPOTA_ERR_SIG_REVOKED b_only.bin
restore
expect_status 1 "$M" flash update dev.flash "$V/ec256.bin" --key "$V/ec256.pub.pem"
expect_err "this device has secure boot"
cmp -s dev.flash dev0.flash && ok || fail "--key on a secure boot device wrote"
restore
expect_status 1 "$M" flash update dev.flash b_only.bin
expect_err "^  key digest $RSA_B \(eFuse, revoked\)$"
# set-boot checks what the bootloader will: an unsigned app written by hand.
restore
expect_status 0 "$M" flash write-slot dev.flash ota_1 "$V/app.bin"
expect_status 1 "$M" flash set-boot dev.flash ota_1
expect_err "not signed"
# Signed by the trusted key: updated, booted, confirmed.
restore
expect_status 0 "$M" flash update dev.flash "$V/rsa_appended.bin" --reboot --confirm --json
expect_json 'j["ok"], j["booted"]' "(True, 'ota_1')"
# The bootloader checks too: a signature broken on flash after the update is
# not started; the device falls back to ota_0.
restore
expect_status 0 "$M" flash update dev.flash "$V/rsa2.bin"
printf '\x00' | dd of=dev.flash bs=1 seek=$((OTA1 + 8192 + 900)) conv=notrunc 2>/dev/null
expect_status 0 "$M" flash boot dev.flash --json
expect_json 'j["booted"]' "ota_0"

# --- ESP32: one key slot, signature block 0 only -----------------------------------
"$M" image build -o e.bin --size 100000 --version v2.0.0 --seed 5 >/dev/null &&
  "$M" image build -o e1.bin --size 90000 --version v1.0.0 --seed 4 >/dev/null &&
  "$M" image sign e1.bin --key "$V/rsa3072.pem" -o e1s.bin >/dev/null &&
  "$M" image sign e.bin --key "$V/rsa3072_b.pem" --key "$V/rsa3072.pem" -o e_ba.bin >/dev/null &&
  "$M" image sign e.bin --key "$V/rsa3072.pem" --key "$V/rsa3072_b.pem" -o e_ab.bin >/dev/null ||
  fail "ESP32 images"
expect_status 0 "$M" flash new dev.flash --size 4M --table table.csv --app e1s.bin --trust "$V/rsa3072.pub.pem"
expect_status 0 "$M" flash boot dev.flash
expect_status 0 "$M" flash status dev.flash
expect_out "^Secure boot: on \(Secure Boot V2, signature block 0 only\)$"
keep
refused MPOTA_ERR_SIG_UNTRUSTED e_ba.bin
restore
expect_status 0 "$M" flash update dev.flash e_ab.bin --reboot --json
expect_json 'j["ok"], j["booted"]' "(True, 'ota_1')"
finish
