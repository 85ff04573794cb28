// The ESP32 an app runs on, as the core needs it, from ESP-IDF 5.x alone: the
// default flash chip as a struct mpota_flash, the partition table the
// bootloader read, the running app, and the build's chip id and rollback
// option. No MicroPython header: memory is the caller's and failures are
// enum mpota_err codes. port_esp32.c is the MicroPython glue around it (heap,
// raising); tests/esp32/check_esp32_port.sh compiles both for the esp32
// target against ESP-IDF's headers.
#ifndef MPOTA_ESP32_DEVICE_H
#define MPOTA_ESP32_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "mpota/boot.h"
#include "mpota/err.h"
#include "mpota/flash.h"
#include "mpota/part.h"

struct mpota_esp32_device {
    struct mpota_flash flash;  // the whole default chip, through esp_flash_*
    struct mpota_table table;  // ESP-IDF's partitions on the default chip
    // The app that runs (esp_ota_get_running_partition), in table; NULL if
    // ESP-IDF names none or it is not in table.
    const struct mpota_partition *running;
};

// True when flash encryption is on (the FLASH_CRYPT_CNT eFuse). The device
// cannot be opened then: esp_flash_read returns ciphertext, and
// esp_flash_write does not encrypt.
bool mpota_esp32_flash_encrypted(void);

// Fills *dev: the flash callbacks and size, the table (ESP-IDF's) and the
// running app. Returns 0; MPOTA_ERR_BAD_STATE if flash encryption is on;
// MPOTA_ERR_FLASH_IO if ESP-IDF fails to give the size; TABLE_EMPTY if it
// has no partition (it could not load its table); TABLE_TOO_MANY past
// MPOTA_PART_MAX rows.
int mpota_esp32_device_open(struct mpota_esp32_device *dev, struct mpota_diag *d);

// The boot context for the core calls: dev's flash and table, and this
// build's image chip id and rollback option (sdkconfig.h). With
// CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK also the eFuse counter, read now, and
// the burn mark_valid asks for (esp_efuse_update_secure_version); ctx must
// then stay where it is (the burn updates its counter).
void mpota_esp32_device_ctx(const struct mpota_esp32_device *dev, struct mpota_boot_ctx *ctx);

#endif
