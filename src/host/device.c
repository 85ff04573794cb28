// The emulated device: flash file + running-app sidecar (device.h).
#define _POSIX_C_SOURCE 200809L
#include "device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpota/image.h"

#define STATE_SUFFIX ".state"

// Reads the sidecar: line 1 the running label ("" if absent or empty), line
// 2 "chip <name>" (absent: any chip, as files made before it existed).
static void read_state(struct mpota_device *dev)
{
    dev->running[0] = '\0';
    FILE *f = fopen(dev->state_path, "r");
    if (!f) {
        return;
    }
    char line[64];
    if (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strlen(line) <= MPOTA_PART_LABEL_LEN) {
            memcpy(dev->running, line, strlen(line) + 1);
        }
    }
    if (fgets(line, sizeof(line), f) && strncmp(line, "chip ", 5) == 0) {
        line[strcspn(line, "\r\n")] = '\0';
        dev->chip = mpota_chip_from_name(line + 5);
    }
    fclose(f);
}

// Writes the sidecar through a temporary file and rename(), so a kill leaves
// either the old line or the new one.
static int write_state(struct mpota_device *dev, const char *label)
{
    size_t n = strlen(dev->state_path) + 5;
    char *tmp = malloc(n);
    if (!tmp) {
        return MPOTA_ERR_FILE;
    }
    snprintf(tmp, n, "%s.tmp", dev->state_path);
    FILE *f = fopen(tmp, "w");
    int rc = MPOTA_OK;
    if (!f) {
        rc = MPOTA_ERR_FILE;
    } else {
        const char *chip = mpota_chip_name(dev->chip);
        if (fprintf(f, "%s\n", label) < 0 || (chip && fprintf(f, "chip %s\n", chip) < 0)) {
            rc = MPOTA_ERR_FILE;
        }
        if (fclose(f) != 0) {
            rc = MPOTA_ERR_FILE;
        }
        if (rc == MPOTA_OK && rename(tmp, dev->state_path) != 0) {
            rc = MPOTA_ERR_FILE;
        }
        if (rc != MPOTA_OK) {
            remove(tmp);
        }
    }
    free(tmp);
    if (rc == MPOTA_OK) {
        snprintf(dev->running, sizeof(dev->running), "%s", label);
    }
    return rc;
}

int mpota_device_open(struct mpota_device *dev, const char *flash_path)
{
    if (!dev || !flash_path) {
        return MPOTA_ERR_INVALID_ARG;
    }
    memset(dev, 0, sizeof(*dev));
    dev->chip = MPOTA_CHIP_ANY;
    dev->rollback_enabled = true;
    int rc = mpota_flash_emu_open_file(&dev->emu, flash_path);
    if (rc) {
        return rc;
    }
    size_t n = strlen(flash_path) + sizeof(STATE_SUFFIX);
    dev->state_path = malloc(n);
    if (!dev->state_path) {
        mpota_flash_emu_close(&dev->emu);
        return MPOTA_ERR_FILE;
    }
    snprintf(dev->state_path, n, "%s%s", flash_path, STATE_SUFFIX);
    read_state(dev);
    mpota_device_reload_table(dev);
    return MPOTA_OK;
}

int mpota_device_set_chip(struct mpota_device *dev, uint16_t chip)
{
    dev->chip = chip;
    char running[sizeof(dev->running)];
    memcpy(running, dev->running, sizeof(running));
    return write_state(dev, running);
}

int mpota_device_reload_table(struct mpota_device *dev)
{
    uint8_t buf[MPOTA_PART_TABLE_MAX_LEN];
    memset(&dev->table_diag, 0, sizeof(dev->table_diag));
    memset(&dev->table, 0, sizeof(dev->table));
    struct mpota_area area;
    int rc = mpota_area_init(&area, &dev->emu.flash, MPOTA_PART_TABLE_OFFSET, sizeof(buf), true);
    if (!rc) {
        rc = mpota_area_read(&area, 0, buf, sizeof(buf));
    }
    if (!rc) {
        rc = mpota_part_table_parse(buf, sizeof(buf), dev->emu.size, &dev->table,
                                    &dev->table_diag);
    }
    dev->table_err = rc;
    dev->table_diag.err = rc;
    return rc;
}

void mpota_device_ctx(const struct mpota_device *dev, struct mpota_boot_ctx *ctx)
{
    ctx->flash = &dev->emu.flash;
    ctx->table = &dev->table;
    ctx->chip = dev->chip;
    ctx->rollback_enabled = dev->rollback_enabled;
}

int mpota_device_boot(struct mpota_device *dev, struct mpota_boot_report *report)
{
    struct mpota_boot_report local;
    if (!report) {
        report = &local;
    }
    memset(report, 0, sizeof(*report));
    report->selected_index = MPOTA_BOOT_INDEX_NONE;
    report->booted_index = MPOTA_BOOT_INDEX_NONE;
    // During a reset nothing runs: if this process dies in the bootloader's
    // otadata writes, the sidecar must not name the previous app.
    int rc = write_state(dev, "");
    if (rc) {
        return rc;
    }
    if (dev->table_err) {
        return dev->table_err;
    }
    struct mpota_boot_ctx ctx;
    mpota_device_ctx(dev, &ctx);
    rc = mpota_boot_select(&ctx, report);
    if (rc) {
        return rc;
    }
    return write_state(dev, report->booted->label);
}

const char *mpota_device_running(const struct mpota_device *dev)
{
    return dev->running[0] ? dev->running : NULL;
}

const struct mpota_partition *mpota_device_running_partition(const struct mpota_device *dev)
{
    if (!dev->running[0] || dev->table_err) {
        return NULL;
    }
    return mpota_part_find_label(&dev->table, dev->running);
}

void mpota_device_close(struct mpota_device *dev)
{
    if (!dev) {
        return;
    }
    mpota_flash_emu_close(&dev->emu);
    free(dev->state_path);
    dev->state_path = NULL;
}
