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
# What the core needs from outside itself: only libc's memory/string routines
# and mbedTLS (behind digest.h).
defined=$(nm --defined-only "$lib" | awk 'NF==3 {print $3}' | sort -u)
external=$(nm -u "$lib" | awk '{print $2}' | sort -u | comm -23 - <(echo "$defined"))
echo "core external symbols: $(echo "$external" | tr '\n' ' ')"
unexpected=$(echo "$external" | grep -vE '^(mem(cmp|cpy|move|set)|str(chr|len|ncmp|cmp)|mbedtls_.*)$' || true)
if [ -n "$unexpected" ]; then
  echo "core uses symbols outside libc's string routines and mbedTLS:"; echo "$unexpected"; exit 1
fi
