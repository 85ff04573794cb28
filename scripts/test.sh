#!/usr/bin/env bash
# Runs every test: unit, property, CLI and power-loss tests in a plain build and
# again under ASan + UBSan, a portability check of the core, and bounded
# libFuzzer runs. Installs what it needs from Debian's packages first.
# Ends with one line "mpota tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh || { echo "deps install failed"; exit 1; }
. scripts/debian_path.sh

passed=0; failed=0; skipped=0
log=$(mktemp -d)
twin_results=""  # the twin's ctest lines, repeated before the summary

# Runs ctest in a build dir and adds its counts to the totals.
run_ctest() {
  local dir=$1 label=$2
  echo "=== $label: ctest in $dir"
  ctest --test-dir "$dir" --output-on-failure -j2 2>&1 | tee "$log/$label.txt"
  local total fails skips
  total=$(sed -nE 's/.*tests failed out of ([0-9]+).*/\1/p' "$log/$label.txt" | tail -1)
  fails=$(sed -nE 's/.*, ([0-9]+) tests failed out of.*/\1/p' "$log/$label.txt" | tail -1)
  skips=$(grep -c '(Skipped)' "$log/$label.txt" || true)
  if [ -z "$total" ]; then
    echo "$label: ctest printed no summary"; failed=$((failed + 1)); return
  fi
  passed=$((passed + total - fails - skips)); failed=$((failed + fails)); skipped=$((skipped + skips))
  # Say why each skipped test skipped (ctest itself only says "Skipped").
  grep -h '^SKIPPED:' "$dir/Testing/Temporary/LastTest.log" 2>/dev/null | sort -u | sed "s/^/$label: /"
  # The MicroPython twin's build and tests, by name: half of the product,
  # and they skip without a MicroPython tree.
  twin_results+=$(grep -E 'Test +#[0-9]+: (twin_build|cli_test_twin)' "$log/$label.txt" |
    sed -E "s/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: /$label: /")$'\n'
}

# One pass/fail step that is not a ctest test.
step() {
  local label=$1; shift
  echo "=== $label"
  if "$@"; then passed=$((passed + 1)); else echo "FAILED: $label"; failed=$((failed + 1)); fi
}

if [ ! -d ../shared/testdata ]; then
  echo "SKIPPED: ../shared/testdata not found; tests that need reference files will skip"
fi

if scripts/build.sh plain >/dev/null; then run_ctest build plain; else echo "FAILED: plain build"; failed=$((failed + 1)); fi
if scripts/build.sh asan >/dev/null; then run_ctest build-asan asan; else echo "FAILED: asan build"; failed=$((failed + 1)); fi

step "core is portable (no malloc/stdio/OS symbols)" scripts/check-core-portable.sh build

if scripts/build.sh fuzz >/dev/null; then
  step "fuzz (${MPOTA_FUZZ_SECONDS:-20} s per target)" scripts/fuzz.sh build-fuzz "${MPOTA_FUZZ_SECONDS:-20}"
else
  echo "FAILED: fuzz build"; failed=$((failed + 1))
fi

rm -rf "$log"
echo
echo "=== the MicroPython twin"
printf '%s' "$twin_results"
echo "mpota tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
