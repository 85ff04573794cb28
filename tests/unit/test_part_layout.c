// The layout maker (src/host/part_layout.c): every kind on 2, 4, 8 and
// 16 MiB, defaults, fit, filesystem options and the refusals with numbers.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diag_text.h"
#include "host_file.h"
#include "mpota/part.h"
#include "part_helpers.h"
#include "part_layout.h"
#include "testutil.h"

#define MIB (1u << 20)

// A made table must survive its own binary form, checked against the flash.
static void assert_valid_on(const struct mpota_table *t, uint32_t flash)
{
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    struct mpota_table back;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_part_table_write(t, true, bin), MPOTA_OK);
    int err = mpota_part_table_parse(bin, sizeof(bin), flash, &back, &d);
    if (err) {
        fail_msg("made table does not parse: %s", diag_text(&d));
    }
    struct mpota_part_rules r = {.flash_size = flash, .table_offset = MPOTA_PART_TABLE_OFFSET};
    assert_int_equal(mpota_part_table_check(&back, &r, &d), MPOTA_OK);
    assert_memory_equal(back.parts, t->parts, sizeof(t->parts[0]) * t->count);
}

static void test_zeroed_opts_are_the_esp32s3_table(void **state)
{
    (void)state;
    struct mpota_part_layout_opts o;
    memset(&o, 0, sizeof(o));
    struct mpota_table t;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_part_layout_make(&o, &t, &d), MPOTA_OK);
    assert_int_equal(t.count, 6);
    assert_part(&t.parts[0], "nvs", 1, 0x02, 0x9000, 0x4000, 0);
    assert_part(&t.parts[1], "otadata", 1, 0x00, 0xd000, 0x2000, 0);
    assert_part(&t.parts[2], "phy_init", 1, 0x01, 0xf000, 0x1000, 0);
    assert_part(&t.parts[3], "ota_0", 0, 0x10, 0x10000, 0x180000, 0);
    assert_part(&t.parts[4], "ota_1", 0, 0x11, 0x190000, 0x180000, 0);
    assert_part(&t.parts[5], "vfs", 1, 0x81, 0x310000, 0xF0000, 0);
    assert_valid_on(&t, 4 * MIB);
    struct mpota_table t2;
    assert_int_equal(mpota_part_layout_make(NULL, &t2, &d), MPOTA_OK);
    assert_memory_equal(&t2, &t, sizeof(t));

    if (!testdata_present()) {
        print_message("SKIPPED (byte comparison): shared/testdata not found at %s\n",
                      testdata_path(""));
        skip();
        return;
    }
    size_t len;
    uint8_t *real = mpota_host_read_file(testdata_path("partition-tables/esp32s3-ota-vfs.bin"), &len);
    assert_non_null(real);
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    assert_int_equal(mpota_part_table_write(&t, true, bin), MPOTA_OK);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(bin, real, sizeof(bin));
    free(real);
}

struct expect_row {
    const char *label;
    uint8_t type, subtype;
    uint32_t offset, size;
};

struct layout_case {
    enum mpota_part_layout_kind kind;
    uint32_t flash;
    int err;
    uint32_t needed;  // NO_ROOM: bytes needed
    size_t rows;
    struct expect_row row[7];
};

static const struct layout_case cases[] = {
    {MPOTA_PART_LAYOUT_FACTORY, 2 * MIB, MPOTA_OK, 0, 4,
     {{"nvs", 1, 2, 0x9000, 0x6000}, {"phy_init", 1, 1, 0xf000, 0x1000},
      {"factory", 0, 0, 0x10000, 0x160000}, {"vfs", 1, 0x81, 0x170000, 0x90000}}},
    {MPOTA_PART_LAYOUT_FACTORY, 4 * MIB, MPOTA_OK, 0, 4,
     {{"nvs", 1, 2, 0x9000, 0x6000}, {"phy_init", 1, 1, 0xf000, 0x1000},
      {"factory", 0, 0, 0x10000, 0x1F0000}, {"vfs", 1, 0x81, 0x200000, 0x200000}}},
    {MPOTA_PART_LAYOUT_FACTORY, 8 * MIB, MPOTA_OK, 0, 4,
     {{"nvs", 1, 2, 0x9000, 0x6000}, {"phy_init", 1, 1, 0xf000, 0x1000},
      {"factory", 0, 0, 0x10000, 0x1F0000}, {"vfs", 1, 0x81, 0x200000, 0x600000}}},
    {MPOTA_PART_LAYOUT_FACTORY, 16 * MIB, MPOTA_OK, 0, 4,
     {{"nvs", 1, 2, 0x9000, 0x6000}, {"phy_init", 1, 1, 0xf000, 0x1000},
      {"factory", 0, 0, 0x10000, 0x1F0000}, {"vfs", 1, 0x81, 0x200000, 0xE00000}}},
    // Two 1 MiB slots (the minimum) and the smallest fs need 0x220000.
    {MPOTA_PART_LAYOUT_OTA, 2 * MIB, MPOTA_ERR_LAYOUT_NO_ROOM, 0x220000, 0, {{0}}},
    {MPOTA_PART_LAYOUT_OTA, 4 * MIB, MPOTA_OK, 0, 6,
     {{"nvs", 1, 2, 0x9000, 0x4000}, {"otadata", 1, 0, 0xd000, 0x2000},
      {"phy_init", 1, 1, 0xf000, 0x1000}, {"ota_0", 0, 0x10, 0x10000, 0x180000},
      {"ota_1", 0, 0x11, 0x190000, 0x180000}, {"vfs", 1, 0x81, 0x310000, 0xF0000}}},
    {MPOTA_PART_LAYOUT_OTA, 8 * MIB, MPOTA_OK, 0, 6,
     {{"nvs", 1, 2, 0x9000, 0x4000}, {"otadata", 1, 0, 0xd000, 0x2000},
      {"phy_init", 1, 1, 0xf000, 0x1000}, {"ota_0", 0, 0x10, 0x10000, 0x270000},
      {"ota_1", 0, 0x11, 0x280000, 0x270000}, {"vfs", 1, 0x81, 0x4F0000, 0x310000}}},
    {MPOTA_PART_LAYOUT_OTA, 16 * MIB, MPOTA_OK, 0, 6,
     {{"nvs", 1, 2, 0x9000, 0x4000}, {"otadata", 1, 0, 0xd000, 0x2000},
      {"phy_init", 1, 1, 0xf000, 0x1000}, {"ota_0", 0, 0x10, 0x10000, 0x270000},
      {"ota_1", 0, 0x11, 0x280000, 0x270000}, {"vfs", 1, 0x81, 0x4F0000, 0xB10000}}},
    {MPOTA_PART_LAYOUT_OTA_FACTORY, 2 * MIB, MPOTA_ERR_LAYOUT_NO_ROOM, 0x320000, 0, {{0}}},
    // Three 0x180000 slots: 0x10000 + 0x480000 + 0x10000 > 4 MiB.
    {MPOTA_PART_LAYOUT_OTA_FACTORY, 4 * MIB, MPOTA_ERR_LAYOUT_NO_ROOM, 0x4A0000, 0, {{0}}},
    {MPOTA_PART_LAYOUT_OTA_FACTORY, 8 * MIB, MPOTA_OK, 0, 7,
     {{"nvs", 1, 2, 0x9000, 0x4000}, {"otadata", 1, 0, 0xd000, 0x2000},
      {"phy_init", 1, 1, 0xf000, 0x1000}, {"factory", 0, 0, 0x10000, 0x270000},
      {"ota_0", 0, 0x10, 0x280000, 0x270000}, {"ota_1", 0, 0x11, 0x4F0000, 0x270000},
      {"vfs", 1, 0x81, 0x760000, 0xA0000}}},
    {MPOTA_PART_LAYOUT_OTA_FACTORY, 16 * MIB, MPOTA_OK, 0, 7,
     {{"nvs", 1, 2, 0x9000, 0x4000}, {"otadata", 1, 0, 0xd000, 0x2000},
      {"phy_init", 1, 1, 0xf000, 0x1000}, {"factory", 0, 0, 0x10000, 0x270000},
      {"ota_0", 0, 0x10, 0x280000, 0x270000}, {"ota_1", 0, 0x11, 0x4F0000, 0x270000},
      {"vfs", 1, 0x81, 0x760000, 0x8A0000}}},
};

static void test_every_kind_and_flash(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct layout_case *c = &cases[i];
        struct mpota_part_layout_opts o = {.kind = c->kind, .flash_size = c->flash};
        struct mpota_table t;
        struct mpota_diag d = {0};
        int err = mpota_part_layout_make(&o, &t, &d);
        if (err != c->err) {
            fail_msg("case %zu (%s, %u MiB): got %s: %s", i, mpota_part_layout_kind_name(c->kind),
                     (unsigned)(c->flash / MIB), mpota_host_err_name(err), diag_text(&d));
        }
        if (err) {
            assert_int_equal(d.expected, c->flash);
            assert_int_equal(d.actual, c->needed);
            char want[128];
            snprintf(want, sizeof(want), "but the flash holds %s B",
                     c->flash == 2 * MIB ? "2,097,152" : "4,194,304");
            assert_text(&d, want);
            continue;
        }
        assert_int_equal(t.count, c->rows);
        for (size_t k = 0; k < c->rows; k++) {
            const struct expect_row *r = &c->row[k];
            assert_part(&t.parts[k], r->label, r->type, r->subtype, r->offset, r->size, 0);
        }
        assert_valid_on(&t, c->flash);
        assert_int_equal(mpota_part_ota_count(&t), c->kind == MPOTA_PART_LAYOUT_FACTORY ? 0 : 2);
        // vfs (where there is one) reaches the end of the flash.
        const struct mpota_partition *vfs = mpota_part_find_label(&t, "vfs");
        assert_non_null(vfs);
        assert_int_equal(vfs->offset + vfs->size, c->flash);
    }
}

static void test_ota_factory_refused_on_4mib_text(void **state)
{
    (void)state;
    struct mpota_part_layout_opts o = {.kind = MPOTA_PART_LAYOUT_OTA_FACTORY, .flash_size = 4 * MIB};
    struct mpota_table t;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_part_layout_make(&o, &t, &d), MPOTA_ERR_LAYOUT_NO_ROOM);
    assert_text(&d, "the layout needs 4,849,664 B but the flash holds 4,194,304 B");
    assert_int_equal(t.count, 0);
}

static void test_32mib(void **state)
{
    (void)state;
    struct mpota_part_layout_opts o = {.kind = MPOTA_PART_LAYOUT_OTA, .flash_size = 32 * MIB};
    struct mpota_table t;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_part_layout_make(&o, &t, &d), MPOTA_OK);
    assert_part(&t.parts[5], "vfs", 1, 0x81, 0x4F0000, 32 * MIB - 0x4F0000, 0);
    assert_valid_on(&t, 32 * MIB);
}

static void test_fit_grows_slots(void **state)
{
    (void)state;
    struct mpota_part_layout_opts o = {.fit = 1672800};  // ota, 4 MiB
    struct mpota_table t;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_part_layout_make(&o, &t, &d), MPOTA_OK);
    // 1,672,800 B rounds up to 0x1A0000 (1,703,936 B).
    assert_part(&t.parts[3], "ota_0", 0, 0x10, 0x10000, 0x1A0000, 0);
    assert_part(&t.parts[4], "ota_1", 0, 0x11, 0x1B0000, 0x1A0000, 0);
    assert_part(&t.parts[5], "vfs", 1, 0x81, 0x350000, 0xB0000, 0);
    assert_valid_on(&t, 4 * MIB);
    // An image that fits the default slot leaves it alone; an exact 64 KiB
    // multiple is not rounded further.
    o.fit = 1000;
    assert_int_equal(mpota_part_layout_make(&o, &t, &d), MPOTA_OK);
    assert_int_equal(t.parts[3].size, 0x180000);
    o.fit = 0x190000;
    assert_int_equal(mpota_part_layout_make(&o, &t, &d), MPOTA_OK);
    assert_int_equal(t.parts[3].size, 0x190000);
    o.fit = 0x190001;
    assert_int_equal(mpota_part_layout_make(&o, &t, &d), MPOTA_OK);
    assert_int_equal(t.parts[3].size, 0x1A0000);
    // factory kind: the factory slot grows.
    struct mpota_part_layout_opts f = {.kind = MPOTA_PART_LAYOUT_FACTORY, .flash_size = 4 * MIB,
                                       .fit = 0x250000};
    assert_int_equal(mpota_part_layout_make(&f, &t, &d), MPOTA_OK);
    assert_part(&t.parts[2], "factory", 0, 0, 0x10000, 0x250000, 0);
    assert_part(&t.parts[3], "vfs", 1, 0x81, 0x260000, 0x1A0000, 0);
}

static void test_app_too_big(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    // A fixed slot size is not grown: the image is refused with both numbers.
    struct mpota_part_layout_opts o = {.app_size = 0x180000, .fit = 1672800};
    assert_int_equal(mpota_part_layout_make(&o, &t, &d), MPOTA_ERR_LAYOUT_APP_TOO_BIG);
    assert_string_equal(d.label, "ota_0");
    assert_int_equal(d.expected, 1572864);
    assert_int_equal(d.actual, 1672800);
    assert_text(&d, "app is 1,672,800 B but ota_0 holds 1,572,864 B");
    // Larger than any slot this flash can give: the largest one is named.
    struct mpota_part_layout_opts big = {.fit = 3000000};
    assert_int_equal(mpota_part_layout_make(&big, &t, &d), MPOTA_ERR_LAYOUT_APP_TOO_BIG);
    assert_text(&d, "app is 3,000,000 B but ota_0 holds 2,031,616 B");
    // ... and with that largest slot it fits (the fs gets the minimum).
    big.fit = 2031616;
    assert_int_equal(mpota_part_layout_make(&big, &t, &d), MPOTA_OK);
    assert_part(&t.parts[5], "vfs", 1, 0x81, 0x3F0000, MPOTA_PART_LAYOUT_FS_MIN, 0);
    struct mpota_part_layout_opts fac = {.kind = MPOTA_PART_LAYOUT_FACTORY, .flash_size = 2 * MIB,
                                         .fit = 0x200000};
    assert_int_equal(mpota_part_layout_make(&fac, &t, &d), MPOTA_ERR_LAYOUT_APP_TOO_BIG);
    assert_text(&d, "app is 2,097,152 B but factory holds 1,966,080 B");
    // Where no slot fits at all, the layout has no room whatever the image.
    struct mpota_part_layout_opts none = {.kind = MPOTA_PART_LAYOUT_OTA_FACTORY,
                                          .flash_size = 2 * MIB, .fit = 0xFFFFFFFF};
    assert_int_equal(mpota_part_layout_make(&none, &t, &d), MPOTA_ERR_LAYOUT_NO_ROOM);
}

static void test_filesystems(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    struct mpota_part_layout_opts o = {.fs = MPOTA_PART_LAYOUT_FS_LITTLEFS};
    assert_int_equal(mpota_part_layout_make(&o, &t, &d), MPOTA_OK);
    assert_int_equal(t.parts[5].subtype, MPOTA_PART_SUBTYPE_LITTLEFS);
    o.fs = MPOTA_PART_LAYOUT_FS_SPIFFS;
    assert_int_equal(mpota_part_layout_make(&o, &t, &d), MPOTA_OK);
    assert_int_equal(t.parts[5].subtype, MPOTA_PART_SUBTYPE_SPIFFS);
    o.fs = MPOTA_PART_LAYOUT_FS_NONE;
    assert_int_equal(mpota_part_layout_make(&o, &t, &d), MPOTA_OK);
    assert_int_equal(t.count, 5);
    assert_null(mpota_part_find_label(&t, "vfs"));
    // Without a filesystem the slots may take the whole flash.
    o.app_size = 0x1F0000;
    assert_int_equal(mpota_part_layout_make(&o, &t, &d), MPOTA_OK);
    assert_int_equal(t.parts[4].offset + t.parts[4].size, 0x3F0000);

    // fs_size: smaller leaves the end unused, larger is shrunk to the rest.
    struct mpota_part_layout_opts s = {.fs_size = 0x40000};
    assert_int_equal(mpota_part_layout_make(&s, &t, &d), MPOTA_OK);
    assert_part(&t.parts[5], "vfs", 1, 0x81, 0x310000, 0x40000, 0);
    s.fs_size = 8 * MIB;
    assert_int_equal(mpota_part_layout_make(&s, &t, &d), MPOTA_OK);
    assert_part(&t.parts[5], "vfs", 1, 0x81, 0x310000, 0xF0000, 0);
}

static void test_option_errors(void **state)
{
    (void)state;
    struct mpota_table t;
    struct mpota_diag d = {0};
    static const struct {
        struct mpota_part_layout_opts o;
        const char *label;
        const char *text;
    } bad[] = {
        {{.flash_size = 3 * MIB}, "flash_size", "layout option flash_size = 0x300000 is out of range"},
        {{.flash_size = 1 * MIB}, "flash_size", "flash_size = 0x100000"},
        {{.flash_size = 64 * MIB}, "flash_size", "flash_size = 0x4000000"},
        {{.app_size = 0x80000}, "app_size", "app_size = 0x80000"},
        {{.app_size = 0x181000}, "app_size", "app_size = 0x181000"},
        {{.fs_size = 0x800}, "fs_size", "fs_size = 0x800"},
        {{.kind = (enum mpota_part_layout_kind)7}, "kind", "kind = 0x7"},
        {{.fs = (enum mpota_part_layout_fs)9}, "fs", "fs = 0x9"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(mpota_part_layout_make(&bad[i].o, &t, &d), MPOTA_ERR_LAYOUT_OPTION);
        assert_string_equal(d.label, bad[i].label);
        assert_text(&d, bad[i].text);
    }
    // An explicit app size that is too big for the flash: no room.
    struct mpota_part_layout_opts o = {.app_size = 0x200000};
    assert_int_equal(mpota_part_layout_make(&o, &t, &d), MPOTA_ERR_LAYOUT_NO_ROOM);
    assert_text(&d, "the layout needs 4,325,376 B but the flash holds 4,194,304 B");
}

static void test_names(void **state)
{
    (void)state;
    enum mpota_part_layout_kind k;
    enum mpota_part_layout_fs fs;
    assert_int_equal(mpota_part_layout_kind_from_name("ota-factory", &k), MPOTA_OK);
    assert_int_equal(k, MPOTA_PART_LAYOUT_OTA_FACTORY);
    assert_int_equal(mpota_part_layout_kind_from_name("factory", &k), MPOTA_OK);
    assert_int_equal(k, MPOTA_PART_LAYOUT_FACTORY);
    assert_int_equal(mpota_part_layout_kind_from_name("ota", &k), MPOTA_OK);
    assert_int_equal(k, MPOTA_PART_LAYOUT_OTA);
    assert_int_equal(mpota_part_layout_kind_from_name("OTA", &k), MPOTA_ERR_INVALID_ARG);
    assert_int_equal(mpota_part_layout_kind_from_name(NULL, &k), MPOTA_ERR_INVALID_ARG);
    assert_string_equal(mpota_part_layout_kind_name(MPOTA_PART_LAYOUT_OTA_FACTORY), "ota-factory");
    assert_null(mpota_part_layout_kind_name((enum mpota_part_layout_kind)3));
    assert_int_equal(mpota_part_layout_fs_from_name("littlefs", &fs), MPOTA_OK);
    assert_int_equal(fs, MPOTA_PART_LAYOUT_FS_LITTLEFS);
    assert_int_equal(mpota_part_layout_fs_from_name("none", &fs), MPOTA_OK);
    assert_int_equal(fs, MPOTA_PART_LAYOUT_FS_NONE);
    assert_int_equal(mpota_part_layout_fs_from_name("ext4", &fs), MPOTA_ERR_INVALID_ARG);
    assert_string_equal(mpota_part_layout_fs_name(MPOTA_PART_LAYOUT_FS_SPIFFS), "spiffs");
    assert_null(mpota_part_layout_fs_name((enum mpota_part_layout_fs)4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zeroed_opts_are_the_esp32s3_table),
        cmocka_unit_test(test_every_kind_and_flash),
        cmocka_unit_test(test_ota_factory_refused_on_4mib_text),
        cmocka_unit_test(test_32mib),
        cmocka_unit_test(test_fit_grows_slots),
        cmocka_unit_test(test_app_too_big),
        cmocka_unit_test(test_filesystems),
        cmocka_unit_test(test_option_errors),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
