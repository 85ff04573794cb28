#!/usr/bin/env bash
# Installs what mpota needs from Debian's packages, only where missing.
# Safe to run repeatedly; used by demo.sh and test.sh.
set -euo pipefail

packages=(
  build-essential cmake pkg-config          # build
  libmbedtls-dev                             # SHA-256 / MD5 in the core (as ESP-IDF and MicroPython use)
  libcmocka-dev                              # unit tests
  libcjson-dev                               # CLI JSON output, manifests
  libcurl4-openssl-dev                       # HTTP(S) downloads in the CLI
  zlib1g-dev                                 # gzip/zlib images in the CLI (inflate)
  libdivsufsort-dev                          # suffix arrays for mpota delta make
  liblzma-dev                                # lzma-compressed detools patches (host only)
  clang libclang-rt-14-dev                   # libFuzzer targets
  nginx-light                                # real HTTP server for integration tests (127.0.0.1 only)
  openssl                                    # test certificates and htpasswd for the nginx rig
  gcc-xtensa-lx106 libnewlib-dev             # esp32_port check (../shared/esp-idf/cc-esp32.sh), xtensa code size
  gcc-arm-none-eabi libnewlib-arm-none-eabi  # arm code size and stack; newlib is only a Recommends
  valgrind                                   # bench/: instructions per byte (callgrind)
  python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
