#!/usr/bin/env bash
# Regenerates the detools test vectors here (README.md): the pairs from
# gen_pairs.py, diffed by the reference detools through detools_make.sh
# (default: /work/ext/detools_make.sh), each patch checked by detools itself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
make=${DETOOLS_MAKE:-/work/ext/detools_make.sh}
check=$(dirname "$make")/detools_check.sh
/usr/bin/python3 "$here/gen_pairs.py" "$here"
patch() {  # FROM TO PATCH COMPRESSION [create_patch args]
  "$make" "$here/$1" "$here/$2" "$here/$3" "${@:4}"
  "$check" "$here/$1" "$here/$3" "$here/$2"
}
for c in none crle heatshrink; do
  patch app.from app.to "app.$c.patch" "$c"
done
patch small.from small.to small.none.patch none
patch small.from small.to small.crle.patch crle
patch small.from small.to small.hs10.patch heatshrink \
  --heatshrink-window-sz2 10 --heatshrink-lookahead-sz2 5
patch small.from small.to small.lzma.patch lzma
patch small.from empty.to empty.none.patch none
ls -l "$here"
