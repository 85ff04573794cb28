# The twin's unix-port variant (see micropython/twin/Makefile).
PROG ?= mpota-twin-vm
FROZEN_MANIFEST ?= $(VARIANT_DIR)/manifest.py

# Not needed by OTA scripts, and absent without the git submodules.
MICROPY_PY_BTREE = 0
MICROPY_PY_SSL = 0
MICROPY_PY_FFI = 0
