// mpota flash new | status | boot | set-boot | confirm | rollback | write-slot:
// an emulated ESP32 flash file driven the way a device and esptool drive one.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "mpota/mpver.h"
#include "device.h"
#include "flash_emu.h"
#include "mpota/boot.h"
#include "mpota/flash.h"
#include "mpota/image.h"
#include "mpota/otadata.h"
#include "mpota/part.h"
#include "part_csv.h"

// The device is opened once per command, locked so that no other command
// writes it meanwhile; every command closes it.
static struct mpota_device dev;
static const char *dev_path;

static int open_device(const char *path)
{
    if (access(path, F_OK) != 0) {
        return cli_fail("%s does not exist; make one with `mpota flash new`", path);
    }
    dev_path = path;
    int rc = mpota_device_open_locked(&dev, path, MPOTA_DEVICE_LOCK_WAIT_MS);
    if (rc) {
        return cli_fail_device(&dev, path, rc);
    }
    if (dev.table_err) {
        mpota_device_close(&dev);
        return cli_fail_diag(&dev.table_diag);
    }
    return CLI_OK;
}

// Parses "FLASH [--json]" and opens the device. Returns CLI_CONTINUE or the
// status to exit with.
static int open_with_json_flag(const struct cli_cmd *cmd, int argc, char **argv, bool *json)
{
    const char *pos[1] = {0};
    const struct cli_opt opts[] = {{.name = "--json", .flag = json, .help = "print JSON"}, {0}};
    int status = cli_parse(cmd, argc, argv, opts, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    status = open_device(pos[0]);
    return status ? status : CLI_CONTINUE;
}

static int finish(int status)
{
    mpota_device_close(&dev);
    return status;
}

// Finds an app partition by label, or explains what is wrong with it.
static const struct mpota_partition *find_slot(const char *label, struct mpota_diag *d)
{
    const struct mpota_partition *p = mpota_part_find_label(&dev.table, label);
    if (!p) {
        mpota_diag_set(d, MPOTA_ERR_NOT_FOUND, 0, 0, 0);
        mpota_diag_label(d, label, MPOTA_PART_LABEL_LEN);
    } else if (p->type != MPOTA_PART_TYPE_APP) {
        mpota_diag_set(d, MPOTA_ERR_NOT_OTA_SLOT, 0, 0, 0);
        mpota_diag_label(d, label, MPOTA_PART_LABEL_LEN);
        return NULL;
    }
    return p;
}

// Closes the device and exits with error code rc, which has no diagnostic of
// its own.
static int finish_rc(int rc)
{
    if (rc == MPOTA_ERR_FILE) {
        return finish(cli_fail_device(&dev, dev_path, rc));  // the sidecar, named whole
    }
    struct mpota_diag d = {0};
    mpota_diag_set(&d, rc, 0, 0, 0);
    return finish(cli_fail_diag(&d));
}

// Parses "FLASH LABEL ...", opens the device and finds the app partition
// LABEL. Returns CLI_CONTINUE with *p set, or the status to exit with (the
// device closed, the problem reported).
static int open_slot(const struct cli_cmd *cmd, int argc, char **argv, const struct cli_opt *opts,
                     const char **pos, const struct mpota_partition **p)
{
    int status = cli_parse(cmd, argc, argv, opts, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    status = open_device(pos[0]);
    if (status) {
        return status;
    }
    struct mpota_diag d = {0};
    *p = find_slot(pos[1], &d);
    if (!*p) {
        return finish(cli_fail_diag(&d));
    }
    return CLI_CONTINUE;
}

// Writes data at the start of partition p as esptool write_flash would:
// erase what it covers, then program. Goes through the counted, fault-
// injectable flash path so power cuts apply here too.
static int write_partition(const struct mpota_partition *p, const uint8_t *data, size_t len)
{
    struct mpota_area a;
    int rc = mpota_area_init(&a, &dev.emu.flash, p->offset, p->size, false);
    uint32_t erase_len = ((uint32_t)len + MPOTA_SECTOR_SIZE - 1) & ~(MPOTA_SECTOR_SIZE - 1);
    if (!rc) {
        rc = mpota_area_erase(&a, 0, erase_len);
    }
    if (!rc) {
        rc = mpota_area_prog(&a, 0, data, (uint32_t)len);
    }
    return rc;
}

// The flash sizes the emulator makes (flash_emu.h).
static const struct cli_value emu_flash_size = {
    .kind = CLI_SIZE, .min = MPOTA_FLASH_EMU_MIN_SIZE, .max = MPOTA_FLASH_EMU_MAX_SIZE,
    .power_of_two = true};

// `flash new --app`: the image read and checked against its slot (the
// first app partition, or --slot) before anything is made. The chip, if not
// given, becomes the app's.
static int load_new_app(const char *table_path, const char *app_path, const char *slot_label,
                        uint16_t *chip, const struct mpota_partition **slot, uint8_t **app,
                        size_t *app_len, uint32_t *secure_version)
{
    *slot = slot_label ? mpota_part_find_label(&dev.table, slot_label)
                       : mpota_part_find(&dev.table, MPOTA_PART_TYPE_APP, MPOTA_PART_SUBTYPE_ANY);
    if (!*slot || (*slot)->type != MPOTA_PART_TYPE_APP) {
        return cli_fail("%s has no app partition %s", table_path, slot_label ? slot_label : "");
    }
    *app = cli_read_file(app_path, app_len);
    if (!*app) {
        return CLI_REFUSED;
    }
    dev.chip = *chip;
    static struct mpota_image_info info;
    struct mpota_diag d = {0};
    if (cli_check_app(*app, *app_len, dev.chip, *slot, &info, &d)) {
        free(*app);
        *app = NULL;
        return cli_fail_diag(&d);
    }
    if (*chip == MPOTA_CHIP_ANY) {
        *chip = info.header.chip_id;
    }
    *secure_version = info.app_desc.secure_version;
    return CLI_OK;
}

// Makes the flash file as esptool write_flash leaves a chip: the table and
// the app land as given, the bootloader region and otadata stay erased (a
// blank otadata boots the first app slot). A failure removes what it made
// (any older file was left as it was); *err is errno then.
static int write_new_flash(const char *path, uint32_t size, const uint8_t *table, size_t table_len,
                           const uint8_t *app, size_t app_len, const struct mpota_partition *slot,
                           int *err)
{
    int rc = mpota_flash_emu_create_file(path, size);
    bool created = rc == 0;
    struct mpota_flash_emu emu = {0};
    if (!rc) {
        rc = mpota_flash_emu_open_file(&emu, path);
    }
    *err = errno;
    if (!rc) {
        rc = mpota_flash_emu_load(&emu, MPOTA_PART_TABLE_OFFSET, table, (uint32_t)table_len);
    }
    if (!rc && app) {
        rc = mpota_flash_emu_load(&emu, slot->offset, app, (uint32_t)app_len);
    }
    mpota_flash_emu_close(&emu);
    if (rc && created) {
        unlink(path);
    }
    return rc;
}

// `flash new`'s command line.
struct new_args {
    const char *size, *table, *app, *slot, *chip, *secver;
    const char *trust[MPOTA_EFUSE_KEY_SLOTS + 1], *revoke[MPOTA_EFUSE_KEY_SLOTS + 1];
    bool anti_rollback, json;
};

// What `flash new` made, as a line or JSON (the eFuses as `flash status` has them).
static void print_new(const char *path, const struct new_args *a, uint16_t chip, uint32_t size,
                      uint32_t count, const struct mpota_partition *slot, uint32_t secver,
                      const struct cli_secure_boot *sb)
{
    if (a->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "flash", path);
        cJSON_AddStringToObject(root, "chip", mpota_chip_name(chip));
        cJSON_AddNumberToObject(root, "size", size);
        cJSON_AddNumberToObject(root, "partitions", count);
        if (slot) {
            cJSON_AddStringToObject(root, "app_slot", slot->label);
        } else {
            cJSON_AddNullToObject(root, "app_slot");
        }
        if (mpota_device_open(&dev, path) == 0) {
            cli_status_anti_rollback_json(root, &dev);
            cli_status_secure_boot_json(root, &dev);
            mpota_device_close(&dev);
        }
        cli_print_json(root);
        return;
    }
    char sz[32];
    printf("%s: %s %s B flash, table at 0x8000 (%u partitions)%s%s%s%s", path,
           mpota_chip_name(chip), cli_group(size, sz), count, slot ? ", " : "",
           slot ? a->app : "", slot ? " in " : "", slot ? slot->label : "");
    if (a->anti_rollback) {
        printf(", anti-rollback on, security version %u", secver);
    }
    if (sb->n) {
        printf(", secure boot on (%u key%s)", sb->n, sb->n == 1 ? "" : "s");
    }
    printf("\n");
}

// A new device has booted nothing yet and is a new chip: the sidecar and
// eFuses of an older file go, then the chip is recorded and what its eFuses
// hold burnt: with anti-rollback the security version, with --trust the
// Secure Boot V2 keys.
static int record_new_device(const char *path, uint16_t chip, const struct new_args *a,
                             uint32_t security_version, const struct cli_secure_boot *sb)
{
    char side[4096];
    snprintf(side, sizeof(side), "%s.state", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s%s", path, MPOTA_EFUSE_SUFFIX);
    unlink(side);
    int rc = mpota_device_open_locked(&dev, path, MPOTA_DEVICE_LOCK_WAIT_MS);
    if (!rc) {
        rc = mpota_device_set_chip(&dev, chip);
        if (!rc && a->anti_rollback) {
            rc = cli_burn_new_security_version(&dev, security_version);
        }
        if (!rc && sb->n) {
            rc = mpota_device_burn_secure_boot(&dev, sb->digest, sb->n, sb->revoke);
        }
        mpota_device_close(&dev);
    }
    return rc;
}

static const struct cli_value security_version_value = {.kind = CLI_NUMBER, .min = 0, .max = 32};
static const struct cli_value key_slot_value = {.kind = CLI_NUMBER, .min = 0,
                                                .max = MPOTA_EFUSE_KEY_SLOTS - 1};

// Replacing a flash another command is using: wait until it is done, and
// hold it off (*old locked, *have_old) until the new file and its sidecar
// are in place. A file that is no flash is simply replaced.
static int lock_old_flash(const char *path, struct mpota_device *old, bool *have_old)
{
    *have_old = false;
    if (access(path, F_OK) != 0) {
        return CLI_OK;
    }
    int orc = mpota_device_open_locked(old, path, MPOTA_DEVICE_LOCK_WAIT_MS);
    if (orc == MPOTA_ERR_FILE && old->file_op && strcmp(old->file_op, "lock") == 0) {
        return cli_fail_device(old, path, orc);
    }
    *have_old = orc == 0;
    return CLI_OK;
}

static int parse_new_args(const struct cli_cmd *cmd, int argc, char **argv, struct new_args *a,
                          const char **pos)
{
    const struct cli_opt opts[] = {
        {.name = "--size", .value = &a->size, .arg = "SIZE", .check = &emu_flash_size,
         .required = true, .help = "flash size"},
        {.name = "--table", .value = &a->table, .arg = "TABLE", .required = true,
         .help = "partition table to write at 0x8000: .csv or binary"},
        {.name = "--app", .value = &a->app, .arg = "IMAGE",
         .help = "app image to write into the first app partition"},
        {.name = "--slot", .value = &a->slot, .arg = "LABEL", .check = &cli_label_value,
         .needs = "--app", .help = "app partition for --app instead of the first"},
        {.name = "--chip", .value = &a->chip, .arg = "NAME", .check = &cli_chip_value,
         .help = "the chip the device is (default: the app's chip, else ESP32)"},
        {.name = "--anti-rollback", .flag = &a->anti_rollback,
         .help = "bootloader and app built with CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK"},
        {.name = "--security-version", .value = &a->secver, .arg = "N",
         .check = &security_version_value, .needs = "--anti-rollback",
         .help = "burnt in the chip's eFuse (default 0); at most the field's width: 32 on "
                 "ESP32, 4 on ESP32-C2, 9 on ESP32-C5, 16 on the others"},
        {.name = "--trust", .values = a->trust, .repeat = MPOTA_EFUSE_KEY_SLOTS, .arg = "PEM",
         .help = "Secure Boot V2 on: burn this key's digest into the next eFuse key slot (one "
                 "slot on ESP32 and ESP32-C2); the bootloader then starts, and updates must "
                 "carry, only images signed by a trusted key"},
        {.name = "--revoke", .values = a->revoke, .repeat = MPOTA_EFUSE_KEY_SLOTS, .arg = "N",
         .check = &key_slot_value, .needs = "--trust",
         .help = "revoke the key in eFuse slot N (0..2), as esp_ota_revoke_secure_boot_public_key"},
        {.name = "--json", .flag = &a->json, .help = "print what was made as JSON"},
        {0}};
    return cli_parse(cmd, argc, argv, opts, pos);
}

// Every input of `flash new` checked before the file is made, so a refusal
// leaves nothing: the table, the app, the chip, anti-rollback, secure boot.
static int check_new_inputs(const struct new_args *a, uint16_t *chip, uint8_t **app,
                            size_t *app_len, const struct mpota_partition **slot,
                            struct cli_secure_boot *sb)
{
    uint32_t size = 0, security_version = 0, app_secure_version = 0;
    cli_parse_size(a->size, &size);  // cli_parse checked every value: these cannot fail
    (void)(a->secver && cli_parse_size(a->secver, &security_version));
    (void)(a->chip && cli_parse_chip(a->chip, chip));
    // The table from a CSV, a binary table, or a firmware.bin / flash file
    // that holds one (as `part show` reads it).
    struct mpota_part_csv_opts copts = {.flash_size = size};
    struct cli_table_source src;
    if (cli_load_table(a->table, &copts, &dev.table, &src) != CLI_OK) {
        return CLI_REFUSED;
    }
    int status = CLI_OK;
    if (a->app) {
        status = load_new_app(a->table, a->app, a->slot, chip, slot, app, app_len,
                              &app_secure_version);
    }
    if (*chip == MPOTA_CHIP_ANY) {
        *chip = MPOTA_CHIP_ESP32;
    }
    if (!status && a->anti_rollback) {
        status = cli_check_new_anti_rollback(*chip, security_version, *app != NULL,
                                             app_secure_version);
    }
    if (!status && a->trust[0]) {
        status = cli_check_new_secure_boot(*chip, a->trust, a->revoke, *app, *app_len, sb);
    }
    return status;
}

static int flash_new(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *pos[1] = {0};
    struct new_args a = {0};
    int status = parse_new_args(cmd, argc, argv, &a, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    uint16_t chip = MPOTA_CHIP_ANY;
    uint8_t *app = NULL;
    size_t app_len = 0;
    const struct mpota_partition *slot = NULL;
    static struct cli_secure_boot sb;
    memset(&sb, 0, sizeof(sb));
    if ((status = check_new_inputs(&a, &chip, &app, &app_len, &slot, &sb)) != CLI_OK) {
        free(app);
        return status;
    }
    uint32_t size = 0, security_version = 0;
    cli_parse_size(a.size, &size);
    (void)(a.secver && cli_parse_size(a.secver, &security_version));
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    int rc = mpota_part_table_write(&dev.table, true, bin);
    static struct mpota_device old;
    bool have_old = false;
    if (!rc && (status = lock_old_flash(pos[0], &old, &have_old)) != CLI_OK) {
        free(app);
        return status;
    }
    int err = 0;
    if (!rc) {
        rc = write_new_flash(pos[0], size, bin, sizeof(bin), app, app_len, slot, &err);
    }
    free(app);
    if (rc) {
        mpota_device_close(&old);
        if (rc == MPOTA_ERR_FILE) {
            return cli_fail("cannot create %s: %s", pos[0], strerror(err));
        }
        return cli_fail("cannot create %s (%s)", pos[0], mpota_host_err_name(rc));
    }
    uint32_t count = dev.table.count;
    rc = record_new_device(pos[0], chip, &a, security_version, &sb);
    if (have_old) {
        mpota_device_close(&old);
    }
    if (rc) {
        return cli_fail_device(&dev, pos[0], rc);
    }
    print_new(pos[0], &a, chip, size, count, slot, security_version, &sb);
    return CLI_OK;
}

// State name of an OTA slot from otadata, or NULL.
static const char *slot_state(const struct mpota_boot_ctx *ctx, const struct mpota_partition *p)
{
    uint32_t state;
    if (!mpota_part_is_ota_app(p) || mpota_boot_get_state(ctx, p, &state) != 0) {
        return NULL;
    }
    const char *name = mpota_otadata_state_name(state);
    return name ? name : "UNKNOWN";
}

// The app partitions in table order, each verified as the bootloader would.
struct slot_view {
    const struct mpota_partition *part;
    bool valid;
    struct mpota_image_info info;
    struct mpota_diag diag;
    const char *state;
};

static unsigned collect_slots(const struct mpota_boot_ctx *ctx, struct slot_view *out,
                              unsigned max)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < dev.table.count && n < max; i++) {
        const struct mpota_partition *p = &dev.table.parts[i];
        if (p->type != MPOTA_PART_TYPE_APP) {
            continue;
        }
        struct slot_view *s = &out[n++];
        memset(s, 0, sizeof(*s));
        s->part = p;
        struct mpota_area a;
        s->valid = mpota_area_init(&a, &dev.emu.flash, p->offset, p->size, true) == 0 &&
                   mpota_image_verify_area(&a, dev.chip, &s->info, &s->diag) == 0;
        s->state = slot_state(ctx, p);
    }
    return n;
}

// The MicroPython version of a valid app slot ("" if none or not valid).
static void slot_mpver(const struct slot_view *s, char out[MPOTA_MPVER_MAX + 1])
{
    struct mpota_area a;
    out[0] = '\0';
    if (s->valid &&
        mpota_area_init(&a, &dev.emu.flash, s->part->offset, s->part->size, true) == 0) {
        (void)mpota_mpver_read_area(&a, s->info.image_len, out);
    }
}

// What `mpota flash status` shows: who runs, what boots and takes the next
// update, otadata as read, and every app slot.
struct status_view {
    const struct mpota_partition *running, *boot, *next, *otadata;
    bool have_otadata;
    struct mpota_otadata_entry entries[2];
    struct slot_view slots[MPOTA_PART_MAX];
    unsigned n_slots;
};

static void gather_status(struct status_view *v)
{
    struct mpota_boot_ctx ctx;
    mpota_device_ctx(&dev, &ctx);
    mpota_boot_get_boot_partition(&ctx, &v->boot);
    v->running = mpota_device_running_partition(&dev);
    // Before the first boot nothing runs; the next update then goes to the
    // slot after the one that will boot, as it will once that has booted.
    mpota_boot_get_next_update(&ctx, v->running ? v->running : v->boot, &v->next);
    v->otadata = mpota_part_find(&dev.table, MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA);
    if (v->otadata) {
        struct mpota_area a;
        v->have_otadata = mpota_area_init(&a, &dev.emu.flash, v->otadata->offset,
                                          v->otadata->size, true) == 0 &&
                          mpota_otadata_read(&a, v->entries) == 0;
    }
    v->n_slots = collect_slots(&ctx, v->slots, MPOTA_PART_MAX);
}

static void json_str_or_null(cJSON *o, const char *key, const char *value)
{
    if (value) {
        cJSON_AddStringToObject(o, key, value);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

static void print_status_json(const struct status_view *v)
{
    cJSON *root = cJSON_CreateObject();
    json_str_or_null(root, "chip", mpota_chip_name(dev.chip));
    json_str_or_null(root, "running", v->running ? v->running->label : NULL);
    json_str_or_null(root, "boot", v->boot ? v->boot->label : NULL);
    json_str_or_null(root, "next_update", v->next ? v->next->label : NULL);
    cli_status_anti_rollback_json(root, &dev);
    cli_status_secure_boot_json(root, &dev);
    cJSON *ota = cJSON_AddArrayToObject(root, "otadata");
    for (int i = 0; v->have_otadata && i < 2; i++) {
        const char *state = mpota_otadata_state_name(v->entries[i].ota_state);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "seq", v->entries[i].ota_seq);
        cJSON_AddStringToObject(o, "state", state ? state : "UNKNOWN");
        cJSON_AddBoolToObject(o, "crc_valid", mpota_otadata_crc_ok(&v->entries[i]));
        cJSON_AddItemToArray(ota, o);
    }
    cJSON *arr = cJSON_AddArrayToObject(root, "slots");
    for (unsigned i = 0; i < v->n_slots; i++) {
        const struct slot_view *s = &v->slots[i];
        bool desc = s->valid && s->info.app_desc_present;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "label", s->part->label);
        cJSON_AddBoolToObject(o, "valid", s->valid);
        json_str_or_null(o, "version", desc ? s->info.app_desc.version : NULL);
        json_str_or_null(o, "project_name", desc ? s->info.app_desc.project_name : NULL);
        char mpver[MPOTA_MPVER_MAX + 1];
        slot_mpver(s, mpver);
        json_str_or_null(o, "micropython_version", mpver[0] ? mpver : NULL);
        json_str_or_null(o, "state", s->state);
        if (desc) {
            cJSON_AddNumberToObject(o, "secure_version", s->info.app_desc.secure_version);
        } else {
            cJSON_AddNullToObject(o, "secure_version");
        }
        cJSON_AddItemToArray(arr, o);
    }
    cli_print_json(root);
}

static void print_slot_line(const struct slot_view *s)
{
    char size[32];
    printf("  %-10s at 0x%06X, %9s B: ", s->part->label, s->part->offset,
           cli_group(s->part->size, size));
    if (s->valid && s->info.app_desc_present) {
        printf("%s %s (IDF %s, %s B)", s->info.app_desc.project_name, s->info.app_desc.version,
               s->info.app_desc.idf_ver, cli_group(s->info.image_len, size));
        if (dev.anti_rollback) {
            printf(", secure_version %u%s", s->info.app_desc.secure_version,
                   cli_below_counter(&dev, s->info.app_desc.secure_version));
        }
    } else if (s->valid) {
        printf("valid app without description (%s B)", cli_group(s->info.image_len, size));
    } else if (s->diag.err == MPOTA_ERR_IMAGE_MAGIC && s->diag.actual == 0xFF) {
        printf("empty");
    } else {
        printf("invalid (%s)", mpota_host_err_name(s->diag.err));
    }
    char mpver[MPOTA_MPVER_MAX + 1];
    slot_mpver(s, mpver);
    if (mpver[0]) {
        printf(", MicroPython %s", mpver);
    }
    printf("%s%s\n", s->state ? ", state " : "", s->state ? s->state : "");
}

static void print_status_text(const struct status_view *v)
{
    char flash_size[32];
    printf("Device: %s, %s B flash\n",
           mpota_chip_name(dev.chip) ? mpota_chip_name(dev.chip) : "any chip",
           cli_group(dev.emu.size, flash_size));
    const struct mpota_partition *factory =
        mpota_part_find(&dev.table, MPOTA_PART_TYPE_APP, MPOTA_PART_SUBTYPE_FACTORY);
    cli_status_anti_rollback_text(&dev);
    cli_status_secure_boot_text(&dev);
    printf("Running: %s\n", v->running ? v->running->label : "nothing (not booted yet)");
    if (v->boot) {
        printf("Next boot: %s\n", v->boot->label);
    } else if (!v->otadata && factory) {
        // No otadata: the bootloader boots factory, always (SPEC §3.8).
        printf("Next boot: %s (no otadata: the bootloader always boots it)\n", factory->label);
    } else {
        printf("Next boot: no bootable partition\n");
    }
    printf("Next update slot: %s\n", v->next ? v->next->label : "none (no OTA slots)");
    if (!v->next) {
        cli_print_ota_layout_advice(stdout, dev.chip);
    }
    printf("App slots:\n");
    for (unsigned i = 0; i < v->n_slots; i++) {
        print_slot_line(&v->slots[i]);
    }
    if (!v->otadata) {
        printf("No otadata partition: the device always boots its factory app.\n");
        return;
    }
    printf("otadata at 0x%X:\n", v->otadata->offset);
    for (int i = 0; v->have_otadata && i < 2; i++) {
        const struct mpota_otadata_entry *e = &v->entries[i];
        if (e->ota_seq == MPOTA_OTADATA_SEQ_EMPTY && e->crc == 0xFFFFFFFFu) {
            printf("  entry %d: empty\n", i);
            continue;
        }
        const char *state = mpota_otadata_state_name(e->ota_state);
        printf("  entry %d: seq %u, state %s, crc 0x%08X (%s)\n", i, e->ota_seq,
               state ? state : "UNKNOWN", e->crc, mpota_otadata_crc_ok(e) ? "valid" : "INVALID");
    }
}

static int flash_status(const struct cli_cmd *cmd, int argc, char **argv)
{
    bool json = false;
    int status = open_with_json_flag(cmd, argc, argv, &json);
    if (status != CLI_CONTINUE) {
        return status;
    }
    static struct status_view v;
    memset(&v, 0, sizeof(v));
    gather_status(&v);
    if (json) {
        print_status_json(&v);
    } else {
        print_status_text(&v);
    }
    return finish(CLI_OK);
}

// JSON name and human explanation of a bootloader otadata write.
static const char *write_kind_name(uint8_t kind, bool human)
{
    switch (kind) {
    case MPOTA_BOOT_WROTE_ABORTED:
        return human ? "the app was never confirmed: rolled back" : "ABORTED";
    case MPOTA_BOOT_WROTE_PENDING:
        return human ? "first boot of a new app: it must confirm itself" : "PENDING_VERIFY";
    case MPOTA_BOOT_WROTE_INITIAL:
        return human ? "first boot on blank otadata" : "INITIAL";
    default:
        return "?";
    }
}

static int flash_boot(const struct cli_cmd *cmd, int argc, char **argv)
{
    bool json = false;
    int status = open_with_json_flag(cmd, argc, argv, &json);
    if (status != CLI_CONTINUE) {
        return status;
    }
    static struct mpota_boot_report r;
    uint32_t counter_before = mpota_device_security_version(&dev);
    int rc = mpota_device_boot(&dev, &r);
    if (json) {
        cJSON *root = cJSON_CreateObject();
        if (r.booted) {
            cJSON_AddStringToObject(root, "booted", r.booted->label);
        } else {
            cJSON_AddNullToObject(root, "booted");
        }
        cJSON *writes = cJSON_AddArrayToObject(root, "otadata_writes");
        for (unsigned i = 0; i < r.n_writes; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "kind", write_kind_name(r.writes[i].kind, false));
            cJSON_AddNumberToObject(o, "sector", r.writes[i].sector);
            cJSON_AddNumberToObject(o, "seq", r.writes[i].entry.ota_seq);
            cJSON_AddItemToArray(writes, o);
        }
        cli_boot_anti_rollback_json(root, &dev, &r);
        cli_print_json(root);
    } else {
        for (unsigned i = 0; i < r.n_writes; i++) {
            const char *state = mpota_otadata_state_name(r.writes[i].entry.ota_state);
            printf("bootloader: otadata entry %u := seq %u, %s (%s)\n", r.writes[i].sector,
                   r.writes[i].entry.ota_seq, state ? state : "?",
                   write_kind_name(r.writes[i].kind, true));
        }
        cli_boot_anti_rollback_text(&dev, counter_before, &r);
        if (r.booted) {
            printf("booted %s\n", r.booted->label);
        }
    }
    if (rc) {
        return finish_rc(rc);
    }
    return finish(CLI_OK);
}

static int flash_set_boot(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *pos[2] = {0};
    const struct mpota_partition *p;
    int status = open_slot(cmd, argc, argv, NULL, pos, &p);
    if (status != CLI_CONTINUE) {
        return status;
    }
    struct mpota_diag d = {0};
    struct mpota_boot_ctx ctx;
    mpota_device_ctx(&dev, &ctx);
    if (mpota_boot_set_boot(&ctx, p, &d) != 0) {
        return finish(cli_fail_diag(&d));
    }
    printf("next boot: %s\n", p->label);
    return finish(CLI_OK);
}

// confirm and rollback: one otadata operation on the running app.
static int flash_mark(const struct cli_cmd *cmd, int argc, char **argv, bool valid)
{
    const char *pos[1] = {0};
    int status = cli_parse(cmd, argc, argv, NULL, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    status = open_device(pos[0]);
    if (status) {
        return status;
    }
    struct mpota_boot_ctx ctx;
    mpota_device_ctx(&dev, &ctx);
    int rc = valid ? mpota_boot_mark_valid(&ctx) : mpota_boot_mark_invalid(&ctx);
    cli_print_raise("", ctx.security_version, mpota_device_security_version(&dev));
    if (rc == MPOTA_ERR_UPDATE_PENDING) {
        // Name the pending update: what the next reset would start.
        const struct mpota_partition *next = NULL;
        struct mpota_diag d = {0};
        mpota_diag_set(&d, rc, 0, 0, 0);
        if (mpota_boot_get_boot_partition(&ctx, &next) == 0 && next) {
            mpota_diag_label(&d, next->label, MPOTA_PART_LABEL_LEN);
        }
        return finish(cli_fail_diag(&d));
    }
    if (rc) {
        return finish_rc(rc);
    }
    const char *running = mpota_device_running(&dev);
    if (valid) {
        printf("%s confirmed: marked VALID, rollback cancelled\n", running ? running : "app");
        return finish(CLI_OK);
    }
    // As esp_ota_mark_app_invalid_rollback_and_reboot: the rollback ends with
    // the previous app running, so nothing can be done in between that would
    // take the only valid app's slot.
    printf("%s marked INVALID\n", running ? running : "app");
    struct mpota_boot_report r;
    rc = mpota_device_boot(&dev, &r);
    if (rc) {
        return finish_rc(rc);
    }
    printf("rebooted: %s runs\n", r.booted ? r.booted->label : "nothing");
    return finish(CLI_OK);
}

static int flash_confirm(const struct cli_cmd *cmd, int argc, char **argv)
{
    return flash_mark(cmd, argc, argv, true);
}

static int flash_rollback(const struct cli_cmd *cmd, int argc, char **argv)
{
    return flash_mark(cmd, argc, argv, false);
}

static int flash_write_slot(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *pos[3] = {0};
    bool force = false;
    const struct cli_opt opts[] = {
        {.name = "--force", .flag = &force,
         .help = "write anything that fits, even over the running app (to test the "
                 "bootloader's fallback)"},
        {0}};
    const struct mpota_partition *p;
    int status = open_slot(cmd, argc, argv, opts, pos, &p);
    if (status != CLI_CONTINUE) {
        return status;
    }
    struct mpota_diag d = {0};
    size_t len;
    uint8_t *img = cli_read_file(pos[2], &len);
    if (!img) {
        return finish(CLI_REFUSED);
    }
    // --force writes anything that fits (to test the bootloader's fallback);
    // otherwise only an app image for this device, and never the running app.
    const struct mpota_partition *running = mpota_device_running_partition(&dev);
    int rc = 0;
    if (!force && running == p) {
        rc = mpota_diag_set(&d, MPOTA_ERR_SLOT_IS_RUNNING, 0, 0, 0);
        mpota_diag_label(&d, p->label, MPOTA_PART_LABEL_LEN);
    } else if (!force) {
        static struct mpota_image_info info;
        rc = cli_check_app(img, len, dev.chip, p, &info, &d);
    } else if (len > p->size) {
        rc = mpota_diag_set(&d, MPOTA_ERR_SLOT_TOO_SMALL, 0, p->size, (uint32_t)len);
        mpota_diag_label(&d, p->label, MPOTA_PART_LABEL_LEN);
    }
    if (!rc) {
        rc = write_partition(p, img, len);
        if (rc) {
            mpota_diag_set(&d, rc, 0, 0, 0);
        }
    }
    free(img);
    if (rc) {
        return finish(cli_fail_diag(&d));
    }
    char size[32];
    printf("%s: wrote %s B to %s at 0x%X\n", pos[0], cli_group(len, size), p->label, p->offset);
    return finish(CLI_OK);
}

static const struct cli_cmd flash_cmds[] = {
    {.group = "flash", .name = "new", .args = "FLASH", .min_pos = 1, .max_pos = 1,
     .run = flash_new,
     .summary = "make an emulated flash file: a partition table and, if given, an app"},
    {.group = "flash", .name = "status", .args = "FLASH", .min_pos = 1, .max_pos = 1,
     .run = flash_status,
     .summary = "the device: chip, running app, next boot and update slots, app slots, "
                "otadata"},
    {.group = "flash", .name = "boot", .args = "FLASH", .min_pos = 1, .max_pos = 1,
     .run = flash_boot,
     .summary = "reset the device: what its bootloader does, otadata writes included"},
    {.group = "flash", .name = "set-boot", .args = "FLASH LABEL", .min_pos = 2, .max_pos = 2,
     .run = flash_set_boot,
     .summary = "boot the app partition LABEL next (esp_ota_set_boot_partition)"},
    {.group = "flash", .name = "confirm", .args = "FLASH", .min_pos = 1, .max_pos = 1,
     .run = flash_confirm,
     .summary = "mark the running app valid, cancelling the rollback"},
    {.group = "flash", .name = "rollback", .args = "FLASH", .min_pos = 1, .max_pos = 1,
     .run = flash_rollback,
     .summary = "mark the running app invalid and reboot into the previous one"},
    {.group = "flash", .name = "write-slot", .args = "FLASH LABEL IMAGE", .min_pos = 3,
     .max_pos = 3, .run = flash_write_slot,
     .summary = "write an app image into the app partition LABEL, as esptool write_flash"},
    {.group = "flash", .name = "update", .args = "FLASH SOURCE", .min_pos = 2, .max_pos = 2,
     .run = cmd_update,
     .summary = "a whole OTA update, as the device does it, from a file, an http(s) URL or "
                "a manifest",
     .details = "SOURCE: an app image path, an http(s) URL, or a .json manifest (path or URL)"},
    {0}};

const struct cli_group cli_flash_group = {"flash", flash_cmds};
