#!/usr/bin/env bash
# ctest esp32_port: compiles, for the esp32 target with -Werror, the C an ESP32
# firmware build takes from this checkout (micropython/micropython.cmake):
#   core     src/core/*.c, against mbedTLS 3 headers
#   backend  micropython/esp32_device.c, against ESP-IDF's headers only
#   glue     micropython/port_esp32.c and the binding files, against
#            MicroPython's esp32 port headers and ESP-IDF's
# into object files (in a temporary folder), with ESP-IDF v5.5.1's headers
# and their cc-esp32.sh (Debian's xtensa-lx106 gcc and newlib). Then checks
# with nm/size that the core and the backend reach nothing but what they
# should and hold no static RAM.
#
# With MODULE_SIZE_JSON=FILE (bench/run.sh) everything is compiled as a
# firmware build would size it (-Os, one section per function and object,
# MPOTA_DIAG_TEXT=0), then linked `ld -r --gc-sections` from the module
# object (mpota_user_cmodule), the root MicroPython's module table holds:
# FILE gets the bytes the mpota module adds to a firmware (text, literals,
# read-only and static data of what stays), in all and per part (core with
# the device's hashing glue, backend, binding).
#
# Inputs: IDF_HEADERS (default ../shared/esp-idf), MICROPY_DIR (default
# ../shared/micropython). No ESP-IDF headers: SKIPPED, exit 77. No MicroPython
# tree: the rest is still compiled, then exit 77 (not everything checked).
# What no header can tell is printed at the end.
set -uo pipefail
shopt -s nullglob

SRC=$(cd "$(dirname "$0")/../.." && pwd)
IDF=${IDF_HEADERS:-$SRC/../shared/esp-idf}
MPY=${MICROPY_DIR:-$SRC/../shared/micropython}

if [ ! -d "$IDF" ]; then
  echo "SKIPPED: no ESP-IDF headers at $IDF (set IDF_HEADERS)"
  exit 77
fi
die() { echo "FAIL: $*"; exit 1; }
DEBS="install the Debian packages gcc-xtensa-lx106 libnewlib-dev"
command -v xtensa-lx106-elf-gcc >/dev/null || die "no xtensa-lx106-elf-gcc: $DEBS"
[ -f /usr/include/newlib/stdio.h ] || die "no newlib headers in /usr/include/newlib: $DEBS"
CC=$IDF/cc-esp32.sh
[ -x "$CC" ] || die "$IDF has no cc-esp32.sh"

START=$SECONDS
export PYTHONDONTWRITEBYTECODE=1  # nothing written inside MICROPY_DIR
OUT=$(mktemp -d "${TMPDIR:-/tmp}/esp32_port.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
mkdir -p "$OUT/core" "$OUT/backend" "$OUT/glue" "$OUT/gen/genhdr" "$OUT/rom_md5"
cd "$SRC" || exit 1

FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
NOT_CHECKED=()

# The project's own warnings on top of cc-esp32.sh's -Wall -Wextra; for a
# size measurement, a firmware's optimisation too.
STRICT=(-Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
if [ -n "${MODULE_SIZE_JSON:-}" ]; then
  STRICT+=(-Os -ffunction-sections -fdata-sections -DMPOTA_DIAG_TEXT=0)
fi

# compile DIR FILE FLAGS...: one object file into $OUT/DIR, in the background
# (one job per CPU); compiled waits for them all and reports the failures.
COMPILED=0
compile() {
  local dir=$1 file=$2; shift 2
  local obj
  obj=$OUT/$dir/$(basename "$file" .c).o
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n; done
  { "$CC" -c "$@" "$file" -o "$obj" 2>"$obj.log" || echo "$file" >"$obj.failed"; } &
}
compiled() {
  wait
  local f
  for f in "$OUT"/*/*.o.log; do
    if [ -f "${f%.log}.failed" ]; then
      cat "$f"
      fail "$(cat "${f%.log}.failed") does not compile for esp32 ($(basename "$(dirname "$f")"))"
    else
      COMPILED=$((COMPILED + 1))
    fi
    rm -f "$f" "${f%.log}.failed"
  done
}

# --- the build files name what is checked here --------------------------------
# ESP32 (CMake) compiles the backend and the glue; the unix twin (make) neither.
for f in esp32_device.c port_esp32.c; do
  grep -q "CMAKE_CURRENT_LIST_DIR}/$f" micropython/micropython.cmake ||
    fail "micropython/micropython.cmake does not compile $f"
  if grep -E '^[^#]*SRC_USERMOD' micropython/micropython.mk | grep -q "$f"; then
    fail "micropython/micropython.mk compiles $f into the unix twin"
  fi
done

# --- core -------------------------------------------------------------------
# ESP-IDF's mbedtls component is not in the header set: MicroPython's own
# mbedTLS 3 (lib/mbedtls, stock config) stands in for the API. ESP-IDF's
# MD5 is the ROM's (esp_rom_md5.h, which is in the set): digest_mbedtls.c is
# compiled a second time with that context, via a two-line md5_alt.h. Every
# other *_mbedtls.c (signatures) compiles against the same mbedTLS headers.
MBEDTLS_INC=$MPY/lib/mbedtls/include
CORE_SRC=(src/core/*.c)
HASH_CALLS=  # the hash.h calls, when no object of this run defines them
for f in "${CORE_SRC[@]}"; do
  if [ "$(basename "$f")" = digest_mbedtls.c ]; then
    if [ ! -f "$MBEDTLS_INC/mbedtls/sha256.h" ]; then
      NOT_CHECKED+=("$f: no mbedTLS headers at $MBEDTLS_INC (set MICROPY_DIR)")
      HASH_CALLS='|mpota_(sha256|md5)_[a-z0-9_]+'
      continue
    fi
    compile core "$f" "${STRICT[@]}" -Iinclude -Isrc/core -I"$MBEDTLS_INC"
    printf '#include "esp_rom_md5.h"\ntypedef md5_context_t mbedtls_md5_context;\n' \
      >"$OUT/rom_md5/md5_alt.h"
    compile rom_md5 "$f" "${STRICT[@]}" -Iinclude -Isrc/core -I"$MBEDTLS_INC" \
      -I"$OUT/rom_md5" -DMBEDTLS_MD5_ALT
  elif [[ "$f" == *_mbedtls.c ]]; then
    # Another mbedTLS backend of the core (signatures): mbedTLS's API only.
    if [ ! -f "$MBEDTLS_INC/mbedtls/rsa.h" ]; then
      NOT_CHECKED+=("$f: no mbedTLS headers at $MBEDTLS_INC (set MICROPY_DIR)")
      HASH_CALLS+='|mpota_sig_verify_backend'
      continue
    fi
    compile core "$f" "${STRICT[@]}" -Iinclude -Isrc/core -I"$MBEDTLS_INC"
  else
    compile core "$f" "${STRICT[@]}" -Iinclude -Isrc/core
  fi
done

# --- backend ----------------------------------------------------------------
BACKEND=micropython/esp32_device.c
compile backend "$BACKEND" "${STRICT[@]}" -Iinclude -Imicropython
# Again as a build with anti-rollback compiles it (official MicroPython builds
# leave it off, so the sdkconfig here does too); not linked or sized.
mkdir -p "$OUT/backend_anti_rollback"
compile backend_anti_rollback "$BACKEND" "${STRICT[@]}" -Iinclude -Imicropython \
  -DCONFIG_BOOTLOADER_APP_ANTI_ROLLBACK=1 -DCONFIG_BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD=32
if grep -nE '#include *["<]py/' "$BACKEND" micropython/esp32_device.h; then
  fail "the backend includes a MicroPython header"
fi

compiled

# --- what the core and the backend link to ----------------------------------
# Undefined symbols not defined by another core object: the core may call only
# mbedTLS, the C string functions and gcc's arithmetic helpers (no malloc,
# stdio or OS); the backend only ESP-IDF (esp_*) besides those.
nm_undefined() { xtensa-lx106-elf-nm -u "$@" | awk 'NF == 2 { print $2 }' | sort -u; }
CORE_OBJ=("$OUT"/core/*.o)
BACKEND_OBJ=("$OUT"/backend/*.o)
if [ ${#CORE_OBJ[@]} -gt 0 ]; then
  xtensa-lx106-elf-nm --defined-only "${CORE_OBJ[@]}" | awk 'NF == 3 { print $3 }' |
    sort -u >"$OUT/core.defined"
  LIBC='mem(chr|cmp|cpy|move|set)|str(chr|cmp|cpy|len|ncmp|ncpy|nlen|rchr)|__[a-z]+[sd]i[0-9]'
  extra=$(nm_undefined "${CORE_OBJ[@]}" | comm -23 - "$OUT/core.defined" |
    grep -vE "^(mbedtls_[a-z0-9_]+|$LIBC$HASH_CALLS)$")
  [ -z "$extra" ] || fail "the core calls outside mbedTLS and libc strings: ${extra//$'\n'/ }"
  if [ ${#BACKEND_OBJ[@]} -gt 0 ]; then
    extra=$(nm_undefined "${BACKEND_OBJ[@]}" | comm -23 - "$OUT/core.defined" |
      grep -vE "^(esp_[a-z0-9_]+|$LIBC)$")
    [ -z "$extra" ] || fail "the backend calls outside ESP-IDF and the core: ${extra//$'\n'/ }"
  fi
  # No static RAM: .data and .bss are empty in every object.
  ram=$(xtensa-lx106-elf-size "${CORE_OBJ[@]}" "${BACKEND_OBJ[@]}" |
    awk 'NR > 1 && ($2 != 0 || $3 != 0) { n = $6; sub(".*/", "", n); print n }')
  [ -z "$ram" ] || fail "static RAM (.data/.bss) in: ${ram//$'\n'/ }"
fi

# --- glue -------------------------------------------------------------------
# The esp32 port's mpconfigport.h pulls in FreeRTOS. Against the header set:
# * cc-esp32.sh puts FreeRTOS-Kernel-SMP/include first; ESP-IDF's default
#   kernel (CONFIG_FREERTOS_SMP off) is FreeRTOS-Kernel, so -iquote picks it
#   for "freertos/..." includes, and config/include/freertos holds
#   FreeRTOSConfig.h.
# * esp_newlib.h lives in newlib/platform_include; -idirafter reaches it
#   without its libc overrides, which do not fit Debian's newlib.
# * cfg/sdkconfig.h lacks two values FreeRTOS needs: ESP-IDF's defaults.
# * MicroPython's headers have unused parameters (ESP-IDF builds pass
#   -Wno-unused-parameter too).
# genhdr/qstrdefs.generated.h is made as MicroPython's build makes it, from
# these files' own qstrs; moduledefs.h and root_pointers.h are empty (the
# files register no root pointer; only py/objmodule.c reads moduledefs.h).
GLUE=(micropython/modmpota.c micropython/mpota_*_obj.c micropython/port_esp32.c)
if [ ! -f "$MPY/py/mpconfig.h" ] || [ ! -f "$MPY/ports/esp32/mpconfigport.h" ]; then
  NOT_CHECKED+=("${GLUE[*]}: no MicroPython tree with ports/esp32 at $MPY (set MICROPY_DIR)")
else
  F=$IDF/components/freertos
  GLUE_FLAGS=(-Wno-unused-parameter
    -DCONFIG_FREERTOS_MAX_TASK_NAME_LEN=16 -DCONFIG_FREERTOS_TASK_NOTIFICATION_ARRAY_ENTRIES=1
    -iquote "$F/FreeRTOS-Kernel/include" -I"$F/config/include/freertos"
    -idirafter "$IDF/components/newlib/platform_include"
    -Iinclude -Imicropython -I"$MPY" -I"$MPY/ports/esp32"
    -I"$MPY/ports/esp32/boards/ESP32_GENERIC" -I"$OUT/gen")
  : >"$OUT/gen/genhdr/moduledefs.h"
  : >"$OUT/gen/genhdr/root_pointers.h"
  G=$OUT/gen
  if ! (for f in "${GLUE[@]}"; do "$CC" -E -DNO_QSTR "${GLUE_FLAGS[@]}" "$f" || exit 1; done) \
        >"$G/qstr.i"; then
    fail "the glue does not preprocess for esp32 (see above)"
  elif ! { python3 "$MPY/py/makeqstrdefs.py" split qstr "$G/qstr.i" "$G/qstr" _ >/dev/null &&
           python3 "$MPY/py/makeqstrdefs.py" cat qstr _ "$G/qstr" "$G/qstrdefs.collected.h" >/dev/null &&
           cat "$MPY/py/qstrdefs.h" "$MPY/ports/esp32/qstrdefsport.h" "$G/qstrdefs.collected.h" |
             sed 's/^Q(.*)/"&"/' | "$CC" -E "${GLUE_FLAGS[@]}" - |
             sed 's/^"\(Q(.*)\)"/\1/' >"$G/qstrdefs.preprocessed.h" &&
           python3 "$MPY/py/makeqstrdata.py" "$G/qstrdefs.preprocessed.h" \
             >"$G/genhdr/qstrdefs.generated.h"; }; then
    fail "could not generate the qstr header with $MPY/py/makeqstr*.py"
  else
    for f in "${GLUE[@]}"; do
      compile glue "$f" "${STRICT[@]}" "${GLUE_FLAGS[@]}"
    done
    compiled
  fi
fi

# --- what the module adds to a firmware ----------------------------------------
if [ -n "${MODULE_SIZE_JSON:-}" ]; then
  # The device hashes with the ROM's MD5 context: that digest_mbedtls.o.
  objs=("$OUT"/rom_md5/*.o "$OUT"/backend/*.o "$OUT"/glue/*.o)
  for o in "$OUT"/core/*.o; do [ "$(basename "$o")" = digest_mbedtls.o ] || objs+=("$o"); done
  if [ ${#objs[@]} -lt 4 ] || [ ! -f "$OUT/glue/modmpota.o" ]; then
    fail "module size: not every part compiled"
  elif ! xtensa-lx106-elf-ld -r --gc-sections -u mpota_user_cmodule -Map "$OUT/module.map" \
      -o "$OUT/module.o" "${objs[@]}" 2>"$OUT/ld.log"; then
    cat "$OUT/ld.log"; fail "module size: ld -r --gc-sections failed"
  else
    python3 - "$OUT/module.map" "$MODULE_SIZE_JSON" "$OUT" <<'PY' || fail "module size: map not read"
import json, re, sys
# Sections kept in the output, by input object: " .text.f  0xADDR  0xSIZE path.o"
parts = {"core": 0, "backend": 0, "binding": 0}
biggest = []  # (size, section, object): the largest pieces kept
name = None
for line in open(sys.argv[1]):
    if line.startswith("Discarded input sections"):
        discarded = True
        continue
    if line.startswith("Memory map") or line.startswith("Linker script and memory map"):
        discarded = False
    if "discarded" in locals() and discarded:
        continue
    m = re.match(r"^ (\.(?:text|literal|rodata|data|bss|sdata|sbss)\S*)\s*(?:0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+\.o))?", line)
    if m:
        name = m.group(1)
        if not m.group(2):
            continue
        size, obj, sec = int(m.group(2), 16), m.group(3), name
    else:
        m = re.match(r"^\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+\.o)", line)
        if not (m and name):
            continue
        size, obj, sec = int(m.group(1), 16), m.group(2), name
        name = None
    biggest.append((size, sec, obj.split("/")[-1]))
    part = obj.split("/")[-2]
    parts["core" if part in ("core", "rom_md5") else "backend" if part == "backend" else "binding"] += size
total = sum(parts.values())
json.dump({"module_firmware_bytes": total, "parts": parts,
           "how": "xtensa-lx106 -Os -ffunction-sections -fdata-sections, MPOTA_DIAG_TEXT=0, "
                  "ld -r --gc-sections from mpota_user_cmodule; text+literals+rodata+data+bss kept"},
          open(sys.argv[2], "w"), indent=1)
print("module: %d bytes (core %d, backend %d, binding %d)" % (total, parts["core"], parts["backend"], parts["binding"]))
for size, sec, obj in sorted(biggest, reverse=True)[:12]:
    print("  %6d %s (%s)" % (size, sec, obj))
PY
  fi
fi

# --- summary ----------------------------------------------------------------
echo "esp32_port: $COMPILED files compiled to xtensa objects with -Werror in $((SECONDS - START)) s"
count() { local o=("$OUT/$1"/*.o); echo ${#o[@]}; }
echo "  core    $(count core) of ${#CORE_SRC[@]} files of src/core (mbedTLS: $MBEDTLS_INC);"
echo "          digest_mbedtls.c again with ESP-IDF's ROM MD5 context: $(count rom_md5)"
echo "  backend $(count backend) $BACKEND (ESP-IDF headers: $IDF)"
echo "  glue    $(count glue) of ${#GLUE[@]}: ${GLUE[*]#micropython/}"
echo "          (MicroPython: $MPY, ports/esp32, board ESP32_GENERIC)"
echo "Not checked here: linking against ESP-IDF's and MicroPython's"
echo "  libraries (lx106 objects, not ESP32's LX6 ABI: no size or stack figures); the"
echo "  firmware's full sdkconfig (cfg/sdkconfig.h has a handful of values); ESP-IDF's"
echo "  mbedTLS config and its SHA-256 engine context (sha256_alt.h is not in the set,"
echo "  so MPOTA_SHA256_CTX_SIZE is checked against the software context only); the"
echo "  firmware's own qstr pool and module registration; any run-time behaviour"
echo "  (ESP-IDF's semantics are read from its headers, not exercised)."
for n in "${NOT_CHECKED[@]}"; do
  echo "NOT CHECKED: $n"
done
if [ "$FAILS" -gt 0 ]; then
  echo "FAILED: $FAILS check(s)"
  exit 1
fi
if [ ${#NOT_CHECKED[@]} -gt 0 ]; then
  echo "SKIPPED: part of the port was not checked (see NOT CHECKED)"
  exit 77
fi
echo "OK"
