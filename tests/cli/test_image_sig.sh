#!/usr/bin/env bash
# `mpota image info` on Secure Boot V2 signed images (tests/vectors/sbv2, made
# by espsecure): every block with its scheme and key digest (espsecure's
# digest_sbv2_public_key), valid or why not; none for an unsigned image.
. "$(dirname "$0")/lib.sh"
V="$MPOTA_SRC/tests/vectors/sbv2"
hexof() { od -An -tx1 "$1" | tr -d ' \n'; }
RSA=$(hexof "$V/rsa3072.digest"); RSA_B=$(hexof "$V/rsa3072_b.digest")
EC256=$(hexof "$V/ec256.digest"); EC384=$(hexof "$V/ec384.digest")

expect_status 0 "$MPOTA" image info "$V/rsa3.bin" --json
expect_json 'j["signature"]["sector_offset"]' 8192
expect_json '[(b["slot"], b["scheme"], b["key_digest"], b["valid"]) for b in j["signature"]["blocks"]]' \
  "[(0, 'RSA-3072', '$RSA', True), (1, 'RSA-3072', '$RSA_B', True), (2, 'RSA-3072', '$RSA', True)]"
expect_status 0 "$MPOTA" image info "$V/ec256.bin" --json
expect_json '[(b["scheme"], b["key_digest"], b["valid"]) for b in j["signature"]["blocks"]]' \
  "[('ECDSA P-256', '$EC256', True)]"
expect_status 0 "$MPOTA" image info "$V/ec384.bin" --json
expect_json '[(b["scheme"], b["key_digest"], b["valid"]) for b in j["signature"]["blocks"]]' \
  "[('ECDSA P-384', '$EC384', True)]"
expect_status 0 "$MPOTA" image info "$V/ec384.bin"
grep -qxF "  block 0: ECDSA P-384, key digest $EC384: valid" "$WORK/out" && ok ||
  fail "text info lacks the P-384 block line"

# Unsigned: no sector after the image.
expect_status 0 "$MPOTA" image info "$V/app.bin" --json
expect_json 'j["signature"]' None
expect_status 0 "$MPOTA" image info "$V/app.bin"
grep -qF "Signature: none" "$WORK/out" && ok || fail "unsigned image not said so"

# A byte of the 0xFF padding changed: the image still parses; the block no
# longer signs it.
python3 - "$V/rsa2.bin" padded.bin <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[7000] ^= 1
open(sys.argv[2], "wb").write(b)
PY
expect_status 0 "$MPOTA" image info padded.bin --json
expect_json '[(b["valid"], b["code"]) for b in j["signature"]["blocks"]]' \
  "[(False, 'MPOTA_ERR_SIG_DIGEST'), (False, 'MPOTA_ERR_SIG_DIGEST')]"
expect_json '"padding included" in j["signature"]["blocks"][0]["error"]' True

# Extra padding after the sector: the sector is found from the image.
cat "$V/ec256.bin" > extra.bin; head -c 8192 /dev/zero | tr '\0' '\377' >> extra.bin
expect_status 0 "$MPOTA" image info extra.bin --json
expect_json '[(b["key_digest"], b["valid"]) for b in j["signature"]["blocks"]]' "[('$EC256', True)]"

finish
