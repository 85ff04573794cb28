// CSV partition tables (src/host/part_csv.c) against gen_esp32part.py's
// behaviour: the shared/testdata CSVs byte for byte, every CSV rule of SPEC
// §2.7 (the expected values were checked against ESP-IDF v5.5.2's tool), the
// refusals with their texts, the CSV writer, and round-trip properties.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diag_text.h"
#include "mpota/part.h"
#include "part_csv.h"
#include "part_helpers.h"
#include "testutil.h"

/// Helpers ///


// The environment the tests see: fixed, whatever the process has.
static const char *test_env(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "MPVAR") == 0) {
        return "nvs";
    }
    if (strcmp(name, "MPLINE") == 0) {
        return "storage,data,fat,,64K";
    }
    if (strcmp(name, "MPHASH") == 0) {
        return "#x";
    }
    if (strcmp(name, "MPDOLLAR") == 0) {
        return "$MPVAR";
    }
    return NULL;
}

static struct mpota_part_csv_opts env_opts(void)
{
    struct mpota_part_csv_opts o;
    memset(&o, 0, sizeof(o));
    o.getenv = test_env;
    return o;
}

static int parse_with(const char *csv, const struct mpota_part_csv_opts *o, struct mpota_table *t,
                      struct mpota_diag *d)
{
    return mpota_part_csv_parse(csv, strlen(csv), o, t, d);
}

static int parse(const char *csv, struct mpota_table *t, struct mpota_diag *d)
{
    struct mpota_part_csv_opts o = env_opts();
    return parse_with(csv, &o, t, d);
}

// Parses csv, which must succeed.
static void parse_ok(const char *csv, struct mpota_table *t)
{
    struct mpota_diag d = {0};
    int err = parse(csv, t, &d);
    if (err) {
        fail_msg("\"%s\": %s (%s)", csv, mpota_host_err_name(err), diag_text(&d));
    }
}

// CSV file -> binary, compared with the binary file.
static void check_csv_gives_bin(const char *csv_rel, const char *bin_rel,
                                const struct mpota_part_csv_opts *o)
{
    size_t csv_len, bin_len;
    uint8_t *csv = testdata_load(csv_rel, &csv_len);
    uint8_t *bin = testdata_load(bin_rel, &bin_len);
    struct mpota_table t;
    struct mpota_diag d = {0};
    int err = mpota_part_csv_parse(csv, csv_len, o, &t, &d);
    if (err) {
        fail_msg("%s: %s", csv_rel, diag_text(&d));
    }
    uint8_t out[MPOTA_PART_TABLE_MAX_LEN];
    assert_int_equal(mpota_part_table_write(&t, true, out), MPOTA_OK);
    assert_int_equal(bin_len, sizeof(out));
    if (memcmp(out, bin, sizeof(out)) != 0) {
        fail_msg("%s does not give %s byte for byte", csv_rel, bin_rel);
    }
    free(csv);
    free(bin);
}

/// shared/testdata ///

static const char *const mp_tables[] = {
    "partitions-2MiB", "partitions-4MiB-ota", "partitions-4MiB-romfs", "partitions-4MiBplus",
    "partitions-8MiBplus-ota",
};

static void test_micropython_csvs_byte_for_byte(void **state)
{
    (void)state;
    skip_without_testdata();
    for (size_t i = 0; i < sizeof(mp_tables) / sizeof(mp_tables[0]); i++) {
        char csv[128], bin[128];
        snprintf(csv, sizeof(csv), "partition-tables/micropython/%s.csv", mp_tables[i]);
        snprintf(bin, sizeof(bin), "partition-tables/micropython/%s.bin", mp_tables[i]);
        check_csv_gives_bin(csv, bin, NULL);
    }
}

static void test_bom_csv(void **state)
{
    (void)state;
    skip_without_testdata();
    // gen_esp32part since v5.4.2 skips the UTF-8 BOM: that output is
    // idf-test-partitions.bin (label "nvs"). partitions-utf8-bom.bin was made
    // by an older tool that kept the BOM in the first name (label
    // EF BB BF "nvs"); keep_bom reproduces that.
    check_csv_gives_bin("partition-tables/esp-idf/partitions-utf8-bom.csv",
                        "partition-tables/esp-idf/idf-test-partitions.bin", NULL);
    struct mpota_part_csv_opts legacy = {.keep_bom = true};
    check_csv_gives_bin("partition-tables/esp-idf/partitions-utf8-bom.csv",
                        "partition-tables/esp-idf/partitions-utf8-bom.bin", &legacy);

    size_t len;
    uint8_t *csv = testdata_load("partition-tables/esp-idf/partitions-utf8-bom.csv", &len);
    struct mpota_table t;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_part_csv_parse(csv, len, NULL, &t, &d), MPOTA_OK);
    assert_string_equal(t.parts[0].label, "nvs");
    assert_string_equal(t.parts[1].label, "phy_\xD0\xB8\xD0\xBD\xD0\xB8\xD1\x82_");
    assert_int_equal(mpota_part_csv_parse(csv, len, &legacy, &t, &d), MPOTA_OK);
    assert_string_equal(t.parts[0].label, "\xEF\xBB\xBFnvs");
    free(csv);
}

static void test_bin_to_csv_to_bin(void **state)
{
    (void)state;
    skip_without_testdata();
    for (size_t i = 0; i < part_testdata_bins_count; i++) {
        size_t len;
        uint8_t *bin = testdata_load(part_testdata_bins[i], &len);
        struct mpota_table t, back;
        struct mpota_diag d = {0};
        bool is_bin = false;
        assert_int_equal(mpota_part_csv_load(bin, len, NULL, &t, &is_bin, &d), MPOTA_OK);
        assert_true(is_bin);
        char csv[MPOTA_PART_CSV_MAX_LEN];
        size_t n = mpota_part_csv_write(&t, csv, sizeof(csv));
        assert_true(n < sizeof(csv));
        bool again = true;
        int err = mpota_part_csv_load(csv, n, NULL, &back, &again, &d);
        if (err) {
            fail_msg("%s -> CSV does not read back: %s\n%s", part_testdata_bins[i],
                     diag_text(&d), csv);
        }
        assert_false(again);
        uint8_t out[MPOTA_PART_TABLE_MAX_LEN];
        assert_int_equal(mpota_part_table_write(&back, true, out), MPOTA_OK);
        if (len != sizeof(out) || memcmp(out, bin, sizeof(out)) != 0) {
            fail_msg("%s -> CSV -> bin differs\n%s", part_testdata_bins[i], csv);
        }
        free(bin);
    }
}

static void test_esp32s3_csv_text(void **state)
{
    (void)state;
    skip_without_testdata();
    size_t len;
    uint8_t *bin = testdata_load("partition-tables/esp32s3-ota-vfs.bin", &len);
    struct mpota_table t;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_part_table_parse(bin, len, 0, &t, &d), MPOTA_OK);
    char csv[MPOTA_PART_CSV_MAX_LEN];
    mpota_part_csv_write(&t, csv, sizeof(csv));
    assert_string_equal(csv, "# ESP-IDF Partition Table\n"
                             "# Name, Type, SubType, Offset, Size, Flags\n"
                             "nvs,data,nvs,0x9000,16K,\n"
                             "otadata,data,ota,0xd000,8K,\n"
                             "phy_init,data,phy,0xf000,4K,\n"
                             "ota_0,app,ota_0,0x10000,1536K,\n"
                             "ota_1,app,ota_1,0x190000,1536K,\n"
                             "vfs,data,fat,0x310000,960K,\n");
    free(bin);
}

static void test_8mib_csv_does_not_fit_4mib(void **state)
{
    (void)state;
    skip_without_testdata();
    size_t len;
    uint8_t *csv = testdata_load("partition-tables/micropython/partitions-8MiBplus-ota.csv", &len);
    struct mpota_table t;
    struct mpota_diag d = {0};
    struct mpota_part_csv_opts o = {.flash_size = 8u << 20};
    assert_int_equal(mpota_part_csv_parse(csv, len, &o, &t, &d), MPOTA_OK);
    o.flash_size = 4u << 20;
    assert_int_equal(mpota_part_csv_parse(csv, len, &o, &t, &d), MPOTA_ERR_TABLE_BEYOND_FLASH);
    assert_string_equal(d.label, "ota_1");
    assert_text(&d, "partition ota_1 ends at 0x4F0000 (5,177,344 B), beyond the flash size of 4,194,304 B");
    free(csv);
}

/// CSV rules (SPEC §2.7) ///

static void test_spec_auto_offsets(void **state)
{
    (void)state;
    struct mpota_table t;
    parse_ok("nvs,data,nvs,,0x6000\n"
             "phy_init,data,phy,,4K\n"
             "factory,app,factory,,1M\n"
             "storage,data,fat,,-0x200000\n",
             &t);
    assert_int_equal(t.count, 4);
    assert_part(&t.parts[0], "nvs", 1, 2, 0x9000, 0x6000, 0);
    assert_part(&t.parts[1], "phy_init", 1, 1, 0xf000, 0x1000, 0);
    assert_part(&t.parts[2], "factory", 0, 0, 0x10000, 0x100000, 0);
    assert_part(&t.parts[3], "storage", 1, 0x81, 0x110000, 0xF0000, 0);
}

static void test_numbers(void **state)
{
    (void)state;
    struct mpota_table t;
    // K after hex, 0o, 0b, '_' between digits.
    parse_ok("a,data,nvs,0x9000,0x10K\n"
             "b,data,fat,0o3200000,0b1000000000000\n"
             "c,data,fat,0x_D_2000,1_0_0_0_0_0\n",
             &t);
    assert_int_equal(t.parts[0].size, 0x4000);
    assert_int_equal(t.parts[1].offset, 0xD0000);
    assert_int_equal(t.parts[1].size, 0x1000);
    assert_int_equal(t.parts[2].offset, 0xD2000);
    assert_int_equal(t.parts[2].size, 100000);
    // m/M, lower-case k, a space before the suffix, several suffixes.
    parse_ok("a,app,factory,,1m\nb,data,fat,,0x6000 K\nc,data,fat,,1kk\n", &t);
    assert_int_equal(t.parts[0].size, 0x100000);
    assert_int_equal(t.parts[1].size, 0x1800000);
    assert_int_equal(t.parts[2].size, 0x100000);
    // int() takes non-ASCII digits and spaces; KELVIN SIGN lowers to 'k'.
    parse_ok("a,data,\xD9\xA1,,\xD9\xA4K\n", &t);  // Arabic-Indic 1, 4K
    assert_part(&t.parts[0], "a", 1, 1, 0x9000, 0x1000, 0);
    parse_ok("a,data,nvs_\xE2\x84\xAA" "eys,,4\xE2\x84\xAA\n", &t);  // nvs_Keys, 4K
    assert_part(&t.parts[0], "a", 1, 4, 0x9000, 0x1000, 0);
    parse_ok("a,data,nvs,,\xC2\xA0" "24K\xE3\x80\x80\n", &t);  // NBSP and ideographic space
    assert_int_equal(t.parts[0].size, 0x6000);
    // A keyword times a suffix: gen_esp32part strips the suffix first.
    parse_ok("a,app,factoryk,,64K\n", &t);
    assert_part(&t.parts[0], "a", 0, 0, 0x10000, 0x10000, 0);
    // Leading zeros are not decimal; '_' must sit between digits.
    struct mpota_diag d = {0};
    const char *bad[] = {"a,data,nvs,09000,4K\n", "a,data,nvs,,4_K\n", "a,data,nvs,,1__0\n",
                         "a,data,nvs,,0x\n",      "a,data,nvs,,K\n",   "a,data,nvs,,0x6000 # c\n",
                         "a,data,nvs,,- 5\n",     "a,data,nvs,,0x1g\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &t, &d) != MPOTA_ERR_CSV_NUMBER) {
            fail_msg("\"%s\" should not parse", bad[i]);
        }
    }
    assert_text(&d, "partition CSV line 1: a number for a does not parse or is out of range");
}

static void test_negative_size_ends_at(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    parse_ok("a,data,nvs,0x9000,-0xF000\nb,app,factory,,-2M\n", &t);
    assert_int_equal(t.parts[0].size, 0x6000);
    assert_int_equal(t.parts[1].offset, 0x10000);
    assert_int_equal(t.parts[1].size, 0x1F0000);
    // Ending before it starts.
    assert_int_equal(parse("a,data,fat,0x9000,-0x8000\n", &t, &d), MPOTA_ERR_CSV_SIZE);
    assert_text(&d, "partition CSV line 1: size of a is missing or negative");
    assert_int_equal(parse("a,data,fat,0x9000,\n", &t, &d), MPOTA_ERR_CSV_SIZE);
    // Size 0 is allowed.
    parse_ok("a,data,fat,0x9000,0\n", &t);
    assert_int_equal(t.parts[0].size, 0);
}

static void test_lines_comments_columns(void **state)
{
    (void)state;
    struct mpota_table t;
    parse_ok("# comment, with, commas\n"
             "\n"
             "  \t\n"
             "   # indented comment\n"
             "nvs, data, nvs, 0x9000, 0x6000, , extra, cols\n"
             "#x,data,nvs,,4K\n",
             &t);
    assert_int_equal(t.count, 1);
    assert_part(&t.parts[0], "nvs", 1, 2, 0x9000, 0x6000, 0);
    // Every line break of str.splitlines().
    parse_ok("a,data,nvs,,0x6000\r\nb,data,fat,,4K\rc,data,fat,,4K\vd,data,fat,,4K"
             "\xC2\x85" "e,data,fat,,4K\xE2\x80\xA8" "f,data,fat,,4K\x1cg,data,fat,,4K\fh,data,fat,,4K",
             &t);
    assert_int_equal(t.count, 8);
    assert_part(&t.parts[7], "h", 1, 0x81, 0x15000, 0x1000, 0);
    // Trailing columns may be missing; \x1f is whitespace to strip().
    parse_ok("a,data,nvs,,24K\x1f", &t);
    assert_int_equal(t.parts[0].size, 0x6000);
    // Nothing but comments: an empty table, as gen makes.
    parse_ok("# only a comment\n", &t);
    assert_int_equal(t.count, 0);
    parse_ok("", &t);
    assert_int_equal(t.count, 0);
}

static void test_env_expansion(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    parse_ok("$MPVAR,data,nvs,,24K\n${MPVAR}2,data,nvs,,24K\n$MPLINE\n", &t);
    assert_int_equal(t.count, 3);
    assert_string_equal(t.parts[0].label, "nvs");
    assert_string_equal(t.parts[1].label, "nvs2");
    assert_part(&t.parts[2], "storage", 1, 0x81, 0x15000, 0x10000, 0);
    // Unset names stay as written unless the line starts with one.
    parse_ok(" $NOPE,data,nvs,,24K\nx$NOPE,data,fat,,4K\n${NOPE},data,fat,,4K\n$1,data,fat,,4K\n", &t);
    assert_string_equal(t.parts[0].label, "$NOPE");
    assert_string_equal(t.parts[1].label, "x$NOPE");
    assert_string_equal(t.parts[2].label, "${NOPE}");
    assert_string_equal(t.parts[3].label, "$1");
    assert_int_equal(parse("nvs,data,nvs,,24K\n$NOPE,data,nvs,,24K\n", &t, &d), MPOTA_ERR_CSV_VARIABLE);
    assert_int_equal(d.actual, 2);
    assert_text(&d, "partition CSV line 2: $NOPE is not set in the environment");
    // A value that is a comment, and one that names a variable (not expanded again).
    parse_ok("$MPHASH,data,nvs,,24K\nnvs,data,nvs,,24K\n", &t);
    assert_int_equal(t.count, 1);
    assert_int_equal(parse("$MPDOLLAR,data,nvs,,24K\n", &t, &d), MPOTA_ERR_CSV_VARIABLE);
    assert_string_equal(d.label, "MPVAR");
    // The process environment is the default.
    struct mpota_part_csv_opts o = {0};
    assert_int_equal(parse_with("$MPOTA_SURELY_UNSET_VAR,data,nvs,,24K\n", &o, &t, &d),
                     MPOTA_ERR_CSV_VARIABLE);
}

static void test_types_and_subtypes(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    parse_ok("a,DATA,NVS,,24K\nb,App,Ota_3,,64K\nc,0x40,0x5,,4K\nd,64,,,4K\ne,data,,,4K\n"
             "f,1,littlefs,,4K\ng,0,0x10,,64K\n",
             &t);
    assert_part(&t.parts[0], "a", 1, 2, 0x9000, 0x6000, 0);
    assert_part(&t.parts[1], "b", 0, 0x13, 0x10000, 0x10000, 0);
    assert_part(&t.parts[2], "c", 0x40, 5, 0x20000, 0x1000, 0);
    assert_part(&t.parts[3], "d", 0x40, 6, 0x21000, 0x1000, 0);  // empty subtype: undefined
    assert_part(&t.parts[4], "e", 1, 6, 0x22000, 0x1000, 0);
    assert_part(&t.parts[5], "f", 1, 0x83, 0x23000, 0x1000, 0);
    assert_part(&t.parts[6], "g", 0, 0x10, 0x30000, 0x10000, 0);

    assert_int_equal(parse("a,app,,,64K\n", &t, &d), MPOTA_ERR_CSV_SUBTYPE);
    assert_text(&d, "partition CSV line 1: unknown or missing subtype for a");
    assert_int_equal(parse("x,data,bogus,,4K\n", &t, &d), MPOTA_ERR_CSV_SUBTYPE);
    assert_int_equal(parse("x,0x40,nvs,,4K\n", &t, &d), MPOTA_ERR_CSV_SUBTYPE);  // no keywords
    assert_int_equal(parse("a,data,nvs,,4K\nx,bogus,nvs,,4K\n", &t, &d), MPOTA_ERR_CSV_TYPE);
    assert_text(&d, "partition CSV line 2: unknown partition type for x");
    assert_int_equal(parse("x,,nvs,,4K\n", &t, &d), MPOTA_ERR_CSV_TYPE);
    assert_int_equal(parse("x\n", &t, &d), MPOTA_ERR_CSV_TYPE);
    assert_int_equal(parse("x,256,0,,4K\n", &t, &d), MPOTA_ERR_CSV_NUMBER);
    assert_int_equal(parse("x,data,-1,,4K\n", &t, &d), MPOTA_ERR_CSV_NUMBER);
}

static void test_names(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    parse_ok("abcdefghijklmnopqrstuvwxyz,data,nvs,,24K\n,data,fat,,4K\n"
             "xxxxxxxxxxxxxxx\xC3\xA9,data,fat,,4K\n",
             &t);
    assert_string_equal(t.parts[0].label, "abcdefghijklmnop");
    assert_string_equal(t.parts[1].label, "");
    assert_string_equal(t.parts[2].label, "xxxxxxxxxxxxxxx\xC3");  // cut inside the character
    // Names are compared before they are cut, as gen_esp32part does.
    parse_ok("abcdefghijklmnopX,data,nvs,,24K\nabcdefghijklmnopY,data,fat,,24K\n", &t);
    assert_string_equal(t.parts[1].label, "abcdefghijklmnop");
    assert_int_equal(parse("nvs,data,nvs,,24K\nnvs,data,fat,,4K\n", &t, &d), MPOTA_ERR_TABLE_DUPLICATE);
    assert_text(&d, "partition name nvs is used twice");
}

static void test_flags(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    parse_ok("a,data,nvs,,24K,encrypted:readonly\nb,data,fat,,4K,readonly\nc,data,fat,,4K,encrypted\n"
             "e,data,fat,,4K,:readonly::\n",
             &t);
    assert_int_equal(t.parts[0].flags, 3);
    assert_int_equal(t.parts[1].flags, 2);
    assert_int_equal(t.parts[2].flags, 1);
    assert_int_equal(t.parts[3].flags, 2);
    assert_int_equal(parse("a,data,nvs,,24K,Encrypted\n", &t, &d), MPOTA_ERR_CSV_FLAG);
    assert_text(&d, "partition CSV line 1: unknown flag for a (use encrypted, readonly)");
    assert_int_equal(parse("a,data,nvs,,24K,encrypted :readonly\n", &t, &d), MPOTA_ERR_CSV_FLAG);
}

static void test_table_offset_and_special_rows(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    struct mpota_part_csv_opts o = env_opts();
    o.table_offset = 0x10000;
    assert_int_equal(parse_with("a,data,nvs,,24K\n", &o, &t, &d), MPOTA_OK);
    assert_int_equal(t.parts[0].offset, 0x11000);
    // The partition_table row takes the table's address and one sector.
    parse_ok("pt,partition_table,primary,N/A,N/A\nnvs,data,nvs,,24K\n", &t);
    assert_part(&t.parts[0], "pt", 3, 0, 0x8000, 0x1000, 0);
    assert_part(&t.parts[1], "nvs", 1, 2, 0x9000, 0x6000, 0);
    // bootloader rows need the bootloader offset.
    assert_int_equal(parse("bl,bootloader,primary,N/A,N/A\n", &t, &d), MPOTA_ERR_CSV_BOOTLOADER);
    assert_text(&d, "partition CSV line 1: bootloader partition bl needs the primary (or recovery) bootloader offset option");
    o = env_opts();
    o.has_bootloader_offset = true;
    o.bootloader_offset = 0x1000;
    assert_int_equal(parse_with("bl,bootloader,primary,,\npt,partition_table,primary,,\n"
                                "bo,bootloader,ota,,\npo,partition_table,ota,,\nnvs,data,nvs,,24K\n",
                                &o, &t, &d),
                     MPOTA_OK);
    assert_part(&t.parts[0], "bl", 2, 0, 0x1000, 0x7000, 0);
    assert_part(&t.parts[1], "pt", 3, 0, 0x8000, 0x1000, 0);
    assert_part(&t.parts[2], "bo", 2, 1, 0x9000, 0x7000, 0);
    assert_part(&t.parts[3], "po", 3, 1, 0x10000, 0x1000, 0);
    assert_part(&t.parts[4], "nvs", 1, 2, 0x11000, 0x6000, 0);
    assert_int_equal(parse_with("rec,bootloader,recovery,,\n", &o, &t, &d), MPOTA_ERR_CSV_BOOTLOADER);
    o.has_recovery_offset = true;
    o.recovery_offset = 0x100000;
    assert_int_equal(parse_with("rec,bootloader,recovery,,\nnvs,data,nvs,,24K\n", &o, &t, &d), MPOTA_OK);
    assert_part(&t.parts[0], "rec", 2, 2, 0x100000, 0x7000, 0);
    assert_part(&t.parts[1], "nvs", 1, 2, 0x107000, 0x6000, 0);
    o.bootloader_offset = 0x8000;  // must lie below the table
    assert_int_equal(parse_with("nvs,data,nvs,,24K\n", &o, &t, &d), MPOTA_ERR_INVALID_ARG);
}

static void test_secure_and_no_verify(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    struct mpota_part_csv_opts o = env_opts();
    assert_int_equal(parse_with("a,app,factory,,0x11000\n", &o, &t, &d), MPOTA_OK);
    o.secure = MPOTA_PART_SECURE_V2;
    assert_int_equal(parse_with("a,app,factory,,0x11000\n", &o, &t, &d), MPOTA_OK);
    o.secure = MPOTA_PART_SECURE_V1;
    assert_int_equal(parse_with("a,app,factory,,0x11000\n", &o, &t, &d), MPOTA_ERR_TABLE_ALIGN);
    assert_text(&d, "partition a: 0x11000 is not a multiple of 0x10000");
    o = env_opts();
    assert_int_equal(parse_with("a,app,factory,0x11000,64K\n", &o, &t, &d), MPOTA_ERR_TABLE_ALIGN);
    o.no_verify = true;
    assert_int_equal(parse_with("a,app,factory,0x11000,64K\n", &o, &t, &d), MPOTA_OK);
}

static void test_encodings(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    static const char utf16le[] = "\xFF\xFE" "a\0,\0d\0a\0t\0a\0,\0n\0v\0s\0,\0,\0" "2\0" "4\0K\0\n\0";
    static const char utf16be[] = "\xFE\xFF" "\0a\0,\0d\0a\0t\0a\0,\0n\0v\0s\0,\0,\0" "2\0" "4\0K\0\n";
    static const char utf32be[] = "\0\0\xFE\xFF" "\0\0\0a\0\0\0,\0\0\0\x31\0\0\0,\0\0\0\x31\0\0\0,\0\0\0,\0\0\0\x38\0\0\0K";
    assert_int_equal(mpota_part_csv_parse(utf16le, sizeof(utf16le) - 1, NULL, &t, &d), MPOTA_OK);
    assert_part(&t.parts[0], "a", 1, 2, 0x9000, 0x6000, 0);
    assert_int_equal(mpota_part_csv_parse(utf16be, sizeof(utf16be) - 1, NULL, &t, &d), MPOTA_OK);
    assert_part(&t.parts[0], "a", 1, 2, 0x9000, 0x6000, 0);
    assert_int_equal(mpota_part_csv_parse(utf32be, sizeof(utf32be) - 1, NULL, &t, &d), MPOTA_OK);
    assert_part(&t.parts[0], "a", 1, 1, 0x9000, 0x2000, 0);
    // Odd UTF-16 length, a lone surrogate, bad UTF-8, a NUL.
    assert_int_equal(mpota_part_csv_parse(utf16le, sizeof(utf16le) - 2, NULL, &t, &d),
                     MPOTA_ERR_CSV_ENCODING);
    assert_int_equal(mpota_part_csv_parse("\xFF\xFE\x00\xD8\x41\x00", 6, NULL, &t, &d),
                     MPOTA_ERR_CSV_ENCODING);
    assert_int_equal(parse("nvs,data,nvs,,24K\na\xFF,data,fat,,4K\n", &t, &d), MPOTA_ERR_CSV_ENCODING);
    assert_text(&d, "partition CSV line 2: the text is not valid UTF-8");
    assert_int_equal(mpota_part_csv_parse("a\0,data,nvs,,24K\n", 17, NULL, &t, &d), MPOTA_ERR_CSV_ENCODING);
    assert_text(&d, "partition CSV line 1: the text is not valid UTF-8");
    // NUL elsewhere is text like any other: fine in a comment, an error in a number.
    assert_int_equal(mpota_part_csv_parse("#\0\nnvs,data,nvs,,24K\n", 20, NULL, &t, &d), MPOTA_OK);
    assert_int_equal(t.count, 1);
    assert_int_equal(mpota_part_csv_parse("nvs,data,nvs,,24K\0\n", 19, NULL, &t, &d), MPOTA_ERR_CSV_NUMBER);
    assert_int_equal(parse("a,data,nvs,,24K\n\xED\xA0\x80\n", &t, &d), MPOTA_ERR_CSV_ENCODING);  // surrogate
    assert_int_equal(parse("\xC0\xAF\n", &t, &d), MPOTA_ERR_CSV_ENCODING);  // overlong
}

static void test_csv_refusals(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    assert_int_equal(parse("a,data,nvs,0x8000,24K\n", &t, &d), MPOTA_ERR_TABLE_BELOW_START);
    assert_text(&d, "partition a at 0x8000 is below the first usable offset 0x9000");
    assert_int_equal(parse("a,data,nvs,,24K\nb,data,fat,0xa000,4K\n", &t, &d), MPOTA_ERR_TABLE_OVERLAP);
    assert_text(&d, "partition b at 0xA000 overlaps the previous partition, which ends at 0xF000");
    assert_int_equal(parse("a,data,nvs,,24K\nb,data,ota,,4K\n", &t, &d), MPOTA_ERR_TABLE_OTADATA);
    assert_text(&d, "otadata partition b is invalid");
    assert_int_equal(parse("a,data,ota,,8K\nb,data,ota,,8K\n", &t, &d), MPOTA_ERR_TABLE_OTADATA);
    assert_int_equal(parse("a,data,nvs,,8K\n", &t, &d), MPOTA_ERR_TABLE_READONLY);
    assert_text(&d, "partition a cannot have the readonly flag, or is nvs smaller than 0x3000");
    parse_ok("a,data,nvs,,8K,readonly\n", &t);
    assert_int_equal(parse("a,data,ota,,8K,readonly\n", &t, &d), MPOTA_ERR_TABLE_READONLY);
    assert_int_equal(parse("a,app,factory,0x11000,64K\n", &t, &d), MPOTA_ERR_TABLE_ALIGN);
    assert_int_equal(parse("a,app,factory,,0x10800\n", &t, &d), MPOTA_ERR_TABLE_ALIGN);
    assert_int_equal(parse("a,data,fat,0x100000000,0x2000\n", &t, &d), MPOTA_ERR_CSV_NUMBER);
    // Offset and size each fit 32 bits: gen_esp32part accepts the sum past 4 GiB.
    parse_ok("a,data,fat,0xFFFFF000,0x2000\n", &t);
    assert_int_equal(parse("a,data,fat,0x9000,4096M\n", &t, &d), MPOTA_ERR_CSV_NUMBER);
    // Too many rows for the sector.
    char *many = malloc(96 * 32);
    size_t n = 0;
    for (int i = 0; i < 96; i++) {
        n += (size_t)sprintf(many + n, "p%d,data,fat,,4K\n", i);
    }
    assert_int_equal(mpota_part_csv_parse(many, n, NULL, &t, &d), MPOTA_ERR_TABLE_TOO_MANY);
    free(many);
}

/// Writer ///

static void test_writer_format(void **state)
{
    (void)state;
    struct mpota_table t;
    memset(&t, 0, sizeof(t));
    const struct mpota_partition rows[] = {
        {1, 2, 0x9000, 0x6000, 0, "nvs"},
        {0x40, 5, 0xF000, 0x1000, 1, "custom"},
        {0, 0x1F, 0x10000, 0x10800, 2, "ota_15"},
        {1, 0x99, 0x30000, 0x10001, 3, "odd"},
        {2, 0, 0x1000, 0x7000, 0xFC, "0123456789abcdef"},
        {1, 0x83, 0x40000, 0, 0, "lfs"},
    };
    memcpy(t.parts, rows, sizeof(rows));
    t.count = 6;
    char csv[MPOTA_PART_CSV_MAX_LEN];
    size_t n = mpota_part_csv_write(&t, csv, sizeof(csv));
    const char *want = "# ESP-IDF Partition Table\n"
                       "# Name, Type, SubType, Offset, Size, Flags\n"
                       "nvs,data,nvs,0x9000,24K,\n"
                       "custom,64,5,0xf000,4K,encrypted\n"
                       "ota_15,app,ota_15,0x10000,66K,readonly\n"
                       "odd,data,153,0x30000,0x10001,encrypted:readonly\n"
                       "0123456789abcdef,bootloader,primary,0x1000,28K,\n"
                       "lfs,data,littlefs,0x40000,0M,\n";
    assert_string_equal(csv, want);
    assert_int_equal(n, strlen(want));
    // snprintf-like: the length is reported even when it does not fit.
    char small[20];
    assert_int_equal(mpota_part_csv_write(&t, small, sizeof(small)), n);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, want, sizeof(small) - 1);
    assert_int_equal(mpota_part_csv_write(&t, NULL, 0), n);
}

static void test_load_detects_binary(void **state)
{
    (void)state;
    struct mpota_table t, got;
    struct mpota_diag d = {0};
    parse_ok("nvs,data,nvs,,24K\nfactory,app,factory,,1M\n", &t);
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    assert_int_equal(mpota_part_table_write(&t, true, bin), MPOTA_OK);
    bool is_bin = false;
    assert_int_equal(mpota_part_csv_load(bin, sizeof(bin), NULL, &got, &is_bin, &d), MPOTA_OK);
    assert_true(is_bin);
    assert_int_equal(got.count, 2);
    // The table-offset rule applies to binary input too.
    struct mpota_part_csv_opts o = {.table_offset = 0x9000};
    assert_int_equal(mpota_part_csv_load(bin, sizeof(bin), &o, &got, &is_bin, &d),
                     MPOTA_ERR_TABLE_BELOW_START);
    o.table_offset = 0;
    o.flash_size = 1u << 20;
    assert_int_equal(mpota_part_csv_load(bin, sizeof(bin), &o, &got, &is_bin, &d),
                     MPOTA_ERR_TABLE_BEYOND_FLASH);
}

/// Properties ///

static void random_label(uint64_t *rng, char *label, uint32_t i)
{
    // Letters, digits, '_' and a multi-byte character now and then; unique
    // by a two-digit suffix. (No ',', '#', '$' or outer spaces: gen has no
    // quoting, so those do not read back the same.)
    static const char pool[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
    uint32_t len = rng_below(rng, 13);
    size_t n = 0;
    while (n < len) {
        if (rng_below(rng, 8) == 0 && n + 2 <= len) {
            label[n++] = '\xC3';
            label[n++] = (char)(0xA0 + rng_below(rng, 0x20));
        } else {
            label[n++] = pool[rng_below(rng, sizeof(pool) - 1)];
        }
    }
    label[n++] = (char)('0' + i / 10);
    label[n++] = (char)('0' + i % 10);
    label[n] = '\0';
}

static void test_property_table_csv_table(void **state)
{
    (void)state;
    uint64_t rng = 0xC5F0001;
    for (int iter = 0; iter < 3000; iter++) {
        struct mpota_table t, back;
        struct mpota_diag d = {0};
        memset(&t, 0, sizeof(t));
        uint32_t n = 1 + rng_below(&rng, 40);
        uint32_t at = 0x9000;
        bool have_ota = false;
        for (uint32_t i = 0; i < n; i++) {
            struct mpota_partition *p = &t.parts[i];
            random_label(&rng, p->label, i);
            uint32_t kind = rng_below(&rng, 5);
            if (kind == 0) {
                p->type = 0;
                p->subtype = (uint8_t)rng_below(&rng, 0x40);
                at = (at + 0xFFFF) & ~0xFFFFu;
                p->size = 0x1000 * (1 + rng_below(&rng, 300));
            } else if (kind == 1 && !have_ota) {
                have_ota = true;
                p->type = 1;
                p->subtype = 0;
                p->size = 0x2000;
            } else {
                p->type = (uint8_t)(kind == 4 ? 0x40 + rng_below(&rng, 0xC0) : 1);
                do {
                    p->subtype = (uint8_t)rng_below(&rng, 256);
                } while (p->type == 1 && (p->subtype == 0 || p->subtype == 0x90 ||
                                          p->subtype == 2 || p->subtype == 3));
                p->size = rng_below(&rng, 3) ? 0x1000 * (1 + rng_below(&rng, 64))
                                             : 1 + rng_below(&rng, 0x100000);
            }
            p->offset = at;
            p->flags = rng_below(&rng, 4);
            if (p->type == 1 && p->subtype == 0) {
                p->flags &= ~MPOTA_PART_FLAG_READONLY;
            }
            at = (p->offset + p->size + 0xFFF) & ~0xFFFu;
            at += 0x1000 * rng_below(&rng, 4);
        }
        t.count = n;
        char csv[MPOTA_PART_CSV_MAX_LEN];
        size_t len = mpota_part_csv_write(&t, csv, sizeof(csv));
        assert_true(len < sizeof(csv));
        int err = mpota_part_csv_parse(csv, len, NULL, &back, &d);
        if (err) {
            fail_msg("iteration %d: %s\n%s", iter, diag_text(&d), csv);
        }
        assert_int_equal(back.count, t.count);
        assert_memory_equal(back.parts, t.parts, sizeof(t.parts[0]) * n);
        uint8_t a[MPOTA_PART_TABLE_MAX_LEN], b[MPOTA_PART_TABLE_MAX_LEN];
        assert_int_equal(mpota_part_table_write(&t, true, a), MPOTA_OK);
        assert_int_equal(mpota_part_table_write(&back, true, b), MPOTA_OK);
        assert_memory_equal(a, b, sizeof(a));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_micropython_csvs_byte_for_byte),
        cmocka_unit_test(test_bom_csv),
        cmocka_unit_test(test_bin_to_csv_to_bin),
        cmocka_unit_test(test_esp32s3_csv_text),
        cmocka_unit_test(test_8mib_csv_does_not_fit_4mib),
        cmocka_unit_test(test_spec_auto_offsets),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_negative_size_ends_at),
        cmocka_unit_test(test_lines_comments_columns),
        cmocka_unit_test(test_env_expansion),
        cmocka_unit_test(test_types_and_subtypes),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_table_offset_and_special_rows),
        cmocka_unit_test(test_secure_and_no_verify),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_csv_refusals),
        cmocka_unit_test(test_writer_format),
        cmocka_unit_test(test_load_detects_binary),
        cmocka_unit_test(test_property_table_csv_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
