// mpota part show | convert | make: partition tables.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "mpota/image.h"
#include "mpota/part.h"
#include "part_csv.h"
#include "part_layout.h"

// Where a table was found in the input, for the human-readable header.
static void print_table_text(const struct mpota_table *t, const char *path,
                             const struct cli_table_source *src)
{
    printf("Partition table of %s (%s", path, src->form);
    if (src->offset) {
        printf(" at offset 0x%X", src->offset);
    }
    printf(")\n");
    printf("%-16s %-8s %-9s %10s %10s %12s  %s\n", "# Name", "Type", "SubType", "Offset", "Size",
           "(bytes)", "Flags");
    for (uint32_t i = 0; i < t->count; i++) {
        const struct mpota_partition *p = &t->parts[i];
        const char *type = mpota_part_type_name(p->type);
        const char *sub = mpota_part_subtype_name(p->type, p->subtype);
        char type_buf[8], sub_buf[8];
        if (!type) {
            snprintf(type_buf, sizeof(type_buf), "0x%02x", p->type);
            type = type_buf;
        }
        if (!sub) {
            snprintf(sub_buf, sizeof(sub_buf), "0x%02x", p->subtype);
            sub = sub_buf;
        }
        char flags[32] = "";
        if (p->flags & MPOTA_PART_FLAG_ENCRYPTED) {
            strcat(flags, "encrypted");
        }
        if (p->flags & MPOTA_PART_FLAG_READONLY) {
            strcat(flags, flags[0] ? ":readonly" : "readonly");
        }
        char bytes[32];
        printf("%-16s %-8s %-9s %#10x %#10x %12s  %s\n", p->label, type, sub, p->offset,
               p->size, cli_group(p->size, bytes), flags);
    }
    if (src->offset || strcmp(src->form, "binary table") == 0) {
        printf("MD5: %s\n", !t->md5_present ? "absent" : t->md5_valid ? "valid" : "INVALID");
    }
}

static void print_table_json(const struct mpota_table *t, const struct cli_table_source *src)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *parts = cJSON_AddArrayToObject(root, "partitions");
    for (uint32_t i = 0; i < t->count; i++) {
        const struct mpota_partition *p = &t->parts[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "label", p->label);
        cJSON_AddNumberToObject(o, "type", p->type);
        cJSON_AddNumberToObject(o, "subtype", p->subtype);
        cJSON_AddNumberToObject(o, "offset", p->offset);
        cJSON_AddNumberToObject(o, "size", p->size);
        cJSON_AddNumberToObject(o, "flags", p->flags);
        cJSON_AddItemToArray(parts, o);
    }
    bool binary = strcmp(src->form, "csv") != 0;
    if (binary) {
        cJSON_AddBoolToObject(root, "md5_present", t->md5_present);
        cJSON_AddBoolToObject(root, "md5_valid", t->md5_present && t->md5_valid);
    } else {
        // A CSV carries no MD5; its binary form always gets a valid one.
        cJSON_AddBoolToObject(root, "md5_present", false);
        cJSON_AddNullToObject(root, "md5_valid");
    }
    cJSON_AddStringToObject(root, "source", src->form);
    cJSON_AddNumberToObject(root, "table_offset", src->offset);
    cli_print_json(root);
}

// Flash sizes of ESP-IDF (gen_esp32part.py --flash-size 1MB ... 128MB).
static const struct cli_value table_flash_size = {
    .kind = CLI_SIZE, .min = 1u << 20, .max = 128u << 20, .power_of_two = true};

static int part_show(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *pos[1] = {0}, *flash_size = NULL;
    bool json = false;
    const struct cli_opt opts[] = {
        {.name = "--json", .flag = &json, .help = "print JSON"},
        {.name = "--flash-size", .value = &flash_size, .arg = "SIZE", .check = &table_flash_size,
         .help = "check that the partitions end within this flash size"},
        {0}};
    int status = cli_parse(cmd, argc, argv, opts, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    struct mpota_part_csv_opts copts = {0};
    if (flash_size) {
        cli_parse_size(flash_size, &copts.flash_size);  // checked by cli_parse
    }
    static struct mpota_table t;
    struct cli_table_source src;
    status = cli_load_table(pos[0], &copts, &t, &src);
    if (status) {
        return status;
    }
    if (json) {
        print_table_json(&t, &src);
    } else {
        print_table_text(&t, pos[0], &src);
    }
    return CLI_OK;
}

// Writes t to path: binary (with the MD5 row) unless path ends in .csv.
static int write_table(const struct mpota_table *t, const char *path)
{
    if (cli_has_ext(path, ".csv")) {
        char text[MPOTA_PART_CSV_MAX_LEN];
        size_t n = mpota_part_csv_write(t, text, sizeof(text));
        return cli_write_file(path, text, n) ? CLI_OK : CLI_REFUSED;
    }
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    int rc = mpota_part_table_write(t, true, bin);
    if (rc) {
        struct mpota_diag d = {0};
        mpota_diag_set(&d, rc, 0, MPOTA_PART_MAX - 1, t->count);
        return cli_fail_diag(&d);
    }
    return cli_write_file(path, bin, sizeof(bin)) ? CLI_OK : CLI_REFUSED;
}

// gen_esp32part.py --offset: where the table is in flash (0 would mean the
// default, so it is not a value).
static const struct cli_value table_offset = {
    .kind = CLI_SIZE, .min = MPOTA_PART_TABLE_SECTOR, .max = UINT32_MAX};

static int part_convert(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *pos[2] = {0}, *flash_size = NULL, *offset = NULL;
    bool keep_bom = false;
    const struct cli_opt opts[] = {
        {.name = "--flash-size", .value = &flash_size, .arg = "SIZE", .check = &table_flash_size,
         .help = "check that the partitions end within this flash size"},
        {.name = "--offset", .value = &offset, .arg = "ADDR", .check = &table_offset,
         .help = "flash address of the table (default 0x8000), as gen_esp32part.py --offset"},
        {.name = "--keep-bom", .flag = &keep_bom,
         .help = "keep a UTF-8 byte-order mark in the first name, as gen_esp32part.py before "
                 "ESP-IDF v5.4.2 did (newer versions skip it)"},
        {0}};
    int status = cli_parse(cmd, argc, argv, opts, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    // cli_parse checked every value: these cannot fail.
    struct mpota_part_csv_opts copts = {.keep_bom = keep_bom};
    if (flash_size) {
        cli_parse_size(flash_size, &copts.flash_size);
    }
    if (offset) {
        cli_parse_size(offset, &copts.table_offset);
    }
    static struct mpota_table t;
    struct cli_table_source src;
    status = cli_load_table(pos[0], &copts, &t, &src);
    if (status) {
        return status;
    }
    return write_table(&t, pos[1]);
}

// Bytes of the app image in a file: the whole file for an app image, the app
// part of a combined image or flash dump.
static bool app_size_of(const char *path, uint32_t *size)
{
    size_t len;
    uint8_t *buf = cli_read_file(path, &len);
    if (!buf) {
        return false;
    }
    struct mpota_image_ident id;
    mpota_image_identify(buf, len, &id);
    bool ok = false;
    if (id.app_offset != MPOTA_IMAGE_NO_OFFSET) {
        struct mpota_image_info info;
        struct mpota_diag d = {0};
        if (mpota_image_parse(buf + id.app_offset, len - id.app_offset, MPOTA_CHIP_ANY, &info,
                              &d) == 0) {
            *size = info.image_len;
            ok = true;
        } else {
            cli_fail_diag(&d);
        }
    } else {
        cli_fail("%s is not an app image (it looks like: %s)", path,
                 mpota_image_kind_name(id.kind));
    }
    free(buf);
    return ok;
}

// The layout maker's names and limits (part_layout.h), for cli_parse and --help.
static const char *layout_name(unsigned i)
{
    return mpota_part_layout_kind_name((enum mpota_part_layout_kind)i);
}

static const char *fs_name(unsigned i)
{
    return mpota_part_layout_fs_name((enum mpota_part_layout_fs)i);
}

static const struct cli_value layout_kind = {.kind = CLI_CHOICE, .choice = layout_name};
static const struct cli_value layout_fs = {.kind = CLI_CHOICE, .choice = fs_name};
static const struct cli_value layout_flash_size = {
    .kind = CLI_SIZE, .min = MPOTA_PART_LAYOUT_FLASH_MIN, .max = MPOTA_PART_LAYOUT_FLASH_MAX,
    .power_of_two = true};
static const struct cli_value layout_app_size = {
    .kind = CLI_SIZE, .min = MPOTA_PART_LAYOUT_APP_MIN, .max = MPOTA_PART_LAYOUT_FLASH_MAX,
    .multiple_of = MPOTA_PART_LAYOUT_APP_ALIGN};
static const struct cli_value layout_fs_size = {
    .kind = CLI_SIZE, .min = MPOTA_PART_DATA_ALIGN, .max = MPOTA_PART_LAYOUT_FLASH_MAX,
    .multiple_of = MPOTA_PART_DATA_ALIGN};

static int part_make(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *layout = NULL, *flash_size = NULL, *app_size = NULL, *fit = NULL,
               *fs_size = NULL, *fs_type = NULL, *out = NULL;
    const struct cli_opt opts[] = {
        {.name = "--layout", .value = &layout, .arg = "NAME", .check = &layout_kind,
         .required = true,
         .help = "ota: two OTA slots; factory: one app; ota-factory: a factory app and two OTA "
                 "slots"},
        {.name = "--flash-size", .value = &flash_size, .arg = "SIZE", .check = &layout_flash_size,
         .help = "flash size (default 4M)"},
        {.name = "--app-size", .value = &app_size, .arg = "SIZE", .check = &layout_app_size,
         .help = "bytes per app slot (default: MicroPython's for the layout and flash size)"},
        {.name = "--fit", .value = &fit, .arg = "IMAGE",
         .help = "grow the app slots to hold this app image (or combined image)"},
        {.name = "--fs-size", .value = &fs_size, .arg = "SIZE", .check = &layout_fs_size,
         .help = "bytes of the vfs filesystem partition (default: the rest of the flash)"},
        {.name = "--fs-type", .value = &fs_type, .arg = "NAME", .check = &layout_fs,
         .help = "the vfs partition's type (default fat; none leaves it out)"},
        {.name = "-o", .value = &out, .arg = "OUT", .required = true,
         .help = "file to write: .csv, else a binary table"},
        {0}};
    int status = cli_parse(cmd, argc, argv, opts, NULL);
    if (status != CLI_CONTINUE) {
        return status;
    }
    // cli_parse checked every value: these cannot fail.
    struct mpota_part_layout_opts lo = {0};
    mpota_part_layout_kind_from_name(layout, &lo.kind);
    if (fs_type) {
        mpota_part_layout_fs_from_name(fs_type, &lo.fs);
    }
    if (flash_size) {
        cli_parse_size(flash_size, &lo.flash_size);
    }
    if (app_size) {
        cli_parse_size(app_size, &lo.app_size);
    }
    if (fs_size) {
        cli_parse_size(fs_size, &lo.fs_size);
    }
    if (fit && !app_size_of(fit, &lo.fit)) {
        return CLI_REFUSED;
    }
    static struct mpota_table t;
    struct mpota_diag d = {0};
    if (mpota_part_layout_make(&lo, &t, &d) != 0) {
        return cli_fail_diag(&d);
    }
    return write_table(&t, out);
}

static const struct cli_cmd part_cmds[] = {
    {.group = "part", .name = "show", .args = "FILE", .min_pos = 1, .max_pos = 1,
     .run = part_show,
     .summary = "print the partition table of a .csv, binary table, combined image or flash "
                "file"},
    {.group = "part", .name = "convert", .args = "IN OUT", .min_pos = 2, .max_pos = 2,
     .run = part_convert,
     .summary = "convert a partition table between .csv and binary, as gen_esp32part.py",
     .details = "IN: a .csv, binary table, combined image or flash file; OUT: .csv, else binary"},
    {.group = "part", .name = "make", .run = part_make,
     .summary = "make a MicroPython-style partition table from a few options"},
    {0}};

const struct cli_group cli_part_group = {"part", part_cmds};
