#!/usr/bin/env bash
# gzip and zlib images (issue 13) through `mpota flash update`: files by name
# and by magic, manifests with "compression": "gzip" (made by `manifest make
# --gzip`), and over HTTP from nginx on 127.0.0.1: a .gz URL, gzip_static's
# Content-Encoding: gzip, a dropped connection resumed at the compressed
# offset. The session checks the image, never the compressed file: sha and
# length are the image's. Every broken, lying or oversized stream is refused
# with the core's sentence and its true numbers, the running slot and
# otadata byte-identical and the target reading empty.
. "$(dirname "$0")/lib.sh"
RIG="$MPOTA_SRC/tests/integration"
M=$MPOTA

"$M" image build -o v1.bin --size 1400000 --version v1.0.0 --seed 1 >/dev/null || fail "image build"
"$M" image build -o v2.bin --size 1500000 --version v2.0.0 --seed 2 >/dev/null || fail "image build"
"$M" part make --layout ota --flash-size 4M --fit v2.bin -o table.bin >/dev/null || fail "part make"
OTADATA=$((0xD000)) OTA0=$((0x10000)) OTA1=$((0x190000)) SLOT=$((0x180000))
fresh() {  # v1 running in ota_0 after its first boot; ota_1 blank
  "$M" flash new dev.flash --size 4M --table table.bin --app v1.bin >/dev/null &&
    "$M" flash boot dev.flash >/dev/null || fail "new device"
}
sha() { sha256sum "$1" | cut -c1-64; }
size() { stat -c %s "$1"; }
hex() { printf '0x%X' "$1"; }
crc32() { python3 -c "import sys, zlib; print(zlib.crc32(open(sys.argv[1], 'rb').read()))" "$1"; }
le32_at() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }  # le32_at FILE OFFSET
zlib_of() { python3 -c "import sys, zlib; sys.stdout.buffer.write(zlib.compress(open(sys.argv[1], 'rb').read(), 9))" "$1"; }
region() { dd if=dev.flash bs=4096 skip=$(($1 / 4096)) count=$(($2 / 4096)) 2>/dev/null | sha256sum; }
installed_v2() {
  cmp -s <(dd if=dev.flash bs=65536 skip=$((OTA1 / 65536)) 2>/dev/null | head -c 1500000) v2.bin && ok ||
    fail "ota_1 is not v2 ($1)"
}

gzip -9nc v2.bin >v2.bin.gz
GZ=$(size v2.bin.gz) IMG=1500000

# Local files: by name, by magic (a .bin that is gzip inside), zlib by magic.
# The image is incompressible, so its .gz is larger: declared as the image's
# size, it would be refused.
fresh
expect_status 0 "$M" flash update dev.flash v2.bin.gz --json
expect_json 'j["ok"], j["bytes"], j["sha256"], j["compressed"]' \
  "(True, $IMG, '$(sha v2.bin)', {'format': 'gzip', 'bytes': $GZ, 'image_bytes': $IMG})"
installed_v2 "by name"
cp v2.bin.gz gz-inside.bin
zlib_of v2.bin >v2.zz
for f in gz-inside.bin:gzip v2.zz:zlib; do
  fresh
  expect_status 0 "$M" flash update dev.flash "${f%%:*}" --reboot --json
  expect_json 'j["ok"], j["booted"], j["compressed"]["format"]' "(True, 'ota_1', '${f#*:}')"
  installed_v2 "${f%%:*}"
done
# --sha256 and --length are the image's; the text report says what was unpacked.
fresh
expect_status 0 "$M" flash update dev.flash v2.bin.gz --sha256 "$(sha v2.bin)" --length $IMG
expect_out "^compressed: gzip, $(commas $GZ) B unpacked to $(commas $IMG) B$"

# manifest make --gzip: IMAGE.gz beside the manifest, made the same way
# every time, naming the image's sha and length.
mkdir -p pub again
expect_status 0 "$M" manifest make v2.bin -o pub/v2.json --gzip
expect_json 'j["firmware"], j["compression"], j["sha"], j["length"]' "('v2.bin.gz', 'gzip', '$(sha v2.bin)', $IMG)"
"$M" manifest make v2.bin -o again/v2.json --gzip >/dev/null
same_bytes pub/v2.bin.gz again/v2.bin.gz
cmp -s <(gzip -dc pub/v2.bin.gz) v2.bin && ok || fail "manifest make --gzip: the .gz is not v2.bin"
[ "$(od -An -tx1 -N10 pub/v2.bin.gz | tr -d ' ')" = 1f8b0800000000000203 ] && ok ||
  fail "the .gz header carries a name or a time: $(od -An -tx1 -N10 pub/v2.bin.gz)"
fresh
expect_status 0 "$M" flash update dev.flash pub/v2.json --json
expect_json 'j["ok"], j["source"], j["compressed"]["format"]' "(True, 'pub/v2.bin.gz', 'gzip')"
installed_v2 "manifest make --gzip"
"$M" manifest make --help >"$WORK/out"
expect_out "--gzip"

# Refusals. refuse SOURCE CODE-REGEX TEXT-REGEX [OPTION...]; then the last
# refusal's stderr and JSON stay in refusal.err and refusal.json.
refuse() {
  local src=$1 code=$2 text=$3 before_ota0 before_otadata
  shift 3
  fresh
  before_ota0=$(region $OTA0 $SLOT) before_otadata=$(region $OTADATA 8192)
  expect_status 1 "$M" flash update dev.flash "$src" --json "$@"
  expect_json "j['ok'], bool(__import__('re').fullmatch(r'$code', j['code']))" "(False, True)"
  cp "$WORK/out" refusal.json
  expect_status 1 "$M" flash update dev.flash "$src" "$@"
  expect_err "$text"
  cp "$WORK/err" refusal.err
  [ "$(region $OTA0 $SLOT)" = "$before_ota0" ] && ok || fail "$src: the running slot changed"
  [ "$(region $OTADATA 8192)" = "$before_otadata" ] && ok || fail "$src: otadata changed"
  [ "$(region $OTA1 4096)" = "$(head -c 4096 /dev/zero | tr '\0' '\377' | sha256sum)" ] && ok ||
    fail "$src: the target's first sector is not empty"
  expect_status 0 "$M" flash boot dev.flash --json
  expect_json 'j["booted"]' ota_0
}

said_too() { grep -qE -- "$1" refusal.err && ok || fail "refusal.err lacks /$1/"; }

head -c 700000 v2.bin.gz >cut.gz
refuse cut.gz MPOTA_ERR_INFLATE_TRUNCATED \
  "^mpota: the compressed file ends after 700,000 B, before its end marker; the download was cut short"
: >empty.gz
refuse empty.gz MPOTA_ERR_INFLATE_TRUNCATED "^mpota: the compressed file ends after 0 B, before its end marker"
# The CRC-32 and the length in the trailer, each checked with its numbers.
cp v2.bin.gz crc.gz
printf '\x00' | dd of=crc.gz bs=1 seek=$((GZ - 8)) conv=notrunc 2>/dev/null
refuse crc.gz MPOTA_ERR_INFLATE_CHECKSUM \
  "^mpota: the compressed file's check value \(CRC-32\) is $(hex "$(le32_at crc.gz $((GZ - 8)))") but its data gives $(hex "$(crc32 v2.bin)"); the file is corrupt"
cp v2.bin.gz isize.gz
printf '\x61' | dd of=isize.gz bs=1 seek=$((GZ - 4)) conv=notrunc 2>/dev/null
refuse isize.gz MPOTA_ERR_INFLATE_CHECKSUM \
  "^mpota: the compressed file's check value \(length\) is $(hex "$(le32_at isize.gz $((GZ - 4)))") but its data gives $(hex $IMG)"
zlib_of v2.bin >adler.zz
printf '\x00' | dd of=adler.zz bs=1 seek=$(($(size adler.zz) - 1)) conv=notrunc 2>/dev/null
refuse adler.zz MPOTA_ERR_INFLATE_CHECKSUM "^mpota: the compressed file's check value \(Adler-32\) is 0x"
# A byte changed in the middle: the data no longer decodes, or no longer
# matches its CRC. The first block's type set to 3 (reserved): invalid at its byte.
cp v2.bin.gz middle.gz
printf '\x5a' | dd of=middle.gz bs=1 seek=750000 conv=notrunc 2>/dev/null
refuse middle.gz 'MPOTA_ERR_INFLATE_(CORRUPT|CHECKSUM)' "^mpota: the compressed (data is corrupt: decoding fails at compressed byte 0x[0-9A-F]+|file's check value \(CRC-32\))"
cp v2.bin.gz blocktype.gz
printf "\\x$(printf %x $(($(od -An -tu1 -j10 -N1 v2.bin.gz) | 6)))" | dd of=blocktype.gz bs=1 seek=10 conv=notrunc 2>/dev/null
refuse blocktype.gz MPOTA_ERR_INFLATE_CORRUPT "^mpota: the compressed data is corrupt: decoding fails at compressed byte 0xA;"
# Anything after the end of the stream: garbage, or a second member.
{ cat v2.bin.gz; echo garbage; } >trailing.gz
refuse trailing.gz MPOTA_ERR_INFLATE_TRAILING "^mpota: the compressed file has data after its end, at compressed byte $(hex $GZ);"
cat v2.bin.gz v2.bin.gz >two.gz
refuse two.gz MPOTA_ERR_INFLATE_TRAILING "at compressed byte $(hex $GZ);"
# Bombs: the image then 64 MiB of zeros stops where the output passes the
# slot, having read ~1.5 MB of its 1.57 MB; zeros alone stop at the first
# bytes (not an app image), before anything is erased.
{ cat v2.bin; head -c 64M /dev/zero; } | gzip -9n >bomb.gz
refuse bomb.gz MPOTA_ERR_INFLATE_TOO_BIG \
  "^mpota: the compressed file unpacks to more than $(commas $SLOT) B, all that ota_1 holds \(stopped at compressed byte 0x[0-9A-F]+\)"
python3 -c "import json, sys; j = json.load(open('refusal.json')); assert j['compressed']['bytes'] < $(size bomb.gz) and j['compressed']['image_bytes'] <= $SLOT, j" &&
  ok || fail "the bomb was read on past the slot: $(cat refusal.json)"
head -c 64M /dev/zero | gzip -9n >zeros.gz
refuse zeros.gz MPOTA_ERR_IMAGE_MAGIC "^mpota: not an ESP app image: byte 0x0 is 0x0, expected 0xE9"
[ "$(json_get refusal.json 'j["flash_ops"]["erase"] + j["flash_ops"]["program"]')" = 0 ] && ok ||
  fail "zeros.gz: something was erased or written"
# What is said must be so: a .gz name, or a manifest's "compression".
cp v2.bin plain.gz
refuse plain.gz MPOTA_ERR_INFLATE_HEADER \
  "^mpota: the compressed file's header is not one this device reads \(app image, not gzip\)"
said_too "^mpota: the file name \(.gz\) says the firmware is gzip$"
sed 's/"v2.bin.gz"/"..\/v2.bin"/' pub/v2.json >pub/plain.json
refuse pub/plain.json MPOTA_ERR_INFLATE_HEADER "\(app image, not gzip\)"
said_too "^mpota: the manifest \(\"compression\": \"gzip\"\) says the firmware is gzip$"
sed 's/"gzip"/"bzip2"/' pub/v2.json >pub/bzip2.json
refuse pub/bzip2.json MPOTA_ERR_MANIFEST \
  "^mpota: pub/bzip2.json: the manifest's \"compression\" must be \"gzip\" .* or \"none\"; got \"bzip2\"$"
# Lying lengths (the image's, not the file's): too small, too large for the
# image, too large for the slot; the .gz's own size; a hash of the .gz.
sed "s/\"length\":.*$IMG/\"length\": 1000000/" pub/v2.json >pub/short.json
refuse pub/short.json MPOTA_ERR_EXPECT_LENGTH \
  "^mpota: the download is $(commas $IMG) B \(received or declared\) but 1,000,000 B were expected"
sed "s/\"length\":.*$IMG/\"length\": 1550000/" pub/v2.json >pub/long.json
refuse pub/long.json MPOTA_ERR_EXPECT_LENGTH "the download is $(commas $IMG) B \(received or declared\) but 1,550,000 B"
sed "s/\"length\":.*$IMG/\"length\": 1600000/" pub/v2.json >pub/huge.json
refuse pub/huge.json MPOTA_ERR_SLOT_TOO_SMALL "^mpota: image is 1,600,000 B but ota_1 holds $(commas $SLOT) B"
refuse v2.bin.gz MPOTA_ERR_EXPECT_LENGTH "but $(commas $GZ) B were expected" --length $GZ
refuse v2.bin.gz MPOTA_ERR_EXPECT_SHA256 "SHA-256 of the received data" --sha256 "$(sha v2.bin.gz)"

# --- over HTTP, nginx on 127.0.0.1 -------------------------------------------------
mkdir -p www run
if ! ports=$(bash "$RIG/nginx_rig.sh" start "$WORK/run" "$WORK/www" $$ 300 2>"$WORK/rig.err"); then
  cat "$WORK/rig.err"; echo "FAIL: nginx rig did not start"; exit 1
fi
trap 'bash "$RIG/nginx_rig.sh" stop "$WORK/run" >/dev/null 2>&1; [ -n "${PROXY:-}" ] && kill "$PROXY" 2>/dev/null; rm -rf "$WORK"' EXIT
read -r PORT _ <<<"$ports"
BASE="http://127.0.0.1:$PORT"
cp v2.bin v2.bin.gz bomb.gz cut.gz www/
cp pub/v2.json www/v2gz.json
. "$(dirname "$0")/rig_lib.sh"

# http_ok URL LOG-REGEX WHAT [OPTION...]: v2 installed from URL, the whole
# .gz unpacked, and a request matching LOG-REGEX in the access log.
http_ok() {
  local url=$1 pattern=$2 what=$3
  shift 3
  fresh
  mark=$(log_mark)
  expect_status 0 "$M" flash update dev.flash "$url" --json --sha256 "$(sha v2.bin)" "$@"
  expect_json 'j["ok"], j["bytes"], j["compressed"]' \
    "(True, $IMG, {'format': 'gzip', 'bytes': $GZ, 'image_bytes': $IMG})"
  installed_v2 "$what"
  log_has "$pattern" && ok || fail "$what: no request /$pattern/ in the access log"
}
# A .gz URL (we ask for gzip; nginx sends the file as it is); a manifest naming one.
http_ok "$BASE/files/v2.bin.gz" "^GET /files/v2.bin.gz range=- .*status=200 sent=$GZ ae=gzip ce=- " ".gz URL"
http_ok "$BASE/files/v2gz.json" "^GET /files/v2.bin.gz range=- .*status=200" "manifest over HTTP"
expect_json 'j["source"]' "$BASE/files/v2.bin.gz"
# gzip_static: v2.bin asked for, v2.bin.gz sent with Content-Encoding: gzip.
http_ok "$BASE/gzip/v2.bin" "^GET /gzip/v2.bin .*status=200 sent=$GZ ae=gzip ce=gzip " "gzip_static"
# A dropped connection: a .gz resumes at the compressed offset it reached
# (Range); gzip_static ignores Range, so that one starts again from 0.
start_proxy --cut-after 300000 --cut-conns 2
http_ok "http://127.0.0.1:$PPORT/files/v2.bin.gz" \
  "^GET /files/v2.bin.gz range=bytes=[1-9][0-9]*- .*status=206 .* ae=gzip ce=- " "resumed .gz"
stop_proxy
start_proxy --cut-after 400000 --cut-conns 1
http_ok "http://127.0.0.1:$PPORT/gzip/v2.bin" \
  "^GET /gzip/v2.bin range=bytes=[1-9][0-9]*- .*status=200 .* ae=gzip ce=gzip " "gzip_static after a cut"
stop_proxy
# Refusals over HTTP: a body that is not what its Content-Encoding says, an
# encoding this tool does not read, a cut .gz, a bomb.
refuse "$BASE/saysgzip/v2.bin" MPOTA_ERR_INFLATE_HEADER "\(app image, not gzip\)"
said_too "^mpota: the server \(Content-Encoding: gzip\) says the firmware is gzip$"
refuse "$BASE/saysbr/v2.bin" MPOTA_ERR_INFLATE_HEADER "^mpota: the compressed file's header is not one this device reads \(Content-Encoding: br\)"
refuse "$BASE/files/cut.gz" MPOTA_ERR_INFLATE_TRUNCATED "ends after 700,000 B, before its end marker"
refuse "$BASE/files/bomb.gz" MPOTA_ERR_INFLATE_TOO_BIG "unpacks to more than $(commas $SLOT) B, all that ota_1 holds"
finish
