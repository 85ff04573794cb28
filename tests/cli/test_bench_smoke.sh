#!/usr/bin/env bash
# The benchmark command's smoke run (bench/run.sh --smoke): it must build, run
# every part whose tools are here, exit 0, and write BENCH.md and results.json
# with every required key and sane values. Nothing here looks at timing.
. "$(dirname "$0")/lib.sh"

: "${MPOTA_SRC:?MPOTA_SRC must name the source tree}"
for tool in cmake python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIPPED: $tool not installed"; exit 77; }
done

expect_status 0 bash "$MPOTA_SRC/bench/run.sh" --smoke --out "$WORK/bench" --build-dir "$WORK/build"
sed 's/^/  bench: /' "$WORK/err" | grep -E "FAILED|SKIPPED|error" | head -20

[ -s "$WORK/bench/BENCH.md" ] && ok || fail "BENCH.md not written"
grep -q "^## Targets" "$WORK/bench/BENCH.md" 2>/dev/null && ok || fail "BENCH.md has no Targets table"
[ -s "$WORK/bench/results.json" ] && ok || fail "results.json not written"

# One line per check: "ok", "FAIL: why" or "SKIPPED: why".
python3 - "$WORK/bench/results.json" >"$WORK/checks" 2>&1 <<'PY'
import json, shutil, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"FAIL: results.json unreadable: {e}")
    sys.exit()

def check(cond, why):
    print("ok" if cond else f"FAIL: {why}")

def positive(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0

check(j.get("smoke") is True, "smoke is not true")
check(j.get("failures") == [], f"failures: {j.get('failures')}")
m = j.get("modeled_device_s") or {}
for k in ("per_sector", "erase_all", "mpota", "floor"):
    check(positive(m.get(k)), f"modeled_device_s.{k} = {m.get(k)!r}")
if all(positive(m.get(k)) for k in ("per_sector", "erase_all", "mpota", "floor")):
    check(m["floor"] <= m["erase_all"] <= m["per_sector"], f"floor <= erase_all <= per_sector: {m}")
    check(m["mpota"] < m["erase_all"], f"mpota slower than erase_all: {m}")
r = j.get("host_pipeline_vs_sha256")
check(positive(r) and r < 2, f"host_pipeline_vs_sha256 = {r!r}")
s = j.get("session_state_bytes")
check(positive(s) and s < 4096, f"session_state_bytes = {s!r}")

skipped = " ".join(j.get("skipped") or [])
if "xtensa" in skipped:
    print("SKIPPED: xtensa code size (xtensa-lx106-elf-gcc not installed)")
else:
    check(positive(j.get("xtensa_core_text")), f"xtensa_core_text = {j.get('xtensa_core_text')!r}")
    check(j.get("xtensa_core_static") == 0, f"xtensa_core_static = {j.get('xtensa_core_static')!r}")
if "arm" in skipped:
    print("SKIPPED: arm code size and stack (arm-none-eabi-gcc not installed)")
else:
    check(positive(j.get("arm_core_text")), f"arm_core_text = {j.get('arm_core_text')!r}")
    check(j.get("arm_core_static") == 0, f"arm_core_static = {j.get('arm_core_static')!r}")
    w = j.get("write_path_stack_bytes")
    check(positive(w) and w < 65536, f"write_path_stack_bytes = {w!r}")
if "valgrind" in skipped:
    print("SKIPPED: instructions per byte (valgrind not installed)")
else:
    ipb = j.get("instructions_per_byte") or {}
    check(positive(ipb.get("sha256")) and positive(ipb.get("pipeline")),
          f"instructions_per_byte = {ipb!r}")
    if positive(ipb.get("sha256")) and positive(ipb.get("pipeline")):
        check(ipb["pipeline"] > ipb["sha256"], f"pipeline cheaper than SHA-256 alone: {ipb!r}")
PY
while IFS= read -r line; do
  case "$line" in
    ok) ok ;;
    SKIPPED:*) echo "$line" ;;
    *) fail "${line#FAIL: }" ;;
  esac
done <"$WORK/checks"
finish
