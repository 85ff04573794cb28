#!/usr/bin/env bash
# Makes the Secure Boot V2 test vectors in tests/vectors/sbv2 with the real
# tool: espsecure from esptool v4.12.0 (its source is not kept here; it runs
# on Debian 12's /usr/bin/python3 with python3-cryptography, python3-ecdsa,
# python3-serial and python3-intelhex). CI never runs this: the vectors are
# committed, and tests read them.
#
#   ESPTOOL_SRC=/path/to/esptool-v4.12.0 tools/gen_sbv2_vectors.sh [--keys]
#
# --keys makes new test keys too (they exist only for these tests). Without
# it the committed keys sign, so only the randomized signatures change.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/tests/vectors/sbv2
src=${ESPTOOL_SRC:?set ESPTOOL_SRC to an esptool v4.12.0 source tree}
py=/usr/bin/python3
esps() { "$py" -s -E "$src/espsecure.py" "$@" >/dev/null; }
mpota=${MPOTA:-$root/build-dev/mpota}
mkdir -p "$out"
cd "$out"

if [ "${1:-}" = --keys ]; then
  for k in rsa3072:rsa3072 rsa3072:rsa3072_b ecdsa256:ec256 ecdsa256:ec256_b ecdsa384:ec384; do
    esps generate_signing_key --version 2 --scheme "${k%%:*}" "${k#*:}.pem"
  done
  # Keys Secure Boot V2 cannot use, for the refusals (test_sig_sign.c).
  mkdir -p bad
  openssl genrsa -out bad/rsa2048.pem 2048
  openssl ecparam -name secp521r1 -genkey -noout -out bad/ec521.pem
  openssl genpkey -algorithm ed25519 -out bad/ed25519.pem
  openssl genrsa -aes128 -passout pass:test -out bad/encrypted.pem 3072
  printf 'this is not a key\n' >bad/not_a_key.pem
fi
for k in rsa3072 rsa3072_b ec256 ec256_b ec384; do
  esps extract_public_key --version 2 --keyfile "$k.pem" "$k.pub.pem"
  esps digest_sbv2_public_key --keyfile "$k.pem" -o "$k.digest"
done

# The unsigned app: 6,000 bytes, so espsecure pads 2,192 bytes of 0xFF.
"$mpota" image build -o app.bin --size 6000 --chip ESP32-S3 --seed 7 --secure-version 2
esps sign_data --version 2 --keyfile rsa3072.pem -o rsa.bin app.bin
esps sign_data --version 2 --keyfile ec256.pem -o ec256.bin app.bin
esps sign_data --version 2 --keyfile ec384.pem -o ec384.bin app.bin
esps sign_data --version 2 --keyfile rsa3072.pem rsa3072_b.pem -o rsa2.bin app.bin
esps sign_data --version 2 --keyfile ec256.pem ec256_b.pem -o ec256x2.bin app.bin
esps sign_data --version 2 --append_signatures --keyfile rsa3072_b.pem -o rsa_appended.bin rsa.bin
esps sign_data --version 2 --append_signatures --keyfile rsa3072_b.pem rsa3072.pem \
  -o rsa3.bin rsa.bin
for f in rsa ec256 ec384 rsa2 ec256x2 rsa_appended rsa3; do
  for k in rsa3072 rsa3072_b ec256 ec256_b ec384; do
    if "$py" -s -E "$src/espsecure.py" verify_signature --version 2 --keyfile "$k.pub.pem" \
        "$f.bin" >/dev/null 2>&1; then echo "$f $k"; fi
  done
done >espsecure_accepts.txt
echo "gen_sbv2_vectors: $(ls "$out" | wc -l) files in $out"
