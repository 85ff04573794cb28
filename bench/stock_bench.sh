#!/usr/bin/env bash
# One 1.6 MB update into a used slot on the MicroPython twin, three writers,
# each driven the same way (glenn20's documented call,
#   ota.update.from_file("app.bin", sha=SHA, length=LEN, reboot=False, verbose=False)):
#
#   glenn20   glenn20's micropython-esp32-ota, unmodified (its mip/ota/*.py),
#             on stock firmware (mpota-twin --stock)
#   python    our `ota` package on stock firmware: the pure-Python engine,
#             the .mpy files mip installs (python/ota/mpy/)
#   python4k  the same with its 4 KiB buffer (what it takes when
#             gc.mem_free() cannot spare 64 KiB + 32 KiB)
#   c         our `ota` package on the C engine (the twin's C mode, frozen)
#
# For each: flash operation counts, modeled device time (the W25Q32JV model
# of src/host/flash_model.h) and peak live heap from `mpota-twin --stats`,
# and wall time (best of RUNS runs without --stats). Each run starts from the
# same used device and must leave the new app in ota_1, selected.
#
#   bench/stock_bench.sh --twin MPOTA_TWIN --mpota MPOTA [--glenn20 DIR] [--runs N] [--json FILE]
#
# DIR is glenn20's package directory (holding update.py,
# blockdev_writer.py, ...; e.g. mip/ota of a clone of
# github.com/glenn20/micropython-esp32-ota). Without it that row is
# "not measured". Nothing of glenn20's is kept in this repository.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=3 json_out="" glenn="" twin="" m=""
while [ $# -gt 0 ]; do
  case "$1" in
    --twin) twin=${2:?}; shift ;;
    --mpota) m=${2:?}; shift ;;
    --glenn20) glenn=${2:?}; shift ;;
    --runs) runs=${2:?}; shift ;;
    --json) json_out=${2:?}; shift ;;
    *) sed -n '2,24p' "$0" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$twin" ] && [ -x "$m" ] || { echo "stock_bench: --twin and --mpota are required" >&2; exit 2; }
[ -z "$glenn" ] || [ -f "$glenn/update.py" ] || { echo "stock_bench: no update.py in $glenn" >&2; exit 2; }

work=$(mktemp -d /tmp/mpota-stock-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$m" image build -o app.bin --size 1600000 --version v2.0.0 --seed 7 >/dev/null
"$m" image build -o old.bin --size 1600000 --version v1.0.0 --seed 8 >/dev/null
"$m" part make --layout ota --flash-size 4M --fit app.bin -o table.csv >/dev/null
"$m" flash new used.flash --size 4M --table table.csv --app old.bin >/dev/null
"$m" flash write-slot used.flash ota_1 old.bin >/dev/null  # a used slot: all of it must be erased
"$m" flash boot used.flash >/dev/null
SHA=$(sha256sum app.bin | cut -c1-64)
LEN=$(stat -c %s app.bin)
cat >update.py <<EOF
import ota.update
try:
    ota.update._engine.mpota.BUFFER = int(open("buffer").read())  # python4k
except OSError:
    pass
ota.update.from_file("app.bin", sha="$SHA", length=$LEN, reboot=False, verbose=False)
EOF

# fs_for WAY: the device's filesystem for that writer.
fs_for() {
  rm -rf fs && mkdir -p fs/lib/ota && cp app.bin fs/
  case "$1" in
    glenn20) cp "$glenn"/*.py fs/lib/ota/ ;;
    python*) cp "$root"/python/ota/mpy/*.mpy fs/lib/ota/ && mv fs/lib/ota/ota32.mpy fs/lib/ ;;
    c) rm -rf fs/lib ;;
  esac
  [ "$1" != python4k ] || echo 4096 >fs/buffer
}
mode_for() { [ "$1" = c ] || echo --stock; }

run_one() {  # run_one WAY [--stats FILE]: one update on a fresh copy; checks the result
  local way=$1; shift
  fs_for "$way"
  cp used.flash dev.flash && cp used.flash.state dev.flash.state
  "$twin" $(mode_for "$way") "$@" --flash dev.flash --fs fs --max-boots 1 update.py >out.txt 2>&1 ||
    { cat out.txt >&2; echo "stock_bench: $way: the update failed" >&2; exit 1; }
  "$m" flash status dev.flash --json >status.json
  python3 - <<'PY' || { echo "stock_bench: $way: ota_1 is not the new app, selected" >&2; exit 1; }
import json
j = json.load(open("status.json"))
s = {x["label"]: x for x in j["slots"]}
assert j["boot"] == "ota_1" and s["ota_1"]["valid"] and s["ota_1"]["version"] == "v2.0.0", j
PY
}

ways="python python4k c"
[ -n "$glenn" ] && ways="glenn20 $ways"
for way in $ways; do
  run_one "$way" --stats "$way.stats.json"
  best=""
  for _ in $(seq "$runs"); do
    t0=$(date +%s.%N); run_one "$way"; t1=$(date +%s.%N)
    best=$(python3 -c "t=$t1-$t0; b='$best'; print(t if not b else min(t, float(b)))")
  done
  echo "$best" >"$way.wall"
done

python3 - "$ways" "$runs" "$LEN" "${json_out:-}" <<'PY'
import json, sys
ways, runs, size, out = sys.argv[1].split(), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
res = {"image_bytes": size, "runs": runs, "slot": "used", "ways": {}}
for w in ways:
    s = json.load(open(w + ".stats.json"))
    res["ways"][w] = {k: s[k] for k in ("sector_erases", "block_erases", "programs", "program_bytes",
                                         "bytes_read", "modeled_s", "peak_heap")}
    res["ways"][w]["wall_s"] = round(float(open(w + ".wall").read()), 3)
W = res["ways"]
if "glenn20" in W:
    res["python_vs_glenn20_speedup"] = round(W["glenn20"]["modeled_s"] / W["python"]["modeled_s"], 2)
res["python_vs_c"] = round(W["python"]["modeled_s"] / W["c"]["modeled_s"], 3)
if out:
    json.dump(res, open(out, "w"), indent=1)
names = {"glenn20": "glenn20's package, unmodified (stock)", "python": "ota package, Python engine (stock)",
         "python4k": "ota package, Python engine, 4 KiB buffer (stock)", "c": "ota package, C engine"}
print("| writer | modeled s | block erases | sector erases | programs | read MB | peak heap B | wall s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for w in ("glenn20", "python", "python4k", "c"):
    r = W.get(w)
    if not r:
        print("| %s | not measured (no --glenn20) | | | | | | |" % names[w])
        continue
    print("| %s | %.2f | %d | %d | %d | %.1f | %s | %.2f |" % (
        names[w], r["modeled_s"], r["block_erases"], r["sector_erases"], r["programs"],
        r["bytes_read"] / 1e6, format(r["peak_heap"], ",") if r["peak_heap"] is not None else "-",
        r["wall_s"]))
if "python_vs_glenn20_speedup" in res:
    print("\nPython engine vs glenn20: %.2fx faster (target >= 2x)" % res["python_vs_glenn20_speedup"])
print("Python engine vs C engine: %.3fx the C engine's time (target <= 1.25x)" % res["python_vs_c"])
PY
