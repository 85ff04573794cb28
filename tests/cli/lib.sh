# Shared helpers for the CLI tests. Each test script sources this file; ctest
# passes MPOTA (the built CLI), TESTDATA (shared/testdata) and MPOTA_SRC.
set -uo pipefail

: "${MPOTA:?MPOTA must name the built mpota binary}"
WORK=$(mktemp -d /tmp/mpota-cli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
CHECKS=0
FAILS=0

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { CHECKS=$((CHECKS + 1)); }

# expect_status N cmd...: runs cmd, checks its exit status, keeps stdout/stderr
# in $WORK/out and $WORK/err.
expect_status() {
  local want=$1; shift
  "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "expected exit $want, got $got: $*"; sed 's/^/  stderr: /' "$WORK/err" | head -5
  else ok; fi
}

# expect_out PATTERN / expect_err PATTERN: grep -E on the last command's output.
expect_out() { if grep -qE -- "$1" "$WORK/out"; then ok; else fail "stdout lacks /$1/"; head -20 "$WORK/out" | sed 's/^/  out: /'; fi; }
expect_err() { if grep -qE -- "$1" "$WORK/err"; then ok; else fail "stderr lacks /$1/"; sed 's/^/  err: /' "$WORK/err" | head -5; fi; }

# json_get FILE EXPR: evaluates a Python expression on the parsed JSON `j`.
json_get() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(($2))" "$1"; }
expect_json() {  # expect_json EXPR WANT (on $WORK/out)
  local got; got=$(json_get "$WORK/out" "$1" 2>&1)
  if [ "$got" = "$2" ]; then ok; else fail "json $1 = '$got', want '$2'"; fi
}

# commas N: N as the messages print it (1,572,864).
commas() { python3 -c "print(f'{$1:,}')"; }

same_bytes() { if cmp -s "$1" "$2"; then ok; else fail "$1 and $2 differ"; fi; }

need_testdata() {
  if [ ! -d "${TESTDATA:-}" ]; then echo "SKIPPED: shared/testdata not found at ${TESTDATA:-}"; exit 77; fi
}

finish() {
  echo "$CHECKS checks, $FAILS failed"
  [ "$CHECKS" -gt 0 ] || { echo "FAIL: no checks ran"; exit 1; }
  [ "$FAILS" -eq 0 ]
}
