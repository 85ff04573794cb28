#!/usr/bin/env bash
# The pure-Python engine (python/ota/_stock.py, _image.py) against the C one
# (issue 10: "same refusals, same error codes and sentences"): a corpus of
# good, foreign, truncated and corrupted images, each with and without
# expectations (size, SHA-256, MD5) and policies, goes through both
# sessions on the twin (tests/mpy/engines_same.py); every case must end the
# same way, word for word. The corpus covers every check of the pre-flight
# and of the image walk: what the file is (full firmware, bootloader,
# partition table, otadata, garbage), chip, header fields, segment headers,
# checksum, appended hash, length, slot size, and the policies.
. "$(dirname "$0")/twin_lib.sh"
M=$MPOTA

mkdir -p fs/c
c() { cp "$1" "fs/c/$2"; }
"$M" part make --layout ota --flash-size 4M -o table.csv >/dev/null || fail "part make"
"$M" part convert table.csv table.bin >/dev/null || fail "part convert"
make_firmware fs/c/firmware.bin
A=$IMG/app-v2.0.0-ota.bin
LEN=$(stat -c %s "$A")
c "$A" app-v2.bin
c "$IMG/app-v1.0.1.bin" app-v1.bin
c table.bin table.bin
c boot.bin boot.bin
head -c 8192 /dev/zero | tr '\0' '\377' >fs/c/otadata.bin
dd if="$TESTDATA/otadata/entry-seq1-undefined.bin" of=fs/c/otadata.bin conv=notrunc 2>/dev/null
head -c 5000 /dev/urandom >fs/c/random.bin
: >fs/c/empty.bin
b() { local out=$1; shift; "$M" image build -o "fs/c/$out" "$@" >/dev/null || fail "image build $out"; }
b big.bin --size 300000 --version v3.0.0 --seed 7
b s3.bin --chip ESP32-S3 --size 80000
b c3.bin --chip ESP32-C3 --size 80000
b s2.bin --chip ESP32-S2 --size 80000
b nodesc.bin --no-app-desc --size 70000
b older.bin --version v0.9.0 --size 70000
b other.bin --project other --size 70000
b secure0.bin --secure-version 0 --version v9.0.0 --size 70000
b toobig.bin --size 1600000 --seed 9
b mpy.bin --size 90000 --version '' --micropython 1.20.0
# Mutations of app-v2: truncations, then one byte changed at a time.
for n in 1 23 24 100 287 288 289 4096 30000 $((LEN - 33)) $((LEN - 32)) $((LEN - 1)); do
  head -c "$n" "$A" >"fs/c/cut$n.bin"
done
flip() {  # flip NAME OFFSET BYTE: app-v2 with the byte at OFFSET set to BYTE
  cp "$A" "fs/c/$1.bin"
  printf "\\x$3" | dd of="fs/c/$1.bin" bs=1 seek=$(($2)) conv=notrunc 2>/dev/null
}
flip magic 0 00
flip segs0 1 00
flip segs17 1 11
flip chip 12 09
flip hashflag 23 02
flip seglen 28 03
flip segload 26 00
flip data 4000 5a
flip checksum $((LEN - 33)) 00
flip hash $((LEN - 1)) 00
{ cat "$A"; head -c 100 /dev/zero; } >fs/c/trailing.bin
# A second segment header whose length runs past the slot.
cp "$A" fs/c/huge-seg.bin
python3 - fs/c/huge-seg.bin <<'PY' || fail "huge-seg"
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
first = 24 + 8 + struct.unpack_from("<I", b, 28)[0]
struct.pack_into("<I", b, first + 4, 0x00F00000)
open(sys.argv[1], "wb").write(b)
PY

# A bootloader small enough for the pre-flight to walk whole (the builder's
# are not: a longer one reads as the start of a full firmware image): one
# DRAM segment, checksum, appended SHA-256.
python3 - fs/c/tinyboot.bin <<'PY' || fail "tinyboot"
import hashlib, struct, sys
h = bytes([0xE9, 1, 2, 0x20]) + struct.pack("<I", 0x40080400) + bytes([0xEE, 0, 0, 0])
h += struct.pack("<HBHH", 0, 0, 0, 0xFFFF) + bytes(4) + b"\x01"
data = bytes(range(16))
b = h + struct.pack("<II", 0x3FFE0000, len(data)) + data
x = 0xEF
for c in data:
    x ^= c
b += bytes(((len(b) + 16) & ~15) - 1 - len(b)) + bytes([x])
open(sys.argv[1], "wb").write(b + hashlib.sha256(b).digest())
PY

SHA=$(sha256sum "$A" | cut -c1-64)
MD5=$(md5sum "$A" | cut -c1-32)
{
  for f in fs/c/*.bin; do
    n=$(basename "$f" .bin)
    echo "$n c/$n.bin 4096 0 - - 0"
  done
  echo "chunk1000 c/app-v2.bin 1000 0 - - 0"
  echo "chunk100 c/big.bin 100 0 - - 0"
  echo "size-ok c/app-v2.bin 4096 $LEN $SHA $MD5 0"
  echo "size-short c/app-v2.bin 4096 $((LEN - 16)) - - 0"
  echo "size-long c/app-v2.bin 4096 $((LEN + 16)) - - 0"
  echo "size-huge c/app-v2.bin 4096 2000000 - - 0"
  echo "sha-wrong c/app-v2.bin 4096 0 ${SHA/?/0}${SHA:0:0} - 0"
  echo "md5-wrong c/app-v2.bin 4096 0 - 00000000000000000000000000000000 0"
  echo "md5-ok c/app-v2.bin 4096 0 - $MD5 0"
  echo "project c/other.bin 4096 0 - - 1"
  echo "project-same c/big.bin 4096 0 - - 1"
  echo "downgrade c/older.bin 4096 0 - - 2"
  echo "upgrade c/big.bin 4096 0 - - 2"
  echo "downgrade-mpver c/mpy.bin 4096 0 - - 2"
  echo "secure c/secure0.bin 4096 0 - - 4"
  echo "all-policies c/big.bin 4096 0 - - 7"
  echo "nodesc-policy c/nodesc.bin 4096 0 - - 1"
} >fs/cases.txt
[ "$(sha256sum "$A" | cut -c1-1)" != 0 ] || sed -i 's/^sha-wrong \(\S*\) 4096 0 0/sha-wrong \1 4096 0 1/' fs/cases.txt
CASES=$(wc -l <fs/cases.txt)

# The running app: v2.0.0, secure_version 2, so the policies have something
# to refuse.
"$M" image build -o run.bin --size 70000 --version v2.0.0 --secure-version 2 --seed 11 >/dev/null ||
  fail "image build run.bin"
"$M" flash new dev.flash --size 4M --table table.csv --app run.bin >/dev/null || fail "flash new"
"$M" flash boot dev.flash >/dev/null || fail "flash boot"
(cd fs && expect_status 0 "$TWIN" --flash ../dev.flash --fs . "$TESTS/engines_same.py")
grep '^DIFF' "$WORK/out" | while read -r line; do fail "$line"; done
grep -qx "cases: $CASES same, 0 different" "$WORK/out" && ok ||
  fail "not all $CASES cases the same: $(tail -1 "$WORK/out")"
[ ! -s "$WORK/err" ] && ok || fail "stderr: $(head -5 "$WORK/err")"
# The corpus reaches the checks it is meant to: each of these codes is the
# answer of some case.
for code in IMAGE_IS_COMBINED IMAGE_IS_BOOTLOADER IMAGE_IS_TABLE IMAGE_IS_OTADATA IMAGE_CHIP \
  IMAGE_MAGIC IMAGE_SEGMENT_COUNT IMAGE_SEGMENT_LEN IMAGE_CHECKSUM IMAGE_HASH IMAGE_HASH_FLAG \
  IMAGE_TRUNCATED SLOT_TOO_SMALL EXPECT_SHA256 EXPECT_MD5 EXPECT_LENGTH POLICY_PROJECT \
  POLICY_DOWNGRADE POLICY_SECURE_VERSION; do
  grep -q "^same [^:]*: MPOTA_ERR_$code:" "$WORK/out" && ok || fail "no case ends in MPOTA_ERR_$code"
done
grep -c "^same [^:]*: ok " "$WORK/out" | { read -r n; [ "$n" -ge 5 ] && ok || fail "only $n cases accepted"; }
echo "engines: $CASES cases, the same result from both"
finish
