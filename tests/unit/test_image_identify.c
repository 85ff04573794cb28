// Recognising what a file is (identify.c): apps, bootloaders, partition
// tables, otadata, combined firmware, flash dumps and junk, from whole files
// and from their first bytes (the pre-flight check of an update).
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host_file.h"
#include "image_build.h"
#include "mpota/image.h"
#include "mpota/part.h"
#include "table_build.h"
#include "testutil.h"

// MicroPython's partitions-4MiB.csv (factory) and partitions-4MiB-ota.csv.
static void make_table(bool ota, uint8_t out[MPOTA_PART_TABLE_MAX_LEN])
{
    static struct mpota_table t;
    memset(&t, 0, sizeof(t));
    table_add(&t, "nvs", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_NVS, 0x9000,
              ota ? 0x4000 : 0x6000);
    if (ota) {
        table_add(&t, "otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, 0xd000, 0x2000);
    }
    table_add(&t, "phy_init", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_PHY, 0xf000, 0x1000);
    if (ota) {
        table_add(&t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x10000, 0x180000);
        table_add(&t, "ota_1", MPOTA_PART_TYPE_APP, 0x11, 0x190000, 0x180000);
    } else {
        table_add(&t, "factory", MPOTA_PART_TYPE_APP, MPOTA_PART_SUBTYPE_FACTORY, 0x10000,
                  0x1F0000);
        table_add(&t, "vfs", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_FAT, 0x200000, 0x200000);
    }
    assert_int_equal(mpota_part_table_write(&t, true, out), 0);
}

struct parts_buf {
    uint8_t *bl, *app;
    size_t bl_len, app_len;
    uint8_t table[MPOTA_PART_TABLE_MAX_LEN];
};

static void make_parts(uint16_t chip, bool ota, struct parts_buf *pb, struct mpota_flash_parts *p)
{
    struct mpota_bootloader_spec bs = {.chip_id = chip, .version = 1, .seed = 2};
    assert_int_equal(mpota_image_build_bootloader(&bs, &pb->bl, &pb->bl_len, NULL), 0);
    struct mpota_app_spec as = {.chip_id = chip, .total_size = 0x48000, .seed = 3};
    assert_int_equal(mpota_image_build_app(&as, &pb->app, &pb->app_len, NULL), 0);
    make_table(ota, pb->table);
    memset(p, 0, sizeof(*p));
    p->chip_id = chip;
    p->bootloader = pb->bl;
    p->bootloader_len = pb->bl_len;
    p->table = pb->table;
    p->table_len = sizeof(pb->table);
    p->app = pb->app;
    p->app_len = pb->app_len;
    p->app_addr = 0x10000;
}

static void free_parts(struct parts_buf *pb)
{
    free(pb->bl);
    free(pb->app);
}

static int head(const uint8_t *b, size_t len, uint16_t chip, struct mpota_diag *d)
{
    memset(d, 0, sizeof(*d));
    return mpota_image_check_head(b, len, chip, d);
}

// ---------------------------------------------------------------- kinds

static void test_app_images(void **state)
{
    (void)state;
    skip_without_testdata();
    struct mpota_image_ident id;
    struct mpota_diag d;
    size_t len;
    uint8_t *img = mpota_host_read_file(testdata_path("images/app-v1.0.1.bin"), &len);
    assert_non_null(img);
    mpota_image_identify(img, len, &id);
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_APP);
    assert_string_equal(mpota_image_kind_name(id.kind), "app");
    assert_int_equal(id.chip, MPOTA_CHIP_ESP32);
    assert_int_equal(id.app_offset, 0);
    assert_int_equal(id.table_offset, MPOTA_IMAGE_NO_OFFSET);
    assert_int_equal(id.bootloader_offset, MPOTA_IMAGE_NO_OFFSET);
    assert_false(id.head_only);
    // Every head of an app passes the pre-flight check.
    for (size_t l = 1; l <= 0x400; l++) {
        if (head(img, l, MPOTA_CHIP_ESP32, &d) != 0) {
            fail_msg("app head of %zu bytes refused: %s", l, mpota_err_name(d.err));
        }
        mpota_image_identify(img, l, &id);
        assert_int_equal(id.kind, MPOTA_IMAGE_KIND_APP);
        assert_int_equal(id.head_only, l < 0x20);  // before the first segment header
    }
    assert_int_equal(head(img, len, MPOTA_CHIP_ANY, &d), 0);
    free(img);

    // An S3 app when an ESP32 is expected: refused from the header on.
    struct mpota_app_spec s = {.chip_id = MPOTA_CHIP_ESP32S3, .total_size = 0x48000};
    assert_int_equal(mpota_image_build_app(&s, &img, &len, NULL), 0);
    mpota_image_identify(img, len, &id);
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_APP);
    assert_int_equal(id.chip, MPOTA_CHIP_ESP32S3);
    assert_int_equal(head(img, 23, MPOTA_CHIP_ESP32, &d), 0);  // chip id not complete yet
    for (size_t l = 24; l < 0x200; l += 13) {
        assert_int_equal(head(img, l, MPOTA_CHIP_ESP32, &d), MPOTA_ERR_IMAGE_CHIP);
        assert_int_equal(d.expected, MPOTA_CHIP_ESP32);
        assert_int_equal(d.actual, MPOTA_CHIP_ESP32S3);
    }
    assert_int_equal(head(img, len, MPOTA_CHIP_ESP32S3, &d), 0);
    free(img);

    // An old app without a description is still an app.
    struct mpota_app_spec old = {.chip_id = MPOTA_CHIP_ESP32, .total_size = 0x48000,
                                 .no_app_desc = true};
    assert_int_equal(mpota_image_build_app(&old, &img, &len, NULL), 0);
    mpota_image_identify(img, len, &id);
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_APP);
    assert_int_equal(head(img, 0x1000, MPOTA_CHIP_ESP32, &d), 0);
    free(img);
}

static void test_bootloader_images(void **state)
{
    (void)state;
    const uint16_t chips[] = {MPOTA_CHIP_ESP32, MPOTA_CHIP_ESP32S2, MPOTA_CHIP_ESP32S3,
                              MPOTA_CHIP_ESP32C3};
    for (int i = 0; i < 4; i++) {
        for (int with_desc = 0; with_desc < 2; with_desc++) {
            struct mpota_bootloader_spec bs = {.chip_id = chips[i], .seed = 9,
                                               .no_desc = !with_desc};
            uint8_t *bl;
            size_t len;
            assert_int_equal(mpota_image_build_bootloader(&bs, &bl, &len, NULL), 0);
            struct mpota_image_ident id;
            mpota_image_identify(bl, len, &id);
            assert_int_equal(id.kind, MPOTA_IMAGE_KIND_BOOTLOADER);
            assert_string_equal(mpota_image_kind_name(id.kind), "bootloader");
            assert_int_equal(id.chip, chips[i]);
            assert_int_equal(id.bootloader_offset, 0);
            assert_false(id.head_only);  // the file ends where the image ends
            struct mpota_diag d;
            assert_int_equal(head(bl, len, chips[i], &d), MPOTA_ERR_IMAGE_IS_BOOTLOADER);
            // Its first bytes alone could be a combined firmware.
            uint32_t base = mpota_chip_bootloader_offset(chips[i]);
            for (size_t l = 0x20; l < len; l += 0x1F3) {
                mpota_image_identify(bl, l, &id);
                assert_int_equal(id.kind, MPOTA_IMAGE_KIND_BOOTLOADER);
                assert_true(id.head_only);
                assert_int_equal(head(bl, l, chips[i], &d), MPOTA_ERR_IMAGE_IS_COMBINED);
                assert_int_equal(d.expected, 0x10000 - base);
            }
            free(bl);
        }
    }
}

static void test_partition_tables(void **state)
{
    (void)state;
    skip_without_testdata();
    static const char *files[] = {
        "partition-tables/esp32s3-ota-vfs.bin",
        "partition-tables/esp-idf/idf-test-partitions.bin",
        "partition-tables/micropython/partitions-4MiB-ota.bin",
        "partition-tables/micropython/partitions-2MiB.bin",
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len;
        uint8_t *t = mpota_host_read_file(testdata_path(files[i]), &len);
        assert_non_null(t);
        struct mpota_image_ident id;
        mpota_image_identify(t, len, &id);
        assert_int_equal(id.kind, MPOTA_IMAGE_KIND_PART_TABLE);
        assert_string_equal(mpota_image_kind_name(id.kind), "partition-table");
        assert_int_equal(id.table_offset, 0);
        struct mpota_diag d;
        assert_int_equal(head(t, len, MPOTA_CHIP_ESP32, &d), MPOTA_ERR_IMAGE_IS_TABLE);
        assert_int_equal(head(t, 2, MPOTA_CHIP_ESP32, &d), MPOTA_ERR_IMAGE_IS_TABLE);
        free(t);
    }
}

static uint32_t crc_of(uint32_t seq)
{
    // The otadata CRC (SPEC §3.3), bit by bit, for building test entries.
    uint32_t r = 0;
    for (int i = 0; i < 4; i++) {
        r ^= (seq >> (8 * i)) & 0xFFu;
        for (int k = 0; k < 8; k++) {
            r = (r >> 1) ^ ((r & 1u) ? 0xEDB88320u : 0u);
        }
    }
    return ~r;
}

static void put_entry(uint8_t *e, uint32_t seq, uint32_t state, uint32_t crc)
{
    memset(e, 0xFF, 32);
    for (int i = 0; i < 4; i++) {
        e[i] = (uint8_t)(seq >> (8 * i));
        e[24 + i] = (uint8_t)(state >> (8 * i));
        e[28 + i] = (uint8_t)(crc >> (8 * i));
    }
}

static void test_otadata(void **state)
{
    (void)state;
    skip_without_testdata();
    assert_int_equal(crc_of(1), 0x4743989Au);  // SPEC §3.3 vector
    struct mpota_image_ident id;
    struct mpota_diag d;
    size_t len;
    uint8_t *b = mpota_host_read_file(testdata_path("otadata/entry-seq1-undefined.bin"), &len);
    assert_non_null(b);
    mpota_image_identify(b, len, &id);
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_OTADATA);
    assert_string_equal(mpota_image_kind_name(id.kind), "otadata");
    assert_int_equal(head(b, len, MPOTA_CHIP_ESP32, &d), MPOTA_ERR_IMAGE_IS_OTADATA);
    free(b);

    b = mpota_host_read_file(testdata_path("otadata/blank-initial.bin"), &len);
    assert_non_null(b);
    mpota_image_identify(b, len, &id);
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_OTADATA);
    mpota_image_identify(b, 4096, &id);  // blank, but not the 8 KiB partition
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_UNKNOWN);
    free(b);

    // The simple rule wants a valid CRC: a bad-CRC entry is not recognised.
    b = mpota_host_read_file(testdata_path("otadata/entry-seq1-badcrc.bin"), &len);
    assert_non_null(b);
    mpota_image_identify(b, len, &id);
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_UNKNOWN);
    free(b);

    // Two entries, one per sector, as a partition read gives them.
    uint8_t two[0x2000];
    memset(two, 0xFF, sizeof(two));
    put_entry(two, 3, 0, crc_of(3));
    put_entry(two + 0x1000, 4, 2, crc_of(4));
    mpota_image_identify(two, sizeof(two), &id);
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_OTADATA);
    put_entry(two, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF);  // only the second in use
    mpota_image_identify(two, sizeof(two), &id);
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_OTADATA);
    two[0x1800] = 0;  // junk in the rest of a sector
    mpota_image_identify(two, sizeof(two), &id);
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_UNKNOWN);
}

static void test_combined_firmware(void **state)
{
    (void)state;
    const uint16_t chips[] = {MPOTA_CHIP_ESP32, MPOTA_CHIP_ESP32S2, MPOTA_CHIP_ESP32S3,
                              MPOTA_CHIP_ESP32C3};
    for (int i = 0; i < 4; i++) {
        for (int ota = 0; ota < 2; ota++) {
            struct parts_buf pb;
            struct mpota_flash_parts p;
            make_parts(chips[i], ota, &pb, &p);
            uint8_t *c;
            size_t len;
            assert_int_equal(mpota_image_build_combined(&p, &c, &len), 0);
            uint32_t base = mpota_chip_bootloader_offset(chips[i]);
            struct mpota_image_ident id;
            mpota_image_identify(c, len, &id);
            assert_int_equal(id.kind, MPOTA_IMAGE_KIND_COMBINED);
            assert_string_equal(mpota_image_kind_name(id.kind), "combined");
            assert_int_equal(id.chip, chips[i]);
            assert_int_equal(id.bootloader_offset, 0);
            assert_int_equal(id.table_offset, 0x8000 - base);
            assert_int_equal(id.app_offset, 0x10000 - base);
            assert_false(id.head_only);
            if (chips[i] == MPOTA_CHIP_ESP32) {
                // What micropython.org ships for ESP32: table 0x7000, app 0xF000.
                assert_int_equal(id.table_offset, 0x7000);
                assert_int_equal(id.app_offset, 0xF000);
            }
            // The colleague's parser agrees there is a table there.
            static struct mpota_table t;
            assert_int_equal(mpota_part_table_parse(c + id.table_offset, MPOTA_PART_TABLE_MAX_LEN,
                                                    0, &t, NULL),
                             0);
            // The app found inside is the app that went in.
            assert_memory_equal(c + id.app_offset, pb.app, pb.app_len);
            assert_int_equal(mpota_image_parse(c + id.app_offset, len - id.app_offset, chips[i],
                                               NULL, NULL),
                             0);
            // Pre-flight: refused from its first 32 bytes on, pointing at the app.
            struct mpota_diag d;
            for (size_t l = 0x20; l <= len; l += (l < 0x8100 ? 0x3F : 0x2345)) {
                if (head(c, l, chips[i], &d) != MPOTA_ERR_IMAGE_IS_COMBINED ||
                    d.expected != 0x10000 - base) {
                    fail_msg("chip %u head %zu: %s expected 0x%x", chips[i], l,
                             mpota_err_name(d.err), d.expected);
                }
            }
            assert_int_equal(head(c, len, chips[i], &d), MPOTA_ERR_IMAGE_IS_COMBINED);
            char text[300];
            mpota_diag_format(&d, text, sizeof(text));
            assert_non_null(strstr(text, base ? "0xF000" : "0x10000"));
            // The wrong chip is said first.
            uint16_t other = chips[i] == MPOTA_CHIP_ESP32 ? MPOTA_CHIP_ESP32C3 : MPOTA_CHIP_ESP32;
            assert_int_equal(head(c, len, other, &d), MPOTA_ERR_IMAGE_CHIP);
            free(c);
            free_parts(&pb);
        }
    }
}

static void test_flash_dumps(void **state)
{
    (void)state;
    const uint16_t chips[] = {MPOTA_CHIP_ESP32, MPOTA_CHIP_ESP32S3};
    for (int i = 0; i < 2; i++) {
        struct parts_buf pb;
        struct mpota_flash_parts p;
        make_parts(chips[i], true, &pb, &p);
        uint8_t od[0x2000];
        memset(od, 0xFF, sizeof(od));
        put_entry(od, 2, 2, crc_of(2));
        p.otadata = od;
        p.otadata_len = sizeof(od);
        p.otadata_addr = 0xd000;
        // The running app is in ota_1; ota_0 was erased.
        p.app_addr = 0x190000;
        uint8_t *dump;
        size_t len;
        assert_int_equal(mpota_image_build_flash_dump(&p, 0x400000, &dump, &len), 0);
        uint32_t base = mpota_chip_bootloader_offset(chips[i]);
        struct mpota_image_ident id;
        mpota_image_identify(dump, len, &id);
        assert_int_equal(id.kind, MPOTA_IMAGE_KIND_FLASH_DUMP);
        assert_string_equal(mpota_image_kind_name(id.kind), "flash-dump");
        assert_int_equal(id.chip, chips[i]);
        assert_int_equal(id.bootloader_offset, base);
        assert_int_equal(id.table_offset, 0x8000);
        assert_int_equal(id.app_offset, 0x190000);  // the first app partition holding an image
        struct mpota_diag d;
        assert_int_equal(head(dump, len, chips[i], &d), MPOTA_ERR_IMAGE_IS_COMBINED);
        assert_int_equal(d.expected, 0x190000);
        if (base) {
            // ESP32: erased first sector, then the bootloader; a head that has
            // not reached the table yet is still recognised.
            for (size_t l = base + 0x20; l < 0x8000; l += 0x777) {
                mpota_image_identify(dump, l, &id);
                assert_int_equal(id.kind, MPOTA_IMAGE_KIND_FLASH_DUMP);
                assert_true(id.head_only);
                assert_int_equal(head(dump, l, chips[i], &d), MPOTA_ERR_IMAGE_IS_COMBINED);
            }
            // Only erased bytes so far: not an app either.
            assert_int_equal(head(dump, 0x800, chips[i], &d), MPOTA_ERR_IMAGE_MAGIC);
            assert_int_equal(d.actual, 0xFF);
        }
        free(dump);
        free_parts(&pb);
    }
}

static void test_unknown_input(void **state)
{
    (void)state;
    struct mpota_image_ident id;
    struct mpota_diag d;
    uint8_t junk[4096];
    uint64_t rng = 5;
    for (size_t i = 0; i < sizeof(junk); i++) {
        junk[i] = (uint8_t)rng_next(&rng);
    }
    junk[0] = 0x7F;  // not 0xE9, not 0xAA
    mpota_image_identify(junk, sizeof(junk), &id);
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_UNKNOWN);
    assert_string_equal(mpota_image_kind_name(id.kind), "unknown");
    assert_int_equal(head(junk, sizeof(junk), MPOTA_CHIP_ESP32, &d), MPOTA_ERR_IMAGE_MAGIC);
    assert_int_equal(d.actual, 0x7F);
    assert_int_equal(d.offset, 0);

    const char *text = "<!DOCTYPE html><html>404 Not Found</html>";
    mpota_image_identify((const uint8_t *)text, strlen(text), &id);
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_UNKNOWN);
    assert_int_equal(head((const uint8_t *)text, strlen(text), MPOTA_CHIP_ESP32, &d),
                     MPOTA_ERR_IMAGE_MAGIC);

    // 0xE9 with a broken header: the parser's reason.
    uint8_t e9[64] = {0xE9, 0};  // zero segments
    mpota_image_identify(e9, sizeof(e9), &id);
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_UNKNOWN);
    assert_int_equal(head(e9, sizeof(e9), MPOTA_CHIP_ESP32, &d), MPOTA_ERR_IMAGE_SEGMENT_COUNT);

    // Nothing yet: nothing to say.
    assert_int_equal(head(junk, 0, MPOTA_CHIP_ESP32, &d), 0);
    mpota_image_identify(junk, 0, &id);
    assert_int_equal(id.kind, MPOTA_IMAGE_KIND_UNKNOWN);
    assert_true(id.head_only);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_app_images),
        cmocka_unit_test(test_bootloader_images),
        cmocka_unit_test(test_partition_tables),
        cmocka_unit_test(test_otadata),
        cmocka_unit_test(test_combined_firmware),
        cmocka_unit_test(test_flash_dumps),
        cmocka_unit_test(test_unknown_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
