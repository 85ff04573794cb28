// The port layer of the mpota MicroPython module: what the bindings need from
// the device they run on, and nothing else.
//
// One implementation per platform, chosen by the build:
//   port_esp32.c  ESP-IDF: esp_flash_* on the chip, the table ESP-IDF
//                 loaded (esp_partition_find), esp_ota_get_running_partition(),
//                 esp_restart()
//   port_unix.c   the unix twin: the emulated flash file named by the
//                 MPOTA_TWIN_FLASH environment variable (src/host/device.c)
//
// Nothing ESP-specific appears outside port_esp32.c and its ESP-IDF backend
// esp32_device.c (which includes no MicroPython header). A port allocates its
// state on the MicroPython heap (no static RAM) and reports failures by
// raising (mpota.Error or OSError), as MicroPython bindings do.
#ifndef MPOTA_MICROPYTHON_PORT_H
#define MPOTA_MICROPYTHON_PORT_H

#include "py/mpconfig.h"

#include "mpota/boot.h"
#include "mpota/part.h"

// An open device. Filled by mpota_port_open(); the bindings only read it.
struct mpota_port {
    // flash: the whole chip; table: ESP-IDF's on the ESP32, parsed from the
    // flash at 0x8000 on the twin; chip: the image chip id the bootloader would
    // check (MPOTA_CHIP_ANY on the twin); rollback_enabled as the bootloader
    // was built (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE).
    struct mpota_boot_ctx ctx;
    // The partition the device runs (points into ctx.table), NULL if unknown.
    const struct mpota_partition *running;
    // The port's own state (heap); NULL once closed.
    void *impl;
};

// Opens the device and fills *port. Raises on failure (no flash, a table
// that does not parse, flash encryption on ESP32); never returns an error.
void mpota_port_open(struct mpota_port *port);

// Releases what open took (the twin unmaps its flash file). Safe on a closed
// port.
void mpota_port_close(struct mpota_port *port);

// Restarts the device now, as a reset does: nothing after it runs (no
// finally blocks, no file closing). ESP32: esp_restart(). Twin: the process
// ends with MPOTA_TWIN_EXIT_RESET and the launcher boots again.
MP_NORETURN void mpota_port_restart(void);

// With MPOTA_PORT_MODULE_INIT, the port gives the module an __init__, which
// MicroPython runs at every `import mpota` (MICROPY_MODULE_BUILTIN_INIT): the
// twin's stock mode makes the import fail there (twin/modtwin.c).
#ifdef MPOTA_PORT_MODULE_INIT
MP_DECLARE_CONST_FUN_OBJ_0(mpota_port_module_init_obj);
#endif

#endif
