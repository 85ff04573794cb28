// Number parsing, files, error printing (cli.h).
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "device.h"
#include "host_file.h"
#include "mpota/image.h"
#include "part_csv.h"

int cli_fail_diag(const struct mpota_diag *d)
{
    char text[512];
    cli_diag_text(d, text, sizeof(text));
    fprintf(stderr, "mpota: %s\n", text);
    return CLI_REFUSED;
}

void cli_vsay(const char *fmt, va_list ap)
{
    fputs("mpota: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vsay(fmt, ap);
    va_end(ap);
    return CLI_REFUSED;
}

bool cli_parse_size(const char *s, uint32_t *out)
{
    if (!s || !*s) {
        return false;
    }
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (end == s) {
        return false;
    }
    if (*end == 'k' || *end == 'K') {
        v *= 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        v *= 1024 * 1024;
        end++;
    }
    if (*end != '\0' || v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)tolower((unsigned char)c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

bool cli_parse_hex(const char *s, uint8_t *out, size_t n)
{
    if (!s || strlen(s) != 2 * n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

void cli_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xF];
    }
    out[2 * n] = '\0';
}

bool cli_parse_chip(const char *s, uint16_t *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 0);
    if (end != s && *end == '\0' && v < 0xFFFF && mpota_chip_name((uint16_t)v)) {
        *out = (uint16_t)v;
        return true;
    }
    uint16_t id = mpota_chip_from_name(s);
    if (id == MPOTA_CHIP_ANY) {
        return false;
    }
    *out = id;
    return true;
}

int cli_check_app(const uint8_t *buf, size_t len, uint16_t chip,
                  const struct mpota_partition *slot, struct mpota_image_info *info,
                  struct mpota_diag *d)
{
    const struct mpota_update_check q = {
        .whole = true, .size = (uint32_t)len, .slot_size = slot ? slot->size : 0};
    struct mpota_image_head head;
    mpota_image_parser_t p;
    mpota_image_parser_init(&p, chip, 0, info);
    int rc = mpota_image_check_update(&p, buf, len, &q, &head, d);
    mpota_image_parser_release(&p);
    if (rc == MPOTA_ERR_SLOT_TOO_SMALL) {
        mpota_diag_label(d, slot->label, MPOTA_PART_LABEL_LEN);
    }
    return rc;
}

const char *cli_device_error(const struct mpota_device *dev, const char *flash_path, int rc,
                             char *buf, size_t cap)
{
    if (rc == MPOTA_ERR_FILE && dev->file_op && !strcmp(dev->file_op, "lock") &&
        dev->file_errno == EWOULDBLOCK) {
        snprintf(buf, cap,
                 "device busy: another mpota command is using %s (waited %u s); run this "
                 "one again when it has finished",
                 flash_path, MPOTA_DEVICE_LOCK_WAIT_MS / 1000u);
    } else if (rc == MPOTA_ERR_FILE && dev->file_op) {
        int e = dev->file_errno;
        bool access = e == EROFS || e == EACCES || e == EPERM;
        snprintf(buf, cap, "cannot %s %s%s: %s%s", dev->file_op, flash_path,
                 dev->file_suffix ? dev->file_suffix : "", strerror(e),
                 access ? " (the emulated device writes its flash file and the .state and "
                          ".efuse files beside it)"
                        : "");
    } else if (rc == MPOTA_ERR_INVALID_ARG && getenv(MPOTA_FLASH_FAIL_AFTER_ENV) &&
               *getenv(MPOTA_FLASH_FAIL_AFTER_ENV)) {
        snprintf(buf, cap, "%s=%s: give a decimal count of flash operations (0: no cut)",
                 MPOTA_FLASH_FAIL_AFTER_ENV, getenv(MPOTA_FLASH_FAIL_AFTER_ENV));
    } else if (rc == MPOTA_ERR_INVALID_ARG) {
        struct stat st;
        char size[32];
        snprintf(buf, cap,
                 "%s is %s B, not an emulated flash: those are 2, 4, 8, 16 or 32 MiB; make one "
                 "with `mpota flash new`",
                 flash_path, stat(flash_path, &st) == 0 ? cli_group((uint64_t)st.st_size, size)
                                                          : "?");
    } else {
        struct mpota_diag d = {0};
        mpota_diag_set(&d, rc, 0, 0, 0);
        cli_diag_text(&d, buf, cap);
    }
    return buf;
}

int cli_fail_device(const struct mpota_device *dev, const char *flash_path, int rc)
{
    char text[4096 + 256];
    return cli_fail("%s", cli_device_error(dev, flash_path, rc, text, sizeof(text)));
}

uint8_t *cli_read_file(const char *path, size_t *len)
{
    uint8_t *buf = mpota_host_read_file(path, len);
    if (!buf) {
        fprintf(stderr, "mpota: cannot read %s: %s\n", path, strerror(errno));
    }
    return buf;
}

bool cli_write_file(const char *path, const void *data, size_t len)
{
    if (mpota_host_write_file(path, data, len) != 0) {
        fprintf(stderr, "mpota: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    return true;
}

bool cli_has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    if (n < e) {
        return false;
    }
    for (size_t i = 0; i < e; i++) {
        if (tolower((unsigned char)path[n - e + i]) != tolower((unsigned char)ext[i])) {
            return false;
        }
    }
    return true;
}

const char *cli_group(uint64_t v, char buf[32])
{
    char digits[32];
    int n = 0;
    do {
        if (n % 4 == 3) {
            digits[n++] = ',';
        }
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++) {
        buf[i] = digits[n - 1 - i];
    }
    buf[n] = '\0';
    return buf;
}

void cli_print_json(cJSON *root)
{
    char *text = cJSON_Print(root);
    if (text) {
        puts(text);
    }
    free(text);
    cJSON_Delete(root);
}

void cli_print_ota_layout_advice(FILE *out, uint16_t chip)
{
    // esptool's --chip name: "ESP32-S3" -> "esp32s3".
    const char *name = mpota_chip_name(chip);
    char tool[16] = "esp32";
    size_t n = 0;
    for (; name && *name && n + 1 < sizeof(tool); name++) {
        if (*name != '-') {
            tool[n++] = (char)tolower((unsigned char)*name);
        }
    }
    if (n) {
        tool[n] = '\0';
    }
    uint32_t at = mpota_chip_bootloader_offset(chip);
    fprintf(out,
            "This firmware's partition table has no OTA slots, so it cannot be updated over the\n"
            "  air. Install once, over serial, a MicroPython build with an OTA partition table (for the\n"
            "  ESP32: board ESP32_GENERIC, variant OTA: ESP32_GENERIC-OTA-<date>-<version>.bin from\n"
            "  micropython.org). Back up the files on the device first: the filesystem moves.\n"
            "    esptool.py --chip %s --port PORT erase_flash\n"
            "    esptool.py --chip %s --port PORT write_flash 0x%X ESP32_GENERIC-OTA-<date>-<version>.bin\n"
            "  After that, every update can go over the air.\n",
            tool, tool, at);
}

// A flash file with no bootloader (what `mpota flash new` makes): flash-sized
// (a power of two from 1 MiB) with a table row (magic 0x50AA) at 0x8000, or,
// for another CONFIG_PARTITION_TABLE_OFFSET, at the first sector below 0x10000
// that starts with one. Its offset, or MPOTA_IMAGE_NO_OFFSET.
static uint32_t bare_flash_table(const uint8_t *buf, size_t len)
{
    if (len < 0x100000u || (len & (len - 1)) != 0) {
        return MPOTA_IMAGE_NO_OFFSET;
    }
    if (buf[MPOTA_PART_TABLE_OFFSET] == 0xAA && buf[MPOTA_PART_TABLE_OFFSET + 1] == 0x50) {
        return MPOTA_PART_TABLE_OFFSET;
    }
    for (uint32_t at = 0x1000u; at < 0x10000u; at += 0x1000u) {
        if (buf[at] == 0xAA && buf[at + 1] == 0x50) {
            return at;
        }
    }
    return MPOTA_IMAGE_NO_OFFSET;
}

// Reads a table from a .csv, a binary table, a combined firmware image or a
// flash file (table at the offset identify finds, normally 0x7000 or 0x8000).
// Returns CLI_OK, or CLI_REFUSED after printing why.
int cli_load_table(const char *path, const struct mpota_part_csv_opts *opts,
                      struct mpota_table *t, struct cli_table_source *src)
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
    bool combined = id.kind == MPOTA_IMAGE_KIND_COMBINED;
    if (id.kind == MPOTA_IMAGE_KIND_UNKNOWN) {
        // No bootloader to start from: a flash file as `flash new` makes one?
        id.table_offset = bare_flash_table(buf, len);
    }
    if ((combined || id.kind == MPOTA_IMAGE_KIND_FLASH_DUMP || id.kind == MPOTA_IMAGE_KIND_UNKNOWN) &&
        id.table_offset != MPOTA_IMAGE_NO_OFFSET) {
        src->form = combined ? "combined image" : "flash image";
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
