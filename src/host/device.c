// The emulated device: flash file + running-app sidecar (device.h).
#define _POSIX_C_SOURCE 200809L
#include "device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mpota/image.h"

#define STATE_SUFFIX ".state"

// Records a failed file call (errno as it is now) for the caller's message.
static int file_error(struct mpota_device *dev, const char *op, const char *suffix)
{
    dev->file_op = op;
    dev->file_suffix = suffix;
    dev->file_errno = errno;
    return MPOTA_ERR_FILE;
}

// Reads the sidecar: line 1 the running label ("" if absent or empty), then
// "chip <name>" (absent: any chip, as files made before it existed) and
// "anti_rollback <bits>" (absent: off). No
// sidecar is a device that has booted nothing; one that cannot be read is an
// error (the next update would pick its slot from a wrong running app).
static int read_state(struct mpota_device *dev)
{
    dev->running[0] = '\0';
    FILE *f = fopen(dev->state_path, "r");
    if (!f) {
        return errno == ENOENT ? MPOTA_OK : file_error(dev, "read", STATE_SUFFIX);
    }
    char line[64];
    if (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strlen(line) <= MPOTA_PART_LABEL_LEN) {
            memcpy(dev->running, line, strlen(line) + 1);
        }
    }
    unsigned bits;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "chip ", 5) == 0) {
            dev->chip = mpota_chip_from_name(line + 5);
        } else if (sscanf(line, "anti_rollback %u", &bits) == 1 && bits <= 32) {
            dev->anti_rollback = true;
            dev->security_version_bits = (uint8_t)bits;
        }
    }
    int rc = ferror(f) ? file_error(dev, "read", STATE_SUFFIX) : MPOTA_OK;
    fclose(f);
    return rc;
}

// Writes the sidecar to a new temporary file beside it (mkstemp: a fresh
// name, O_EXCL, so never through a link someone left there) and renames it
// over the sidecar, so a kill leaves either the old lines or the new ones.
static int write_state(struct mpota_device *dev, const char *label)
{
    size_t n = strlen(dev->state_path) + 8;
    char *tmp = malloc(n);
    if (!tmp) {
        errno = ENOMEM;
        return file_error(dev, "write", STATE_SUFFIX);
    }
    snprintf(tmp, n, "%s.XXXXXX", dev->state_path);
    int rc = MPOTA_OK;
    int fd = mkstemp(tmp);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        rc = file_error(dev, "write", STATE_SUFFIX);
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        return rc;
    }
    const char *chip = mpota_chip_name(dev->chip);
    // mkstemp makes it 0600; the sidecar is as readable as the flash file.
    if (fchmod(fd, 0644) != 0 || fprintf(f, "%s\n", label) < 0 ||
        (chip && fprintf(f, "chip %s\n", chip) < 0) ||
        (dev->anti_rollback &&
         fprintf(f, "anti_rollback %u\n", (unsigned)dev->security_version_bits) < 0) ||
        fflush(f) != 0) {
        rc = file_error(dev, "write", STATE_SUFFIX);
    }
    if (fclose(f) != 0 && rc == MPOTA_OK) {
        rc = file_error(dev, "write", STATE_SUFFIX);
    }
    if (rc == MPOTA_OK && rename(tmp, dev->state_path) != 0) {
        rc = file_error(dev, "write", STATE_SUFFIX);
    }
    if (rc != MPOTA_OK) {
        unlink(tmp);
    }
    free(tmp);
    if (rc == MPOTA_OK) {
        snprintf(dev->running, sizeof(dev->running), "%s", label);
    }
    return rc;
}

// Takes the exclusive lock on the flash file, polling for up to wait_ms.
static int lock_flash(struct mpota_device *dev, unsigned wait_ms)
{
    const struct timespec step = {0, 20 * 1000 * 1000};
    for (unsigned waited = 0;; waited += 20) {
        if (flock(dev->emu.fd, LOCK_EX | LOCK_NB) == 0) {
            return MPOTA_OK;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            return file_error(dev, "lock", "");
        }
        if (waited >= wait_ms) {
            errno = EWOULDBLOCK;
            return file_error(dev, "lock", "");
        }
        nanosleep(&step, NULL);
    }
}

// The chip of a valid app image at the start of p, or MPOTA_CHIP_ANY.
static uint16_t app_chip(struct mpota_device *dev, const struct mpota_partition *p,
                         struct mpota_image_info *info)
{
    struct mpota_area a;
    if (!p || p->type != MPOTA_PART_TYPE_APP ||
        mpota_area_init(&a, &dev->emu.flash, p->offset, p->size, true) != 0 ||
        mpota_image_verify_area(&a, MPOTA_CHIP_ANY, info, NULL) != 0 ||
        !mpota_chip_name(info->header.chip_id)) {
        return MPOTA_CHIP_ANY;
    }
    return info->header.chip_id;
}

// What the flash says the chip is (see device.h), or MPOTA_CHIP_ANY if it
// holds neither a bootloader nor a valid app.
static uint16_t chip_from_flash(struct mpota_device *dev)
{
    // The bootloader's header, at the offset that chip's ROM loads it from.
    struct mpota_image_ident id;
    mpota_image_identify(dev->emu.mem, dev->emu.size < 0x10000u ? dev->emu.size : 0x10000u, &id);
    if (id.bootloader_offset != MPOTA_IMAGE_NO_OFFSET && mpota_chip_name(id.chip) &&
        mpota_chip_bootloader_offset(id.chip) == id.bootloader_offset) {
        return id.chip;
    }
    if (dev->table_err) {
        return MPOTA_CHIP_ANY;
    }
    struct mpota_image_info *info = malloc(sizeof(*info));
    if (!info) {
        return MPOTA_CHIP_ANY;
    }
    // Looking is not a flash operation of the device: keep the counters.
    struct mpota_flash_emu_counters saved = dev->emu.count;
    struct mpota_boot_ctx ctx;
    mpota_device_ctx(dev, &ctx);
    ctx.chip = MPOTA_CHIP_ANY;
    const struct mpota_partition *boot = NULL;
    (void)mpota_boot_get_boot_partition(&ctx, &boot);
    uint16_t chip = app_chip(dev, mpota_device_running_partition(dev), info);
    if (chip == MPOTA_CHIP_ANY) {
        chip = app_chip(dev, boot, info);
    }
    for (uint32_t i = 0; chip == MPOTA_CHIP_ANY && i < dev->table.count; i++) {
        chip = app_chip(dev, &dev->table.parts[i], info);
    }
    dev->emu.count = saved;
    free(info);
    return chip;
}

static int open_efuse(struct mpota_device *dev, const char *flash_path)
{
    dev->efuse = malloc(sizeof(*dev->efuse));
    if (!dev->efuse) {
        errno = ENOMEM;
        return file_error(dev, "read", MPOTA_EFUSE_SUFFIX);
    }
    int rc = mpota_efuse_open(dev->efuse, flash_path);
    if (rc == MPOTA_ERR_FILE) {
        file_error(dev, "read", MPOTA_EFUSE_SUFFIX);
    }
    return rc;
}

// What secure boot trusts, from the eFuses: the burnt key digests in slot
// order with their revoke bits; ESP32 (rev 3) and C2 read block 0 only.
static void load_secure_boot(struct mpota_device *dev)
{
    struct mpota_sig_trust *t = &dev->secure_boot;
    memset(t, 0, sizeof(*t));
    const struct mpota_efuse *f = &dev->efuse->fuses;
    for (unsigned i = 0; i < MPOTA_EFUSE_KEY_SLOTS; i++) {
        if (mpota_efuse_key_present(f, i)) {
            t->revoked |= (uint8_t)(mpota_efuse_key_revoked(f, i) << t->count);
            memcpy(t->keys[t->count++], f->key_digest[i], MPOTA_SIG_KEY_DIGEST_LEN);
        }
    }
    t->required = true;
    t->first_block_only = dev->chip == MPOTA_CHIP_ESP32 || dev->chip == MPOTA_CHIP_ESP32C2;
}

int mpota_device_burn_secure_boot(struct mpota_device *dev,
                                  const uint8_t (*digests)[MPOTA_SIG_KEY_DIGEST_LEN], unsigned n,
                                  uint8_t revoke)
{
    struct mpota_efuse bits = {.secure_boot_en = true};
    for (unsigned i = 0; i < n && i < MPOTA_EFUSE_KEY_SLOTS; i++) {
        mpota_efuse_set_key_digest(&bits, i, digests[i]);
    }
    for (unsigned i = 0; i < MPOTA_EFUSE_KEY_SLOTS; i++) {
        if (revoke & (1u << i)) {
            mpota_efuse_revoke_key(&bits, i);
        }
    }
    int rc = mpota_efuse_burn(dev->efuse, &bits);
    if (rc) {
        return file_error(dev, "write", MPOTA_EFUSE_SUFFIX);
    }
    load_secure_boot(dev);
    return MPOTA_OK;
}

static int device_open(struct mpota_device *dev, const char *flash_path, bool lock,
                       unsigned wait_ms)
{
    if (!dev || !flash_path) {
        return MPOTA_ERR_INVALID_ARG;
    }
    memset(dev, 0, sizeof(*dev));
    dev->chip = MPOTA_CHIP_ANY;
    dev->rollback_enabled = true;
    int rc = mpota_flash_emu_open_file(&dev->emu, flash_path);
    if (rc) {
        if (rc == MPOTA_ERR_FILE) {
            file_error(dev, "open", "");
        }
        return rc;
    }
    if (lock) {
        rc = lock_flash(dev, wait_ms);
    }
    size_t n = strlen(flash_path) + sizeof(STATE_SUFFIX);
    dev->state_path = rc ? NULL : malloc(n);
    if (!rc && !dev->state_path) {
        errno = ENOMEM;
        rc = file_error(dev, "read", STATE_SUFFIX);
    }
    if (!rc) {
        snprintf(dev->state_path, n, "%s%s", flash_path, STATE_SUFFIX);
        rc = read_state(dev);
    }
    if (!rc) {
        rc = open_efuse(dev, flash_path);
    }
    if (rc) {
        mpota_device_close(dev);
        return rc;
    }
    mpota_device_reload_table(dev);
    uint16_t chip = chip_from_flash(dev);
    if (chip != MPOTA_CHIP_ANY) {
        dev->chip = chip;  // the sidecar's line, if it differs, is stale
    }
    load_secure_boot(dev);
    return MPOTA_OK;
}

int mpota_device_open(struct mpota_device *dev, const char *flash_path)
{
    return device_open(dev, flash_path, false, 0);
}

int mpota_device_open_locked(struct mpota_device *dev, const char *flash_path,
                             unsigned wait_ms)
{
    return device_open(dev, flash_path, true, wait_ms);
}

int mpota_device_save_state(struct mpota_device *dev)
{
    char running[sizeof(dev->running)];
    memcpy(running, dev->running, sizeof(running));
    return write_state(dev, running);
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

int mpota_device_set_anti_rollback(struct mpota_device *dev, uint8_t bits)
{
    dev->anti_rollback = true;
    dev->security_version_bits = bits;
    return mpota_device_save_state(dev);
}

static uint32_t field_width(const struct mpota_device *dev)
{
    return dev->security_version_bits ? dev->security_version_bits
                                      : mpota_chip_security_version_bits(dev->chip);
}

uint32_t mpota_device_security_version(const struct mpota_device *dev)
{
    return mpota_efuse_security_version(&dev->efuse->fuses, field_width(dev));
}

// ctx->raise_security_version: the burn, bit by bit, in the .efuse file.
static int raise_in_efuse(void *arg, uint32_t v)
{
    const struct mpota_device *dev = arg;
    return mpota_efuse_raise_security_version(dev->efuse, v, field_width(dev));
}

void mpota_device_ctx(const struct mpota_device *dev, struct mpota_boot_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->flash = &dev->emu.flash;
    ctx->table = &dev->table;
    ctx->chip = dev->chip;
    ctx->rollback_enabled = dev->rollback_enabled;
    ctx->running = mpota_device_running_partition(dev);
    if (dev->anti_rollback) {
        ctx->anti_rollback = true;
        ctx->security_version_bits = (uint8_t)field_width(dev);
        ctx->security_version = mpota_device_security_version(dev);
        ctx->raise_security_version = raise_in_efuse;
        ctx->raise_arg = (void *)(uintptr_t)dev;  // only dev->efuse, a heap object, changes
    }
    if (dev->efuse && dev->efuse->fuses.secure_boot_en) {
        ctx->secure_boot = &dev->secure_boot;
    }
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
    if (dev->efuse) {
        mpota_efuse_close(dev->efuse);
        free(dev->efuse);
        dev->efuse = NULL;
    }
}
