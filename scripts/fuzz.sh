#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time, seeded from shared/testdata.
#   scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-fuzz}; secs=${2:-20}
targets=("$dir"/tests/fuzz_*)
[ -e "${targets[0]}" ] || { echo "no fuzz targets in $dir/tests"; exit 1; }
for t in "${targets[@]}"; do
  name=$(basename "$t")
  corpus="$dir/corpus/$name"; mkdir -p "$corpus"
  if [ -d ../shared/testdata ]; then
    case "$name" in
      *part_csv*) cp ../shared/testdata/partition-tables/*/*.csv "$corpus/" 2>/dev/null || true ;;
      *part*)     find ../shared/testdata/partition-tables -name '*.bin' -exec cp {} "$corpus/" \; ;;
      *otadata*)  cp ../shared/testdata/otadata/*.bin "$corpus/" ;;
      *image*)    cp ../shared/testdata/images/*.bin "$corpus/" ;;
    esac
  fi
  case "$name" in
    # The strings official builds carry (small seeds keep the inputs short).
    # Images espsecure signed: whole for the trust check, the sector alone
    # for the block reader.
    *sig_trust*) cp tests/vectors/sbv2/*.bin "$corpus/" ;;
    *sig*) for f in tests/vectors/sbv2/*.bin; do tail -c 4096 "$f" >"$corpus/$(basename "$f")"; done ;;
    # detools' own patches, after a control byte (piece size 8, 32 KiB window).
    *delta*) for f in tests/vectors/detools/*.patch; do
               { printf '\007'; cat "$f"; } >"$corpus/$(basename "$f")"; done ;;
    # gzip and zlib of small images, after the bytes that pick the piece
    # size and the output bound (64 KiB).
    *inflate*) for f in tests/vectors/detools/from.bin tests/vectors/detools/to.bin; do
                 { printf '\020\077'; gzip -9nc "$f"; } >"$corpus/$(basename "$f").gz"
                 { printf '\001\077'; python3 -c 'import sys, zlib
sys.stdout.buffer.write(zlib.compress(open(sys.argv[1], "rb").read(), 9))' "$f"; } \
                   >"$corpus/$(basename "$f").zz"
               done ;;
    *mpver*) printf '3.4.0; MicroPython v1.23.0 on 2024-06-02\0' >"$corpus/banner"
             printf 'MicroPython-1.25.0-preview-xtensa-IDFv5.3.2-with-newlib4.3.0\0' >"$corpus/platform" ;;
  esac
  echo "fuzz: $name for ${secs}s"
  "$t" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 "$corpus" 2>"$dir/$name.log" ||
    { tail -50 "$dir/$name.log"; echo "fuzz: $name FOUND A CRASH"; exit 1; }
  grep -E 'stat::number_of_executed_units' "$dir/$name.log" | sed "s/^/  $name /"
done
