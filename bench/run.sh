#!/usr/bin/env bash
# Every benchmark of mpota in one command: builds what it needs in its own
# directories, runs, and writes BENCH.md (repo root) and bench/results.json.
#
#   bench/run.sh                 full run (installs missing packages first
#                                with scripts/deps.sh unless MPOTA_BENCH_NO_DEPS=1)
#   bench/run.sh --smoke         fast subset for CI (< 60 s), writes to
#                                bench/out/smoke/ (results.json has "smoke": true)
#   --out DIR                    write BENCH.md and results.json into DIR instead
#   --build-dir DIR              host build directory (default bench/out/build)
#
# Exit status: 0 when every part that ran worked; 1 when something broke (a
# build, a driver, an update that did not boot, static RAM in the core); 2 for
# usage. A missed target is reported, not a failure. A part whose tool is
# missing (valgrind, a cross compiler) is marked skipped in both files.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
smoke=0
out_dir=""
build_dir="$root/bench/out/build"
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --out) out_dir=${2:?--out needs a directory}; shift ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "usage: bench/run.sh [--smoke] [--out DIR] [--build-dir DIR]" >&2; exit 2 ;;
  esac
  shift
done

start=$(date +%s.%N)
if [ -n "$out_dir" ]; then
  mkdir -p "$out_dir"
  out_dir=$(cd "$out_dir" && pwd)
  bench_md="$out_dir/BENCH.md"; results="$out_dir/results.json"
elif [ "$smoke" -eq 1 ]; then
  out_dir="$root/bench/out/smoke"; mkdir -p "$out_dir"
  bench_md="$out_dir/BENCH.md"; results="$out_dir/results.json"
else
  bench_md="$root/BENCH.md"; results="$root/bench/results.json"
fi
mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)
raw="$build_dir/raw"
[ "$smoke" -eq 0 ] || raw="$build_dir/raw-smoke"
rm -rf "$raw"
mkdir -p "$raw"
: >"$raw/failures.txt"
: >"$raw/skipped.txt"

failed() { echo "bench: FAILED: $*" >&2; echo "$*" >>"$raw/failures.txt"; }
skipped() { echo "bench: SKIPPED: $*" >&2; echo "$*" >>"$raw/skipped.txt"; }

if [ "$smoke" -eq 0 ] && [ "${MPOTA_BENCH_NO_DEPS:-0}" != 1 ]; then
  "$root/scripts/deps.sh" || { echo "bench: scripts/deps.sh failed" >&2; exit 1; }
fi
. "$root/scripts/debian_path.sh"

# --- host build (RelWithDebInfo: -O2 -g, symbols for callgrind) --------------
echo "bench: building in $build_dir" >&2
gen=()
if command -v ninja >/dev/null 2>&1 && [ ! -f "$build_dir/Makefile" ]; then gen=(-G Ninja); fi
if ! cmake -S "$root" -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DMPOTA_TESTS=OFF -DMPOTA_BENCH=ON >"$raw/configure.log" 2>&1 ||
   ! cmake --build "$build_dir" -j"$(nproc 2>/dev/null || echo 2)" \
      --target bench_modeled bench_pipeline bench_sizeof bench_sig bench_transfer mpota \
      >"$raw/build.log" 2>&1; then
  cat "$raw/configure.log" "$raw/build.log" 2>/dev/null | tail -30 >&2
  echo "bench: host build failed" >&2
  exit 1
fi
bin="$build_dir/bench"

# --- drivers ------------------------------------------------------------------
if [ "$smoke" -eq 1 ]; then reps=5; cg_size=400000; else reps=21; cg_size=1600000; fi

echo "bench: struct sizes" >&2
"$bin/bench_sizeof" >"$raw/sizeof_host.json" || failed "bench_sizeof"

echo "bench: modeled device time" >&2
"$bin/bench_modeled" >"$raw/modeled.json" || failed "bench_modeled (an update failed or did not boot)"

echo "bench: host pipeline throughput ($reps repetitions)" >&2
"$bin/bench_pipeline" --reps "$reps" --size 1600000 >"$raw/pipeline.json" ||
  failed "bench_pipeline"

# Secure Boot V2 verification per scheme (issue 12): time and mbedTLS heap.
if [ "$smoke" -eq 1 ]; then sig_args=(--reps 3 --budget 0.02); else sig_args=(--reps 11 --budget 0.2); fi
echo "bench: signature verification (${sig_args[*]})" >&2
"$bin/bench_sig" "${sig_args[@]}" >"$raw/sig.json" || failed "bench_sig (a signed vector did not verify)"

# Smaller transfers (issue 13): full, gzip and delta updates of release pairs
# over three links. Real pairs from MPOTA_RELEASES (kept outside the repository).
echo "bench: smaller transfers${MPOTA_RELEASES:+ ($MPOTA_RELEASES)}" >&2
python3 "$root/bench/transfer.py" --bench "$bin/bench_transfer" --mpota "$build_dir/mpota" \
  --out "$raw/transfer.json" || failed "bench_transfer"

if command -v valgrind >/dev/null 2>&1; then
  modes=(sha256 pipeline)
  [ "$smoke" -eq 1 ] || modes+=(pipeline_noverify)
  for m in "${modes[@]}"; do
    # The measured function; '*' also matches a clone gcc may make of it
    # (measure_pipeline.constprop.0).
    fn=measure_sha256
    [ "$m" = sha256 ] || fn=measure_pipeline
    echo "bench: callgrind $m ($cg_size bytes)" >&2
    if ! valgrind --tool=callgrind --callgrind-out-file="$raw/callgrind.$m.out" \
          --toggle-collect="$fn*" "$bin/bench_pipeline" --mode "$m" --reps 1 --size "$cg_size" \
          >"$raw/callgrind.$m.json" 2>"$raw/callgrind.$m.log"; then
      failed "callgrind $m"; tail -5 "$raw/callgrind.$m.log" >&2
    fi
  done
  echo "$cg_size" >"$raw/callgrind.size"
else
  skipped "instructions per byte: valgrind not installed (scripts/deps.sh installs it)"
fi

# --- the core for embedded targets: size, static RAM, stack, struct sizes -----
# The signature path is built with the MicroPython tree's mbedTLS (skipped
# without a tree).
echo "bench: cross-building the core" >&2
python3 "$root/bench/core_build.py" --src "$root" --out "$build_dir/core" \
  --micropython "${MICROPY_DIR:-$root/../shared/micropython}" \
  --json "$raw/core.json" || failed "cross build of the core"

# --- stock MicroPython: glenn20's package, our Python engine, our C engine ------
# On the twin (built into bench/out/twin from MICROPY_DIR, default
# ../shared/micropython). glenn20's package is not kept here: GLENN20_OTA
# names its mip/ota directory (a clone of glenn20/micropython-esp32-ota).
if [ "$smoke" -eq 0 ]; then
  tree=${MICROPY_DIR:-$root/../shared/micropython}
  if [ -f "$tree/ports/unix/Makefile" ]; then
    echo "bench: stock MicroPython on the twin" >&2
    if make --no-print-directory -C "$root" twin MICROPY_DIR="$tree" TWIN_BUILD="$root/bench/out/twin" \
        >"$raw/twin-build.log" 2>&1 &&
       cmake --build "$build_dir" --target mpota >>"$raw/build.log" 2>&1; then
      glenn=()
      if [ -n "${GLENN20_OTA:-}" ]; then glenn=(--glenn20 "$GLENN20_OTA")
      else skipped "glenn20's package in the stock bench: GLENN20_OTA is not set"; fi
      "$root/bench/stock_bench.sh" --twin "$root/bench/out/twin/mpota-twin" --mpota "$build_dir/mpota" \
        "${glenn[@]}" --json "$raw/stock_bench.json" >"$raw/stock_bench.txt" 2>&1 ||
        failed "stock bench: $(tail -3 "$raw/stock_bench.txt")"
    else
      failed "stock bench: twin or CLI build (bench/out/twin, $raw/twin-build.log)"
    fi
  else
    skipped "stock bench: no MicroPython tree (MICROPY_DIR or ../shared/micropython)"
  fi
fi

# --- the MicroPython module as a firmware links it ------------------------------
# The esp32 port check, compiled -Os and linked --gc-sections from the module
# object: the bytes the mpota module adds to an ESP32 firmware.
echo "bench: sizing the MicroPython module for esp32" >&2
MODULE_SIZE_JSON="$raw/module.json" bash "$root/tests/esp32/check_esp32_port.sh" \
  >"$raw/module.txt" 2>&1
case $? in
  0) ;;
  77) skipped "MicroPython module size: $(grep -E '^(SKIPPED|NOT CHECKED)' "$raw/module.txt" | head -2 | tr '\n' ' ')" ;;
  *) failed "MicroPython module size: $(grep -E '^FAIL' "$raw/module.txt" | head -3 | tr '\n' ' ')" ;;
esac

# --- report ---------------------------------------------------------------------
end=$(date +%s.%N)
python3 "$root/bench/report.py" --raw "$raw" --src "$root" --smoke "$smoke" \
  --micropython "${MICROPY_DIR:-$root/../shared/micropython}" \
  --wall "$(python3 -c "print(round($end - $start, 1))")" \
  --json "$results" --md "$bench_md" || failed "report"

echo "bench: wrote $bench_md and $results" >&2
if [ -s "$raw/failures.txt" ]; then
  echo "bench: failures:" >&2; sed 's/^/  /' "$raw/failures.txt" >&2
  exit 1
fi
exit 0
