# The twin's unix-port variant (see micropython/twin/Makefile).
PROG ?= mpota-twin-vm
FROZEN_MANIFEST ?= $(VARIANT_DIR)/manifest.py

# Not needed by OTA scripts, and absent without the git submodules.
MICROPY_PY_BTREE = 0
MICROPY_PY_FFI = 0

# TLS as the ESP32 firmware has it: the `tls` module (micropython-lib's `ssl`
# wraps it) on the mbedTLS the tree pins, lib/mbedtls; never axTLS.
MICROPY_PY_SSL = 1
MICROPY_SSL_MBEDTLS = 1
MICROPY_SSL_AXTLS = 0
