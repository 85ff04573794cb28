#!/usr/bin/env bash
# Changing MICROPY_DIR needs no manual clean: a twin build directory made from
# one MicroPython tree is rebuilt from scratch for another (it used to fail
# with "undeclared qstr"). The second tree is a copy of the first with another
# version number, so the new twin must say v<major>.<minor>.<micro+1>.
# Registered in the plain build only (a full interpreter build: about a minute).
. "$(dirname "$0")/twin_lib.sh"
find_tree
[ -n "${MPOTA_TWIN_BUILD:-}" ] && [ -x "$MPOTA_TWIN_BUILD/mpota-twin-vm" ] ||
  { echo "FAIL: no twin at MPOTA_TWIN_BUILD=${MPOTA_TWIN_BUILD:-} (the twin_build fixture)"; exit 1; }

# Tree B: the same sources, MICROPY_VERSION_MICRO + 1 (read-only, as in CI).
cp -a "$TREE" treeB
chmod -R u+w treeB
micro=$(sed -nE 's/^#define MICROPY_VERSION_MICRO ([0-9]+)$/\1/p' treeB/py/mpconfig.h)
minor=$(sed -nE 's/^#define MICROPY_VERSION_MINOR ([0-9]+)$/\1/p' treeB/py/mpconfig.h)
[ -n "$micro" ] && [ -n "$minor" ] || { echo "FAIL: no version in py/mpconfig.h"; exit 1; }
sed -i -E "s/^#define MICROPY_VERSION_MICRO [0-9]+$/#define MICROPY_VERSION_MICRO $((micro + 1))/" \
  treeB/py/mpconfig.h
chmod -R a-w treeB

# The build directory as tree A left it, then a build from tree B into it.
cp -a "$MPOTA_TWIN_BUILD" tb
rm -f tb/.lock
if make --no-print-directory -j"$(nproc)" -C "$SRC" twin MICROPY_DIR="$WORK/treeB" TWIN_BUILD="$WORK/tb" \
    >build.log 2>&1; then ok; else tail -20 build.log; fail "the build from another tree failed"; fi
grep -q "MicroPython tree changed, rebuilding from scratch" build.log && ok ||
  fail "the tree change was not noticed"
got=$(tb/mpota-twin-vm -c 'import sys; print("%d.%d.%d" % sys.implementation.version[:3])' 2>&1)
[ "$got" = "1.$minor.$((micro + 1))" ] && ok || fail "the rebuilt twin says $got"
chmod -R u+w treeB
finish
