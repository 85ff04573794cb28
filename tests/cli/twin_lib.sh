# Shared by the MicroPython twin tests (test_twin.sh, test_twin_ota.sh), which
# source it first; it is not a test itself (tests/CMakeLists.txt runs only
# tests/cli/test_*.sh). ctest's twin_build fixture runs it as
#   bash tests/cli/twin_lib.sh build DIR
# to build the twin into DIR once, before the twin tests start: each test
# building its own would run two builds into one directory under ctest -j.
#
# The MicroPython tree: MICROPY_DIR, else ../shared/micropython beside the
# checkout (micropython/twin/Makefile picks it the same way). Only without
# either is a twin test skipped. The twin a test runs: MPOTA_TWIN (one built
# elsewhere), else MPOTA_TWIN_BUILD/mpota-twin (ctest's twin_build output),
# else one built now into build-twin (a test run by hand, outside ctest).
# Sourced, it sets SRC, TESTS, IMG, TWIN and TWIN_TREE (the tree the twin was
# built from, for its tests; empty if unknown), and sources lib.sh.
SRC=${MPOTA_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# find_tree: sets TREE to the MicroPython tree's absolute path, or ends the
# test: skipped without a tree, failed when MICROPY_DIR names something else.
find_tree() {
  if [ -z "${MICROPY_DIR:-}" ]; then
    TREE=$SRC/../shared/micropython
    if [ ! -f "$TREE/ports/unix/Makefile" ]; then
      echo "SKIPPED: no MicroPython tree (set MICROPY_DIR, or put MicroPython at ../shared/micropython)"
      exit 77
    fi
  else
    TREE=$MICROPY_DIR
    [ -f "$TREE/ports/unix/Makefile" ] ||
      { echo "FAIL: MICROPY_DIR=$TREE is not a MicroPython source tree (no ports/unix/Makefile)"; exit 1; }
  fi
  TREE=$(cd "$TREE" && pwd -P)
}

# need_build_tools: what the twin build runs (MicroPython's make calls gcc by
# name; the launcher links the host's mbedTLS). A missing
# one fails the test, naming the Debian package to install.
need_build_tools() {
  local tool pkg
  for tool in gcc:build-essential make:make python3:python3; do
    pkg=${tool#*:} tool=${tool%%:*}
    command -v "$tool" >/dev/null ||
      { echo "FAIL: the twin build needs $tool: apt-get install $pkg"; exit 1; }
  done
  printf 'int main(void) { return 0; }\n' | gcc -x c - -o /dev/null 2>/dev/null ||
    { echo "FAIL: gcc cannot build a program (no C library headers?): apt-get install build-essential"; exit 1; }
  printf '#include <mbedtls/sha256.h>\nint main(void) { mbedtls_sha256_context c; mbedtls_sha256_init(&c); return 0; }\n' |
    gcc -x c - -lmbedcrypto -o /dev/null 2>/dev/null ||
    { echo "FAIL: the twin build needs mbedTLS (mbedtls/sha256.h, -lmbedcrypto): apt-get install libmbedtls-dev"; exit 1; }
}

# build_twin DIR: builds the twin from TREE into DIR with `make twin`. The
# build's messages go to DIR/build.log; its end is shown if the build fails.
# A lock keeps two builds into DIR apart (test scripts run by hand).
build_twin() {
  local dir=$1 start=$SECONDS
  need_build_tools
  mkdir -p "$dir"
  if ! flock "$dir/.lock" make --no-print-directory -C "$SRC" -j"$(nproc)" twin \
      MICROPY_DIR="$TREE" TWIN_BUILD="$dir" >"$dir/build.log" 2>&1; then
    tail -40 "$dir/build.log"
    echo "FAIL: twin build from $TREE (whole log: $dir/build.log)"
    exit 1
  fi
  echo "twin built from $TREE into $dir in $((SECONDS - start)) s"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # Run, not sourced: ctest's twin_build fixture.
  set -uo pipefail
  [ "${1:-}" = build ] && [ -n "${2:-}" ] || { echo "usage: $0 build DIR" >&2; exit 2; }
  if [ -n "${MPOTA_TWIN:-}" ]; then
    echo "MPOTA_TWIN=$MPOTA_TWIN is given: nothing to build"
    exit 0
  fi
  find_tree
  build_twin "$2"
  exit 0
fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_testdata
TESTS=$SRC/tests/mpy
IMG=$TESTDATA/images

if [ -n "${MPOTA_TWIN:-}" ]; then
  TWIN=$MPOTA_TWIN
else
  find_tree
  if [ -n "${MPOTA_TWIN_BUILD:-}" ]; then
    TWIN=$MPOTA_TWIN_BUILD/mpota-twin
  else
    build_twin "$SRC/build-twin"
    TWIN=$SRC/build-twin/mpota-twin
  fi
fi
[ -x "$TWIN" ] && ok || { echo "FAIL: no twin at '$TWIN'"; exit 1; }
# The build records its tree (micropython/twin/Makefile); for a twin from
# elsewhere, MICROPY_DIR if given.
TWIN_TREE=$(head -1 "$(dirname "$TWIN")/micropython-tree" 2>/dev/null || true)
TWIN_TREE=${TWIN_TREE:-${MICROPY_DIR:-}}

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

# stock_mode: with OTA_STOCK set, the test runs on stock firmware:
# `mpota-twin --stock` (no mpota module, no frozen ota package; TWIN becomes
# a wrapper that adds the flag), and install_package FS puts the package's
# .py files in the device's /lib, as mip installs them, so its pure-Python
# engine (python/ota/_stock.py) does the work. The scripts' own
# `import mpota` (to look at the device) gets a /lib/mpota.py that is that
# engine too. Without OTA_STOCK both do nothing.
stock_mode() {
  [ -n "${OTA_STOCK:-}" ] || return 0
  printf '#!/bin/sh\nexec "%s" --stock "$@"\n' "$TWIN" >"$WORK/twin-stock"
  chmod +x "$WORK/twin-stock"
  TWIN=$WORK/twin-stock
}
install_package() {
  [ -n "${OTA_STOCK:-}" ] || return 0
  mkdir -p "$1/lib/ota"
  cp "$SRC"/python/ota/*.py "$1/lib/ota/" && cp "$SRC/python/ota32.py" "$1/lib/"
  echo "from ota._stock import *  # tests only: the scripts look with mpota.Device" >"$1/lib/mpota.py"
}

# proxy NAME ARGS...: a tests/integration/cut_proxy.py in front of the
# nginx rig's $PORT; its port in $NAME, its pid added to PROXIES.
proxy() {
  local name=$1; shift
  python3 "$SRC/tests/integration/cut_proxy.py" --target-port "$PORT" --port-file "$name.port" \
    --log "$name.log" --timeout 600 "$@" &
  PROXIES+=($!)
  for _ in $(seq 50); do [ -s "$name.port" ] && break; sleep 0.1; done
  [ -s "$name.port" ] || { echo "FAIL: cut_proxy $name did not start"; exit 1; }
  printf -v "$name" '%s' "$(cat "$name.port")"
}
