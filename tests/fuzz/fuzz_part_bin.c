// libFuzzer target: binary partition tables (mpota_part_table_parse).
// Whatever the input, parsing must not crash; a table that parses must
// encode back to the same rows, parse again identically, and answer lookups.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpota/part.h"
#include "part_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // The first byte picks a flash size (0 = none, else 1..16 MiB).
    uint32_t flash = 0;
    if (size > 0) {
        flash = (uint32_t)(data[0] % 17) << 20;
        data++;
        size--;
    }
    struct mpota_table t, again;
    struct mpota_diag d;
    memset(&d, 0, sizeof(d));
    char text[512];
    int err = mpota_part_table_parse(data, size, flash, &t, &d);
    mpota_diag_format(&d, text, sizeof(text));
    if (err) {
        if (err != d.err) {
            abort();
        }
        return 0;
    }
    if (t.count == 0 || t.count > MPOTA_PART_MAX) {
        abort();
    }
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    if (mpota_part_table_write(&t, t.md5_present, bin) != MPOTA_OK) {
        abort();
    }
    if (mpota_part_table_parse(bin, sizeof(bin), flash, &again, &d) != MPOTA_OK ||
        again.count != t.count || memcmp(again.parts, t.parts, sizeof(t.parts[0]) * t.count) != 0) {
        abort();
    }
    for (uint32_t i = 0; i < t.count; i++) {
        const struct mpota_partition *p = &t.parts[i];
        if (!mpota_part_find_label(&t, p->label) || !mpota_part_find(&t, p->type, p->subtype)) {
            abort();
        }
        if (p->size && !mpota_part_find_at(&t, p->offset)) {
            abort();
        }
        (void)mpota_part_type_name(p->type);
        (void)mpota_part_subtype_name(p->type, p->subtype);
    }
    uint32_t n = mpota_part_ota_count(&t);
    for (uint32_t i = 0; i < n; i++) {
        if (!mpota_part_ota_slot(&t, i)) {
            abort();
        }
    }
    static char csv[MPOTA_PART_CSV_MAX_LEN];
    size_t len = mpota_part_csv_write(&t, csv, sizeof(csv));
    if (len >= sizeof(csv)) {
        abort();
    }
    return 0;
}
