#!/usr/bin/env bash
# `mpota delta make` and `delta apply` (issue 13): round trips for every
# compression on generated pairs (tests/cli/delta_pairs.py: a relinked app,
# a shifted one, random bytes), heatshrink's parameters, empty and identical
# files, detools' empty patch, the JSON fields; and refusals that name the
# file or give the core's sentence and leave no output behind: a missing
# file, a patch for another OLD, a cut, corrupt or extended patch, an lzma
# stream that does not decode. (detools' own apply_patch on these patches:
# tests/vectors/detools/README-mpota-made.md; CI has no detools.)
. "$(dirname "$0")/lib.sh"
M=$MPOTA
PAIRS="$MPOTA_SRC/tests/cli/delta_pairs.py"
size() { stat -c %s "$1"; }
absent() { if [ ! -e "$1" ]; then ok; else fail "$1 written by a refused command"; rm -f "$1"; fi; }
hexof() { od -An -tx1 "$1" | tr -d ' \n'; }
# poke FILE OFFSET HEXBYTE: one byte of FILE replaced
poke() { printf "\\x$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }

for kind in relink shift random; do
  python3 "$PAIRS" $kind 7 120000 old.$kind new.$kind || fail "delta_pairs.py $kind"
done

# Every compression on every pair: the patch applies to NEW exactly.
for kind in relink shift random; do
  for c in heatshrink crle none lzma; do
    expect_status 0 "$M" delta make old.$kind new.$kind -o $kind.$c.patch --compression $c --json
    expect_json '(j["compression"], j["old_size"], j["new_size"], j["patch_size"], j["output"])' \
      "('$c', $(size old.$kind), $(size new.$kind), $(size $kind.$c.patch), '$kind.$c.patch')"
    expect_json 'j["diff_bytes"] + j["extra_bytes"] == j["new_size"] and j["triples"] > 0' True
    expect_status 0 "$M" delta apply old.$kind $kind.$c.patch -o out.bin --json
    same_bytes out.bin new.$kind
    expect_json '(j["ok"], j["new_size"], j["sha256"], j["compression"])' \
      "(True, $(size new.$kind), '$(sha256sum new.$kind | cut -c1-64)', '$c')"
    rm -f out.bin
  done
  # The header byte: sequential (0), then the compression's number.
  [ "$(hexof $kind.heatshrink.patch | cut -c1-2)" = 04 ] && ok || fail "heatshrink header byte"
  [ "$(hexof $kind.crle.patch | cut -c1-2)" = 02 ] && ok || fail "crle header byte"
  [ "$(hexof $kind.lzma.patch | cut -c1-2)" = 01 ] && ok || fail "lzma header byte"
done
# Compression pays on the relinked app: heatshrink under a fifth of NEW.
[ $(($(size relink.heatshrink.patch) * 5)) -lt "$(size new.relink)" ] && ok ||
  fail "relink.heatshrink.patch is $(size relink.heatshrink.patch) B for $(size new.relink) B"

# Text output: what was written, sizes, ratio, time.
expect_status 0 "$M" delta make old.relink new.relink -o text.patch
expect_out "^text.patch: [0-9,]+ B, a detools sequential patch \(heatshrink, window 2\^8 B, lookahead 2\^7 B\)$"
expect_out "^  from old.relink \(120,000 B\) to new.relink \([0-9,]+ B\): [0-9.]+ % of the new image, made in [0-9.]+ s$"
same_bytes text.patch relink.heatshrink.patch
expect_status 0 "$M" delta apply old.relink text.patch -o out.bin
expect_out "^out.bin: [0-9,]+ B, made from old.relink \(120,000 B\) by text.patch \([0-9,]+ B, heatshrink\)$"
same_bytes out.bin new.relink

# heatshrink's parameters: a larger window round-trips and says so in the byte after the size.
expect_status 0 "$M" delta make old.relink new.relink -o hs10.patch --heatshrink-window-sz2 10 \
  --heatshrink-lookahead-sz2 9 --json
expect_json '(j["window_sz2"], j["lookahead_sz2"])' "(10, 9)"
expect_status 0 "$M" delta apply old.relink hs10.patch -o out.bin
same_bytes out.bin new.relink
expect_status 0 "$M" delta make old.relink new.relink -o crle.patch --compression crle --json
expect_json '(j["window_sz2"], j["lookahead_sz2"])' "(None, None)"
expect_status 1 "$M" delta make old.relink new.relink -o x.patch --compression crle --heatshrink-window-sz2 9
expect_err '^mpota: --heatshrink-window-sz2 and --heatshrink-lookahead-sz2 are for --compression heatshrink, not crle$'
absent x.patch
expect_status 1 "$M" delta make old.relink new.relink -o x.patch --heatshrink-window-sz2 6 \
  --heatshrink-lookahead-sz2 6
expect_err "^mpota: heatshrink's lookahead \(2\^6 B\) must be smaller than its window \(2\^6 B\)$"
absent x.patch

# Empty and identical files. An empty NEW is detools' empty patch: the
# header and a size of 0.
: >empty.bin
for c in heatshrink:04 crle:02 none:00 lzma:01; do
  expect_status 0 "$M" delta make old.relink empty.bin -o e.patch --compression ${c%:*}
  [ "$(hexof e.patch)" = "${c#*:}00" ] && ok || fail "empty NEW, ${c%:*}: patch $(hexof e.patch)"
  expect_status 0 "$M" delta apply old.relink e.patch -o out.bin
  same_bytes out.bin empty.bin
  expect_status 0 "$M" delta make empty.bin new.shift -o e2.patch --compression ${c%:*}
  expect_status 0 "$M" delta apply empty.bin e2.patch -o out.bin
  same_bytes out.bin new.shift
  expect_status 0 "$M" delta make empty.bin empty.bin -o e3.patch --compression ${c%:*}
  expect_status 0 "$M" delta apply empty.bin e3.patch -o out.bin
  same_bytes out.bin empty.bin
done
expect_status 0 "$M" delta make new.relink new.relink -o same.patch --json
expect_json '(j["triples"], j["extra_bytes"], j["patch_size"] < 3000)' "(1, 0, True)"
expect_status 0 "$M" delta apply new.relink same.patch -o out.bin
same_bytes out.bin new.relink
rm -f out.bin

# Missing files: the path and the OS's reason; nothing written.
expect_status 1 "$M" delta make nothere.bin new.relink -o x.patch
expect_err '^mpota: cannot read nothere.bin: No such file or directory$'
absent x.patch
expect_status 1 "$M" delta make old.relink nothere.bin -o x.patch
expect_err '^mpota: cannot read nothere.bin: No such file or directory$'
expect_status 1 "$M" delta apply old.relink nothere.patch -o out.bin
expect_err '^mpota: cannot read nothere.patch: No such file or directory$'
absent out.bin
expect_status 1 "$M" delta make old.relink new.relink -o nodir/x.patch
expect_err '^mpota: cannot write nodir/x.patch: No such file or directory$'

# refuse PATCH OLD CODE TEXT: exit 1, the core's sentence, no output.
refuse() {
  expect_status 1 "$M" delta apply "$2" "$1" -o out.bin
  expect_err "^mpota: $1: $4"
  absent out.bin
  expect_status 1 "$M" delta apply "$2" "$1" -o out.bin --json
  expect_json '(j["ok"], j["code"], j["output"])' "(False, '$3', None)"
  absent out.bin
}
# Another OLD: the patch reads past its end.
head -c 50000 old.relink >short.bin
for c in heatshrink crle none lzma; do
  refuse relink.$c.patch short.bin MPOTA_ERR_DELTA_FROM_RANGE \
    "the patch reads the running image up to byte [0-9,]+, but it is 50,000 B: the patch was made from another base image"
done
# Cut short.
for c in heatshrink crle none; do
  head -c $(($(size relink.$c.patch) - 200)) relink.$c.patch >cut.$c.patch
  refuse cut.$c.patch old.relink MPOTA_ERR_DELTA_TRUNCATED \
    "the patch ends after [0-9,]+ B of the $(size new.relink | sed 's/\(...\)$/,\1/') B image; it was cut short"
done
head -c $(($(size relink.lzma.patch) - 200)) relink.lzma.patch >cut.lzma.patch
refuse cut.lzma.patch old.relink MPOTA_ERR_DELTA_TRUNCATED "the patch ends after [0-9,]+ B of the"
# Corrupt bytes: the header; a diff size past the new image (the first
# triple's, after the header, the size and the data-format size in a none
# patch); data appended; an lzma payload damaged at its start.
cp relink.none.patch bad-header.patch && poke bad-header.patch 0 80
refuse bad-header.patch old.relink MPOTA_ERR_DELTA_HEADER "this is not a detools sequential patch \(first byte 0x80\)"
python3 - relink.none.patch bad-size.patch <<'PY'
import sys
p = bytearray(open(sys.argv[1], "rb").read())
at = 1
while p[at] & 0x80:  # the new image's size
    at += 1
at += 2  # past its last byte and the data-format size (0)
end = at
while p[end] & 0x80:  # the first diff size
    end += 1
p[at:end + 1] = b"\xbf\xff\x7f"  # now 2 MiB - 1
open(sys.argv[2], "wb").write(p)
PY
refuse bad-size.patch old.relink MPOTA_ERR_DELTA_TO_RANGE "the patch writes up to byte [0-9,]+ of the new image, beyond its"
for c in crle none lzma; do
  cp relink.$c.patch long.$c.patch && printf 'tail' >>long.$c.patch
  refuse long.$c.patch old.relink MPOTA_ERR_DELTA_TRAILING "the patch has data left at patch byte 0x[0-9A-F]+ after the image is complete"
done
cp relink.lzma.patch bad-lzma.patch && poke bad-lzma.patch 4 ff && poke bad-lzma.patch 5 ff &&
  poke bad-lzma.patch 6 ff && poke bad-lzma.patch 7 ff && poke bad-lzma.patch 8 ff
refuse bad-lzma.patch old.relink MPOTA_ERR_DELTA_CORRUPT "the patch is corrupt at patch byte 0x[0-9A-F]+"
printf '\x03\x05' >bz2.patch
refuse bz2.patch old.relink MPOTA_ERR_DELTA_COMPRESSION "the patch is compressed with bz2, which this build cannot apply"

finish
