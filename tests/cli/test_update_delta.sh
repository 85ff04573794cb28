#!/usr/bin/env bash
# Delta updates (issue 13) through `mpota flash update`: detools' own patches
# (tests/vectors/detools, made from from.bin to to.bin) as a local SOURCE and
# offered by manifests. The manifest's patch made from the running image is
# taken, else the full image; the new image goes through the session, so it
# is checked as a download is. Every broken or lying patch is refused with
# the running slot and otadata byte-identical and the target reading empty.
. "$(dirname "$0")/lib.sh"
M=$MPOTA
V=$MPOTA_SRC/tests/vectors/detools

cp "$V"/from.bin "$V"/to.bin "$V"/*.patch .
"$M" image build -o other.bin --size 40000 --version v0.9.0 --seed 9 >/dev/null || fail "image build"
"$M" part make --layout ota --flash-size 4M -o table.csv >/dev/null || fail "part make"
new_device() {  # new_device APP: APP running in ota_0 after its first boot
  "$M" flash new dev.flash --size 4M --table table.csv --app "$1" >/dev/null &&
    "$M" flash boot dev.flash >/dev/null || fail "new device with $1"
}
sha() { sha256sum "$1" | cut -c1-64; }
size() { stat -c %s "$1"; }
slot() { dd if=dev.flash bs=4096 skip=$(($1 / 4096)) count=$(($2 / 4096)) 2>/dev/null | sha256sum; }
OTADATA=$((0xD000)) OTA0=$((0x10000)) OTA1=$((0x190000))

# A local patch, each compression: the new image, checked and selected
# (lzma is decompressed by the host: no device has the RAM for it).
for c in none crle heatshrink hs10 lzma; do
  new_device from.bin
  expect_status 0 "$M" flash update dev.flash "to.$c.patch" --json
  expect_json 'j["ok"], j["sha256"], j["delta"]["base_sha256"], j["delta"]["patch_bytes"], j["delta"]["image_bytes"]' \
    "(True, '$(sha to.bin)', '$(sha from.bin)', $(size "to.$c.patch"), $(size to.bin))"
  expect_status 0 "$M" flash boot dev.flash --json
  expect_json 'j["booted"]' "ota_1"
done

# Manifests: the patch made from the running image is taken; --full takes
# the image; a manifest whose patches are all for other bases gives the image.
manifest() {  # manifest OUT FROM-SHA PATCH [PATCH-LENGTH]
  printf '{"firmware": "to.bin", "sha": "%s", "length": %d, "patches": [
  {"from": "%s", "url": "%s", "format": "detools", "compression": "heatshrink", "length": %d}]}\n' \
    "$(sha to.bin)" "$(size to.bin)" "$2" "$3" "${4:-$(size "$3")}" >"$1"
}
manifest delta.json "$(sha from.bin)" to.heatshrink.patch
manifest other.json "$(sha other.bin)" to.heatshrink.patch
new_device from.bin
expect_status 0 "$M" flash update dev.flash delta.json --json
expect_json 'j["ok"], j["source"].endswith("to.heatshrink.patch"), j["delta"]["patch_bytes"]' \
  "(True, True, $(size to.heatshrink.patch))"
new_device from.bin
expect_status 0 "$M" flash update dev.flash delta.json --full --json
expect_json 'j["ok"], j["source"].endswith("to.bin"), "delta" in j' "(True, True, False)"
new_device from.bin
expect_status 0 "$M" flash update dev.flash other.json --json
expect_json 'j["ok"], j["source"].endswith("to.bin"), "delta" in j' "(True, True, False)"
# Text output says what was taken.
new_device from.bin
expect_status 0 "$M" flash update dev.flash delta.json
expect_out "delta: a $(commas "$(size to.heatshrink.patch)") B patch onto the running image \\(40,000 B"

# manifest make --delta-from: the patch beside the manifest, then taken by
# the update; a patch no smaller than the image is not offered.
mkdir -p mk && cp from.bin to.bin other.bin mk/
(cd mk && "$M" manifest make to.bin -o to.json --delta-from from.bin --delta-from other.bin \
  >/dev/null 2>../mk.err) || fail "manifest make --delta-from"
expect_status 0 json_get mk/to.json '[(p["from"], p["url"], p["length"]) for p in j["patches"]]'
patch_name="to.bin.from-$(sha from.bin | cut -c1-8).patch"
expect_out "\[\('$(sha from.bin)', '$patch_name', $(size "mk/$patch_name")\)\]"
grep -q "the patch from other.bin is [0-9,]* B, no smaller than the 44,000 B image: not offered" mk.err &&
  ok || fail "other.bin's patch: $(cat mk.err)"
# With --gzip a patch must beat the gzip: shared/testdata's app is mostly
# padding (its gzip a few hundred bytes); a patch onto it from other.bin is
# smaller than the image but not than that.
if [ -d "${TESTDATA:-}" ]; then
  mkdir -p mkgz && cp "$TESTDATA/images/app-v2.0.0-ota.bin" mkgz/new.bin && cp other.bin mkgz/
  (cd mkgz && "$M" manifest make new.bin -o plain.json --delta-from other.bin >/dev/null 2>&1 &&
    "$M" manifest make new.bin -o gz.json --gzip --delta-from other.bin >/dev/null 2>../mkgz.err) ||
    fail "manifest make --gzip --delta-from"
  expect_status 0 json_get mkgz/plain.json 'len(j["patches"]), "patches" in json.load(open("mkgz/gz.json"))'
  expect_out "^\(1, False\)$"
  grep -q "the patch from other.bin is [0-9,]* B, no smaller than the $(size mkgz/new.bin.gz) B gzip of the image: not offered" mkgz.err &&
    ok || fail "--gzip: $(cat mkgz.err)"
else
  echo "SKIPPED: manifest make --gzip against a patch: no shared/testdata at ${TESTDATA:-}"
fi
new_device from.bin
expect_status 0 "$M" flash update dev.flash mk/to.json --json
expect_json 'j["ok"], j["sha256"], j["delta"]["patch_bytes"]' "(True, '$(sha to.bin)', $(size "mk/$patch_name"))"

# Refusals: nothing selected, the running slot and otadata unchanged.
head -c $(($(size to.heatshrink.patch) - 100)) to.heatshrink.patch >cut.patch
cp to.heatshrink.patch flipped.patch
printf '\x55' | dd of=flipped.patch bs=1 seek=2000 conv=notrunc 2>/dev/null
cp to.lzma.patch lzma.patch
printf '\x00\x00\x00\x00' | dd of=lzma.patch bs=1 seek=40 conv=notrunc 2>/dev/null
manifest lying-long.json "$(sha from.bin)" to.heatshrink.patch $(($(size to.heatshrink.patch) + 10))
manifest lying-short.json "$(sha from.bin)" to.heatshrink.patch $(($(size to.heatshrink.patch) - 10))
manifest lying-base.json "$(sha other.bin)" to.crle.patch  # made from from.bin
refuse() {  # refuse SOURCE CODE TEXT [RUNNING-APP]
  new_device "${4:-from.bin}"
  local before_ota0 before_otadata
  before_ota0=$(slot $OTA0 65536) before_otadata=$(slot $OTADATA 8192)
  expect_status 1 "$M" flash update dev.flash "$1" --json
  expect_json "j['ok'], bool(__import__('re').fullmatch(r'$2', j['code']))" "(False, True)"
  expect_status 1 "$M" flash update dev.flash "$1"
  expect_err "$3"
  [ "$(slot $OTA0 65536)" = "$before_ota0" ] && ok || fail "$1: the running slot changed"
  [ "$(slot $OTADATA 8192)" = "$before_otadata" ] && ok || fail "$1: otadata changed"
  [ "$(dd if=dev.flash bs=1 skip=$OTA1 count=1 2>/dev/null | od -An -tx1 | tr -d ' ')" != e9 ] &&
    ok || fail "$1: the target still holds an image"
}
refuse cut.patch MPOTA_ERR_DELTA_TRUNCATED "the patch ends after [0-9,]+ B of the 44,000 B image"
refuse flipped.patch 'MPOTA_ERR_(DELTA_[A-Z_]+|IMAGE_[A-Z_]+|EXPECT_SHA256)' "."
refuse lzma.patch 'MPOTA_ERR_(DELTA_[A-Z_]+|IMAGE_[A-Z_]+)' "."
refuse lying-long.json MPOTA_ERR_EXPECT_LENGTH "the download is $(commas "$(size to.heatshrink.patch)") B"
refuse lying-short.json MPOTA_ERR_EXPECT_LENGTH \
  "the download is $(commas "$(size to.heatshrink.patch)") B \\(received or declared\\) but $(commas $(($(size to.heatshrink.patch) - 10))) B were expected"
# A patch for another base: applied onto other.bin it reads past the image
# or makes an image whose hash is not the manifest's -- never selected.
refuse lying-base.json 'MPOTA_ERR_(DELTA_FROM_RANGE|IMAGE_[A-Z_]+|EXPECT_SHA256)' "." other.bin
refuse to.heatshrink.patch 'MPOTA_ERR_(DELTA_FROM_RANGE|IMAGE_[A-Z_]+)' "." other.bin
finish
