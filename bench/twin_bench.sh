#!/usr/bin/env bash
# Time and heap of one OTA update of a 1.6 MB app on the MicroPython twin:
# the `ota` package (mpota's C session) against a plain Python writer that
# does what glenn20's package does (4 KiB Partition.writeblocks per block +
# hashlib.sha256 + a read-back). How each number is taken is described at
# the top of bench/twin_bench.py.
#
#   bench/twin_bench.sh [--runs N] [--size BYTES] [--json FILE]
#
# Needs MICROPY_DIR (a MicroPython source tree, default ../shared/micropython; the twin is built with `make
# twin` into TWIN_BUILD, default bench/out/twin) or MPOTA_TWIN (a built
# mpota-twin), and the mpota CLI (MPOTA, default build/mpota; built with
# cmake into bench/out/build when missing). Prints a table; exit 0, or 77
# with "SKIPPED: <why>" when there is no twin to run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=3
size=1600000
json_out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=${2:?}; shift ;;
    --size) size=${2:?}; shift ;;
    --json) json_out=${2:?}; shift ;;
    *) echo "usage: bench/twin_bench.sh [--runs N] [--size BYTES] [--json FILE]" >&2; exit 2 ;;
  esac
  shift
done

# The tree the tests use by default: ../shared/micropython beside the checkout.
if [ -z "${MICROPY_DIR:-}" ] && [ -f "$root/../shared/micropython/ports/unix/Makefile" ]; then
  MICROPY_DIR=$(cd "$root/../shared/micropython" && pwd)
fi
if [ -n "${MPOTA_TWIN:-}" ]; then
  twin=$MPOTA_TWIN
elif [ -n "${MICROPY_DIR:-}" ]; then
  tb=${TWIN_BUILD:-$root/bench/out/twin}
  mkdir -p "$root/bench/out"
  make --no-print-directory -C "$root/micropython/twin" MICROPY_DIR="$MICROPY_DIR" TWIN_BUILD="$tb" \
    >"$root/bench/out/twin-build.log" 2>&1 || { tail -20 "$root/bench/out/twin-build.log"; exit 1; }
  twin=$tb/mpota-twin
else
  echo "SKIPPED: no MicroPython tree (set MICROPY_DIR or MPOTA_TWIN, or put MicroPython at ../shared/micropython)"
  exit 77
fi
m=${MPOTA:-$root/build/mpota}
if [ ! -x "$m" ]; then
  cmake -S "$root" -B "$root/bench/out/build" >/dev/null && cmake --build "$root/bench/out/build" --target mpota >/dev/null
  m=$root/bench/out/build/mpota
fi

work=$(mktemp -d /tmp/mpota-twin-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir fs
"$m" image build -o fs/app.bin --size "$size" --version v2.0.0 --seed 7 >/dev/null
"$m" image build -o old.bin --size "$size" --version v1.0.0 --seed 8 >/dev/null
"$m" part make --layout ota --flash-size 4M --fit fs/app.bin -o table.csv >/dev/null
"$m" flash new dev.flash --size 4M --table table.csv --app old.bin >/dev/null
"$m" flash boot dev.flash >/dev/null
cat >fs/config.py <<CFG
RUNS = $runs
LEN = $(stat -c %s fs/app.bin)
SHA = "$(sha256sum fs/app.bin | cut -c1-64)"
CFG
"$twin" --flash dev.flash --fs fs "$root/bench/twin_bench.py" >out.txt 2>err.txt ||
  { cat out.txt err.txt; echo "twin_bench.py failed"; exit 1; }
line=$(grep '^{' out.txt | tail -1)
[ -n "$json_out" ] && echo "$line" >"$json_out"
python3 - "$line" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
rows = (("ota", "ota package: mpota.Session (C)"),
        ("py_partition", "Python writer, esp32.Partition.writeblocks (twin: Python)"),
        ("py_device", "Python writer, mpota.Device erase+write (C calls)"))
print("One update of a %s-byte app on the twin (MicroPython %s), best of %d runs" % (
    format(j["image_bytes"], ","), j["micropython"], j["runs"]))
print()
print("| way | best ms | mean ms | heap allocated, GC off (B) | live heap peak (B) | verified |")
print("|---|---:|---:|---:|---:|---|")
for key, name in rows:
    r = j[key]
    print("| %s | %.1f | %.1f | %s | %s | %s |" % (name, r["best_ms"], r["mean_ms"],
          format(r["alloc_bytes"], ","), format(r["live_peak_bytes"], ","), r["verified"]))
o = j["ota"]
for key in ("py_partition", "py_device"):
    r = j[key]
    print()
    print("%s / ota: time x%.1f, heap allocated x%.1f" % (
        key, r["best_ms"] / o["best_ms"], r["alloc_bytes"] / max(1, o["alloc_bytes"])))
PY
