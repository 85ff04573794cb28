#!/usr/bin/env bash
# The portable core must not reach for the heap, stdio, files, the environment
# or process control: list its undefined symbols and refuse any of those.
set -euo pipefail
dir=${1:-build}
lib="$dir/libmpota_core.a"
[ -f "$lib" ] || { echo "no $lib"; exit 1; }
bad=$(nm -u "$lib" | awk '{print $2}' | sort -u |
      grep -E '^(malloc|calloc|realloc|free|printf|fprintf|sprintf|snprintf|vsnprintf|puts|putchar|fopen|fclose|fread|fwrite|open|close|read|write|mmap|getenv|exit|_exit|abort|time|clock_gettime)$' || true)
if [ -n "$bad" ]; then
  echo "core uses host-only symbols:"; echo "$bad"; exit 1
fi
echo "core undefined symbols: $(nm -u "$lib" | awk '{print $2}' | sort -u | grep -v '^mbedtls_' | tr '\n' ' ')"
