#!/usr/bin/env bash
# `mpota image sign` and `image verify --key/--key-digest` (Secure Boot V2):
# round trips for every scheme with 1, 2 and 3 keys and --append; a wrong
# key, each kind of damage, a cut sector, extra padding, an unsigned image,
# JSON; and refusals (bad keys, a 4th block, mixed schemes, no app image)
# that leave no output behind. Keys and images: tests/vectors/sbv2.
. "$(dirname "$0")/lib.sh"
V="$MPOTA_SRC/tests/vectors/sbv2"
hexof() { od -An -tx1 "$1" | tr -d ' \n'; }
RSA=$(hexof "$V/rsa3072.digest"); RSA_B=$(hexof "$V/rsa3072_b.digest")
EC256=$(hexof "$V/ec256.digest"); EC384=$(hexof "$V/ec384.digest")
# refused OUT: the last command left no OUT behind.
absent() { if [ ! -e "$1" ]; then ok; else fail "$1 written by a refused command"; rm -f "$1"; fi; }
# patch IN OUT OFFSET [reseal BLOCK_OFFSET]: one byte flipped; with reseal,
# the block's CRC made right again (zlib's crc32, as ESP-IDF's).
patch() {
  python3 - "$@" <<'PY'
import struct, sys, zlib
b = bytearray(open(sys.argv[1], "rb").read())
b[int(sys.argv[3])] ^= 1
if len(sys.argv) > 4:
    at = int(sys.argv[4])
    b[at + 1196:at + 1200] = struct.pack("<I", zlib.crc32(bytes(b[at:at + 1196])))
open(sys.argv[2], "wb").write(b)
PY
}

# Every scheme: signed, then trusted by its public key, its private key or
# its digest; the sector where the image ends, as espsecure puts it.
for k in rsa3072:$RSA ec256:$EC256 ec384:$EC384; do
  key=${k%%:*}; digest=${k#*:}
  expect_status 0 "$MPOTA" image sign "$V/app.bin" --key "$V/$key.pem" -o "$key.bin"
  expect_out "^  block 0: .*, key digest $digest: valid$"
  if [ "$(stat -c %s "$key.bin")" = 12288 ]; then ok; else fail "$key.bin is not 8 KiB + the sector"; fi
  cmp -s -n 8192 "$key.bin" "$V/${key/rsa3072/rsa}.bin" 2>/dev/null ||
    cmp -s -n 8192 "$key.bin" "$V/$key.bin" && ok || fail "$key.bin: the padded image is not espsecure's"
  expect_status 0 "$MPOTA" image verify "$key.bin" --key "$V/$key.pub.pem"
  expect_out "^Signed by a trusted key: block 0, .*, key digest $digest$"
  expect_status 0 "$MPOTA" image verify "$key.bin" --key "$V/$key.pem"
  expect_status 0 "$MPOTA" image verify "$key.bin" --key-digest "$digest"
done

# Two and three keys: any of them is trusted.
expect_status 0 "$MPOTA" image sign "$V/app.bin" --key "$V/ec256.pem" --key "$V/ec256_b.pem" -o ec2.bin
expect_status 0 "$MPOTA" image verify ec2.bin --key "$V/ec256_b.pub.pem"
expect_out "^Signed by a trusted key: block 1, ECDSA P-256"
expect_status 0 "$MPOTA" image sign "$V/app.bin" --key "$V/rsa3072.pem" --key "$V/rsa3072_b.pem" \
  --key "$V/rsa3072.pem" -o rsa3.bin
expect_status 0 "$MPOTA" image verify rsa3.bin --key-digest "$EC256" --key-digest "$RSA_B"
expect_status 0 "$MPOTA" image info rsa3.bin --json
expect_json '[(b["key_digest"], b["valid"]) for b in j["signature"]["blocks"]]' \
  "[('$RSA', True), ('$RSA_B', True), ('$RSA', True)]"

# --append keeps the image's blocks (espsecure's own here), adds the new.
expect_status 0 "$MPOTA" image sign "$V/rsa.bin" --append --key "$V/rsa3072_b.pem" -o app2.bin --json
expect_json '(j["kept"], j["added"], j["dropped"], j["output"])' "(1, 1, 0, 'app2.bin')"
expect_json '[b["key_digest"] for b in j["signature"]["blocks"]]' "['$RSA', '$RSA_B']"
cmp -s -n 9408 app2.bin "$V/rsa.bin" && ok || fail "--append changed the kept block"
expect_status 0 "$MPOTA" image verify app2.bin --key "$V/rsa3072_b.pub.pem"
# Without --append a signed image is refused; a 4th block, mixed schemes too.
expect_status 1 "$MPOTA" image sign "$V/rsa.bin" --key "$V/rsa3072_b.pem" -o out.bin
expect_err 'already signed.*--append'; absent out.bin
expect_status 1 "$MPOTA" image sign "$V/rsa3.bin" --append --key "$V/rsa3072_b.pem" -o out.bin
expect_err 'would hold 4 blocks; ESP-IDF reads at most 3'; absent out.bin
expect_status 2 "$MPOTA" image sign "$V/app.bin" --key "$V/rsa3072.pem" --key "$V/rsa3072.pem" \
  --key "$V/rsa3072.pem" --key "$V/rsa3072.pem" -o out.bin
expect_err '^mpota: --key given more than 3 times$'; absent out.bin
expect_status 1 "$MPOTA" image sign "$V/app.bin" --key "$V/rsa3072.pem" --key "$V/ec256.pem" -o out.bin
expect_err 'mix RSA-3072 and ECDSA P-256 blocks; ESP-IDF accepts one scheme'; absent out.bin
expect_status 1 "$MPOTA" image sign "$V/ec256.bin" --append --key "$V/ec384.pem" -o out.bin
expect_err 'mix ECDSA P-256 and ECDSA P-384'; absent out.bin

# A wrong key: exit 1, the blocks' keys and the trusted ones named.
expect_status 1 "$MPOTA" image verify rsa3072.bin --key "$V/ec256.pub.pem"
expect_err "^mpota: image is signed, but by no trusted key: the block at 0x2000 is by key ${RSA:0:16} \(keys trusted: 1\)"
expect_err "^  block 0: RSA-3072, key digest $RSA: valid$"
expect_err "^  key digest $EC256 \(.*ec256.pub.pem\)$"
expect_status 1 "$MPOTA" image verify rsa3072.bin --key "$V/ec256.pub.pem" --json
expect_json '(j["valid"], j["code"], j["trusted_block"], [t["key_digest"] for t in j["trusted"]])' \
  "(False, 'MPOTA_ERR_SIG_UNTRUSTED', None, ['$EC256'])"
expect_status 0 "$MPOTA" image verify ec384.bin --key "$V/ec384.pub.pem" --json
expect_json '(j["valid"], j["error"], j["trusted_block"], j["chip"], j["size"])' \
  "(True, None, 0, 'ESP32-S3', 6000)"
expect_json 'j["signature"]["blocks"][0]["scheme"]' "ECDSA P-384"

# Damage, each with its reason (sector at 8192).
patch rsa3072.bin body.bin 100
expect_status 1 "$MPOTA" image verify body.bin --key "$V/rsa3072.pub.pem"
expect_err 'image checksum .* the image is corrupt'
patch ec256.bin pad.bin 7000
expect_status 1 "$MPOTA" image verify pad.bin --key "$V/ec256.pub.pem"
expect_err 'signs other bytes: .*padding included'
patch ec384.bin sig.bin $((8192 + 160))
expect_status 1 "$MPOTA" image verify sig.bin --key "$V/ec384.pub.pem"
expect_err 'signature block at 0x2000 is damaged'
patch ec384.bin sig2.bin $((8192 + 160)) 8192
expect_status 1 "$MPOTA" image verify sig2.bin --key "$V/ec384.pub.pem"
expect_err 'does not verify with the key it carries'
patch rsa3072.bin dig.bin $((8192 + 10)) 8192
expect_status 1 "$MPOTA" image verify dig.bin --key "$V/rsa3072.pub.pem"
expect_err 'signs other bytes'
patch rsa3072.bin crc.bin $((8192 + 1197))
expect_status 1 "$MPOTA" image verify crc.bin --key "$V/rsa3072.pub.pem"
expect_err 'is damaged: its CRC'
# A trusted key's bad block is the reason, not the other key's good one.
patch ec2.bin two.bin $((8192 + 1216 + 110)) $((8192 + 1216))
expect_status 1 "$MPOTA" image verify two.bin --key "$V/ec256_b.pub.pem"
expect_err 'block at 0x24C0 does not verify'
expect_status 0 "$MPOTA" image verify two.bin --key "$V/ec256.pub.pem"

# A cut sector, extra padding after it, no sector at all.
head -c $((8192 + 1000)) ec256.bin > cut.bin
expect_status 1 "$MPOTA" image verify cut.bin --key "$V/ec256.pub.pem"
expect_err 'sector at 0x2000 is cut short: the file holds 1,000 of its 4096 B'
cp ec256.bin extra.bin; head -c 8192 /dev/zero | tr '\0' '\377' >> extra.bin
expect_status 0 "$MPOTA" image verify extra.bin --key "$V/ec256.pub.pem"
expect_status 0 "$MPOTA" image sign extra.bin --append --key "$V/ec256_b.pem" -o extra2.bin
expect_out 'Left out the 8192 bytes'
expect_status 0 "$MPOTA" image verify extra2.bin --key "$V/ec256_b.pub.pem"
expect_status 1 "$MPOTA" image verify "$V/app.bin" --key "$V/ec256.pub.pem"
expect_err 'no signature block .* it is not signed'
expect_status 1 "$MPOTA" image verify "$V/app.bin" --key-digest "$RSA" --json
expect_json '(j["valid"], j["code"], j["signature"])' "(False, 'MPOTA_ERR_SIG_MISSING', None)"
# espsecure's own images verify too.
expect_status 0 "$MPOTA" image verify "$V/rsa_appended.bin" --key-digest "$RSA_B"

# Bad keys and files: a clear error, exit 1, no output.
for bad in rsa2048:'an RSA key of 2,048 bits: .*RSA-3072 only' \
           ec521:'ECDSA secp521r1 keys have no Secure Boot V2 scheme' \
           ed25519:'non-RSA, non-EC keys have no Secure Boot V2 scheme' \
           encrypted:'not a PEM .* key that mbedTLS reads .encrypted: decrypt it first.' \
           not_a_key:'not a PEM private or public key'; do
  expect_status 1 "$MPOTA" image sign "$V/app.bin" --key "$V/bad/${bad%%:*}.pem" -o out.bin
  expect_err "^mpota: .*bad/${bad%%:*}.pem: ${bad#*:}"; absent out.bin
  expect_status 1 "$MPOTA" image verify ec256.bin --key "$V/bad/${bad%%:*}.pem"
done
expect_status 1 "$MPOTA" image sign "$V/app.bin" --key no-such.pem -o out.bin
expect_err '^mpota: cannot read no-such.pem: No such file'; absent out.bin
expect_status 1 "$MPOTA" image sign "$V/app.bin" --key "$V/ec256.pub.pem" -o out.bin
expect_err 'ec256.pub.pem: a public key cannot sign'; absent out.bin
expect_status 2 "$MPOTA" image verify ec256.bin --key-digest "${EC256:2}"
expect_err '^mpota: --key-digest: 64 hex digits expected'
# What is no app image is refused with what it is.
"$MPOTA" image build --bootloader -o bl.bin >/dev/null
expect_status 1 "$MPOTA" image sign bl.bin --key "$V/ec256.pem" -o out.bin
expect_err 'bootloader image, not an app'; absent out.bin
expect_status 1 "$MPOTA" image sign "$V/ec256.pem" --key "$V/ec256.pem" -o out.bin
expect_err 'not an ESP app image'; absent out.bin

finish
