// The image builder (src/host/image_build.c): byte-for-byte reproduction of
// the esptool-made reference images from their sections, large images of
// every supported chip that the parser and the mapped-segment rule accept,
// and round trips of random specs.
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chip_names.h"
#include "host_file.h"
#include "image_build.h"
#include "mpota/image.h"
#include "testutil.h"

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

// Rebuilds a reference image from the contents of its ELF sections, which
// the test takes out of the reference .bin itself (app.S/app.ld say which
// section is where): .flash.appdesc (256 B) + .flash.rodata (23 B, padded by
// the builder) merged into the DROM segment, .flash.text, .dram0.data,
// .iram0.text. The padding segment is not given: the builder must recreate it.
static void rebuild_reference(const char *rel, bool patch_sha)
{
    skip_without_testdata();
    size_t len;
    uint8_t *ref = mpota_host_read_file(testdata_path(rel), &len);
    assert_non_null(ref);

    struct mpota_image_info info;
    assert_int_equal(mpota_image_parse(ref, len, MPOTA_CHIP_ESP32, &info, NULL), 0);
    const struct mpota_image_segment *s = info.segments;
    const uint8_t *drom = ref + s[0].file_off + 8;
    uint8_t appdesc[256];
    memcpy(appdesc, drom, 256);
    uint8_t elf_sha[32];
    memcpy(elf_sha, appdesc + 144, 32);
    if (patch_sha) {
        memset(appdesc + 144, 0, 32);  // as in the ELF, before elf2image patches it
    }
    assert_int_equal(s[0].data_len, 256 + 24);
    assert_string_equal((const char *)drom + 256, "hello from DROM rodata");

    struct mpota_image_section secs[] = {
        {s[0].load_addr, appdesc, 256, ".flash.appdesc"},
        {s[0].load_addr + 256, drom + 256, 23, ".flash.rodata"},
        {s[4].load_addr, ref + s[4].file_off + 8, s[4].data_len, ".flash.text"},
        {s[1].load_addr, ref + s[1].file_off + 8, s[1].data_len, ".dram0.data"},
        {s[2].load_addr, ref + s[2].file_off + 8, s[2].data_len, ".iram0.text"},
    };
    struct mpota_image_build_opts o;
    mpota_image_build_defaults(&o, MPOTA_CHIP_ESP32);
    o.entry_addr = 0x40080000;  // ENTRY(call_start_cpu0), the start of .iram0.text
    if (patch_sha) {
        o.elf_sha256 = elf_sha;
        o.elf_sha256_offset = MPOTA_APP_DESC_ELF_SHA_OFFSET;
    }
    uint8_t *out;
    size_t out_len;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_image_build(&o, secs, 5, &out, &out_len, &d), 0);
    assert_int_equal(out_len, len);
    for (size_t i = 0; i < len; i++) {
        if (out[i] != ref[i]) {
            fail_msg("%s: first difference at 0x%zx: 0x%02x, want 0x%02x", rel, i, out[i], ref[i]);
        }
    }
    free(out);
    free(ref);
}

static void test_reproduces_reference_v1(void **state)
{
    (void)state;
    rebuild_reference("images/app-v1.0.1.bin", true);
    rebuild_reference("images/app-v1.0.1.bin", false);
}

static void test_reproduces_reference_v2(void **state)
{
    (void)state;
    rebuild_reference("images/app-v2.0.0-ota.bin", true);
}

// Same sections, written from app.S by hand: no reference bytes needed
// except for comparing.
static void test_reproduces_reference_from_source(void **state)
{
    (void)state;
    skip_without_testdata();
    size_t len;
    uint8_t *ref = mpota_host_read_file(testdata_path("images/app-v2.0.0-ota.bin"), &len);
    assert_non_null(ref);
    struct mpota_app_desc a = {0};
    a.magic_word = MPOTA_APP_DESC_MAGIC;
    strcpy(a.version, "v2.0.0-ota");
    strcpy(a.project_name, "ota-test-app");
    strcpy(a.time, "12:34:56");
    strcpy(a.date, "Jan  1 2025");
    strcpy(a.idf_ver, "v5.2.2");
    a.max_efuse_blk_rev_full = 0xFFFF;
    uint8_t appdesc[256];
    mpota_app_desc_encode(&a, appdesc);
    static const char rodata[] = "hello from DROM rodata";  // .ascii "...\0", 23 bytes
    uint8_t irom[64], dram[8] = {0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55}, iram[32];
    memset(irom, 0xA5, sizeof(irom));
    memset(iram, 0x5A, sizeof(iram));
    // ELF SHA-256 from the esptool output for this image.
    static const char sha_hex[] = "9e44476cbc7e5f333757fa8c3f5eddfeafd69f6fa4ab5d262fd085e469dc0fa6";
    uint8_t sha[32];
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(sha_hex + 2 * i, "%2x", &v);
        sha[i] = (uint8_t)v;
    }
    struct mpota_image_section secs[] = {
        {0x3F400020, appdesc, 256, ".flash.appdesc"},
        {0x3F400120, (const uint8_t *)rodata, 23, ".flash.rodata"},
        {0x400D0020, irom, 64, ".flash.text"},
        {0x3FFB0000, dram, 8, ".dram0.data"},
        {0x40080000, iram, 32, ".iram0.text"},
    };
    struct mpota_image_build_opts o;
    mpota_image_build_defaults(&o, MPOTA_CHIP_ESP32);
    o.entry_addr = 0x40080000;
    o.elf_sha256 = sha;
    o.elf_sha256_offset = 0xB0;
    uint8_t *out;
    size_t out_len;
    assert_int_equal(mpota_image_build(&o, secs, 5, &out, &out_len, NULL), 0);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, ref, len);
    free(out);
    free(ref);
}

// Independent checks of an image's layout, straight from the bytes.
static void check_layout(const uint8_t *img, size_t len, uint16_t chip)
{
    assert_int_equal(img[0], 0xE9);
    unsigned count = img[1];
    assert_true(count >= 1 && count <= 16);
    assert_int_equal(img[12] | img[13] << 8, chip);
    size_t off = 24;
    uint8_t x = 0xEF;
    for (unsigned i = 0; i < count; i++) {
        uint32_t load = le32(img + off), n = le32(img + off + 4);
        assert_int_equal(n % 4, 0);
        if (mpota_chip_is_mapped_addr(chip, load)) {
            // SPEC §4.9 / §4.10: data offset == load address mod 64 KiB.
            assert_int_equal((off + 8) % 0x10000, load % 0x10000);
        }
        for (uint32_t k = 0; k < n; k++) {
            x ^= img[off + 8 + k];
        }
        off += 8 + n;
    }
    size_t cks = ((off + 16) & ~(size_t)15) - 1;
    for (size_t k = off; k < cks; k++) {
        assert_int_equal(img[k], 0);
    }
    assert_int_equal(img[cks], x);
    assert_int_equal(len, cks + 1 + (img[23] ? 32 : 0));
}

static void test_large_random_images(void **state)
{
    (void)state;
    const uint16_t chips[] = {MPOTA_CHIP_ESP32, MPOTA_CHIP_ESP32S3, MPOTA_CHIP_ESP32C3};
    uint64_t rng = 42;
    for (int t = 0; t < 6; t++) {
        uint16_t chip = chips[t % 3];
        uint32_t size = (0x100000u + rng_below(&rng, 0x100000u)) & ~15u;  // 1.0 - 2.0 MB
        char version[32];
        snprintf(version, sizeof(version), "v1.%u.%u", rng_below(&rng, 30), t);
        struct mpota_app_spec s = {.chip_id = chip, .total_size = size, .seed = rng_next(&rng),
                                   .version = version, .secure_version = (uint32_t)t};
        uint8_t *img;
        size_t len;
        assert_int_equal(mpota_image_build_app(&s, &img, &len, NULL), 0);
        assert_int_equal(len, size);
        check_layout(img, len, chip);
        struct mpota_image_info info;
        struct mpota_diag d = {0};
        assert_int_equal(mpota_image_parse(img, len, chip, &info, &d), 0);
        assert_string_equal(info.app_desc.version, version);
        assert_string_equal(info.app_desc.project_name, "micropython");
        assert_int_equal(info.app_desc.secure_version, (uint32_t)t);
        // Real MicroPython builds have 5-9 segments with one IROM and one DROM.
        assert_true(info.segments_seen >= 5 && info.segments_seen <= 9);
        unsigned mapped = 0;
        for (unsigned i = 0; i < info.segments_seen; i++) {
            mapped += mpota_chip_is_mapped_addr(chip, info.segments[i].load_addr);
        }
        assert_int_equal(mapped, 2);
        assert_true(mpota_chip_is_mapped_addr(chip, info.segments[0].load_addr));
        // Deterministic.
        uint8_t *again;
        size_t again_len;
        assert_int_equal(mpota_image_build_app(&s, &again, &again_len, NULL), 0);
        assert_int_equal(again_len, len);
        assert_memory_equal(again, img, len);
        free(again);
        free(img);
    }
}

// Build -> parse gives back what was asked for, over random specs and sizes
// (from tiny to 4 MiB).
static void test_round_trip_property(void **state)
{
    (void)state;
    const uint16_t chips[] = {MPOTA_CHIP_ESP32, MPOTA_CHIP_ESP32S2, MPOTA_CHIP_ESP32S3,
                              MPOTA_CHIP_ESP32C3};
    uint64_t rng = 7;
    for (int t = 0; t < 60; t++) {
        struct mpota_app_spec s = {0};
        s.chip_id = chips[rng_below(&rng, 4)];
        uint32_t pick = rng_below(&rng, 10);
        s.total_size = pick == 0   ? 0x400000u
                       : pick < 4 ? (0x200u + rng_below(&rng, 0x40000u)) & ~15u
                                   : (0x40000u + rng_below(&rng, 0x200000u)) & ~15u;
        char ver[33], proj[33], idf[33];
        // Up to the full field width: a 32-byte string has no NUL on flash.
        unsigned vl = 1 + rng_below(&rng, 32);
        for (unsigned i = 0; i < vl; i++) {
            ver[i] = (char)('a' + rng_below(&rng, 26));
        }
        ver[vl] = 0;
        snprintf(proj, sizeof(proj), "proj%u", t);
        snprintf(idf, sizeof(idf), "v5.%u.%u", rng_below(&rng, 6), rng_below(&rng, 5));
        s.version = ver;
        s.project_name = proj;
        s.idf_ver = idf;
        s.secure_version = rng_below(&rng, 100);
        s.seed = rng_next(&rng);
        s.no_hash = rng_below(&rng, 4) == 0;
        uint8_t sha[32];
        bool given = rng_below(&rng, 2);
        if (given) {
            for (int i = 0; i < 32; i++) {
                sha[i] = (uint8_t)rng_next(&rng);
            }
            s.elf_sha256 = sha;
        }
        uint8_t *img;
        size_t len;
        struct mpota_diag d = {0};
        assert_int_equal(mpota_image_build_app(&s, &img, &len, &d), 0);
        assert_int_equal(len, s.total_size);
        check_layout(img, len, s.chip_id);
        struct mpota_image_info info;
        assert_int_equal(mpota_image_parse(img, len, s.chip_id, &info, &d), 0);
        assert_int_equal(info.header.chip_id, s.chip_id);
        assert_int_equal(info.header.hash_appended, s.no_hash ? 0 : 1);
        assert_true(info.app_desc_present);
        assert_string_equal(info.app_desc.version, ver);
        assert_string_equal(info.app_desc.project_name, proj);
        assert_string_equal(info.app_desc.idf_ver, idf);
        assert_int_equal(info.app_desc.secure_version, s.secure_version);
        if (given) {
            assert_memory_equal(info.app_desc.app_elf_sha256, sha, 32);
        } else {
            static const uint8_t zero[32];
            assert_memory_not_equal(info.app_desc.app_elf_sha256, zero, 32);
        }
        free(img);
    }
}

static void test_app_spec_limits(void **state)
{
    (void)state;
    uint8_t *img = NULL;
    size_t len;
    struct mpota_app_spec s = {.chip_id = MPOTA_CHIP_ESP32, .total_size = 0x10008};
    assert_int_equal(mpota_image_build_app(&s, &img, &len, NULL), MPOTA_ERR_INVALID_ARG);
    s.total_size = 0x400010;
    assert_int_equal(mpota_image_build_app(&s, &img, &len, NULL), MPOTA_ERR_INVALID_ARG);
    s.total_size = 0x10000;
    s.chip_id = MPOTA_CHIP_ESP32C6;  // no memory map here
    assert_int_equal(mpota_image_build_app(&s, &img, &len, NULL), MPOTA_ERR_INVALID_ARG);
    // Boundary sizes, every chip: exact and valid.
    const uint16_t chips[] = {MPOTA_CHIP_ESP32, MPOTA_CHIP_ESP32S2, MPOTA_CHIP_ESP32S3,
                              MPOTA_CHIP_ESP32C3};
    const uint32_t sizes[] = {0x200, 0x210, 0x3FFF0, 0x40000, 0x40010, 0x400000};
    for (int c = 0; c < 4; c++) {
        for (int k = 0; k < 6; k++) {
            struct mpota_app_spec e = {.chip_id = chips[c], .total_size = sizes[k]};
            assert_int_equal(mpota_image_build_app(&e, &img, &len, NULL), 0);
            assert_int_equal(len, sizes[k]);
            assert_int_equal(mpota_image_parse(img, len, chips[c], NULL, NULL), 0);
            free(img);
        }
    }
    // Different seeds, different bytes; no description on request.
    s.chip_id = MPOTA_CHIP_ESP32;
    s.no_app_desc = true;
    uint8_t *a, *b;
    size_t la, lb;
    assert_int_equal(mpota_image_build_app(&s, &a, &la, NULL), 0);
    s.seed = 99;
    assert_int_equal(mpota_image_build_app(&s, &b, &lb, NULL), 0);
    assert_int_equal(la, lb);
    assert_memory_not_equal(a, b, la);
    struct mpota_image_info info;
    assert_int_equal(mpota_image_parse(a, la, MPOTA_CHIP_ESP32, &info, NULL), 0);
    assert_false(info.app_desc_present);
    free(a);
    free(b);
}

static void test_layout_errors_and_rules(void **state)
{
    (void)state;
    uint8_t data[64] = {1, 2, 3};
    struct mpota_image_build_opts o;
    mpota_image_build_defaults(&o, MPOTA_CHIP_ESP32);
    uint8_t *out;
    size_t len;
    struct mpota_diag d = {0};

    // Two flash segments in one 64 KiB page.
    struct mpota_image_section same_page[] = {
        {0x400D0020, data, 16, NULL},
        {0x400D8000, data, 16, NULL},
    };
    assert_int_equal(mpota_image_build(&o, same_page, 2, &out, &len, &d),
                     MPOTA_ERR_IMAGE_SEGMENT_MAP);

    // 17 segments.
    struct mpota_image_section many[17];
    for (int i = 0; i < 17; i++) {
        many[i] = (struct mpota_image_section){0x3FFB0000u + 0x100u * (uint32_t)i, data, 8, NULL};
    }
    assert_int_equal(mpota_image_build(&o, many, 17, &out, &len, &d),
                     MPOTA_ERR_IMAGE_SEGMENT_COUNT);
    // ... unless they touch: adjacent sections of one memory type merge.
    for (int i = 0; i < 17; i++) {
        many[i].load_addr = 0x3FFB0000u + 8u * (uint32_t)i;
    }
    assert_int_equal(mpota_image_build(&o, many, 17, &out, &len, &d), 0);
    assert_int_equal(out[1], 1);
    assert_int_equal(le32(out + 28), 17 * 8);
    free(out);

    // The ELF SHA-256 goes only onto zero bytes.
    uint8_t desc[256];
    memset(desc, 0x11, sizeof(desc));
    uint8_t sha[32] = {0};
    struct mpota_image_section one[] = {{0x3F400020, desc, 256, ".flash.appdesc"}};
    o.elf_sha256 = sha;
    o.elf_sha256_offset = 0xB0;
    assert_int_equal(mpota_image_build(&o, one, 1, &out, &len, &d), MPOTA_ERR_INVALID_ARG);
    o.elf_sha256 = NULL;

    // ESP32's 0x24 rule: a mapped segment ending just past a page boundary
    // is zero-extended to 0x24 past it; other chips are left alone.
    uint8_t *big = calloc(0x10000, 1);
    struct mpota_image_section edge[] = {{0x3F400020, big, 0x10000 - 0x20 - 8 + 8, NULL}};
    // data runs from file 0x20 to 0x10008: 8 bytes past the page boundary.
    assert_int_equal(mpota_image_build(&o, edge, 1, &out, &len, &d), 0);
    assert_int_equal(le32(out + 28), 0x10000 - 0x20 + 0x24);
    free(out);
    mpota_image_build_defaults(&o, MPOTA_CHIP_ESP32S3);
    edge[0].load_addr = 0x3C000020;
    assert_int_equal(mpota_image_build(&o, edge, 1, &out, &len, &d), 0);
    assert_int_equal(le32(out + 28), 0x10000 - 0x20);
    free(out);
    free(big);

    // With no RAM to split, the gap before a mapped segment is a padding
    // segment at load address 0.
    mpota_image_build_defaults(&o, MPOTA_CHIP_ESP32);
    struct mpota_image_section flash_only[] = {
        {0x3F400020, data, 64, ".flash.appdesc"},
        {0x400D0020, data, 64, ".flash.text"},
    };
    assert_int_equal(mpota_image_build(&o, flash_only, 2, &out, &len, &d), 0);
    assert_int_equal(out[1], 3);
    assert_int_equal(le32(out + 24 + 8 + 64), 0);  // padding segment's load address
    struct mpota_image_info info;
    assert_int_equal(mpota_image_parse(out, len, MPOTA_CHIP_ESP32, &info, NULL), 0);
    assert_int_equal(info.segments[2].file_off + 8, 0x10020);
    free(out);
}

static void test_bootloader_and_flash_images(void **state)
{
    (void)state;
    const uint16_t chips[] = {MPOTA_CHIP_ESP32, MPOTA_CHIP_ESP32S2, MPOTA_CHIP_ESP32S3,
                              MPOTA_CHIP_ESP32C3};
    for (int i = 0; i < 4; i++) {
        struct mpota_bootloader_spec bs = {.chip_id = chips[i], .version = 3, .seed = 5};
        uint8_t *bl;
        size_t bl_len;
        assert_int_equal(mpota_image_build_bootloader(&bs, &bl, &bl_len, NULL), 0);
        struct mpota_image_info info;
        assert_int_equal(mpota_image_parse(bl, bl_len, chips[i], &info, NULL), 0);
        assert_false(info.app_desc_present);
        assert_true(info.bootloader_desc_present);
        assert_int_equal(info.bootloader_desc.version, 3);
        assert_string_equal(info.bootloader_desc.idf_ver, "v5.2.2");
        assert_string_equal(info.bootloader_desc.date_time, "Jan  1 2025 12:34:56");
        for (unsigned s = 0; s < info.segments_seen; s++) {
            assert_false(mpota_chip_is_mapped_addr(chips[i], info.segments[s].load_addr));
        }
        const char *types[8];
        size_t nt = mpota_chip_memory_types(chips[i], info.segments[0].load_addr, types, 8);
        bool dram = false;
        for (size_t k = 0; k < nt && k < 8; k++) {
            dram |= strcmp(types[k], "DRAM") == 0;
        }
        assert_true(dram);

        struct mpota_app_spec as = {.chip_id = chips[i], .total_size = 0x60000, .seed = 1};
        uint8_t *app;
        size_t app_len;
        assert_int_equal(mpota_image_build_app(&as, &app, &app_len, NULL), 0);
        uint8_t table[0xC00];
        memset(table, 0xFF, sizeof(table));
        table[0] = 0xAA;
        table[1] = 0x50;
        struct mpota_flash_parts p = {.chip_id = chips[i], .bootloader = bl,
                                      .bootloader_len = bl_len, .table = table,
                                      .table_len = sizeof(table), .app = app,
                                      .app_len = app_len, .app_addr = 0x10000};
        uint8_t *comb;
        size_t comb_len;
        assert_int_equal(mpota_image_build_combined(&p, &comb, &comb_len), 0);
        uint32_t base = mpota_chip_bootloader_offset(chips[i]);
        assert_int_equal(comb_len, 0x10000 - base + app_len);
        assert_memory_equal(comb, bl, bl_len);
        assert_int_equal(comb[bl_len], 0xFF);
        assert_memory_equal(comb + 0x8000 - base, table, sizeof(table));
        assert_memory_equal(comb + 0x10000 - base, app, app_len);
        free(comb);

        uint8_t *dump;
        size_t dump_len;
        assert_int_equal(mpota_image_build_flash_dump(&p, 0x400000, &dump, &dump_len), 0);
        assert_int_equal(dump_len, 0x400000);
        assert_memory_equal(dump + base, bl, bl_len);
        assert_memory_equal(dump + 0x10000, app, app_len);
        assert_int_equal(dump[0x3FFFFF], 0xFF);
        free(dump);
        // A part that does not fit is refused.
        assert_int_equal(mpota_image_build_flash_dump(&p, 0x20000, &dump, &dump_len),
                         MPOTA_ERR_INVALID_ARG);
        free(app);
        free(bl);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reproduces_reference_v1),
        cmocka_unit_test(test_reproduces_reference_v2),
        cmocka_unit_test(test_reproduces_reference_from_source),
        cmocka_unit_test(test_large_random_images),
        cmocka_unit_test(test_round_trip_property),
        cmocka_unit_test(test_app_spec_limits),
        cmocka_unit_test(test_layout_errors_and_rules),
        cmocka_unit_test(test_bootloader_and_flash_images),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
