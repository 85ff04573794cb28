# mpota as a MicroPython user C module for make-based ports: the unix port,
# which is how the twin is built (micropython/twin/Makefile). The ESP32 port
# builds with CMake and reads micropython.cmake instead.
#
#   make -C $MICROPY_DIR/ports/unix USER_C_MODULES=<mpota checkout> ...
#
# USER_C_MODULES names the checkout's root: MicroPython looks for
# */micropython.mk below it, and object files then mirror the checkout
# (build/micropython/*.o, build/src/core/*.o).

MPOTA_MOD_DIR := $(USERMOD_DIR)
MPOTA_ROOT := $(abspath $(MPOTA_MOD_DIR)/..)

# Binding files (scanned for QSTRs): the module table, one file per Python
# type, and the unix port layer. The ESP-IDF files (esp32_device.c,
# port_esp32.c) are named only in micropython.cmake.
SRC_USERMOD_C += $(MPOTA_MOD_DIR)/modmpota.c
SRC_USERMOD_C += $(sort $(wildcard $(MPOTA_MOD_DIR)/mpota_*_obj.c))
SRC_USERMOD_C += $(MPOTA_MOD_DIR)/port_unix.c
# The twin's own module (_twin) and its stock mode, which hides `mpota`.
SRC_USERMOD_C += $(MPOTA_MOD_DIR)/twin/modtwin.c
CFLAGS_USERMOD += -DMPOTA_PORT_MODULE_INIT=1
# The whole Device/Session API: the twin's esp32 stand-in and the raw-module
# tests use more of it than the ota package (mpota_device_obj.c).
CFLAGS_USERMOD += -DMPOTA_MODULE_TWIN_API=1

# Plain library code: libmpota (every file of src/core) and, for the unix
# port, the emulated flash and device from src/host.
SRC_USERMOD_LIB_C += $(sort $(wildcard $(MPOTA_ROOT)/src/core/*.c))
SRC_USERMOD_LIB_C += $(MPOTA_ROOT)/src/host/flash_emu.c $(MPOTA_ROOT)/src/host/device.c
SRC_USERMOD_LIB_C += $(MPOTA_ROOT)/src/host/efuse_emu.c $(MPOTA_ROOT)/src/host/host_file.c

CFLAGS_USERMOD += -I$(MPOTA_ROOT)/include

# The core hashes with mbedTLS (src/core/digest_mbedtls.c). With the port's
# TLS on mbedTLS (the twin), that is the port's own lib/mbedtls: extmod.mk
# puts its headers and config on every file's command line, and linking the
# host's libmbedcrypto as well would put two mbedTLS versions in one binary.
# Without it, the host's libmbedcrypto (Debian: libmbedtls-dev).
ifneq ($(MICROPY_PY_SSL)$(MICROPY_SSL_MBEDTLS),11)
LDFLAGS_USERMOD += -lmbedcrypto
endif
