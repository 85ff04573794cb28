// libFuzzer target: CSV partition tables (mpota_part_csv_parse). The first
// input byte picks gen_esp32part options; the environment is a fixed stand-in
// so runs reproduce. A table that parses must encode (when it fits), and its
// CSV text must be bounded.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpota/part.h"
#include "part_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_env(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "A") == 0) {
        return "nvs";
    }
    if (strcmp(name, "L") == 0) {
        return "x,data,fat,,4K";
    }
    if (strcmp(name, "D") == 0) {
        return "$A";
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mpota_part_csv_opts o;
    memset(&o, 0, sizeof(o));
    o.getenv = fuzz_env;
    if (size > 0) {
        uint8_t f = data[0];
        o.table_offset = (f & 1) ? 0x10000 : 0;
        o.flash_size = (f & 2) ? 4u << 20 : 0;
        o.secure = (enum mpota_part_secure)((f >> 2) % 3);
        o.has_bootloader_offset = (f & 0x10) != 0;
        o.bootloader_offset = 0x1000;
        o.has_recovery_offset = (f & 0x20) != 0;
        o.recovery_offset = 0x200000;
        o.no_verify = (f & 0x40) != 0;
        o.keep_bom = (f & 0x80) != 0;
        data++;
        size--;
    }
    struct mpota_table t;
    struct mpota_diag d;
    memset(&d, 0, sizeof(d));
    char text[512];
    bool binary = false;
    int err = mpota_part_csv_load(data, size, &o, &t, &binary, &d);
    mpota_host_diag_format(&d, text, sizeof(text));
    if (err) {
        if (err != d.err) {
            abort();
        }
        return 0;
    }
    if (t.count > MPOTA_PART_MAX) {
        abort();
    }
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    int werr = mpota_part_table_write(&t, true, bin);
    if (werr != MPOTA_OK && !(werr == MPOTA_ERR_TABLE_TOO_MANY && t.count == MPOTA_PART_MAX)) {
        abort();
    }
    static char csv[MPOTA_PART_CSV_MAX_LEN];
    if (mpota_part_csv_write(&t, csv, sizeof(csv)) >= sizeof(csv)) {
        abort();
    }
    return 0;
}
