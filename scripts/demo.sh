#!/usr/bin/env bash
# The main job: builds mpota, then does what a user does to update an ESP32 in
# the field, on an emulated 4 MiB ESP32 flash file:
#   - a device with MicroPython's OTA partition table and app v1 in ota_0;
#   - app v2 served by a real nginx on 127.0.0.1 with a manifest;
#   - a wrong file (a full firmware.bin) refused before anything is written;
#   - the update through the manifest with a progress bar, reboot, confirm;
#   - an update that is never confirmed, rolled back by the next reset;
#   - status before and after each step.
# Firmware comes from mpota's own image builder (real firmware is not ours to
# ship). Nothing outside a temporary directory is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
scripts/deps.sh
. scripts/debian_path.sh
build=${MPOTA_BUILD_DIR:-$(scripts/build.sh plain)}
case "$build" in /*) mpota="$build/mpota" ;; *) mpota="$PWD/$build/mpota" ;; esac
work=$(mktemp -d /tmp/mpota-demo.XXXXXX)
cleanup() {
  bash "$src/tests/integration/nginx_rig.sh" stop "$work/nginx" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

bold=""; plain=""
if [ -t 1 ]; then bold=$(printf '\033[1m'); plain=$(printf '\033[0m'); fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
say() { printf '%s$ %s%s\n' "$bold" "${*/#$mpota/mpota}" "$plain"; "$@"; }

cd "$work"
mkdir -p www

step "1. Firmware: three MicroPython-sized app images (v1 runs, v2 and v3 come over the air)"
say "$mpota" image build -o app-v1.bin --size 1400000 --project micropython --version v1.0.0 --seed 1
say "$mpota" image build -o www/app-v2.bin --size 1500000 --project micropython --version v2.0.0 --seed 2
say "$mpota" image build -o www/app-v3.bin --size 1520000 --project micropython --version v3.0.0 --seed 3
say "$mpota" image verify www/app-v2.bin --chip esp32

step "2. MicroPython's 4 MiB OTA partition table (two 1.5 MiB slots)"
say "$mpota" part make --layout ota --flash-size 4M --fs-type none -o table.csv
say cat table.csv
say "$mpota" part convert table.csv table.bin
say "$mpota" part show table.bin

step "3. A device as esptool leaves it, then its first boot"
say "$mpota" flash new device.flash --size 4M --table table.bin --app app-v1.bin
say "$mpota" flash boot device.flash
say "$mpota" flash status device.flash

step "4. Serve v2 from nginx on 127.0.0.1 with a manifest"
(cd www && say "$mpota" manifest make app-v2.bin -o app-v2.json)
(cd www && say "$mpota" manifest make app-v3.bin -o app-v3.json >/dev/null)
read -r port _ < <(bash "$src/tests/integration/nginx_rig.sh" start "$work/nginx" "$work/www" $$ 600)
base="http://127.0.0.1:$port/files"
echo "nginx serves $work/www at $base"

step "5. The wrong file: a full firmware.bin (bootloader + table + app) is refused, nothing written"
say "$mpota" image build --bootloader -o boot.bin
head -c $((0xF000)) /dev/zero | tr '\0' '\377' > www/firmware.bin
dd if=boot.bin of=www/firmware.bin conv=notrunc 2>/dev/null
dd if=table.bin of=www/firmware.bin bs=1 seek=$((0x7000)) conv=notrunc 2>/dev/null
cat www/app-v2.bin >> www/firmware.bin
sha_before=$(sha256sum device.flash | cut -d' ' -f1)
if say "$mpota" flash update device.flash "$base/firmware.bin"; then
  echo "demo: the full firmware was NOT refused" >&2; exit 1
fi
[ "$(sha256sum device.flash | cut -d' ' -f1)" = "$sha_before" ] && echo "(device flash byte-identical)"

step "6. Update through the manifest, reboot, confirm"
say "$mpota" flash update device.flash "$base/app-v2.json" --reboot --confirm
say "$mpota" flash status device.flash

step "7. An update that is never confirmed rolls back on the next reset"
say "$mpota" flash update device.flash "$base/app-v3.json" --reboot
say "$mpota" flash status device.flash
echo "(v3 did not confirm itself; the device resets)"
say "$mpota" flash boot device.flash
say "$mpota" flash status device.flash

echo
echo "== demo complete: v2 runs, confirmed; v3 was rolled back"
