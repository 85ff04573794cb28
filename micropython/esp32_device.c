// esp32_device.h on ESP-IDF 5.x. Every ESP-IDF call is named with the header
// that declares it; the facts below are from those headers' documentation
// and, for the guard and the caches, ESP-IDF's spi_flash component.
//
// * flash: esp_flash_read / esp_flash_write / esp_flash_erase_region on the
//   default chip (esp_flash.h; chip NULL = esp_flash_default_chip). Read and
//   write take any address, length and buffer alignment; a buffer in PSRAM
//   (MicroPython's heap on SPIRAM boards) goes through an internal bounce
//   buffer, and a read fails with ESP_ERR_NO_MEM if none can be had. Erase
//   takes sector-aligned ranges and uses block erases (64 KiB on common
//   chips) where it can, so the core's single-sector and single-block
//   erases map one to one. Each call runs with the flash caches disabled
//   (the default chip's OS hooks), and write and erase flush the cache of
//   any mapped page they change.
//   The core reaches flash only through areas, which never write the
//   running app slot. Below us, ESP-IDF's guard
//   (CONFIG_SPI_FLASH_DANGEROUS_WRITE_*) still covers the bootloader, the
//   table and the running app, by default with an abort (the chip panics
//   and resets) rather than an error; partitions flagged readonly fail with
//   ESP_ERR_NOT_ALLOWED.
// * table: the one ESP-IDF loaded (esp_partition.h). esp_partition_find
//   (ANY, ANY) walks it in table order; the loader stops at the MD5 row and
//   checks it (CONFIG_PARTITION_TABLE_MD5), as the bootloader did before it,
//   and reports a partition encrypted only when flash encryption is on.
//   Partitions an app registers on other chips (esp_partition_register_
//   external) have another flash_chip and are left out. Taking ESP-IDF's
//   table keeps mpota's table parser out of the firmware.
// * running app: esp_ota_get_running_partition() (esp_ota_ops.h), matched by
//   address in our table: the address is what the app was mapped from.
// * Flash encryption is refused: esp_flash_read returns ciphertext (the
//   table too), and esp_flash_write does not encrypt; ESP-IDF writes
//   encrypted partitions with esp_flash_write_encrypted (16-byte aligned),
//   which esp_partition_write calls for them.
// Boot selection (otadata) is the core's own code, byte-identical to
// esp_ota_ops.c (include/mpota/boot.h); esp_ota_* is not called for it.
#include "esp32_device.h"

#include <string.h>

#include "esp_err.h"            // esp_err_t, ESP_OK, ESP_ERR_NOT_ALLOWED
#include "esp_flash.h"          // esp_flash_read/write/erase_region, esp_flash_get_size
#include "esp_flash_encrypt.h"  // esp_flash_encryption_enabled
#include "esp_ota_ops.h"        // esp_ota_get_running_partition
#include "esp_partition.h"      // esp_partition_find/next/get/iterator_release
#include "sdkconfig.h"          // CONFIG_PARTITION_TABLE_*, CONFIG_IDF_FIRMWARE_CHIP_ID
#ifdef CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
#include "esp_efuse.h"  // esp_efuse_read_secure_version, esp_efuse_update_secure_version
#endif

// A read-only partition is a protection, anything else a device failure
// (the core adds the address).
static int from_esp_err(esp_err_t err)
{
    if (err == ESP_OK) {
        return MPOTA_OK;
    }
    return err == ESP_ERR_NOT_ALLOWED ? MPOTA_ERR_FLASH_PROTECTED : MPOTA_ERR_FLASH_IO;
}

static int esp32_read(const struct mpota_flash *f, uint32_t addr, void *buf, uint32_t len)
{
    (void)f;
    return from_esp_err(esp_flash_read(NULL, buf, addr, len));
}

static int esp32_prog(const struct mpota_flash *f, uint32_t addr, const void *buf, uint32_t len)
{
    (void)f;
    return from_esp_err(esp_flash_write(NULL, buf, addr, len));
}

// The core passes exactly one aligned sector or block (flash.h).
static int esp32_erase(const struct mpota_flash *f, uint32_t addr, uint32_t len)
{
    (void)f;
    return from_esp_err(esp_flash_erase_region(NULL, addr, len));
}

bool mpota_esp32_flash_encrypted(void)
{
    return esp_flash_encryption_enabled();
}

// ESP-IDF's partitions on the default chip, in table order, as our table.
static int load_table(struct mpota_table *t, struct mpota_diag *d)
{
    esp_partition_iterator_t it =
        esp_partition_find(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, NULL);
    for (; it; it = esp_partition_next(it)) {
        const esp_partition_t *p = esp_partition_get(it);
        if (p->flash_chip != esp_flash_default_chip) {
            continue;
        }
        if (t->count == MPOTA_PART_MAX) {
            esp_partition_iterator_release(it);
            return mpota_diag_set(d, MPOTA_ERR_TABLE_TOO_MANY, 0, MPOTA_PART_MAX, t->count + 1);
        }
        struct mpota_partition *row = &t->parts[t->count++];
        row->type = (uint8_t)p->type;
        row->subtype = (uint8_t)p->subtype;
        row->offset = p->address;
        row->size = p->size;
        row->flags = (p->encrypted ? MPOTA_PART_FLAG_ENCRYPTED : 0) |
                     (p->readonly ? MPOTA_PART_FLAG_READONLY : 0);
        memcpy(row->label, p->label, MPOTA_PART_LABEL_LEN);
        row->label[MPOTA_PART_LABEL_LEN] = '\0';
    }
    if (t->count == 0) {
        return mpota_diag_set(d, MPOTA_ERR_TABLE_EMPTY, CONFIG_PARTITION_TABLE_OFFSET, 0, 0);
    }
#ifdef CONFIG_PARTITION_TABLE_MD5
    t->md5_present = t->md5_valid = true;  // else ESP-IDF would have loaded none
#endif
    return MPOTA_OK;
}

// The running app's row: the one that starts where ESP-IDF says it runs.
static const struct mpota_partition *find_running(const struct mpota_table *t)
{
    const esp_partition_t *running = esp_ota_get_running_partition();
    if (!running) {
        return NULL;
    }
    const struct mpota_partition *p = mpota_part_find_at(t, running->address);
    return p && p->offset == running->address ? p : NULL;
}

int mpota_esp32_device_open(struct mpota_esp32_device *dev, struct mpota_diag *d)
{
    memset(dev, 0, sizeof(*dev));
    if (mpota_esp32_flash_encrypted()) {
        return mpota_diag_set(d, MPOTA_ERR_BAD_STATE, 0, 0, 0);
    }
    // The size in the bootloader's image header (not necessarily the chip's
    // physical size): esp_flash_* refuses addresses past it.
    uint32_t size = 0;
    if (esp_flash_get_size(esp_flash_default_chip, &size) != ESP_OK) {
        return mpota_diag_set(d, MPOTA_ERR_FLASH_IO, 0, 0, 0);
    }
    dev->flash.ctx = NULL;
    dev->flash.read = esp32_read;
    dev->flash.prog = esp32_prog;
    dev->flash.erase = esp32_erase;
    dev->flash.size = size;
    dev->flash.sector_size = MPOTA_SECTOR_SIZE;
    dev->flash.block_size = MPOTA_BLOCK_SIZE;
    dev->flash.prog_align = 1;

    int rc = load_table(&dev->table, d);
    if (rc) {
        return rc;
    }
    dev->running = find_running(&dev->table);
    return MPOTA_OK;
}

#ifdef CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
// ctx->raise_security_version: burns the eFuse field up to v (thermometer
// code, only the new bits), then keeps the context's counter current for
// the next check in this session (arg is the context).
static int esp32_raise_security_version(void *arg, uint32_t v)
{
    struct mpota_boot_ctx *ctx = arg;
    esp_err_t err = esp_efuse_update_secure_version(v);
    ctx->security_version = esp_efuse_read_secure_version();
    return err == ESP_OK ? MPOTA_OK : MPOTA_ERR_EFUSE_BURN;
}
#endif

void mpota_esp32_device_ctx(const struct mpota_esp32_device *dev, struct mpota_boot_ctx *ctx)
{
    ctx->flash = &dev->flash;
    ctx->table = &dev->table;
    ctx->chip = CONFIG_IDF_FIRMWARE_CHIP_ID;  // the esp_chip_id_t the bootloader checks
    ctx->running = dev->running;
#ifdef CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
    ctx->rollback_enabled = true;  // MicroPython's sdkconfig.base sets it
#else
    ctx->rollback_enabled = false;
#endif
#ifdef CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
    // The counter as the bootloader checked it; the field's width as built.
    ctx->anti_rollback = true;
    ctx->security_version = esp_efuse_read_secure_version();
    ctx->security_version_bits = CONFIG_BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD;
    ctx->raise_security_version = esp32_raise_security_version;
    ctx->raise_arg = ctx;
#else
    ctx->anti_rollback = false;  // official MicroPython builds
#endif
}
