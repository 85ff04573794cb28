#!/usr/bin/env bash
# Configures and builds one flavour of the project.
#   scripts/build.sh            -> build/        (Debug, -Werror, checked hash contexts)
#   scripts/build.sh asan       -> build-asan/   (ASan + UBSan)
#   scripts/build.sh fuzz       -> build-fuzz/   (clang + libFuzzer targets)
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-plain}
jobs=$(nproc 2>/dev/null || echo 2)
case "$flavour" in
  plain) dir=build; args=(-DCMAKE_BUILD_TYPE=Debug -DMPOTA_HASH_CHECKED=ON) ;;
  asan)  dir=build-asan; args=(-DCMAKE_BUILD_TYPE=Debug -DMPOTA_SANITIZE=ON -DMPOTA_HASH_CHECKED=ON) ;;
  fuzz)  dir=build-fuzz; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPOTA_FUZZ=ON -DCMAKE_C_COMPILER=clang
                              -DMPOTA_SANITIZE=ON -DMPOTA_HASH_CHECKED=ON) ;;
  *) echo "usage: $0 [plain|asan|fuzz]" >&2; exit 2 ;;
esac
mkdir -p "$dir"
cmake -S . -B "$dir" "${args[@]}" >"$dir/configure.log" 2>&1 || { cat "$dir/configure.log" >&2; exit 1; }
cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; exit 1; }
echo "$dir"
