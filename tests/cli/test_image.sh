#!/usr/bin/env bash
# `mpota image`: info (text and JSON) against esptool's own output, verify,
# extract-app, and recognising combined firmware.
. "$(dirname "$0")/lib.sh"
need_testdata
IMG="$TESTDATA/images"

for name in app-v1.0.1 app-v2.0.0-ota; do
  expect_status 0 "$MPOTA" image info "$IMG/$name.bin"
  # Every line esptool printed (after its banner and file size) appears as-is.
  tail -n +4 "$IMG/$name.esptool-image-info.txt" | grep -v '^$' > want.txt
  while IFS= read -r line; do
    if grep -qxF -- "$line" "$WORK/out"; then ok; else fail "$name: missing line: $line"; fi
  done < want.txt
done

expect_status 0 "$MPOTA" image info "$IMG/app-v1.0.1.bin" --json
expect_json 'j["kind"]' app
expect_json 'j["chip"], j["chip_id"], j["entry"]' "('ESP32', 0, 1074266112)"
expect_json 'j["checksum_valid"], j["hash_appended"], j["sha256_valid"]' "(True, True, True)"
expect_json 'j["sha256"]' 7754db300fac0c0a0ad440fc64a02d950f0a3d6a2de5d4798129a7802bd15d62
expect_json 'j["size"], j["app_offset"]' "(65680, 0)"
expect_json '[(s["load_addr"], s["length"], s["file_offset"], s["memory"]) for s in j["segments"]][3:]' \
  "[(0, 65184, 368, ['PADDING']), (1074593824, 64, 65560, ['IROM'])]"
expect_json 'j["app"]["project_name"], j["app"]["version"], j["app"]["idf_ver"]' "('ota-test-app', 'v1.0.1', 'v5.2.2')"
expect_json 'j["app"]["date"], j["app"]["time"], j["app"]["secure_version"]' "('Jan  1 2025', '12:34:56', 0)"
expect_json 'j["app"]["elf_sha256"]' 67c353a889921e1a503d29858f5b4b74fdd5704d1d4ddda5a0492b06a5b7e673

# verify: expectations and chip.
sha=$(sha256sum "$IMG/app-v1.0.1.bin" | cut -d' ' -f1)
md5=$(md5sum "$IMG/app-v1.0.1.bin" | cut -d' ' -f1)
expect_status 0 "$MPOTA" image verify "$IMG/app-v1.0.1.bin" --sha256 "$sha" --md5 "$md5" --length 65680 --chip esp32
expect_status 1 "$MPOTA" image verify "$IMG/app-v1.0.1.bin" --sha256 "${sha%?}0"
expect_err 'SHA-256'
expect_status 1 "$MPOTA" image verify "$IMG/app-v1.0.1.bin" --length 65681
expect_err '65,681'
expect_status 1 "$MPOTA" image verify "$IMG/app-v1.0.1.bin" --chip esp32s3
expect_err 'ESP32-S3'
expect_status 2 "$MPOTA" image verify "$IMG/app-v1.0.1.bin" --sha256 nothex

# Corruption and truncation are refused with the reason.
cp "$IMG/app-v1.0.1.bin" bad.bin
printf '\x00' | dd of=bad.bin bs=1 seek=$((0x10030)) conv=notrunc 2>/dev/null
expect_status 1 "$MPOTA" image verify bad.bin
expect_err 'checksum'
head -c 40000 "$IMG/app-v1.0.1.bin" > short.bin
expect_status 1 "$MPOTA" image verify short.bin
expect_err 'truncated'

# A combined firmware as micropython.org ships it: bootloader at 0, table at
# 0x7000, app at 0xF000 (flash addresses 0x1000, 0x8000, 0x10000).
expect_status 0 "$MPOTA" image build --bootloader -o boot.bin
expect_status 0 "$MPOTA" part make --layout ota --flash-size 4M -o table.bin
head -c $((0xF000)) /dev/zero | tr '\0' '\377' > combined.bin
dd if=boot.bin of=combined.bin conv=notrunc 2>/dev/null
dd if=table.bin of=combined.bin bs=1 seek=$((0x7000)) conv=notrunc 2>/dev/null
cat "$IMG/app-v1.0.1.bin" >> combined.bin
expect_status 0 "$MPOTA" image info combined.bin --json
expect_json 'j["kind"], j["app_offset"], j["app"]["version"]' "('combined', 61440, 'v1.0.1')"
expect_json 'j["segments"][4]["file_offset"]' 65560
expect_status 0 "$MPOTA" image extract-app combined.bin -o extracted.bin
same_bytes extracted.bin "$IMG/app-v1.0.1.bin"
expect_status 0 "$MPOTA" image info boot.bin --json
expect_json 'j["kind"]' bootloader
expect_status 0 "$MPOTA" image info table.bin --json
expect_json 'j["kind"]' partition-table
expect_status 1 "$MPOTA" image extract-app "$IMG/app-v1.0.1.bin" -o x.bin

# The builder makes large valid images for other chips too.
expect_status 0 "$MPOTA" image build -o big.bin --size 1600000 --chip esp32s3 --version v9 --project big --secure-version 3
expect_status 0 "$MPOTA" image verify big.bin --chip esp32s3 --length 1600000
expect_status 0 "$MPOTA" image info big.bin --json
expect_json 'j["chip"], j["app"]["version"], j["app"]["secure_version"], j["size"]' "('ESP32-S3', 'v9', 3, 1600000)"

finish
