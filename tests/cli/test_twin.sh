#!/usr/bin/env bash
# The MicroPython twin (issue 4). Builds it with `make twin` from the
# MicroPython tree named by MICROPY_DIR (or takes a built one from
# MPOTA_TWIN), then runs through its reboot loop:
# * MicroPython's own tests/ports/esp32/partition_ota.py against its .exp;
# * tests/mpy/*.py against their .exp (esp32.Partition call by call, PR
#   #7048's OTA calls across three boots, the mpota module's Session/Device);
# * a power cut at every flash operation of an update, each followed by a
#   clean boot of the old app;
# * the launcher's exit statuses;
# and checks that the module's object files hold no static RAM.
if [ -z "${MICROPY_DIR:-}" ] && [ -z "${MPOTA_TWIN:-}" ]; then
  echo "SKIPPED: no MICROPY_DIR"
  exit 77
fi
. "$(dirname "$0")/lib.sh"
need_testdata
SRC=${MPOTA_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
TESTS=$SRC/tests/mpy
IMG=$TESTDATA/images

# --- build ------------------------------------------------------------------
if [ -n "${MPOTA_TWIN:-}" ]; then
  TWIN=$MPOTA_TWIN
else
  make --no-print-directory -C "$SRC" twin MICROPY_DIR="$MICROPY_DIR" >"$WORK/build.log" 2>&1 ||
    { tail -30 "$WORK/build.log"; echo "FAIL: make twin"; exit 1; }
  TWIN=$(tail -1 "$WORK/build.log")
fi
[ -x "$TWIN" ] && ok || { echo "FAIL: no twin at '$TWIN'"; exit 1; }

# --- helpers ----------------------------------------------------------------
# A device as esptool leaves it: the 4 MiB "ota" layout (ota_0, ota_1, vfs),
# app-v1.0.1 in ota_0, blank otadata; an empty filesystem folder.
"$MPOTA" part make --layout ota --flash-size 4M -o table.csv >/dev/null || fail "part make"
new_device() {
  rm -rf fs dev.flash dev.flash.state && mkdir fs
  "$MPOTA" flash new dev.flash --size 4M --table table.csv --app "$IMG/app-v1.0.1.bin" >/dev/null ||
    fail "flash new"
}

# Files for the update tests: the new app, a full firmware (bootloader at 0,
# table at 0x7000, app at 0xF000, as micropython.org ships it), an old app.
"$MPOTA" image build --bootloader -o boot.bin >/dev/null || fail "image build --bootloader"
"$MPOTA" part convert table.csv table.bin >/dev/null || fail "part convert"
head -c $((0xF000)) /dev/zero | tr '\0' '\377' >firmware.bin
dd if=boot.bin of=firmware.bin conv=notrunc 2>/dev/null
dd if=table.bin of=firmware.bin bs=1 seek=$((0x7000)) conv=notrunc 2>/dev/null
cat "$IMG/app-v1.0.1.bin" >>firmware.bin
"$MPOTA" image build --version v0.9.0 -o app-old.bin >/dev/null || fail "image build"
stock_fs() { cp "$IMG/app-v2.0.0-ota.bin" fs/app-v2.bin && cp firmware.bin app-old.bin fs/; }

# twin STATUS ARGS...: runs the twin, checks its exit status; stdout in
# $WORK/out, stderr in $WORK/err.
twin() { expect_status "$@"; }

# match_exp EXP: $WORK/out, cut at the first \x04 (where MicroPython's test
# runner stops reading a raw-REPL run), against EXP, in which a line
# "########" matches zero or more lines (run-tests.py's rule for
# partition_ota.py) and every other line must be equal.
match_exp() {
  if python3 - "$WORK/out" "$1" <<'EOF'; then ok; else fail "output does not match $(basename "$1")"; fi
import sys
out = open(sys.argv[1], "rb").read().split(b"\x04")[0].decode().split("\n")
exp = open(sys.argv[2]).read().split("\n")
for lines in (out, exp):
    if lines and lines[-1] == "":
        lines.pop()

def match(i, j):
    while i < len(exp):
        if exp[i] == "########":
            return any(match(i + 1, k) for k in range(j, len(out) + 1))
        if j >= len(out) or out[j] != exp[i]:
            return False
        i, j = i + 1, j + 1
    return j == len(out)

if not match(0, 0):
    import difflib
    print("\n".join(difflib.unified_diff(exp, out, "expected", "got", lineterm="")))
    sys.exit(1)
EOF
}

otadata_states() { "$MPOTA" flash status dev.flash --json >"$WORK/status.json" &&
  json_get "$WORK/status.json" '[(e["seq"], e["state"]) for e in j["otadata"]]'; }

# --- MicroPython's partition_ota.py -------------------------------------------
MPY_TEST=${MICROPY_DIR:-}/tests/ports/esp32/partition_ota.py
if [ -n "${MICROPY_DIR:-}" ] && [ -f "$MPY_TEST" ]; then
  new_device
  twin 0 "$TWIN" --flash dev.flash --fs fs --max-boots 10 "$MPY_TEST"
  match_exp "$MPY_TEST.exp"
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
match_exp "$TESTS/partition_api.py.exp"

new_device && stock_fs
twin 0 "$TWIN" --flash dev.flash --fs fs --max-boots 5 "$TESTS/pr7048_ota.py"
match_exp "$TESTS/pr7048_ota.py.exp"
[ "$(otadata_states)" = "[(1, 'VALID'), (2, 'INVALID')]" ] && ok || fail "otadata after pr7048_ota.py: $(otadata_states)"

new_device && stock_fs
twin 0 "$TWIN" --flash dev.flash --fs fs "$TESTS/session.py"
match_exp "$TESTS/session.py.exp"

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
echo 'import mpota; print("running", mpota.Device().running())' >fs/main.py
cp dev.flash pristine.flash && cp dev.flash.state pristine.flash.state
cp -r fs pristine.fs
cuts=0
for n in $(seq 1 200); do
  rm -rf dev.flash dev.flash.state fs
  cp pristine.flash dev.flash && cp pristine.flash.state dev.flash.state && cp -r pristine.fs fs
  MPOTA_FLASH_FAIL_AFTER=$n "$TWIN" --flash dev.flash --fs fs --max-boots 3 update.py >"$WORK/out" 2>&1
  st=$?
  if [ $st -ne 75 ]; then
    # No cut reached: the update completed and boot 2 ran the new app.
    [ $st -eq 0 ] && grep -qx "running ota_1" "$WORK/out" && ok || fail "uncut update: status $st, $(cat "$WORK/out")"
    break
  fi
  cuts=$((cuts + 1))
  twin 0 "$TWIN" --flash dev.flash --fs fs --max-boots 1
  grep -qx "running ota_0" "$WORK/out" && ok || fail "after a cut at op $n: $(cat "$WORK/out")"
done
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
if [ -n "${MICROPY_DIR:-}" ] && [ -d "$OBJ/genhdr" ]; then
  for f in "$SRC"/micropython/modmpota.c "$SRC"/micropython/mpota_*_obj.c "$SRC"/micropython/port_unix.c; do
    if gcc -fsyntax-only -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
        -Wstrict-prototypes -Wmissing-prototypes -I "$MICROPY_DIR" -I "$MICROPY_DIR/ports/unix" \
        -I "$SRC/micropython/twin/variant" -I "$OBJ" -I "$SRC/include" "$f" 2>"$WORK/cc.err"; then ok
    else fail "$(basename "$f") under the project's warnings: $(head -3 "$WORK/cc.err")"; fi
  done
fi

# --- static RAM of the module ------------------------------------------------------
if [ -d "$OBJ/micropython" ]; then
  ram=$(size -A "$OBJ"/micropython/*.o "$OBJ"/src/core/*.o |
    awk '$1 ~ /^\.(data|bss)/ && $1 !~ /^\.data\.rel\.ro/ {s += $2} END {print s + 0}')
  [ "$ram" -eq 0 ] && ok || fail "the module's objects hold $ram B of .data/.bss"
  echo "static RAM of micropython/*.o and src/core/*.o: $ram B"
fi

finish
