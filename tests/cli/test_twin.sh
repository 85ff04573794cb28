#!/usr/bin/env bash
# The MicroPython twin (issue 4). Takes the twin that ctest's twin_build
# fixture built from the MicroPython tree (MICROPY_DIR, else
# ../shared/micropython; see twin_lib.sh), then runs through its reboot loop:
# * MicroPython's own tests/ports/esp32/partition_ota.py (from the tree the
#   twin was built from) against its .exp;
# * tests/mpy/*.py against their .exp (esp32.Partition call by call, PR
#   #7048's OTA calls across three boots, the mpota module's Session/Device);
# * a power cut at every flash operation of an update, each followed by a
#   clean boot of the old app;
# * the launcher's exit statuses;
# and checks that the module's object files hold no static RAM.
. "$(dirname "$0")/twin_lib.sh"

# --- helpers ----------------------------------------------------------------
# A device as esptool leaves it: the 4 MiB "ota" layout (ota_0, ota_1, vfs),
# app-v1.0.1 in ota_0, blank otadata; an empty filesystem folder.
new_device() {
  rm -rf fs dev.flash dev.flash.state && mkdir fs
  "$MPOTA" flash new dev.flash --size 4M --table table.csv --app "$IMG/app-v1.0.1.bin" >/dev/null ||
    fail "flash new"
}

# Files for the update tests: the new app, a full firmware, an old app.
make_firmware firmware.bin
"$MPOTA" image build --version v0.9.0 -o app-old.bin >/dev/null || fail "image build"
stock_fs() { cp "$IMG/app-v2.0.0-ota.bin" fs/app-v2.bin && cp firmware.bin app-old.bin fs/; }

# twin STATUS ARGS...: runs the twin, checks its exit status; stdout in
# $WORK/out, stderr in $WORK/err.
twin() { expect_status "$@"; }

otadata_states() { "$MPOTA" flash status dev.flash --json >"$WORK/status.json" &&
  json_get "$WORK/status.json" '[(e["seq"], e["state"]) for e in j["otadata"]]'; }

# --- MicroPython's partition_ota.py -------------------------------------------
MPY_TEST=$TWIN_TREE/tests/ports/esp32/partition_ota.py
if [ -n "$TWIN_TREE" ] && [ -f "$MPY_TEST" ]; then
  new_device
  twin 0 "$TWIN" --flash dev.flash --fs fs --max-boots 10 "$MPY_TEST"
  match_exp "$MPY_TEST.exp" eot
  [ ! -s "$WORK/err" ] && ok || fail "partition_ota.py wrote to stderr"
  grep -q "Running partition: ota_0 STEP=4 EXPECT=ota_0" "$WORK/out" && ok || fail "no step 4"
  [ "$(otadata_states)" = "[(3, 'VALID'), (2, 'VALID')]" ] && ok || fail "otadata after partition_ota.py: $(otadata_states)"
  [ -f fs/boot.py ] && [ ! -e fs/step.py ] && [ ! -e fs/boot-orig.py ] && ok || fail "partition_ota.py left files: $(ls fs)"
else
  echo "note: $MPY_TEST not found; MicroPython's partition_ota.py not run"
fi

# --- tests/mpy ----------------------------------------------------------------
new_device
twin 0 "$TWIN" --flash dev.flash --fs fs "$TESTS/partition_api.py"
match_exp "$TESTS/partition_api.py.exp" eot

new_device && stock_fs
twin 0 "$TWIN" --flash dev.flash --fs fs --max-boots 5 "$TESTS/pr7048_ota.py"
match_exp "$TESTS/pr7048_ota.py.exp" eot
[ "$(otadata_states)" = "[(1, 'VALID'), (2, 'INVALID')]" ] && ok || fail "otadata after pr7048_ota.py: $(otadata_states)"

new_device && stock_fs
# An official-style app (version only in MicroPython's banner) waits in ota_1.
"$MPOTA" image build -o official.bin --size 200000 --version '' --project '' --micropython 1.23.0 \
  >/dev/null || fail "image build --micropython"
"$MPOTA" flash write-slot dev.flash ota_1 official.bin >/dev/null || fail "write-slot official.bin"
twin 0 "$TWIN" --flash dev.flash --fs fs "$TESTS/session.py"
match_exp "$TESTS/session.py.exp" eot

# --- power cut at every flash operation of an update ----------------------------
# Boot 1 writes app-v2 through mpota.Session, sets it to boot and resets;
# main.py prints what runs. MPOTA_FLASH_FAIL_AFTER=N cuts the N-th erase or
# program of a process (the device is booted once beforehand, so boot 1's
# bootloader writes nothing and the count starts in the update). After each
# cut the twin exits 75, and a clean boot must start the old app.
new_device && stock_fs
"$MPOTA" flash boot dev.flash >/dev/null || fail "flash boot"
cat >update.py <<'EOF'
import machine, mpota
s = mpota.Session(mpota.Device())
s.begin()
with open("app-v2.bin", "rb") as f:
    while True:
        chunk = f.read(4096)
        if not chunk:
            break
        s.write(chunk)
s.end()
s.set_boot()
machine.reset()
EOF
power_cuts 200 update.py
echo "power cuts: $cuts cut points, each followed by a clean boot of the old app"
[ $cuts -gt 10 ] && ok || fail "only $cuts cut points"

# --- launcher behaviour ---------------------------------------------------------
new_device
printf 'print("in boot.py")\n' >fs/boot.py
printf 'import sys\nprint("hello")\nsys.exit(3)\n' >exit3.py
twin 3 "$TWIN" --flash dev.flash --fs fs exit3.py
[ "$(cat "$WORK/out")" = "$(printf 'in boot.py\nhello')" ] && ok || fail "boot.py then the script: $(cat "$WORK/out")"
printf 'print("main ran")\n' >fs/main.py
printf 'x = 1\n1 / 0\n' >raise.py
twin 1 "$TWIN" --flash dev.flash --fs fs raise.py
expect_out 'File ".*raise.py", line 2, in <module>'
expect_out '^ZeroDivisionError'
[ ! -s "$WORK/err" ] && ok || fail "a traceback went to stderr"
if grep -q _twin_boot "$WORK/out"; then fail "the twin's own frame is in the traceback"; else ok; fi
# boot.py fails: printed, main.py still runs, the boot's status is 1.
printf 'import nothere\n' >fs/boot.py
twin 1 "$TWIN" --flash dev.flash --fs fs
expect_out "ImportError: no module named 'nothere'"
expect_out '^main ran$'
# machine.reset() ends a boot; the next boot runs main.py, not the script.
printf 'print("boot.py")\n' >fs/boot.py
printf 'print("script")\nimport machine\nmachine.reset()\nprint("not reached")\n' >reset.py
twin 86 "$TWIN" --flash dev.flash --fs fs --max-boots 1 reset.py
[ "$(cat "$WORK/out")" = "$(printf 'boot.py\nscript')" ] && ok || fail "reset: $(cat "$WORK/out")"
twin 0 "$TWIN" --flash dev.flash --fs fs --max-boots 2 reset.py
[ "$(cat "$WORK/out")" = "$(printf 'boot.py\nscript\nboot.py\nmain ran')" ] && ok || fail "two boots: $(cat "$WORK/out")"
twin 2 "$TWIN" --fs fs
twin 1 "$TWIN" --flash missing.flash --fs fs
printf 'nothing' >junk.flash
truncate -s 4M junk.flash
twin 1 "$TWIN" --flash junk.flash --fs fs
expect_err 'partition table'

# --- the bindings under the project's warnings ---------------------------------------
# MicroPython builds them with -Wall -Wextra -Werror; the project adds these
# (unused parameters are part of MicroPython's binding signatures).
OBJ=$(dirname "$TWIN")/vm
if [ -n "$TWIN_TREE" ] && [ -d "$OBJ/genhdr" ]; then
  for f in "$SRC"/micropython/modmpota.c "$SRC"/micropython/mpota_*_obj.c "$SRC"/micropython/port_unix.c; do
    if gcc -fsyntax-only -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
        -Wstrict-prototypes -Wmissing-prototypes -I "$TWIN_TREE" -I "$TWIN_TREE/ports/unix" \
        -I "$SRC/micropython/twin/variant" -I "$OBJ" -I "$SRC/include" "$f" 2>"$WORK/cc.err"; then ok
    else fail "$(basename "$f") under the project's warnings: $(head -3 "$WORK/cc.err")"; fi
  done
fi

# --- what a new user meets: versions, and the official factory layout ---------
# ota.status names the MicroPython version of each app slot (official builds
# carry it only in their banner strings).
new_device
"$MPOTA" flash write-slot dev.flash ota_1 official.bin >/dev/null || fail "write-slot official.bin"
printf 'import ota.status\nota.status.status()\n' >fs/status.py
twin 0 "$TWIN" --flash dev.flash --fs fs fs/status.py
expect_out "^Partition 'ota_1' holds MicroPython v1\.23\.0\.$"
expect_out "^Partition 'ota_0' holds no MicroPython version string\.$"
# A factory layout (micropython.org's ESP32_GENERIC): status and an update
# say how to install an OTA layout, and the update changes nothing.
"$MPOTA" part make --layout factory --flash-size 4M -o factory.csv >/dev/null
rm -rf fs dev.flash dev.flash.state && mkdir fs
"$MPOTA" flash new dev.flash --size 4M --table factory.csv --app official.bin >/dev/null ||
  fail "flash new factory"
cp "$IMG/app-v2.0.0-ota.bin" fs/app-v2.bin
printf 'import ota.status, ota.update\nota.status.status()\nota.update.from_file("app-v2.bin")\n' \
  >fs/factory.py
"$MPOTA" flash boot dev.flash >/dev/null
cp dev.flash factory.before
twin 1 "$TWIN" --flash dev.flash --fs fs fs/factory.py
expect_out 'esptool.py --chip esp32 --port PORT write_flash 0x1000 ESP32_GENERIC-OTA-'
[ "$(grep -c 'has no OTA slots' "$WORK/out")" -eq 2 ] && ok || fail "status and update should both advise"
expect_out 'MPOTA_ERR_NO_OTA_SLOTS|no OTA app slots'
same_bytes dev.flash factory.before

# --- static RAM of the module ------------------------------------------------------
if grep -qs -- -fsanitize "${MPOTA_TWIN_BUILD:-}/micropython-tree"; then
  echo "static RAM: not measured on a sanitized twin (ASan adds globals); the plain build's run measures it"
elif [ -d "$OBJ/micropython" ]; then
  ram=$(size -A "$OBJ"/micropython/*.o "$OBJ"/src/core/*.o |
    awk '$1 ~ /^\.(data|bss)/ && $1 !~ /^\.data\.rel\.ro/ {s += $2} END {print s + 0}')
  [ "$ram" -eq 0 ] && ok || fail "the module's objects hold $ram B of .data/.bss"
  echo "static RAM of micropython/*.o and src/core/*.o: $ram B"
fi

finish
