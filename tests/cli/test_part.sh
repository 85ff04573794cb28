#!/usr/bin/env bash
# `mpota part`: convert, show and make, against ESP-IDF's own outputs.
. "$(dirname "$0")/lib.sh"
need_testdata
PT="$TESTDATA/partition-tables"

# Every MicroPython CSV converts to the .bin gen_esp32part.py made.
for csv in "$PT"/micropython/*.csv; do
  bin="${csv%.csv}.bin"
  [ -f "$bin" ] || continue
  expect_status 0 "$MPOTA" part convert "$csv" "$WORK/out.bin"
  same_bytes "$WORK/out.bin" "$bin"
  # ... and back: bin -> csv -> bin is the same table.
  expect_status 0 "$MPOTA" part convert "$bin" "$WORK/back.csv"
  expect_status 0 "$MPOTA" part convert "$WORK/back.csv" "$WORK/back.bin"
  same_bytes "$WORK/back.bin" "$bin"
done

# The BOM sample was made by gen_esp32part.py before ESP-IDF v5.4.2, which kept
# the byte-order mark in the first name; --keep-bom reproduces it. By default
# the BOM is skipped as current ESP-IDF does, giving the label "nvs".
BOM="$PT/esp-idf/partitions-utf8-bom"
expect_status 0 "$MPOTA" part convert "$BOM.csv" "$WORK/bom.bin" --keep-bom
same_bytes "$WORK/bom.bin" "$BOM.bin"
expect_status 0 "$MPOTA" part convert "$BOM.csv" "$WORK/nobom.bin"
expect_status 0 "$MPOTA" part show "$WORK/nobom.bin" --json
expect_json 'j["partitions"][0]["label"]' nvs

# show --json on the S3 table: exactly the rows the README lists.
expect_status 0 "$MPOTA" part show "$PT/esp32s3-ota-vfs.bin" --json
expect_json 'j["md5_valid"]' True
expect_json 'len(j["partitions"])' 6
expect_json '[(p["label"],p["offset"],p["size"]) for p in j["partitions"]]' \
  "[('nvs', 36864, 16384), ('otadata', 53248, 8192), ('phy_init', 61440, 4096), ('ota_0', 65536, 1572864), ('ota_1', 1638400, 1572864), ('vfs', 3211264, 983040)]"
expect_json 'j["partitions"][3]["type"], j["partitions"][3]["subtype"], j["partitions"][5]["subtype"]' "(0, 16, 129)"

expect_status 0 "$MPOTA" part show "$PT/esp-idf/idf-test-partitions.bin"
expect_out 'MD5'

# Human output names the rows.
expect_status 0 "$MPOTA" part show "$PT/micropython/partitions-4MiB-ota.csv"
expect_out 'ota_1'
expect_out '0x190000'

# A corrupt table is refused with the reason.
cp "$PT/micropython/partitions-4MiB-ota.bin" bad.bin
printf '\x11' | dd of=bad.bin bs=1 seek=40 conv=notrunc 2>/dev/null
expect_status 1 "$MPOTA" part show bad.bin
expect_err 'MD5'

# 8 MiB table on 4 MiB of flash: the flash-size check says so.
expect_status 1 "$MPOTA" part convert "$PT/micropython/partitions-8MiBplus-ota.csv" x.bin --flash-size 4M
expect_err 'beyond the flash size of 4,194,304 B'

# Layout maker.
expect_status 0 "$MPOTA" part make --layout ota --flash-size 4M -o ota4.csv
expect_status 0 "$MPOTA" part show ota4.csv --json
expect_json '[p["label"] for p in j["partitions"]]' "['nvs', 'otadata', 'phy_init', 'ota_0', 'ota_1', 'vfs']"
expect_status 0 "$MPOTA" part make --layout factory --flash-size 2M --fs-type littlefs -o f2.bin
expect_status 0 "$MPOTA" part show f2.bin --json
expect_json '[p["label"] for p in j["partitions"]]' "['nvs', 'phy_init', 'factory', 'vfs']"
expect_json 'j["partitions"][-1]["subtype"]' 131
expect_status 1 "$MPOTA" part make --layout ota-factory --flash-size 4M -o x.csv
expect_err 'flash'
expect_status 0 "$MPOTA" part make --layout ota-factory --flash-size 8M -o of8.csv
# Below the smallest slot: a bad --app-size value, a usage error (a layout
# that does not fit, above, is refused instead).
expect_status 2 "$MPOTA" part make --layout ota --flash-size 4M --app-size 0x10000 -o x.csv
expect_err '^mpota: --app-size: a size from 1M to 32M, a multiple of 64K'
expect_status 2 "$MPOTA" part make --flash-size 4M
expect_status 2 "$MPOTA" part frobnicate

finish
