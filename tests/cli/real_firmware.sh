#!/usr/bin/env bash
# Real official MicroPython firmware (issue 10), not generated images: each
# file in MPOTA_REAL_FW (micropython.org downloads: full firmware.bin files
# or app images; ../shared/testdata holds none and none is kept here, so
# ctest has this test only when MPOTA_REAL_FW is set at configure time; run
# by hand without it, it says SKIPPED) goes through the twin in stock mode,
# the way a user's script does it:
# * the full firmware.bin is refused by ota.update.from_file, nothing written;
# * its app (mpota image extract-app), where it fits the 1.5 MiB slot, is
#   served by nginx and installed with ota.update.from_file(url, sha=,
#   length=); the device reboots into it and ota.rollback.cancel() confirms
#   it; `mpota flash status` then shows the real app's MicroPython version
#   running, VALID;
# * an app bigger than the slot (official ESP32_GENERIC builds from v1.21 on
#   are ~1.6 MB) is refused, over http with its length given, saying both
#   sizes, and nothing is written.
# The device runs a generated app for the same chip; the twin's "ESP32" is
# that chip as far as the images are concerned.
. "$(dirname "$0")/twin_lib.sh"
RIG=$SRC/tests/integration
M=$MPOTA
[ -n "${MPOTA_REAL_FW:-}" ] && [ -d "$MPOTA_REAL_FW" ] ||
  { echo "SKIPPED: no real firmware (MPOTA_REAL_FW names a directory of micropython.org .bin files)"; exit 77; }
OTA_STOCK=1
stock_mode

mkdir -p www run
if ! ports=$(bash "$RIG/nginx_rig.sh" start "$WORK/run" "$WORK/www" $$ 900 2>"$WORK/rig.err"); then
  cat "$WORK/rig.err"; echo "FAIL: nginx rig did not start"; exit 1
fi
trap 'bash "$RIG/nginx_rig.sh" stop "$WORK/run" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
read -r PORT _ <<<"$ports"
"$M" part make --layout ota --flash-size 4M -o table.csv >/dev/null || fail "part make"
SLOT=$((0x180000))
info() { "$M" image info --json "$1" >info.json 2>/dev/null && json_get info.json "$2"; }

apps=0
for fw in "$MPOTA_REAL_FW"/*.bin; do
  [ -f "$fw" ] || continue
  name=$(basename "$fw" .bin)
  kind=$(info "$fw" 'j["kind"]') || { fail "$name: mpota image info refuses it"; continue; }
  chip=$(info "$fw" 'j["chip"]')
  if [ "$kind" = app ]; then cp "$fw" app.bin; else
    "$M" image extract-app "$fw" -o app.bin >/dev/null || { fail "$name: extract-app"; continue; }
  fi
  ver=$(info app.bin 'j.get("micropython_version") or ""')
  # The device: a generated app for the same chip in ota_0, booted once.
  "$M" image build -o run.bin --chip "$chip" --size 65536 --version v1.0.0 >/dev/null ||
    { fail "$name: image build for $chip"; continue; }
  new_dev() {
    rm -rf fs dev.flash dev.flash.state && mkdir fs && install_package fs
    "$M" flash new dev.flash --size 4M --table table.csv --app run.bin >/dev/null &&
      "$M" flash boot dev.flash >/dev/null || fail "$name: flash new"
  }
  # The full image, if this is one: refused, nothing written.
  if [ "$kind" != app ]; then
    new_dev
    cp "$fw" fs/firmware.bin
    cp dev.flash before.flash
    printf 'import ota.update\ntry:\n    ota.update.from_file("firmware.bin", reboot=False, verbose=False)\nexcept OSError as e:\n    print("refused:", e.args[1])\n' >refuse.py
    expect_status 0 "$TWIN" --flash dev.flash --fs fs --max-boots 1 refuse.py
    grep -q "^refused: this is a full flash image" "$WORK/out" && ok || fail "$name: firmware.bin: $(cat "$WORK/out")"
    cmp -s dev.flash before.flash && ok || fail "$name: the refused firmware.bin changed the flash"
  fi
  size=$(stat -c %s app.bin)
  new_dev
  cp app.bin "www/$name.app.bin"
  if [ "$size" -gt "$SLOT" ]; then
    cp dev.flash before.flash
    cat >big.py <<EOF
import ota.update
try:
    ota.update.from_file("http://127.0.0.1:$PORT/files/$name.app.bin", length=$size, reboot=False, verbose=False)
except ValueError as e:
    print("refused:", e)
EOF
    expect_status 0 "$TWIN" --flash dev.flash --fs fs --max-boots 1 big.py
    want="refused: image is $(commas "$size") B but ota_1 holds 1,572,864 B"
    grep -qF "$want" "$WORK/out" && ok || fail "$name: too big: $(cat "$WORK/out"), want $want"
    cmp -s dev.flash before.flash && ok || fail "$name: the refused app changed the flash"
    echo "real firmware: $name ($chip, MicroPython ${ver:-?}, app $size bytes): bigger than the slot, refused, nothing written"
    continue
  fi
  cat >update.py <<EOF
import ota.update
ota.update.from_file("http://127.0.0.1:$PORT/files/$name.app.bin", sha="$(sha256sum app.bin | cut -c1-64)",
                     length=$size, reboot=True, verbose=False)
EOF
  echo 'import ota.rollback; ota.rollback.cancel(); print("confirmed")' >fs/main.py
  sed -i 's/^import ota.update/import ota.update\nota.update.REBOOT_DELAY = 0/' update.py
  expect_status 0 "$TWIN" --flash dev.flash --fs fs --max-boots 2 update.py
  grep -qx confirmed "$WORK/out" && ok || fail "$name: not confirmed after the reboot: $(tail -3 "$WORK/out")"
  "$M" flash status dev.flash --json >status.json || fail "$name: flash status"
  got=$(json_get status.json '[j["running"]] + [(s["valid"], s["state"]) for s in j["slots"] if s["label"] == "ota_1"]')
  [ "$got" = "['ota_1', (True, 'VALID')]" ] && ok || fail "$name: device after the update: $got"
  echo "real firmware: $name ($chip, MicroPython ${ver:-?}, app $size bytes): installed over http, booted, confirmed"
  apps=$((apps + 1))
done
[ "$apps" -gt 0 ] && ok || fail "no real app in $MPOTA_REAL_FW fits a slot"
finish
