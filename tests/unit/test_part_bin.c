// Binary partition tables (src/core/part_bin.c): the SPEC §2.8 vectors, the
// shared/testdata tables, every refusal with its text, lookups, and property
// tests (round trips, single-byte corruption).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diag_text.h"
#include "mpota/hash.h"
#include "mpota/part.h"
#include "part_helpers.h"
#include "testutil.h"

#define ROW 32u

/// Helpers ///

static struct mpota_partition part(const char *label, uint8_t type, uint8_t subtype, uint32_t offset,
                                   uint32_t size)
{
    struct mpota_partition p;
    memset(&p, 0, sizeof(p));
    p.type = type;
    p.subtype = subtype;
    p.offset = offset;
    p.size = size;
    memcpy(p.label, label, strlen(label) < 16 ? strlen(label) : 16);
    return p;
}

// MicroPython's partitions-4MiB-ota.csv (SPEC §2.8).
static void ota_4m(struct mpota_table *t)
{
    memset(t, 0, sizeof(*t));
    t->parts[0] = part("nvs", 1, 2, 0x9000, 0x4000);
    t->parts[1] = part("otadata", 1, 0, 0xd000, 0x2000);
    t->parts[2] = part("phy_init", 1, 1, 0xf000, 0x1000);
    t->parts[3] = part("ota_0", 0, 0x10, 0x10000, 0x180000);
    t->parts[4] = part("ota_1", 0, 0x11, 0x190000, 0x180000);
    t->count = 5;
}

static void hex_to_bytes(const char *hex, uint8_t *out)
{
    for (size_t i = 0; hex[2 * i]; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static struct mpota_table scratch;  // where refused parses go

// Writes t (with MD5) and parses it back; returns the parse result.
static int roundtrip(const struct mpota_table *t, uint32_t flash, struct mpota_table *out,
                     struct mpota_diag *d)
{
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    assert_int_equal(mpota_part_table_write(t, true, bin), MPOTA_OK);
    return mpota_part_table_parse(bin, sizeof(bin), flash, out, d);
}

/// SPEC §2.8 vectors ///

static void test_spec_vectors(void **state)
{
    (void)state;
    struct mpota_table t;
    ota_4m(&t);
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    assert_int_equal(mpota_part_table_write(&t, true, bin), MPOTA_OK);

    uint8_t row0[32];
    hex_to_bytes("aa5001020090000000400000" "6e767300000000000000000000000000" "00000000", row0);
    assert_memory_equal(bin, row0, 32);

    uint8_t md5row[32];
    memset(md5row, 0xFF, sizeof(md5row));
    md5row[0] = 0xEB;
    md5row[1] = 0xEB;
    hex_to_bytes("6f91ac1bb2b49e61a1daefd12de800a2", md5row + 16);
    assert_memory_equal(bin + 5 * ROW, md5row, 32);

    uint8_t sha[32], want[32];
    mpota_sha256_t h;
    mpota_sha256_start(&h);
    mpota_sha256_update(&h, bin, sizeof(bin));
    mpota_sha256_finish(&h, sha);
    hex_to_bytes("0241fa0d2e573dee86756e39fb4181e61ff7218087619cab565b602df55954d6", want);
    assert_memory_equal(sha, want, 32);

    for (size_t i = 6 * ROW; i < sizeof(bin); i++) {
        assert_int_equal(bin[i], 0xFF);
    }
}

static void test_parse_spec_table(void **state)
{
    (void)state;
    struct mpota_table t, got;
    struct mpota_diag d = {0};
    ota_4m(&t);
    assert_int_equal(roundtrip(&t, 4u << 20, &got, &d), MPOTA_OK);
    assert_int_equal(got.count, 5);
    assert_true(got.md5_present);
    assert_true(got.md5_valid);
    assert_memory_equal(got.parts, t.parts, sizeof(t.parts[0]) * 5);
    // The sector as read from flash (0x1000 bytes, the last KiB blank) parses too.
    uint8_t sector[MPOTA_PART_TABLE_SECTOR];
    memset(sector, 0xFF, sizeof(sector));
    assert_int_equal(mpota_part_table_write(&t, true, sector), MPOTA_OK);
    sector[0xC00] = 0x12;  // beyond the 0xC00 window: never read
    assert_int_equal(mpota_part_table_parse(sector, sizeof(sector), 0, &got, &d), MPOTA_OK);
    assert_int_equal(got.count, 5);
}

/// shared/testdata ///

static void test_testdata_bins_parse_and_rewrite(void **state)
{
    (void)state;
    skip_without_testdata();
    for (size_t i = 0; i < part_testdata_bins_count; i++) {
        size_t len;
        uint8_t *data = testdata_load(part_testdata_bins[i], &len);
        struct mpota_table t;
        struct mpota_diag d = {0};
        int err = mpota_part_table_parse(data, len, 0, &t, &d);
        if (err) {
            fail_msg("%s: %s", part_testdata_bins[i], diag_text(&d));
        }
        assert_true(t.md5_present && t.md5_valid);
        uint8_t out[MPOTA_PART_TABLE_MAX_LEN];
        assert_int_equal(mpota_part_table_write(&t, true, out), MPOTA_OK);
        assert_int_equal(len, sizeof(out));
        assert_memory_equal(out, data, sizeof(out));
        free(data);
    }
}

static void test_idf_test_table(void **state)
{
    (void)state;
    skip_without_testdata();
    size_t len;
    uint8_t *data = testdata_load("partition-tables/esp-idf/idf-test-partitions.bin", &len);
    struct mpota_table t;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_part_table_parse(data, len, 0, &t, &d), MPOTA_OK);
    assert_true(t.md5_present);
    assert_true(t.md5_valid);
    assert_int_equal(t.count, 3);
    assert_string_equal(t.parts[1].label, "phy_\xD0\xB8\xD0\xBD\xD0\xB8\xD1\x82_");  // phy_инит_
    // Flip one entry byte: the MD5 row no longer matches.
    data[40] ^= 1;
    assert_int_equal(mpota_part_table_parse(data, len, 0, &scratch, &d), MPOTA_ERR_TABLE_MD5);
    free(data);
}

static void test_esp32s3_rows(void **state)
{
    (void)state;
    skip_without_testdata();
    size_t len;
    uint8_t *data = testdata_load("partition-tables/esp32s3-ota-vfs.bin", &len);
    struct mpota_table t;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_part_table_parse(data, len, 4u << 20, &t, &d), MPOTA_OK);
    free(data);
    static const struct {
        const char *label;
        uint8_t type, subtype;
        uint32_t offset, size;
    } want[] = {
        {"nvs", 1, 0x02, 0x9000, 0x4000},        {"otadata", 1, 0x00, 0xd000, 0x2000},
        {"phy_init", 1, 0x01, 0xf000, 0x1000},   {"ota_0", 0, 0x10, 0x10000, 0x180000},
        {"ota_1", 0, 0x11, 0x190000, 0x180000}, {"vfs", 1, 0x81, 0x310000, 0xf0000},
    };
    assert_int_equal(t.count, 6);
    assert_true(t.md5_valid);
    for (size_t i = 0; i < 6; i++) {
        assert_part(&t.parts[i], want[i].label, want[i].type, want[i].subtype, want[i].offset,
                    want[i].size, 0);
    }
}

static void test_8mib_table_beyond_4mib(void **state)
{
    (void)state;
    skip_without_testdata();
    size_t len;
    uint8_t *data = testdata_load("partition-tables/micropython/partitions-8MiBplus-ota.bin", &len);
    struct mpota_table t;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_part_table_parse(data, len, 8u << 20, &t, &d), MPOTA_OK);
    assert_int_equal(mpota_part_table_parse(data, len, 4u << 20, &t, &d),
                     MPOTA_ERR_TABLE_BEYOND_FLASH);
    assert_string_equal(d.label, "ota_1");
    assert_text(&d, "partition ota_1 ends at 0x4F0000 (5,177,344 B), beyond the flash size of 4,194,304 B");
    free(data);
}

/// Refusals ///

static void write_table(const struct mpota_table *t, bool md5, uint8_t bin[MPOTA_PART_TABLE_MAX_LEN])
{
    assert_int_equal(mpota_part_table_write(t, md5, bin), MPOTA_OK);
}

static void test_refuse_bad_magic(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    ota_4m(&t);
    write_table(&t, false, bin);
    bin[ROW] = 0x55;
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &scratch, &d), MPOTA_ERR_TABLE_MAGIC);
    assert_int_equal(d.offset, ROW);
    assert_int_equal(scratch.count, 0);  // the good first row is not left behind
    assert_text(&d, "row at 0x20 has an invalid magic 0x5055");
    // Not a table at all.
    memset(bin, 0xE9, sizeof(bin));
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &scratch, &d), MPOTA_ERR_TABLE_MAGIC);
    assert_text(&d, "row at 0x0 has an invalid magic 0xE9E9");
}

static void test_refuse_ff_prefix_row(void **state)
{
    (void)state;
    // FF FF FF FF ... ends the bootloader's walk, but gen_esp32part needs 32 x 0xFF.
    struct mpota_table t;
    struct mpota_diag d = {0};
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    ota_4m(&t);
    write_table(&t, true, bin);
    bin[6 * ROW + 20] = 0x00;
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &scratch, &d), MPOTA_ERR_TABLE_MAGIC);
    assert_int_equal(d.offset, 6 * ROW);
    assert_text(&d, "row at 0xC0 has an invalid magic 0xFFFF");
}

static void test_refuse_md5_mismatch(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    ota_4m(&t);
    write_table(&t, true, bin);
    bin[5 * ROW + 31] ^= 0x80;
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &scratch, &d), MPOTA_ERR_TABLE_MD5);
    assert_int_equal(d.offset, 5 * ROW);
    assert_text(&d, "MD5 row at 0xA0 is damaged or does not match the entries before it");
    // The filler bytes 2..15 of the MD5 row are checked too.
    write_table(&t, true, bin);
    bin[5 * ROW + 9] = 0x00;
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &scratch, &d), MPOTA_ERR_TABLE_MD5);
}

static void test_refuse_two_md5_rows(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    ota_4m(&t);
    write_table(&t, true, bin);
    memcpy(bin + 6 * ROW, bin + 5 * ROW, ROW);  // the same, valid, MD5 row again
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &scratch, &d), MPOTA_ERR_TABLE_TWO_MD5);
    assert_int_equal(d.offset, 6 * ROW);
    assert_text(&d, "partition table has a second MD5 row at 0xC0");
}

static void test_refuse_entry_after_md5(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    ota_4m(&t);
    t.count = 4;
    write_table(&t, true, bin);  // 4 entries + MD5 at row 4
    struct mpota_table five;
    ota_4m(&five);
    uint8_t full[MPOTA_PART_TABLE_MAX_LEN];
    write_table(&five, false, full);
    memcpy(bin + 5 * ROW, full + 4 * ROW, ROW);  // ota_1 after the MD5 row
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &scratch, &d), MPOTA_ERR_TABLE_AFTER_MD5);
    assert_int_equal(d.offset, 5 * ROW);
    assert_text(&d, "row at 0xA0 follows the MD5 row");
}

static void test_refuse_no_end_marker(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    ota_4m(&t);
    write_table(&t, false, bin);
    // A short read that stops inside the table.
    assert_int_equal(mpota_part_table_parse(bin, 3 * ROW, 0, &scratch, &d), MPOTA_ERR_TABLE_NO_END);
    assert_text(&d, "no end marker within 0xC00 bytes");
    // 96 entries fill the window: no room for an end marker.
    for (uint32_t i = 0; i < MPOTA_PART_TABLE_MAX_LEN / ROW; i++) {
        memcpy(bin + i * ROW, bin, ROW);
    }
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &scratch, &d), MPOTA_ERR_TABLE_NO_END);
    assert_int_equal(mpota_part_table_parse(bin, 0, 0, &scratch, &d), MPOTA_ERR_TABLE_NO_END);
}

static void test_refuse_empty(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    memset(bin, 0xFF, sizeof(bin));
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &scratch, &d), MPOTA_ERR_TABLE_EMPTY);
    assert_text(&d, "partition table is empty");
    // gen_esp32part makes this from an empty CSV: the MD5 row of nothing.
    memset(&t, 0, sizeof(t));
    write_table(&t, true, bin);
    assert_int_equal(bin[0], 0xEB);
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &scratch, &d), MPOTA_ERR_TABLE_EMPTY);
}

static void test_refuse_length(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    ota_4m(&t);
    write_table(&t, true, bin);
    assert_int_equal(mpota_part_table_parse(bin, 100, 0, &scratch, &d), MPOTA_ERR_TABLE_LENGTH);
    assert_text(&d, "partition table input is 100 B; a binary table is a whole number of 32-byte rows");
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin) - 1, 0, &scratch, &d), MPOTA_ERR_TABLE_LENGTH);
}

static void test_refuse_overlap(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    ota_4m(&t);
    t.parts[4].offset = 0x180000;
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_ERR_TABLE_OVERLAP);
    assert_string_equal(d.label, "ota_1");
    assert_int_equal(d.offset, 4 * ROW);
    assert_text(&d, "partition ota_1 at 0x180000 overlaps the previous partition, which ends at 0x190000");
    // Overlap is found in offset order, not table order.
    ota_4m(&t);
    t.parts[0].offset = 0xe000;
    t.parts[0].size = 0x1000;  // nvs inside otadata, listed first
    t.parts[0].flags = MPOTA_PART_FLAG_READONLY;  // (a small nvs must be)
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_ERR_TABLE_OVERLAP);
    assert_text(&d, "partition nvs at 0xE000 overlaps the previous partition, which ends at 0xF000");
}

static void test_size_zero_overlaps_nothing(void **state)
{
    (void)state;
    // gen_esp32part compares each partition with the one before it in
    // offset order: an empty partition at the start of another is accepted
    // when listed first, refused when listed after.
    struct mpota_table t, got;
    struct mpota_diag d = {0};
    ota_4m(&t);
    t.parts[5] = t.parts[4];
    t.parts[4] = part("empty", 1, 0x99, 0x190000, 0);
    t.count = 6;
    assert_int_equal(roundtrip(&t, 0, &got, &d), MPOTA_OK);
    t.parts[4] = t.parts[5];
    t.parts[5] = part("empty", 1, 0x99, 0x190000, 0);
    assert_int_equal(roundtrip(&t, 0, &got, &d), MPOTA_ERR_TABLE_OVERLAP);
    assert_string_equal(d.label, "empty");
}

static void test_refuse_misalignment(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    ota_4m(&t);
    t.parts[3].offset = 0x11000;
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_ERR_TABLE_ALIGN);
    assert_text(&d, "partition ota_0: 0x11000 is not a multiple of 0x10000");
    ota_4m(&t);
    t.parts[0].offset = 0x9800;
    t.parts[0].size = 0x3800;
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_ERR_TABLE_ALIGN);
    assert_text(&d, "partition nvs: 0x9800 is not a multiple of 0x1000");
    ota_4m(&t);
    t.parts[4].size = 0x180800;
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_ERR_TABLE_ALIGN);
    assert_text(&d, "partition ota_1: 0x180800 is not a multiple of 0x1000");
    // Secure boot v1 wants whole 64 KiB blocks; the check is opt-in.
    ota_4m(&t);
    t.parts[4].size = 0x181000;
    struct mpota_part_rules v1 = {.secure_v1 = true};
    assert_int_equal(mpota_part_table_check(&t, NULL, &d), MPOTA_OK);
    assert_int_equal(mpota_part_table_check(&t, &v1, &d), MPOTA_ERR_TABLE_ALIGN);
    assert_text(&d, "partition ota_1: 0x181000 is not a multiple of 0x10000");
    // Data sizes need no alignment.
    ota_4m(&t);
    t.parts[2].size = 0x800;
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_OK);
}

static void test_refuse_beyond_flash(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    ota_4m(&t);
    assert_int_equal(roundtrip(&t, 2u << 20, &scratch, &d), MPOTA_ERR_TABLE_BEYOND_FLASH);
    assert_string_equal(d.label, "ota_1");
    assert_int_equal(d.expected, 2u << 20);
    assert_int_equal(d.actual, 0x310000);
    assert_text(&d, "partition ota_1 ends at 0x310000 (3,211,264 B), beyond the flash size of 2,097,152 B");
    // Ending exactly at the end of flash is fine.
    ota_4m(&t);
    assert_int_equal(roundtrip(&t, 0x310000, &scratch, &d), MPOTA_OK);
    // With no flash size, a partition still may not wrap past 4 GiB.
    ota_4m(&t);
    t.parts[4].offset = 0xFFFF0000;
    t.parts[4].size = 0x20000;
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_ERR_TABLE_BEYOND_FLASH);
}

static void test_refuse_duplicate_names(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    ota_4m(&t);
    memcpy(t.parts[2].label, "nvs\0\0\0\0\0", 8);
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_ERR_TABLE_DUPLICATE);
    assert_int_equal(d.offset, 2 * ROW);
    assert_text(&d, "partition name nvs is used twice");
    // 16-byte labels (no NUL on flash) compare on all 16 bytes.
    ota_4m(&t);
    memcpy(t.parts[0].label, "abcdefghijklmnop", 16);
    memcpy(t.parts[1].label, "abcdefghijklmnoq", 16);
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_OK);
    memcpy(t.parts[1].label, "abcdefghijklmnop", 16);
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_ERR_TABLE_DUPLICATE);
    assert_text(&d, "partition name abcdefghijklmnop is used twice");
}

static void test_refuse_otadata(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    ota_4m(&t);
    t.parts[1].size = 0x1000;
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_ERR_TABLE_OTADATA);
    assert_string_equal(d.label, "otadata");
    assert_text(&d, "otadata partition otadata is invalid");
    assert_text(&d, "this one is 0x1000 B");
    // A second otadata.
    ota_4m(&t);
    t.parts[5] = part("otadata2", 1, 0, 0x310000, 0x2000);
    t.count = 6;
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_ERR_TABLE_OTADATA);
    assert_string_equal(d.label, "otadata2");
    assert_int_equal(d.offset, 5 * ROW);
    // TEE otadata follows the same rule.
    ota_4m(&t);
    t.parts[5] = part("tee_ota", 1, 0x90, 0x310000, 0x3000);
    t.count = 6;
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_ERR_TABLE_OTADATA);
    assert_string_equal(d.label, "tee_ota");
}

static void test_refuse_readonly_rules(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    ota_4m(&t);
    t.parts[1].flags = MPOTA_PART_FLAG_READONLY;  // otadata is always read-write
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_ERR_TABLE_READONLY);
    assert_text(&d, "partition otadata cannot have the readonly flag");
    ota_4m(&t);
    t.parts[0].size = 0x2000;  // a small nvs must be readonly
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_ERR_TABLE_READONLY);
    assert_string_equal(d.label, "nvs");
    t.parts[0].flags = MPOTA_PART_FLAG_READONLY;
    assert_int_equal(roundtrip(&t, 0, &scratch, &d), MPOTA_OK);
}

static void test_below_start_rule(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    ota_4m(&t);
    struct mpota_part_rules r = {.table_offset = 0x8000};
    assert_int_equal(mpota_part_table_check(&t, &r, &d), MPOTA_OK);
    r.table_offset = 0xA000;
    assert_int_equal(mpota_part_table_check(&t, &r, &d), MPOTA_ERR_TABLE_BELOW_START);
    assert_text(&d, "partition nvs at 0x9000 is below the first usable offset 0xB000");
    // The primary bootloader and table rows are exempt.
    t.parts[0] = part("pt", MPOTA_PART_TYPE_PARTITION_TABLE, 0, 0xA000, 0x1000);
    assert_int_equal(mpota_part_table_check(&t, &r, &d), MPOTA_OK);
}

/// Encoding details ///

static void test_labels_and_flags(void **state)
{
    (void)state;
    struct mpota_table t, got;
    struct mpota_diag d = {0};
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    ota_4m(&t);
    memcpy(t.parts[2].label, "0123456789abcdef", 16);  // fills the field: no NUL on flash
    t.parts[4].flags = MPOTA_PART_FLAG_ENCRYPTED | MPOTA_PART_FLAG_READONLY | 0x80000000u;
    write_table(&t, true, bin);
    assert_memory_equal(bin + 2 * ROW + 12, "0123456789abcdef", 16);
    assert_int_equal(bin[4 * ROW + 28], 0x03);
    assert_int_equal(bin[4 * ROW + 31], 0x80);
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &got, &d), MPOTA_OK);
    assert_string_equal(got.parts[2].label, "0123456789abcdef");
    assert_int_equal(got.parts[2].label[16], '\0');
    assert_int_equal(got.parts[4].flags, 0x80000003u);  // unknown bits kept

    // Bytes after a NUL in a label are not part of it, on either side.
    bin[0 * ROW + 12 + 5] = 'Z';  // "nvs\0\0Z..."; the MD5 row is rebuilt below
    struct mpota_table raw;
    memset(&raw, 0, sizeof(raw));
    raw.count = 0;
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &raw, &d), MPOTA_ERR_TABLE_MD5);
    memset(bin + 5 * ROW, 0xFF, ROW);  // drop the MD5 row: no MD5, still valid
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &raw, &d), MPOTA_OK);
    assert_false(raw.md5_present);
    assert_false(raw.md5_valid);
    assert_string_equal(raw.parts[0].label, "nvs");
    assert_int_equal(raw.parts[0].label[5], '\0');
    // A caller's label with junk after its NUL is written NUL-padded.
    t.parts[0].label[5] = 'Q';
    write_table(&t, false, bin);
    assert_int_equal(bin[12 + 5], 0);
}

static void test_capacity(void **state)
{
    (void)state;
    static struct mpota_table t;
    struct mpota_diag d = {0};
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    memset(&t, 0, sizeof(t));
    for (uint32_t i = 0; i < MPOTA_PART_MAX; i++) {
        char name[17];
        snprintf(name, sizeof(name), "p%u", (unsigned)i);
        t.parts[i] = part(name, 1, 0x40, 0x10000 + i * 0x1000, 0x1000);
    }
    t.count = 95;
    assert_int_equal(mpota_part_table_write(&t, true, bin), MPOTA_ERR_TABLE_TOO_MANY);
    assert_int_equal(mpota_part_table_write(&t, false, bin), MPOTA_OK);
    struct mpota_table got;
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &got, &d), MPOTA_OK);
    assert_int_equal(got.count, 95);
    t.count = 94;
    assert_int_equal(mpota_part_table_write(&t, true, bin), MPOTA_OK);
    assert_int_equal(mpota_part_table_parse(bin, sizeof(bin), 0, &got, &d), MPOTA_OK);
    assert_int_equal(got.count, 94);
    assert_true(got.md5_valid);
    t.count = 96;
    assert_int_equal(mpota_part_table_write(&t, false, bin), MPOTA_ERR_TABLE_TOO_MANY);
    assert_int_equal(mpota_part_table_check(&t, NULL, &d), MPOTA_ERR_TABLE_TOO_MANY);
    assert_text(&d, "partition table has 96 entries; at most 95 fit");
}

/// Lookups ///

static void test_lookups(void **state)
{
    (void)state;
    struct mpota_table t;
    ota_4m(&t);
    t.parts[5] = part("abcdefghijklmnop", 1, 0x81, 0x310000, 0xF0000);
    t.parts[6] = part("ota_3", 0, 0x13, 0x400000, 0x100000);
    t.count = 7;

    assert_ptr_equal(mpota_part_find_label(&t, "otadata"), &t.parts[1]);
    assert_null(mpota_part_find_label(&t, "ota"));
    assert_null(mpota_part_find_label(&t, NULL));
    // esp_partition_find compares 16 bytes: a longer name matches its prefix.
    assert_ptr_equal(mpota_part_find_label(&t, "abcdefghijklmnop"), &t.parts[5]);
    assert_ptr_equal(mpota_part_find_label(&t, "abcdefghijklmnopXYZ"), &t.parts[5]);

    assert_ptr_equal(mpota_part_find(&t, MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_PHY), &t.parts[2]);
    assert_ptr_equal(mpota_part_find(&t, MPOTA_PART_TYPE_APP, MPOTA_PART_SUBTYPE_ANY), &t.parts[3]);
    assert_ptr_equal(mpota_part_find(&t, MPOTA_PART_TYPE_ANY, MPOTA_PART_SUBTYPE_ANY), &t.parts[0]);
    assert_ptr_equal(mpota_part_find(&t, MPOTA_PART_TYPE_ANY, 0x81), &t.parts[5]);
    assert_null(mpota_part_find(&t, MPOTA_PART_TYPE_APP, MPOTA_PART_SUBTYPE_FACTORY));

    assert_ptr_equal(mpota_part_find_at(&t, 0x9000), &t.parts[0]);
    assert_ptr_equal(mpota_part_find_at(&t, 0xCFFF), &t.parts[0]);
    assert_ptr_equal(mpota_part_find_at(&t, 0xD000), &t.parts[1]);
    assert_ptr_equal(mpota_part_find_at(&t, 0x18FFFF), &t.parts[3]);
    assert_ptr_equal(mpota_part_find_at(&t, 0x190000), &t.parts[4]);
    assert_null(mpota_part_find_at(&t, 0x8FFF));
    assert_null(mpota_part_find_at(&t, 0x500000));

    // ota_0, ota_1, ota_3: the app side counts up to the gap.
    assert_int_equal(mpota_part_ota_count(&t), 2);
    assert_ptr_equal(mpota_part_ota_slot(&t, 0), &t.parts[3]);
    assert_ptr_equal(mpota_part_ota_slot(&t, 1), &t.parts[4]);
    assert_null(mpota_part_ota_slot(&t, 2));
    assert_ptr_equal(mpota_part_ota_slot(&t, 3), &t.parts[6]);
    assert_null(mpota_part_ota_slot(&t, 16));
    t.count = 3;
    assert_int_equal(mpota_part_ota_count(&t), 0);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(mpota_part_type_name(0), "app");
    assert_string_equal(mpota_part_type_name(1), "data");
    assert_string_equal(mpota_part_type_name(2), "bootloader");
    assert_string_equal(mpota_part_type_name(3), "partition_table");
    assert_null(mpota_part_type_name(4));
    assert_null(mpota_part_type_name(0x40));
    static const struct {
        uint8_t type, subtype;
        const char *name;
    } cases[] = {
        {0, 0x00, "factory"},  {0, 0x10, "ota_0"},    {0, 0x1A, "ota_10"},  {0, 0x1F, "ota_15"},
        {0, 0x20, "test"},     {0, 0x30, "tee_0"},    {0, 0x31, "tee_1"},   {1, 0x00, "ota"},
        {1, 0x01, "phy"},      {1, 0x02, "nvs"},      {1, 0x03, "coredump"}, {1, 0x04, "nvs_keys"},
        {1, 0x05, "efuse"},    {1, 0x06, "undefined"}, {1, 0x80, "esphttpd"}, {1, 0x81, "fat"},
        {1, 0x82, "spiffs"},   {1, 0x83, "littlefs"}, {1, 0x90, "tee_ota"}, {2, 0x00, "primary"},
        {2, 0x01, "ota"},      {2, 0x02, "recovery"}, {3, 0x00, "primary"}, {3, 0x01, "ota"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_string_equal(mpota_part_subtype_name(cases[i].type, cases[i].subtype), cases[i].name);
    }
    assert_null(mpota_part_subtype_name(0, 0x21));
    assert_null(mpota_part_subtype_name(1, 0x07));
    assert_null(mpota_part_subtype_name(3, 0x02));
    assert_null(mpota_part_subtype_name(0x40, 0x00));
}

/// Property tests ///

// A random table that passes every check: rows in random order, random
// types, sizes, labels (up to 16 bytes), flags; with or without otadata.
static void random_table(uint64_t *rng, struct mpota_table *t)
{
    memset(t, 0, sizeof(*t));
    uint32_t n = 1 + rng_below(rng, 30);
    uint32_t at = 0x9000;
    bool have_ota = false;
    for (uint32_t i = 0; i < n; i++) {
        struct mpota_partition *p = &t->parts[i];
        uint32_t kind = rng_below(rng, 4);
        if (kind == 0) {
            p->type = MPOTA_PART_TYPE_APP;
            p->subtype = (uint8_t)(rng_below(rng, 2) ? 0x10 + rng_below(rng, 16) : rng_below(rng, 0x40));
            at = (at + 0xFFFF) & ~0xFFFFu;
            p->size = 0x1000 * (1 + rng_below(rng, 64));
        } else if (kind == 1 && !have_ota) {
            have_ota = true;
            p->type = MPOTA_PART_TYPE_DATA;
            p->subtype = MPOTA_PART_SUBTYPE_OTADATA;
            p->size = MPOTA_OTADATA_SIZE;
        } else {
            p->type = (uint8_t)(rng_below(rng, 3) ? 1 : 0x40 + rng_below(rng, 0xBF));
            do {
                p->subtype = (uint8_t)rng_below(rng, 256);
            } while (p->type == 1 && (p->subtype == 0 || p->subtype == 0x90));
            p->size = rng_below(rng, 4) ? 0x1000 * (1 + rng_below(rng, 16)) : 1 + rng_below(rng, 0x4000);
            if (p->type == 1 && p->subtype == MPOTA_PART_SUBTYPE_NVS && p->size < MPOTA_PART_NVS_RW_MIN) {
                p->size = MPOTA_PART_NVS_RW_MIN;
            }
            if (p->type == 1 && p->subtype == MPOTA_PART_SUBTYPE_COREDUMP) {
                p->subtype = 0x42;
            }
        }
        p->offset = at;
        at = (p->offset + p->size + 0xFFF) & ~0xFFFu;
        at += 0x1000 * rng_below(rng, 3);
        p->flags = rng_below(rng, 4) == 0 ? MPOTA_PART_FLAG_ENCRYPTED : 0;
        uint32_t len = 1 + rng_below(rng, 16);
        for (uint32_t k = 0; k < len; k++) {
            p->label[k] = (char)('a' + rng_below(rng, 26));
        }
        // A unique suffix (i < 100) keeps labels distinct.
        size_t end = len > 13 ? 13 : len;
        p->label[end] = (char)('0' + i / 10);
        p->label[end + 1] = (char)('0' + i % 10);
    }
    t->count = n;
    // Shuffle: gen_esp32part keeps table order, so order must survive.
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = rng_below(rng, i + 1);
        struct mpota_partition tmp = t->parts[i];
        t->parts[i] = t->parts[j];
        t->parts[j] = tmp;
    }
}

static void test_property_roundtrip(void **state)
{
    (void)state;
    uint64_t rng = 0x5EED0001;
    for (int iter = 0; iter < 2000; iter++) {
        struct mpota_table t, got;
        struct mpota_diag d = {0};
        random_table(&rng, &t);
        bool md5 = rng_below(&rng, 4) != 0;
        uint8_t a[MPOTA_PART_TABLE_MAX_LEN], b[MPOTA_PART_TABLE_MAX_LEN];
        assert_int_equal(mpota_part_table_write(&t, md5, a), MPOTA_OK);
        int err = mpota_part_table_parse(a, sizeof(a), 0, &got, &d);
        if (err) {
            fail_msg("iteration %d: %s", iter, diag_text(&d));
        }
        assert_int_equal(got.count, t.count);
        assert_int_equal(got.md5_present, md5);
        assert_memory_equal(got.parts, t.parts, sizeof(t.parts[0]) * t.count);
        assert_int_equal(mpota_part_table_write(&got, md5, b), MPOTA_OK);
        assert_memory_equal(a, b, sizeof(a));
    }
}

static void test_property_corruption_caught(void **state)
{
    (void)state;
    uint64_t rng = 0x5EED0002;
    uint32_t caught = 0, padding = 0;
    for (int iter = 0; iter < 40; iter++) {
        struct mpota_table t, got;
        struct mpota_diag d = {0};
        random_table(&rng, &t);
        uint8_t good[MPOTA_PART_TABLE_MAX_LEN], bad[MPOTA_PART_TABLE_MAX_LEN];
        assert_int_equal(mpota_part_table_write(&t, true, good), MPOTA_OK);
        // Entries, the MD5 row and the end marker are guarded; what follows
        // the end marker is padding nobody reads.
        uint32_t guarded = (t.count + 2) * ROW;
        for (uint32_t pos = 0; pos < sizeof(good); pos++) {
            for (int k = 0; k < 3; k++) {
                memcpy(bad, good, sizeof(bad));
                if (k < 2) {
                    bad[pos] ^= (uint8_t)(1u << rng_below(&rng, 8));  // one bit
                } else {
                    bad[pos] = (uint8_t)(good[pos] + 1 + rng_below(&rng, 255));  // one byte
                }
                int err = mpota_part_table_parse(bad, sizeof(bad), 0, &got, &d);
                if (pos < guarded) {
                    if (err == MPOTA_OK) {
                        fail_msg("iteration %d: corruption at 0x%x (of 0x%x guarded) not caught", iter,
                                 (unsigned)pos, (unsigned)guarded);
                    }
                    assert_true(err == MPOTA_ERR_TABLE_MD5 || err == MPOTA_ERR_TABLE_MAGIC ||
                                err == MPOTA_ERR_TABLE_AFTER_MD5 || err == MPOTA_ERR_TABLE_TWO_MD5);
                    caught++;
                } else {
                    // Padding after the end marker may legitimately change.
                    assert_int_equal(err, MPOTA_OK);
                    assert_int_equal(got.count, t.count);
                    padding++;
                }
            }
        }
    }
    print_message("corruptions caught: %u, in padding (accepted): %u\n", (unsigned)caught,
                  (unsigned)padding);
    assert_true(caught > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vectors),
        cmocka_unit_test(test_parse_spec_table),
        cmocka_unit_test(test_testdata_bins_parse_and_rewrite),
        cmocka_unit_test(test_idf_test_table),
        cmocka_unit_test(test_esp32s3_rows),
        cmocka_unit_test(test_8mib_table_beyond_4mib),
        cmocka_unit_test(test_refuse_bad_magic),
        cmocka_unit_test(test_refuse_ff_prefix_row),
        cmocka_unit_test(test_refuse_md5_mismatch),
        cmocka_unit_test(test_refuse_two_md5_rows),
        cmocka_unit_test(test_refuse_entry_after_md5),
        cmocka_unit_test(test_refuse_no_end_marker),
        cmocka_unit_test(test_refuse_empty),
        cmocka_unit_test(test_refuse_length),
        cmocka_unit_test(test_refuse_overlap),
        cmocka_unit_test(test_size_zero_overlaps_nothing),
        cmocka_unit_test(test_refuse_misalignment),
        cmocka_unit_test(test_refuse_beyond_flash),
        cmocka_unit_test(test_refuse_duplicate_names),
        cmocka_unit_test(test_refuse_otadata),
        cmocka_unit_test(test_refuse_readonly_rules),
        cmocka_unit_test(test_below_start_rule),
        cmocka_unit_test(test_labels_and_flags),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_property_roundtrip),
        cmocka_unit_test(test_property_corruption_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
