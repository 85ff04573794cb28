#!/usr/bin/env bash
# Signed updates through `mpota flash update` (issue 12): a device whose
# running app is signed accepts only that app's keys without being asked;
# --key / --key-digest add keys; --require-signature refuses unsigned images;
# --one-block reads block 0 only (ESP32 rev 3, C2). Images signed by espsecure
# (tests/vectors/sbv2) and by `mpota image sign` (a 1.4 MB ESP32 app, also
# served by a real nginx). Every refusal names the signing keys and the
# trusted ones, and leaves otadata and the running slot byte-identical.
. "$(dirname "$0")/lib.sh"
RIG="$MPOTA_SRC/tests/integration"
V="$MPOTA_SRC/tests/vectors/sbv2"
M="$MPOTA"
hexof() { od -An -tx1 "$1" | tr -d ' \n'; }
RSA=$(hexof "$V/rsa3072.digest"); EC256=$(hexof "$V/ec256.digest")

"$M" part make --layout ota --flash-size 4M -o table.csv >/dev/null || fail "part make"
OTA0=$((0x10000)) OTA1=$((0x190000)) SLOT=$((0x180000)) OTADATA=$((0xD000))
part() { dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) 2>/dev/null | sha256sum; }
# device APP: a device running APP (booted, confirmed), kept as dev0.flash.
device() {
  rm -f dev.flash dev.flash.state
  "$M" flash new dev.flash --size 4M --table table.csv --app "$1" >/dev/null &&
    "$M" flash boot dev.flash >/dev/null || fail "device $1"
  cp dev.flash dev0.flash
}
# refused CODE IMAGE [OPTIONS]: exit 1 with CODE; otadata and ota_0 unchanged.
refused() {
  local code=$1 img=$2; shift 2
  expect_status 1 "$M" flash update dev.flash "$img" "$@" --json
  expect_json 'j["code"]' "$code"
  [ "$(part dev.flash $OTA0 $SLOT)$(part dev.flash $OTADATA 8192)" = \
    "$(part dev0.flash $OTA0 $SLOT)$(part dev0.flash $OTADATA 8192)" ] && ok ||
    fail "$code: otadata or the running slot changed"
}
accepted() {
  local img=$1; shift
  cp dev0.flash dev.flash
  expect_status 0 "$M" flash update dev.flash "$img" "$@" --json
  expect_json 'j["ok"], j["slot"]' "(True, 'ota_1')"
  cp dev0.flash dev.flash
}

# --- a signed running app trusts its own keys, unasked -------------------------
device "$V/rsa.bin"
refused MPOTA_ERR_SIG_UNTRUSTED "$V/ec256.bin"
refused MPOTA_ERR_SIG_MISSING "$V/app.bin"
accepted "$V/rsa2.bin"
accepted "$V/rsa_appended.bin"
# The facts, in words: the signing key, the trusted keys and where from.
expect_status 1 "$M" flash update dev.flash "$V/ec256.bin"
expect_err "^mpota: image is signed, but by no trusted key: the block at 0x2000 is by key ${EC256:0:16} \(keys trusted: 1\)"
expect_err "^  block 0: ECDSA P-256, key digest $EC256: valid$"
expect_err "^trusted:$"
expect_err "^  key digest $RSA \(the running app\)$"
# --key / --key-digest add keys.
accepted "$V/ec256.bin" --key "$V/ec256.pub.pem"
accepted "$V/ec256.bin" --key-digest "$EC256"
expect_status 0 "$M" flash update dev.flash "$V/ec256.bin" --key "$V/ec256.pem" --json
expect_json '[(t["key_digest"], t["from"]) for t in j["trusted"]]' \
  "[('$RSA', 'the running app'), ('$EC256', '$V/ec256.pem')]"
cp dev0.flash dev.flash

# --- damage -------------------------------------------------------------------
python3 - "$V" <<'PY' || fail "make damaged images"
import struct, sys, zlib
b = bytearray(open(sys.argv[1] + "/rsa.bin", "rb").read())
p = bytearray(b); p[7000] ^= 1; open("padding.bin", "wb").write(p)
f = bytearray(b); f[8192 + 900] ^= 1
f[8192 + 1196:8192 + 1200] = struct.pack("<I", zlib.crc32(bytes(f[8192:8192 + 1196])))
open("forged.bin", "wb").write(f)
c = bytearray(b); c[8192 + 1196] ^= 1; open("crc.bin", "wb").write(c)
open("cut.bin", "wb").write(b[:8192 + 600])
open("extra.bin", "wb").write(b + b"\xff" * 8192)
# rsa2.bin's blocks swapped: block 0 by rsa3072_b, block 1 by rsa3072.
r = bytearray(open(sys.argv[1] + "/rsa2.bin", "rb").read())
r[8192:8192 + 1216], r[8192 + 1216:8192 + 2432] = r[8192 + 1216:8192 + 2432], r[8192:8192 + 1216]
open("swapped.bin", "wb").write(r)
PY
refused MPOTA_ERR_SIG_DIGEST padding.bin
refused MPOTA_ERR_SIG_INVALID forged.bin
refused MPOTA_ERR_SIG_CORRUPT crc.bin
refused MPOTA_ERR_SIG_CORRUPT cut.bin
accepted extra.bin
accepted swapped.bin
refused MPOTA_ERR_SIG_UNTRUSTED swapped.bin --one-block

# --- an unsigned running app: nothing asked, nothing checked --------------------
device "$V/app.bin"
accepted "$V/app.bin"
accepted "$V/ec256.bin"
refused MPOTA_ERR_SIG_MISSING "$V/app.bin" --require-signature
accepted "$V/ec384.bin" --require-signature
refused MPOTA_ERR_SIG_UNTRUSTED "$V/ec384.bin" --key "$V/ec256.pub.pem"
# A bad key file is refused before the device is opened.
cp dev0.flash dev.flash
expect_status 1 "$M" flash update dev.flash "$V/app.bin" --key "$V/bad/rsa2048.pem"
expect_err "RSA-3072"
cmp -s dev.flash dev0.flash && ok || fail "a bad key file changed the flash"

# --- a 1.4 MB ESP32 app signed by mpota, over HTTP -------------------------------
"$M" image build -o v1.bin --size 1300000 --version v1.0.0 --seed 1 >/dev/null &&
  "$M" image build -o v2.bin --size 1400000 --version v2.0.0 --seed 2 >/dev/null || fail "image build"
mkdir -p www run
"$M" image sign v1.bin --key "$V/rsa3072.pem" -o v1s.bin >/dev/null &&
  "$M" image sign v2.bin --key "$V/rsa3072.pem" -o www/v2s.bin >/dev/null &&
  "$M" image sign v2.bin --key "$V/rsa3072_b.pem" -o www/v2b.bin >/dev/null || fail "image sign"
if ! ports=$(bash "$RIG/nginx_rig.sh" start "$WORK/run" "$WORK/www" $$ 120 2>"$WORK/rig.err"); then
  cat "$WORK/rig.err"; echo "FAIL: nginx rig did not start"; exit 1
fi
trap 'bash "$RIG/nginx_rig.sh" stop "$WORK/run" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
read -r PORT _ <<<"$ports"
device v1s.bin
refused MPOTA_ERR_SIG_UNTRUSTED "http://127.0.0.1:$PORT/files/v2b.bin"
cp dev0.flash dev.flash
expect_status 0 "$M" flash update dev.flash "http://127.0.0.1:$PORT/files/v2s.bin" --reboot --confirm --json
expect_json 'j["ok"], j["booted"]' "(True, 'ota_1')"
finish
