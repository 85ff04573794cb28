#!/usr/bin/env bash
# `mpota flash update` from files and manifests: a clean update, reboot and
# confirm; manifests and side files; and every refusal leaves the running slot
# and otadata byte-identical, with a message that says what the file is.
. "$(dirname "$0")/lib.sh"

M="$MPOTA"
"$M" image build -o v1.bin --size 1500000 --version v1.0.0 --seed 1 >/dev/null
"$M" image build -o v2.bin --size 1600000 --version v2.0.0 --seed 2 >/dev/null
"$M" image build -o v0.bin --size 1200000 --version v0.9.0 --seed 3 >/dev/null
"$M" part make --layout ota --flash-size 4M --fit v2.bin -o table.bin >/dev/null

fresh() {  # a device running v1 from ota_0, first boot done
  "$M" flash new dev.flash --size 4M --table table.bin --app v1.bin >/dev/null
  "$M" flash boot dev.flash >/dev/null
}
# Running slot (ota_0 at 0x10000, 0x190000 B) and otadata (0xd000, 8 KiB).
snapshot() { dd if=dev.flash bs=4096 skip=13 count=2 2>/dev/null > otadata.before
             dd if=dev.flash bs=65536 skip=1 count=25 2>/dev/null > running.before; }
untouched() {
  cmp -s <(dd if=dev.flash bs=4096 skip=13 count=2 2>/dev/null) otadata.before && ok || fail "otadata changed ($1)"
  cmp -s <(dd if=dev.flash bs=65536 skip=1 count=25 2>/dev/null) running.before && ok || fail "running slot changed ($1)"
}

# A clean update with the JSON report.
fresh
sha=$(sha256sum v2.bin | cut -d' ' -f1)
expect_status 0 "$M" flash update dev.flash v2.bin --json --sha256 "$sha"
expect_json 'j["ok"], j["slot"], j["bytes"], j["sha256"]' "(True, 'ota_1', 1600000, '$sha')"
expect_json 'j["flash_ops"]["erase"], j["flash_ops"]["program"] > 0, j["modeled_device_s"] > 2' "(1, True, True)"
expect_status 0 "$M" flash status dev.flash --json
expect_json 'j["boot"], [s["state"] for s in j["slots"]]' "('ota_1', ['VALID', 'NEW'])"
expect_status 0 "$M" flash boot dev.flash --json
expect_json 'j["booted"]' ota_1
expect_status 0 "$M" flash confirm dev.flash

# An update while the new app is still unconfirmed is refused.
fresh
expect_status 0 "$M" flash update dev.flash v2.bin --reboot
snapshot
expect_status 1 "$M" flash update dev.flash v1.bin
expect_err 'pending verification'
untouched "pending"

# --reboot --confirm; then back to v1 through a manifest (slot with old data).
fresh
expect_status 0 "$M" flash update dev.flash v2.bin --reboot --confirm --json
expect_json 'j["booted"]' ota_1
expect_status 0 "$M" manifest make v1.bin -o v1.json
expect_json 'j["version"], j["length"], j["chip"]' "('v1.0.0', 1500000, 'ESP32')"
expect_status 0 "$M" flash update dev.flash v1.json --json --reboot --confirm
expect_json 'j["slot"], j["booted"], j["version"]' "('ota_0', 'ota_0', 'v1.0.0')"
# Old data in ota_0 needs erasing: block erases only (and the otadata sector).
expect_json 'j["flash_ops"]["block_erases"] >= 22, j["flash_ops"]["sector_erases"]' "(True, 1)"

# Side files: sha256sum format (.sha) and loboris' .md5.
fresh
sha256sum v2.bin > v2.bin.sha
expect_status 0 "$M" flash update dev.flash v2.bin --sidecar
rm v2.bin.sha
fresh
md5sum v2.bin | cut -d' ' -f1 > v2.bin.md5
expect_status 0 "$M" flash update dev.flash v2.bin --sidecar --json
fresh
echo "00000000000000000000000000000000  v2.bin" > v2.bin.md5
snapshot
expect_status 1 "$M" flash update dev.flash v2.bin --sidecar
expect_err 'MD5'
untouched "wrong md5 side file"
rm v2.bin.md5
expect_status 1 "$M" flash update dev.flash v2.bin --sidecar
untouched "missing side file"

# Refusals: each says what is wrong; nothing that boots changes.
fresh
snapshot
"$M" image build --bootloader -o boot.bin >/dev/null
head -c $((0xF000)) /dev/zero | tr '\0' '\377' > combined.bin
dd if=boot.bin of=combined.bin conv=notrunc 2>/dev/null
dd if=table.bin of=combined.bin bs=1 seek=$((0x7000)) conv=notrunc 2>/dev/null
cat v2.bin >> combined.bin
expect_status 1 "$M" flash update dev.flash combined.bin
expect_err 'full flash image \(bootloader \+ partition table \+ app\)'
expect_err '0xF000'
expect_err 'extract-app'
untouched "combined firmware"
expect_status 1 "$M" flash update dev.flash boot.bin
untouched "bootloader"
"$M" image build -o s3.bin --size 300000 --chip esp32s3 >/dev/null
expect_status 1 "$M" flash update dev.flash s3.bin
expect_err 'ESP32-S3'
untouched "foreign chip"
"$M" image build -o big.bin --size 1700000 >/dev/null
expect_status 1 "$M" flash update dev.flash big.bin
expect_err '1,638,400 B'
untouched "too big"
# --length disagrees with the file's own size, known before its first byte.
expect_status 1 "$M" flash update dev.flash v2.bin --length 2000000
expect_err "the download is $(stat -c %s v2.bin | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta') B \(received or declared\) but 2,000,000 B were expected"
untouched "declared length differs from the file"
head -c 1000000 v2.bin > short.bin
expect_status 1 "$M" flash update dev.flash short.bin
expect_err 'truncated'
untouched "truncated"
expect_status 1 "$M" flash update dev.flash v2.bin --sha256 "$(printf '0%.0s' $(seq 64))"
expect_err 'SHA-256'
untouched "wrong sha"
cp v2.bin corrupt.bin
printf '\x00\x01' | dd of=corrupt.bin bs=1 seek=800000 conv=notrunc 2>/dev/null
expect_status 1 "$M" flash update dev.flash corrupt.bin --json
expect_json 'j["ok"], j["code"] in ("MPOTA_ERR_IMAGE_CHECKSUM", "MPOTA_ERR_IMAGE_HASH")' "(False, True)"
untouched "corrupt"
expect_status 1 "$M" flash update dev.flash v0.bin --no-downgrade
expect_err 'older'
untouched "downgrade"
expect_status 1 "$M" flash update dev.flash nosuchfile.bin
untouched "missing file"
# A manifest that does not describe its firmware (version, chip) is refused.
sed 's/"v1.0.0"/"v1.0.1"/' v1.json > wrongver.json
expect_status 1 "$M" flash update dev.flash wrongver.json
expect_err "version differs from what the manifest says"
untouched "manifest version"
sed 's/"ESP32"/"ESP32-C3"/' v1.json > wrongchip.json
expect_status 1 "$M" flash update dev.flash wrongchip.json
expect_err 'ESP32-C3'
untouched "manifest chip"
echo '{"sha": "00"}' > bad.json
expect_status 1 "$M" flash update dev.flash bad.json
expect_err 'manifest'
expect_err '^mpota: bad.json: the manifest has no "firmware"'
untouched "bad manifest"
# Numbers must be whole and in range: 1e20 is not secure version 0.
printf '{"firmware": "v1.bin", "secure_version": 1e20}' > bignum.json
expect_status 1 "$M" flash update dev.flash bignum.json
expect_err '"secure_version" must be a whole number from 0 to 4,294,967,295 .*got the number 1e\+20$'
untouched "secure_version 1e20"
# After all that, the device still boots v1 and a good update still works.
expect_status 0 "$M" flash boot dev.flash --json
expect_json 'j["booted"]' ota_0
expect_status 0 "$M" flash update dev.flash v2.bin --reboot --confirm --json
expect_json 'j["booted"]' ota_1

expect_status 2 "$M" flash update dev.flash
expect_status 2 "$M" flash update dev.flash v2.bin --confirm
finish
