#!/usr/bin/env bash
# The main job: builds mpota, then walks an emulated 4 MiB ESP32 through what a
# user does: inspect firmware, make a partition table, flash a device, boot it,
# put a new app in the other slot, switch to it, and see it confirmed or rolled
# back. Everything runs on an emulated NOR flash file; firmware comes from
# mpota's own image builder (real firmware is not ours to ship).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
build=${MPOTA_BUILD_DIR:-$(scripts/build.sh plain)}
case "$build" in /*) mpota="$build/mpota" ;; *) mpota="$PWD/$build/mpota" ;; esac
work=$(mktemp -d /tmp/mpota-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "== mpota demo (work dir $work)"
cd "$work"

# 1. Two app images, as a MicroPython build would make them (1.6 MB, ESP32).
say "$mpota" image build -o app-v1.bin --size 1600000 --project micropython --version v1.0.0
say "$mpota" image build -o app-v2.bin --size 1640000 --project micropython --version v2.0.0
say "$mpota" image info app-v2.bin

# 2. A partition table with two OTA slots that hold it, on 4 MiB of flash.
say "$mpota" part make --layout ota --flash-size 4M --fit app-v2.bin -o table.csv
say cat table.csv
say "$mpota" part convert table.csv table.bin
say "$mpota" part show table.bin

# 3. A device as esptool leaves it: table at 0x8000, v1 in ota_0, otadata blank.
say "$mpota" flash new device.flash --size 4M --table table.bin --app app-v1.bin
say "$mpota" flash boot device.flash
say "$mpota" flash status device.flash

# 4. A wrong file is refused before anything is written.
if ! "$mpota" image verify "$work/app-v2.bin" --chip esp32s3; then
  echo "(refused as expected)"
fi

# 5. New app into the other slot, switch, reboot, confirm.
say "$mpota" flash write-slot device.flash ota_1 app-v2.bin
say "$mpota" flash set-boot device.flash ota_1
say "$mpota" flash boot device.flash
say "$mpota" flash confirm device.flash
say "$mpota" flash status device.flash

# 6. Another switch that is never confirmed rolls back on the next reset.
say "$mpota" flash set-boot device.flash ota_0
say "$mpota" flash boot device.flash
say "$mpota" flash boot device.flash
say "$mpota" flash status device.flash
echo
echo "== demo complete"
