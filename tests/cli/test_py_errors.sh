#!/usr/bin/env bash
# python/ota/_errors.py, the pure-Python engine's codes and sentences (issue
# 10), against what it is generated from:
# (a) it is what tools/gen_py_errors.py makes of the sources now;
# (b) its name() and text() say what the core's mpota_err_name() and
#     mpota_diag_format() say (tests/support/diag_dump.c), for every code it
#     holds and for unknown ones, under field values from 0 to 0xFFFFFFFF,
#     chip ids known and not, and labels long, empty, non-ASCII or holding
#     placeholders; under CPython, and under the twin's MicroPython (as the
#     .mpy a device loads) when a twin is at hand.
# ctest passes MPOTA_DIAG_DUMP and MPOTA_TWIN_BUILD; run by hand, diag_dump is
# compiled here and MicroPython is used only if MPOTA_TWIN names a twin.
SRC=${MPOTA_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
MPOTA=${MPOTA:-unused}  # lib.sh wants it; this test does not run the CLI
. "$(dirname "$0")/lib.sh"
GEN=$SRC/python/ota/_errors.py
export PYTHONIOENCODING=utf-8 PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the tree

# --- (a) up to date -------------------------------------------------------------
if python3 "$SRC/tools/gen_py_errors.py" --root "$SRC" -o fresh.py >gen.log 2>&1; then ok; else
  fail "tools/gen_py_errors.py failed:"; sed 's/^/  /' gen.log
fi
if cmp -s fresh.py "$GEN"; then ok; else
  fail "python/ota/_errors.py is not what tools/gen_py_errors.py makes of the sources: run \`make py-errors\`"
  diff -u "$GEN" fresh.py | head -30 | sed 's/^/  /'
fi

# --- (b) the same text as C ---------------------------------------------------------
DUMP=${MPOTA_DIAG_DUMP:-}
if [ -z "$DUMP" ]; then
  DUMP=$WORK/diag_dump
  gcc -std=c11 -Wall -Werror -I"$SRC/include" "$SRC/tests/support/diag_dump.c" \
    "$SRC/src/core/diag.c" "$SRC/src/core/chip.c" -o "$DUMP" || { fail "cannot build diag_dump"; finish; exit; }
fi

# The module under test under a name of its own: a twin has the ota package
# frozen in, and its _errors may be older.
cp "$GEN" errs.py
# cases.tsv: CODE OFF EXP ACT LABEL, every code of the module and codes the
# core does not know, each with every field set.
python3 - "$SRC" >cases.tsv <<'EOF' || fail "cannot make the cases"
import sys
sys.path[:0] = [".", sys.argv[1] + "/tools"]
import errs, gen_py_errors
known = {v for _, v in gen_py_errors.parse_enum(sys.argv[1] + "/include/mpota/err.h")}
codes = sorted(set(errs.CODE.values()), reverse=True)
codes += [c for c in (-6, -19, -9999, 1, 5, 2147483647, -2147483648) if c not in known]
fields = [
    (0, 0, 0, ""),
    (1, 2, 3, "ota_0"),
    (0x20, 999, 1000, "factory"),
    (0x10000, 1572864, 12345678, "a label with spaces"),
    (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, "x" * 40),           # cut at 32 bytes
    (0x7FFFFFFF, 1000000, 1000001, "\u00e9" * 20),           # cut at 32 bytes, between characters
    (0x1234ABCD, 9, 0, "ESP32-S3"),                           # chips S3 and ESP32
    (0xABC, 0x10009, 0xFFFF, "v1.2.3"),                       # S3 by its low 16 bits; no chip
    (12, 99, 31, "{exp}{acth} %s %d %% {"),                   # not expanded again
    (5, 100, 4294967295, "\u2713 ok"),
    (-1, -2, -1000, "neg"),                                   # taken as uint32_t
]
# every chip the module names, as expected and as actual
fields += [(0, i, i, "") for i in getattr(errs, "_CHIPS", {})]
for c in codes:
    for f in fields:
        print("%d\t%d\t%d\t%d\t%s" % ((c,) + f))
EOF
"$DUMP" <cases.tsv >c.out || fail "diag_dump exited $?"

# The check, for CPython and MicroPython alike: name() and text() of each case;
# and CODE's names as name() gives them back.
cat >check.py <<'EOF'
import sys
import errs
for line in open(sys.argv[1], "rb").read().decode().split("\n"):
    if line:
        f = line.split("\t")
        c = int(f[0])
        print("%s\t%s" % (errs.name(c), errs.text(c, int(f[1]), int(f[2]), int(f[3]), f[4])))
for n in errs.CODE:
    if errs.name(errs.CODE[n]) not in (n, "MPOTA_ERR_UNKNOWN"):
        print("CODE[%s] = %d, which is %s" % (n, errs.CODE[n], errs.name(errs.CODE[n])))
EOF

# compare WHO OUT: OUT against the C formatter's output.
compare() {
  if cmp -s c.out "$2"; then ok; else
    fail "$1: python/ota/_errors.py differs from the C formatter (< C, > $1):"
    diff c.out "$2" | head -20 | sed 's/^/  /'
  fi
}

n_cases=$(wc -l <cases.tsv)
[ "$n_cases" -ge 200 ] && ok || fail "only $n_cases cases"
python3 check.py cases.tsv >cpython.out 2>&1 || fail "CPython: check.py failed"
compare CPython cpython.out

# MicroPython: the twin's interpreter, given the module as mpy-cross compiles
# it (a device with stock firmware loads the package's .mpy files).
TWIN=${MPOTA_TWIN:-${MPOTA_TWIN_BUILD:+$MPOTA_TWIN_BUILD/mpota-twin}}
VM=${TWIN:+$(dirname "$TWIN")/mpota-twin-vm}
if [ -n "$VM" ] && [ -x "$VM" ]; then
  mkdir mpy && cp check.py mpy/
  MPYC=$(dirname "$TWIN")/mpy-cross/mpy-cross  # where micropython/twin/Makefile builds it
  if [ -x "$MPYC" ]; then
    "$MPYC" -o mpy/errs.mpy errs.py && ok || fail "mpy-cross cannot compile _errors.py"
    echo "note: _errors.py is $(wc -c <errs.py) bytes, $(wc -c <mpy/errs.mpy 2>/dev/null) as .mpy"
  else
    cp errs.py mpy/
  fi
  (cd mpy && "$VM" check.py ../cases.tsv) >upy.out 2>&1 || fail "MicroPython: check.py failed"
  compare MicroPython upy.out
else
  echo "note: no twin (MPOTA_TWIN or ctest's twin_build); text() checked under CPython only"
fi

finish
