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
struct table_source {
    const char *form;  // "csv", "binary table", "combined image", "flash image"
    uint32_t offset;   // byte offset of the table in the file
};

// Reads a table from a .csv, a binary table, a combined firmware image or a
// flash file (table at the offset identify finds, normally 0x7000 or 0x8000).
// Returns CLI_OK, or CLI_REFUSED after printing why.
static int load_table(const char *path, const struct mpota_part_csv_opts *opts,
                      struct mpota_table *t, struct table_source *src)
{
    size_t len;
    uint8_t *buf = cli_read_file(path, &len);
    if (!buf) {
        return CLI_REFUSED;
    }
    struct mpota_diag diag = {0}, *d = &diag;
    struct mpota_image_ident id;
    mpota_image_identify(buf, len, &id);
    int rc;
    if ((id.kind == MPOTA_IMAGE_KIND_COMBINED || id.kind == MPOTA_IMAGE_KIND_FLASH_DUMP) &&
        id.table_offset != MPOTA_IMAGE_NO_OFFSET) {
        src->form = id.kind == MPOTA_IMAGE_KIND_COMBINED ? "combined image" : "flash image";
        src->offset = id.table_offset;
        size_t n = len - id.table_offset;
        rc = mpota_part_table_parse(buf + id.table_offset,
                                    n < MPOTA_PART_TABLE_MAX_LEN ? n : MPOTA_PART_TABLE_MAX_LEN,
                                    opts->flash_size, t, d);
    } else {
        bool binary = false;
        rc = mpota_part_csv_load(buf, len, opts, t, &binary, d);
        src->form = binary ? "binary table" : "csv";
        src->offset = 0;
    }
    free(buf);
    return rc ? cli_fail_diag(d) : CLI_OK;
}

static void print_table_text(const struct mpota_table *t, const char *path,
                             const struct table_source *src)
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

static void print_table_json(const struct mpota_table *t, const struct table_source *src)
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

static const char show_usage[] = "mpota part show FILE [--json] [--flash-size SIZE]";

static int part_show(int argc, char **argv)
{
    const char *pos[1] = {0}, *flash_size = NULL;
    bool json = false;
    const struct cli_opt opts[] = {{"--json", NULL, &json}, {"--flash-size", &flash_size, NULL}, {0}};
    if (!cli_parse(argc, argv, opts, pos, 1, 1, show_usage)) {
        return CLI_USAGE;
    }
    struct mpota_part_csv_opts copts = {0};
    if (flash_size && !cli_parse_size(flash_size, &copts.flash_size)) {
        return cli_usage(show_usage);
    }
    static struct mpota_table t;
    struct table_source src;
    int status = load_table(pos[0], &copts, &t, &src);
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

static const char convert_usage[] =
    "mpota part convert IN OUT [--flash-size SIZE] [--offset ADDR] [--keep-bom]\n"
    "  IN: .csv, binary table, combined image or flash file; OUT: .csv, else binary\n"
    "  --keep-bom: keep a UTF-8 byte-order mark in the first name, as gen_esp32part.py\n"
    "              before ESP-IDF v5.4.2 did (newer versions skip it)";

static int part_convert(int argc, char **argv)
{
    const char *pos[2] = {0}, *flash_size = NULL, *offset = NULL;
    bool keep_bom = false;
    const struct cli_opt opts[] = {{"--flash-size", &flash_size, NULL},
                                   {"--offset", &offset, NULL},
                                   {"--keep-bom", NULL, &keep_bom},
                                   {0}};
    if (!cli_parse(argc, argv, opts, pos, 2, 2, convert_usage)) {
        return CLI_USAGE;
    }
    struct mpota_part_csv_opts copts = {.keep_bom = keep_bom};
    if ((flash_size && !cli_parse_size(flash_size, &copts.flash_size)) ||
        (offset && !cli_parse_size(offset, &copts.table_offset))) {
        return cli_usage(convert_usage);
    }
    static struct mpota_table t;
    struct table_source src;
    int status = load_table(pos[0], &copts, &t, &src);
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

static const char make_usage[] =
    "mpota part make --layout factory|ota|ota-factory [--flash-size 4M] [--app-size SIZE]\n"
    "                [--fit IMAGE] [--fs-size SIZE] [--fs-type fat|littlefs|spiffs|none] -o OUT";

static int part_make(int argc, char **argv)
{
    const char *layout = NULL, *flash_size = NULL, *app_size = NULL, *fit = NULL,
               *fs_size = NULL, *fs_type = NULL, *out = NULL;
    const struct cli_opt opts[] = {
        {"--layout", &layout, NULL},     {"--flash-size", &flash_size, NULL},
        {"--app-size", &app_size, NULL}, {"--fit", &fit, NULL},
        {"--fs-size", &fs_size, NULL},   {"--fs-type", &fs_type, NULL},
        {"-o", &out, NULL},              {0}};
    if (!cli_parse(argc, argv, opts, NULL, 0, 0, make_usage) || !layout || !out) {
        return cli_usage(make_usage);
    }
    struct mpota_part_layout_opts lo = {0};
    if (mpota_part_layout_kind_from_name(layout, &lo.kind) != 0 ||
        (fs_type && mpota_part_layout_fs_from_name(fs_type, &lo.fs) != 0) ||
        (flash_size && !cli_parse_size(flash_size, &lo.flash_size)) ||
        (app_size && !cli_parse_size(app_size, &lo.app_size)) ||
        (fs_size && !cli_parse_size(fs_size, &lo.fs_size))) {
        return cli_usage(make_usage);
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

int cmd_part(int argc, char **argv)
{
    static const char usage[] = "mpota part show|convert|make ...";
    if (argc < 1) {
        return cli_usage(usage);
    }
    if (!strcmp(argv[0], "show")) {
        return part_show(argc - 1, argv + 1);
    }
    if (!strcmp(argv[0], "convert")) {
        return part_convert(argc - 1, argv + 1);
    }
    if (!strcmp(argv[0], "make")) {
        return part_make(argc - 1, argv + 1);
    }
    fprintf(stderr, "mpota: unknown part command '%s'\n", argv[0]);
    return cli_usage(usage);
}
