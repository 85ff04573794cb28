// Port layer for MicroPython's esp32 port (ESP-IDF 5.x). It cannot be built
// on the host; every ESP-IDF call is named with the header that declares it.
//
// The core needs a struct mpota_flash over the whole chip, the partition
// table and the running app. All three come from ESP-IDF directly:
// * flash: esp_flash_read / esp_flash_write / esp_flash_erase_region on the
//   default chip (esp_flash.h; chip NULL = esp_flash_default_chip). The core
//   reaches flash only through areas, which never write the running app
//   slot. ESP-IDF's own guard (CONFIG_SPI_FLASH_DANGEROUS_WRITE_*) still
//   protects the bootloader, the table and the running app below us.
// * table: the 0xC00 bytes at CONFIG_PARTITION_TABLE_OFFSET (sdkconfig.h),
//   parsed with the same mpota_part_table_parse() as everywhere else; the
//   bootloader reads the same bytes.
// * running app: esp_ota_get_running_partition() (esp_ota_ops.h), matched by
//   label in our table.
// Flash encryption is refused: esp_flash_write does not encrypt, and ESP-IDF
// would write encrypted partitions through esp_partition_write.
// Boot selection (otadata) is the core's own code, byte-identical to
// esp_ota_ops.c (include/mpota/boot.h); esp_ota_* is not called for it.
#include <string.h>

#include "py/mperrno.h"
#include "py/runtime.h"

#include "esp_flash.h"          // esp_flash_read/write/erase_region, esp_flash_get_size
#include "esp_flash_encrypt.h"  // esp_flash_encryption_enabled
#include "esp_ota_ops.h"        // esp_ota_get_running_partition
#include "esp_partition.h"      // esp_partition_t
#include "esp_system.h"         // esp_restart
#include "sdkconfig.h"          // CONFIG_PARTITION_TABLE_OFFSET, CONFIG_IDF_FIRMWARE_CHIP_ID

#include "mpota/flash.h"
#include "mpota/image.h"
#include "mpota_mod.h"

// The port's state, on the MicroPython heap.
struct esp32_port {
    struct mpota_flash flash;
    struct mpota_table table;
};

// Callbacks: ESP-IDF errors become MPOTA_ERR_FLASH_IO (the core reports the
// address). The core calls erase with exactly one aligned 4 KiB sector or
// 64 KiB block; esp_flash_erase_region picks the matching SPI command.
static int esp32_read(const struct mpota_flash *f, uint32_t addr, void *buf, uint32_t len)
{
    (void)f;
    return esp_flash_read(NULL, buf, addr, len) == ESP_OK ? MPOTA_OK : MPOTA_ERR_FLASH_IO;
}

static int esp32_prog(const struct mpota_flash *f, uint32_t addr, const void *buf, uint32_t len)
{
    (void)f;
    return esp_flash_write(NULL, buf, addr, len) == ESP_OK ? MPOTA_OK : MPOTA_ERR_FLASH_IO;
}

static int esp32_erase(const struct mpota_flash *f, uint32_t addr, uint32_t len)
{
    (void)f;
    return esp_flash_erase_region(NULL, addr, len) == ESP_OK ? MPOTA_OK : MPOTA_ERR_FLASH_IO;
}

void mpota_port_open(struct mpota_port *port)
{
    if (esp_flash_encryption_enabled()) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("mpota: flash encryption is not supported"));
    }
    struct esp32_port *e = m_new_obj(struct esp32_port);
    memset(e, 0, sizeof(*e));
    uint32_t size = 0;
    if (esp_flash_get_size(NULL, &size) != ESP_OK) {
        mpota_raise(MPOTA_ERR_FLASH_IO);
    }
    e->flash.ctx = NULL;
    e->flash.read = esp32_read;
    e->flash.prog = esp32_prog;
    e->flash.erase = esp32_erase;
    e->flash.size = size;
    e->flash.sector_size = MPOTA_SECTOR_SIZE;
    e->flash.block_size = MPOTA_BLOCK_SIZE;
    e->flash.prog_align = 1;

    // The table, read through the same backend.
    uint8_t *buf = m_new(uint8_t, MPOTA_PART_TABLE_MAX_LEN);
    struct mpota_diag d = {0};
    int rc = esp32_read(&e->flash, CONFIG_PARTITION_TABLE_OFFSET, buf, MPOTA_PART_TABLE_MAX_LEN);
    if (!rc) {
        rc = mpota_part_table_parse(buf, MPOTA_PART_TABLE_MAX_LEN, size, &e->table, &d);
    }
    m_del(uint8_t, buf, MPOTA_PART_TABLE_MAX_LEN);
    mpota_check(rc, &d);

    port->ctx.flash = &e->flash;
    port->ctx.table = &e->table;
    port->ctx.chip = CONFIG_IDF_FIRMWARE_CHIP_ID;  // esp_chip_id_t of this build
    #ifdef CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
    port->ctx.rollback_enabled = true;  // MicroPython's sdkconfig.base sets it
    #else
    port->ctx.rollback_enabled = false;
    #endif
    const esp_partition_t *running = esp_ota_get_running_partition();
    port->running = running ? mpota_part_find_label(&e->table, running->label) : NULL;
    port->impl = e;
}

void mpota_port_close(struct mpota_port *port)
{
    // Nothing to release: the state is garbage-collected with the object.
    port->impl = NULL;
}

MP_NORETURN void mpota_port_restart(void)
{
    esp_restart();  // esp_system.h; does not return
}
