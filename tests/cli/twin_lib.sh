# Shared by the MicroPython twin tests (test_twin.sh, test_twin_ota.sh), which
# source it first: it is not a test itself (tests/CMakeLists.txt runs only
# tests/cli/test_*.sh). Without MICROPY_DIR or MPOTA_TWIN the test is skipped;
# otherwise it sources lib.sh and sets SRC, TESTS and IMG.
if [ -z "${MICROPY_DIR:-}" ] && [ -z "${MPOTA_TWIN:-}" ]; then
  echo "SKIPPED: no MICROPY_DIR"
  exit 77
fi
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_testdata
SRC=${MPOTA_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TESTS=$SRC/tests/mpy
IMG=$TESTDATA/images

# build_twin [TWIN_BUILD]: sets TWIN to MPOTA_TWIN, or builds the twin with
# `make twin` from MICROPY_DIR (into TWIN_BUILD if given, else the Makefile's
# default) and takes the path it prints last. Exits the test if there is none.
build_twin() {
  if [ -n "${MPOTA_TWIN:-}" ]; then
    TWIN=$MPOTA_TWIN
  else
    make --no-print-directory -C "$SRC" twin MICROPY_DIR="$MICROPY_DIR" ${1:+TWIN_BUILD="$1"} \
      >"$WORK/build.log" 2>&1 ||
      { tail -30 "$WORK/build.log"; echo "FAIL: make twin"; exit 1; }
    TWIN=$(tail -1 "$WORK/build.log")
  fi
  [ -x "$TWIN" ] && ok || { echo "FAIL: no twin at '$TWIN'"; exit 1; }
}

# make_firmware OUT: table.csv (the 4 MiB "ota" layout: ota_0, ota_1, vfs),
# table.bin, boot.bin, and OUT, a full firmware as micropython.org ships it
# (bootloader at 0, table at 0x7000, app-v1.0.1 at 0xF000).
make_firmware() {
  "$MPOTA" part make --layout ota --flash-size 4M -o table.csv >/dev/null || fail "part make"
  "$MPOTA" part convert table.csv table.bin >/dev/null || fail "part convert"
  "$MPOTA" image build --bootloader -o boot.bin >/dev/null || fail "image build --bootloader"
  head -c $((0xF000)) /dev/zero | tr '\0' '\377' >"$1"
  dd if=boot.bin of="$1" conv=notrunc 2>/dev/null
  dd if=table.bin of="$1" bs=1 seek=$((0x7000)) conv=notrunc 2>/dev/null
  cat "$IMG/app-v1.0.1.bin" >>"$1"
}

# match_exp EXP [eot]: $WORK/out against EXP, in which a line "########"
# matches zero or more lines (run-tests.py's rule for partition_ota.py) and
# every other line must be equal. With "eot" the output is cut at the first
# \x04 (where MicroPython's test runner stops reading a raw-REPL run) and must
# be valid UTF-8; without it, bytes that are not are replaced.
match_exp() {
  if python3 - "$WORK/out" "$1" "${2:-}" <<'EOF'; then ok; else fail "output does not match $(basename "$1")"; fi
import sys
raw = open(sys.argv[1], "rb").read()
if sys.argv[3] == "eot":
    out = raw.split(b"\x04")[0].decode().split("\n")
else:
    out = raw.decode(errors="replace").split("\n")
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

# power_cuts MAX SCRIPT: a power cut at every flash operation of SCRIPT's
# update. The device as it stands (dev.flash, fs/) is kept as pristine.*;
# fs/main.py prints what runs. For N = 1..MAX, MPOTA_FLASH_FAIL_AFTER=N cuts
# the N-th erase or program of a process: the twin exits 75, and a clean boot
# must then start the old app (ota_0). The first N that reaches no cut must
# have completed the update (boot 2 runs ota_1) and ends the loop. Sets cuts
# to the number of cut points.
power_cuts() {
  echo 'import mpota; print("running", mpota.Device().running())' >fs/main.py
  cp dev.flash pristine.flash && cp dev.flash.state pristine.flash.state && cp -r fs pristine.fs
  cuts=0
  local n st
  for n in $(seq 1 "$1"); do
    rm -rf dev.flash dev.flash.state fs
    cp pristine.flash dev.flash && cp pristine.flash.state dev.flash.state && cp -r pristine.fs fs
    MPOTA_FLASH_FAIL_AFTER=$n "$TWIN" --flash dev.flash --fs fs --max-boots 3 "$2" >"$WORK/out" 2>&1
    st=$?
    if [ $st -ne 75 ]; then
      # No cut reached: the update completed and boot 2 ran the new app.
      [ $st -eq 0 ] && grep -qx "running ota_1" "$WORK/out" && ok || fail "uncut update: status $st, $(cat "$WORK/out")"
      break
    fi
    cuts=$((cuts + 1))
    expect_status 0 "$TWIN" --flash dev.flash --fs fs --max-boots 1
    grep -qx "running ota_0" "$WORK/out" && ok || fail "after a cut at op $n: $(cat "$WORK/out")"
  done
}
