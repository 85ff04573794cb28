#!/usr/bin/env bash
# Signed updates (issue 12) on the twin: the `ota` package's key= and the
# automatic trust of a signed running app, with images espsecure signed
# (tests/vectors/sbv2). tests/mpy/ota_signed.py prints one verdict per image;
# the shell checks each against what the core decides, and that the
# refusals left otadata and the running slot byte-identical. With OTA_STOCK=1
# (test_twin_sig_stock.sh) it runs on stock firmware: the pure-Python engine
# checks RSA-3072-PSS itself and says it cannot check ECDSA.
. "$(dirname "$0")/twin_lib.sh"
M=$MPOTA
stock_mode
V=$SRC/tests/vectors/sbv2

mkdir -p fs
cp "$TESTS/ota_signed.py" "$V"/{ec256,app,rsa2}.bin "$V"/rsa3072_b.pub.pem "$V"/ec256.digest fs/
install_package fs
# rsa.bin with one byte of its 0xFF padding changed; with a signature byte
# changed and its block's CRC made right again; signed by rsa3072_b alone
# (rsa2.bin's blocks swapped, block 1 by rsa3072 removed).
python3 - "$V" fs <<'PY' || fail "make damaged images"
import struct, sys, zlib
v, fs = sys.argv[1], sys.argv[2]
b = bytearray(open(v + "/rsa.bin", "rb").read())
p = bytearray(b); p[6100] ^= 1
open(fs + "/padding.bin", "wb").write(p)
f = bytearray(b); f[8192 + 900] ^= 1
f[8192 + 1196:8192 + 1200] = struct.pack("<I", zlib.crc32(bytes(f[8192:8192 + 1196])))
open(fs + "/forged.bin", "wb").write(f)
r = bytearray(open(v + "/rsa2.bin", "rb").read())
r[8192:8192 + 1216], r[8192 + 1216:8192 + 2432] = r[8192 + 1216:8192 + 2432], b"\xff" * 1216
open(fs + "/rsa3b.bin", "wb").write(r)
PY
"$M" part make --layout ota --flash-size 4M -o table.csv >/dev/null || fail "part make"
"$M" flash new dev.flash --size 4M --table table.csv --app "$V/rsa.bin" >/dev/null || fail "flash new"
"$M" flash boot dev.flash >/dev/null || fail "flash boot"
slot() { dd if=dev.flash bs=4096 skip=$(($1 / 4096)) count=$(($2 / 4096)) 2>/dev/null | sha256sum; }
OTADATA=$((0xD000)) OTA0=$((0x10000))
before_ota0=$(slot $OTA0 16384) before_otadata=$(slot $OTADATA 8192)

expect_status 0 "$TWIN" --flash dev.flash --fs fs --max-boots 1 fs/ota_signed.py
verdict() {  # verdict IMAGE-LINE WANT
  grep -qxF "$1" "$WORK/out" && ok || { fail "want '$1'"; sed 's/^/  out: /' "$WORK/out" | head -30; }
}
verdict "ec256.bin refused: MPOTA_ERR_SIG_UNTRUSTED"
verdict "app.bin refused: MPOTA_ERR_SIG_MISSING"
verdict "rsa2.bin ok"
verdict "padding.bin refused: MPOTA_ERR_SIG_DIGEST"
verdict "forged.bin refused: MPOTA_ERR_SIG_INVALID"
verdict "rsa3b.bin ok"
verdict "ec256.bin ValueError: key: a PEM public key, a 32-byte key digest, or 64 hex digits"
key=$(od -An -tx1 -N8 "$V/ec256.digest" | tr -d ' \n')
grep -qF "image is signed, but by no trusted key: the block at 0x2000 is by key $key (keys trusted: 1)" \
  "$WORK/out" && ok || fail "untrusted: no sentence naming key $key"
if [ -n "${OTA_STOCK:-}" ]; then
  verdict "ec256.bin refused: MPOTA_ERR_SIG_SCHEME"
  grep -qF "uses ECDSA P-256, which this build cannot verify" "$WORK/out" && ok || fail "stock ECDSA"
else
  verdict "ec256.bin ok"
fi
verdict "running ota_0"
[ "$(slot $OTA0 16384)" = "$before_ota0" ] && ok || fail "the running slot changed"
# otadata changed only by the accepted updates (each selects ota_1, NEW).
"$M" flash status dev.flash --json >st.json || fail "flash status"
[ "$(json_get st.json 'j["running"], j["boot"]')" = "('ota_0', 'ota_1')" ] && ok ||
  fail "status: $(cat st.json)"
finish
