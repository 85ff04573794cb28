// The push parser (image_parse.c) and bootloader-style verification on flash
// (image_verify.c): every field of the reference images, any chunking, every
// truncation, byte flips with the error and offset each one must give, and
// verification of a slot on a RAM-backed flash.
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
#include "mpota/flash.h"
#include "mpota/image.h"
#include "testutil.h"

// ---------------------------------------------------------------- fixtures

struct ref {
    const char *file;
    uint8_t checksum;
    const char *hash_hex;
    const char *version;
    const char *elf_sha_hex;
};

// Values from shared/testdata/images/*.esptool-image-info.txt.
static const struct ref refs[] = {
    {"images/app-v1.0.1.bin", 0x60,
     "7754db300fac0c0a0ad440fc64a02d950f0a3d6a2de5d4798129a7802bd15d62", "v1.0.1",
     "67c353a889921e1a503d29858f5b4b74fdd5704d1d4ddda5a0492b06a5b7e673"},
    {"images/app-v2.0.0-ota.bin", 0x55,
     "8d9d2c8384c16426e8ea40bdc80e2e3d2171a26a7419ba3b3e4f9ca4bbbc84e9", "v2.0.0-ota",
     "9e44476cbc7e5f333757fa8c3f5eddfeafd69f6fa4ab5d262fd085e469dc0fa6"},
};

#define REF_LEN 65680u
#define REF_CHECKSUM_OFF 0x1006Fu
#define REF_HASH_OFF 0x10070u

struct seg_row {
    uint32_t len, load, file_off;
    const char *types;
};

static const struct seg_row ref_segs[5] = {
    {0x00118, 0x3f400020, 0x00000018, "DROM"},
    {0x00008, 0x3ffb0000, 0x00000138, "BYTE_ACCESSIBLE, DRAM"},
    {0x00020, 0x40080000, 0x00000148, "IRAM"},
    {0x0fea0, 0x00000000, 0x00000170, "PADDING"},
    {0x00040, 0x400d0020, 0x00010018, "IROM"},
};

static uint8_t *load_ref(int i, size_t *len)
{
    skip_without_testdata();
    uint8_t *b = mpota_host_read_file(testdata_path(refs[i].file), len);
    assert_non_null(b);
    assert_int_equal(*len, REF_LEN);
    return b;
}

#define LOAD_OR_SKIP(i, len) uint8_t *img = load_ref((i), &(len))

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", b[i]);
    }
}

static void join_types(uint16_t chip, uint32_t addr, char *out, size_t cap)
{
    const char *names[16];
    size_t n = mpota_chip_memory_types(chip, addr, names, 16);
    out[0] = '\0';
    for (size_t k = 0; k < n; k++) {
        if (k) {
            strncat(out, ", ", cap - strlen(out) - 1);
        }
        strncat(out, names[k], cap - strlen(out) - 1);
    }
}

// Parses with the given chunk sizes (cycled); returns finish()'s result.
static int parse_chunked(const uint8_t *b, size_t len, const size_t *chunks, size_t nchunks,
                         uint16_t chip, struct mpota_image_info *info, struct mpota_diag *d)
{
    mpota_image_parser_t p;
    mpota_image_parser_init(&p, chip, 0, info);
    size_t off = 0, k = 0;
    while (off < len) {
        size_t n = chunks[k++ % nchunks];
        if (n > len - off) {
            n = len - off;
        }
        (void)mpota_image_parser_push(&p, b + off, n, NULL);
        off += n;
    }
    return mpota_image_parser_finish(&p, d);
}

// ---------------------------------------------------------------- reference images

static void check_ref_info(int r, const struct mpota_image_info *info)
{
    const struct mpota_image_header *h = &info->header;
    assert_int_equal(h->magic, 0xE9);
    assert_int_equal(h->segment_count, 5);
    assert_int_equal(h->spi_mode, 2);
    assert_string_equal(mpota_chip_flash_mode_name(h->spi_mode), "DIO");
    assert_int_equal(h->spi_size, 2);
    assert_string_equal(mpota_chip_flash_size_name(h->spi_size), "4MB");
    assert_int_equal(h->spi_speed, 0);
    assert_string_equal(mpota_chip_flash_freq_name(h->chip_id, h->spi_speed), "40m");
    assert_int_equal(h->entry_addr, 0x40080000);
    assert_int_equal(h->wp_pin, 0xEE);
    assert_int_equal(h->spi_pin_drv[0] | h->spi_pin_drv[1] | h->spi_pin_drv[2], 0);
    assert_int_equal(h->chip_id, MPOTA_CHIP_ESP32);
    assert_int_equal(h->min_chip_rev, 0);
    assert_int_equal(h->min_chip_rev_full, 0);
    assert_int_equal(h->max_chip_rev_full, 399);
    assert_int_equal(h->hash_appended, 1);

    assert_int_equal(info->segments_seen, 5);
    for (int i = 0; i < 5; i++) {
        char types[128];
        assert_int_equal(info->segments[i].data_len, ref_segs[i].len);
        assert_int_equal(info->segments[i].load_addr, ref_segs[i].load);
        assert_int_equal(info->segments[i].file_off, ref_segs[i].file_off);
        join_types(h->chip_id, info->segments[i].load_addr, types, sizeof(types));
        assert_string_equal(types, ref_segs[i].types);
    }

    assert_int_equal(info->checksum_off, REF_CHECKSUM_OFF);
    assert_int_equal(info->checksum_stored, refs[r].checksum);
    assert_int_equal(info->checksum_calc, refs[r].checksum);
    assert_false(info->padding_nonzero);
    char hx[65];
    hex(info->hash_calc, 32, hx);
    assert_string_equal(hx, refs[r].hash_hex);
    assert_memory_equal(info->hash_calc, info->hash_stored, 32);

    assert_true(info->app_desc_present);
    assert_false(info->bootloader_desc_present);
    const struct mpota_app_desc *a = &info->app_desc;
    assert_int_equal(a->magic_word, MPOTA_APP_DESC_MAGIC);
    assert_string_equal(a->project_name, "ota-test-app");
    assert_string_equal(a->version, refs[r].version);
    assert_string_equal(a->date, "Jan  1 2025");
    assert_string_equal(a->time, "12:34:56");
    assert_string_equal(a->idf_ver, "v5.2.2");
    hex(a->app_elf_sha256, 32, hx);
    assert_string_equal(hx, refs[r].elf_sha_hex);
    assert_int_equal(a->min_efuse_blk_rev_full, 0);
    assert_int_equal(a->max_efuse_blk_rev_full, 65535);
    assert_int_equal(a->mmu_page_size, 0);
    assert_int_equal(a->secure_version, 0);

    assert_true(info->complete);
    assert_int_equal(info->image_len, REF_LEN);
}

static void test_reference_images_every_field(void **state)
{
    (void)state;
    for (int r = 0; r < 2; r++) {
        size_t len;
        LOAD_OR_SKIP(r, len);
        struct mpota_image_info info;
        struct mpota_diag d = {0};
        assert_int_equal(mpota_image_parse(img, len, MPOTA_CHIP_ESP32, &info, &d), 0);
        assert_int_equal(d.err, 0);
        check_ref_info(r, &info);
        assert_int_equal(info.total_len, REF_LEN);
        // The whole-buffer app checks pass too (an ESP32 needs no description).
        assert_int_equal(mpota_image_check_app(&info, NULL), 0);
        free(img);
    }
}

static void test_parser_state_is_small(void **state)
{
    (void)state;
    size_t total = sizeof(mpota_image_parser_t);
    size_t own = total - sizeof(mpota_sha256_t);
    print_message("sizeof(mpota_image_parser_t) = %zu (%zu without the SHA-256 context)\n", total,
                  own);
    assert_true(own <= 200);
}

// Events come exactly when the SPEC says the facts are known.
static void test_events_one_byte_at_a_time(void **state)
{
    (void)state;
    size_t len;
    LOAD_OR_SKIP(0, len);
    mpota_image_parser_t p;
    struct mpota_image_info info;
    mpota_image_parser_init(&p, MPOTA_CHIP_ESP32, 0, &info);
    long at_header = -1, at_desc = -1, at_complete = -1;
    for (size_t i = 0; i < len + 100; i++) {
        uint8_t b = i < len ? img[i] : 0xFF;  // then 100 bytes of erased flash
        assert_int_equal(mpota_image_parser_push(&p, &b, 1, NULL), 0);
        unsigned ev = mpota_image_parser_events(&p);
        if (ev & MPOTA_IMAGE_EV_HEADER) {
            assert_int_equal(at_header, -1);
            at_header = (long)i + 1;
            assert_int_equal(info.header.chip_id, 0);
        }
        if (ev & MPOTA_IMAGE_EV_APP_DESC) {
            assert_int_equal(at_desc, -1);
            at_desc = (long)i + 1;
            bool present = false;
            assert_true(mpota_image_parser_app_desc_known(&p, &present));
            assert_true(present);
            assert_string_equal(info.app_desc.version, "v1.0.1");
        }
        if (ev & MPOTA_IMAGE_EV_COMPLETE) {
            assert_int_equal(at_complete, -1);
            at_complete = (long)i + 1;
        }
        assert_int_equal(mpota_image_parser_events(&p), 0);  // read clears
        if (i + 1 < len) {
            assert_false(mpota_image_parser_complete(&p));
            assert_true(mpota_image_parser_min_len(&p) > i + 1);
        }
    }
    assert_int_equal(at_header, 24);
    assert_int_equal(at_desc, 0x120);
    assert_int_equal(at_complete, (long)len);
    assert_true(mpota_image_parser_header_known(&p));
    assert_int_equal(mpota_image_parser_finish(&p, NULL), 0);
    check_ref_info(0, &info);
    assert_int_equal(info.total_len, len + 100);  // trailing bytes counted
    free(img);
}

// ---------------------------------------------------------------- streaming

static void test_every_split_point(void **state)
{
    (void)state;
    for (int r = 0; r < 2; r++) {
        size_t len;
        LOAD_OR_SKIP(r, len);
        struct mpota_image_info whole, split;
        assert_int_equal(mpota_image_parse(img, len, MPOTA_CHIP_ESP32, &whole, NULL), 0);
        for (size_t k = 0; k <= len; k++) {
            mpota_image_parser_t p;
            mpota_image_parser_init(&p, MPOTA_CHIP_ESP32, 0, &split);
            assert_int_equal(mpota_image_parser_push(&p, img, k, NULL), 0);
            assert_int_equal(mpota_image_parser_push(&p, img + k, len - k, NULL), 0);
            assert_int_equal(mpota_image_parser_finish(&p, NULL), 0);
            if (memcmp(&whole, &split, sizeof(whole)) != 0) {
                fail_msg("info differs when split at %zu", k);
            }
        }
        free(img);
    }
}

static void test_one_byte_and_random_chunks(void **state)
{
    (void)state;
    uint64_t rng = 0x1234;
    for (int r = 0; r < 2; r++) {
        size_t len;
        LOAD_OR_SKIP(r, len);
        struct mpota_image_info whole, other;
        assert_int_equal(mpota_image_parse(img, len, MPOTA_CHIP_ESP32, &whole, NULL), 0);
        size_t one = 1;
        assert_int_equal(parse_chunked(img, len, &one, 1, MPOTA_CHIP_ESP32, &other, NULL), 0);
        assert_memory_equal(&whole, &other, sizeof(whole));
        for (int t = 0; t < 200; t++) {
            size_t chunks[16];
            for (int k = 0; k < 16; k++) {
                // Mix tiny, header-sized and large chunks.
                uint32_t kind = rng_below(&rng, 3);
                chunks[k] = kind == 0   ? 1 + rng_below(&rng, 8)
                            : kind == 1 ? 1 + rng_below(&rng, 300)
                                        : 1 + rng_below(&rng, 70000);
            }
            assert_int_equal(parse_chunked(img, len, chunks, 16, MPOTA_CHIP_ESP32, &other, NULL),
                             0);
            assert_memory_equal(&whole, &other, sizeof(whole));
        }
        free(img);
    }
}

// A parser copied mid-stream carries on exactly like the original (no
// interior pointers): used here to finish at every truncation length cheaply.
static void test_truncation_at_every_length(void **state)
{
    (void)state;
    size_t len;
    LOAD_OR_SKIP(0, len);
    mpota_image_parser_t p;
    mpota_image_parser_init(&p, MPOTA_CHIP_ESP32, 0, NULL);
    for (size_t l = 0; l < len; l++) {
        mpota_image_parser_t copy = p;
        struct mpota_diag d = {0};
        assert_int_equal(mpota_image_parser_finish(&copy, &d), MPOTA_ERR_IMAGE_TRUNCATED);
        assert_int_equal(d.err, MPOTA_ERR_IMAGE_TRUNCATED);
        assert_int_equal(d.actual, l);
        assert_int_equal(d.offset, l);
        assert_true(d.expected > l);
        assert_true(d.expected <= len);
        // Once the last segment header is in, the length is exact.
        if (l >= 0x10020) {
            assert_int_equal(d.expected, len);
        }
        if (l == 0) {
            assert_int_equal(d.expected, 48);  // header + one segment header + checksum block
        }
        assert_int_equal(mpota_image_parser_push(&p, img + l, 1, NULL), 0);
    }
    assert_int_equal(mpota_image_parser_finish(&p, NULL), 0);

    // The diag text carries both numbers.
    struct mpota_diag d = {0};
    assert_int_equal(mpota_image_parse(img, 0x10030, MPOTA_CHIP_ESP32, NULL, &d),
                     MPOTA_ERR_IMAGE_TRUNCATED);
    char text[300];
    mpota_diag_format(&d, text, sizeof(text));
    assert_non_null(strstr(text, "ends at 65,584 B"));
    assert_non_null(strstr(text, "need at least 65,680 B"));
    free(img);
}

// ---------------------------------------------------------------- corruption

// What flipping all bits of the byte at `pos` of reference image 0 must give.
static void expected_flip(size_t pos, int *err, uint32_t *off, bool *exact)
{
    *exact = true;
    // Segment header offsets and whether the segment is flash-mapped.
    static const uint32_t hdrs[5] = {0x18, 0x138, 0x148, 0x170, 0x10018};
    static const bool mapped[5] = {true, false, false, false, true};
    if (pos == 0) {
        *err = MPOTA_ERR_IMAGE_MAGIC, *off = 0;
        return;
    }
    if (pos == 1) {
        *err = MPOTA_ERR_IMAGE_SEGMENT_COUNT, *off = 1;  // 5 ^ 0xFF = 250
        return;
    }
    if (pos == 12 || pos == 13) {
        *err = MPOTA_ERR_IMAGE_CHIP, *off = 12;
        return;
    }
    if (pos == 23) {
        *err = MPOTA_ERR_IMAGE_HASH_FLAG, *off = 23;  // 1 ^ 0xFF
        return;
    }
    if (pos < 24) {
        *err = MPOTA_ERR_IMAGE_HASH, *off = REF_HASH_OFF;  // only the hash covers the header
        return;
    }
    for (int s = 0; s < 5; s++) {
        if (pos >= hdrs[s] && pos < hdrs[s] + 8) {
            uint32_t k = (uint32_t)pos - hdrs[s];
            *off = hdrs[s];
            if (k == 4 || k == 7) {
                *err = MPOTA_ERR_IMAGE_SEGMENT_LEN;  // not a multiple of 4 / >= 16 MiB
            } else if (k == 5 || k == 6) {
                *err = 0, *exact = false;  // layout changes: some error, somewhere
            } else if (mapped[s] && k < 2) {
                *err = MPOTA_ERR_IMAGE_SEGMENT_MAP;  // still mapped, now misaligned
            } else {
                *err = MPOTA_ERR_IMAGE_HASH, *off = REF_HASH_OFF;  // RAM address: hash only
            }
            return;
        }
    }
    if (pos < 0x10060) {  // the last (IROM) segment's data ends at 0x10060
        *err = MPOTA_ERR_IMAGE_CHECKSUM, *off = REF_CHECKSUM_OFF;  // segment data
    } else if (pos < REF_CHECKSUM_OFF) {
        *err = MPOTA_ERR_IMAGE_HASH, *off = REF_HASH_OFF;  // zero padding
    } else if (pos == REF_CHECKSUM_OFF) {
        *err = MPOTA_ERR_IMAGE_CHECKSUM, *off = REF_CHECKSUM_OFF;  // checked before the hash
    } else {
        *err = MPOTA_ERR_IMAGE_HASH, *off = REF_HASH_OFF;
    }
}

static void test_byte_flips(void **state)
{
    (void)state;
    size_t len;
    LOAD_OR_SKIP(0, len);
    uint8_t *bad = malloc(len);
    size_t tested = 0;
    for (size_t pos = 0; pos < len; pos++) {
        // Every byte outside the big padding segment, every 97th inside it.
        if (pos >= 0x178 && pos < 0x10018 && pos % 97 != 0) {
            continue;
        }
        memcpy(bad, img, len);
        bad[pos] ^= 0xFF;
        int want;
        uint32_t want_off;
        bool exact;
        expected_flip(pos, &want, &want_off, &exact);
        struct mpota_diag d = {0};
        int got = mpota_image_parse(bad, len, MPOTA_CHIP_ESP32, NULL, &d);
        if (!exact) {
            if (got == 0) {
                fail_msg("flip at 0x%zx went unnoticed", pos);
            }
            continue;
        }
        if (got != want || d.offset != want_off) {
            fail_msg("flip at 0x%zx: got %s at 0x%x, want %s at 0x%x", pos, mpota_err_name(got),
                     d.offset, mpota_err_name(want), want_off);
        }
        if (want == MPOTA_ERR_IMAGE_CHECKSUM) {
            bool data = pos != REF_CHECKSUM_OFF;
            assert_int_equal(d.expected, data ? (0x60 ^ 0xFF) : 0x60);
            assert_int_equal(d.actual, data ? 0x60 : (0x60 ^ 0xFF));
        }
        if (want == MPOTA_ERR_IMAGE_SEGMENT_MAP) {
            assert_int_equal(d.expected, (want_off + 8) % 0x10000);
        }
        tested++;
    }
    print_message("byte flips checked: %zu\n", tested);
    assert_true(tested > 1000);

    // Clearing bit 0 of hash_appended makes the hash trailing data: the
    // image is still valid (as for the bootloader), 32 bytes shorter.
    memcpy(bad, img, len);
    bad[23] ^= 0x01;
    struct mpota_image_info info;
    assert_int_equal(mpota_image_parse(bad, len, MPOTA_CHIP_ESP32, &info, NULL), 0);
    assert_int_equal(info.image_len, REF_HASH_OFF);
    assert_int_equal(info.total_len, len);

    // With MPOTA_CHIP_ANY a changed chip id is no chip error, but the hash
    // (which covers the header) still catches it.
    memcpy(bad, img, len);
    bad[12] = MPOTA_CHIP_ESP32S3;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_image_parse(bad, len, MPOTA_CHIP_ANY, NULL, &d), MPOTA_ERR_IMAGE_HASH);
    free(bad);
    free(img);
}

static void test_first_problem_is_sticky(void **state)
{
    (void)state;
    size_t len;
    LOAD_OR_SKIP(0, len);
    uint8_t *bad = malloc(len);
    memcpy(bad, img, len);
    bad[0x100] ^= 1;               // data: checksum
    bad[REF_HASH_OFF + 3] ^= 1;    // and the hash
    mpota_image_parser_t p;
    struct mpota_image_info info;
    mpota_image_parser_init(&p, MPOTA_CHIP_ESP32, 0, &info);
    struct mpota_diag d = {0};
    assert_int_equal(mpota_image_parser_push(&p, bad, REF_CHECKSUM_OFF, &d), 0);
    assert_int_equal(mpota_image_parser_push(&p, bad + REF_CHECKSUM_OFF, 1, &d),
                     MPOTA_ERR_IMAGE_CHECKSUM);
    assert_int_equal(d.offset, REF_CHECKSUM_OFF);
    assert_int_equal(mpota_image_parser_push(&p, bad + REF_CHECKSUM_OFF + 1,
                                             len - REF_CHECKSUM_OFF - 1, &d),
                     MPOTA_ERR_IMAGE_CHECKSUM);
    assert_int_equal(mpota_image_parser_finish(&p, &d), MPOTA_ERR_IMAGE_CHECKSUM);
    assert_int_equal(d.offset, REF_CHECKSUM_OFF);
    assert_int_equal(mpota_image_parser_error(&p), MPOTA_ERR_IMAGE_CHECKSUM);
    // The walk went on: info still has the hash results for a report.
    assert_true(info.complete);
    assert_int_not_equal(info.checksum_stored, info.checksum_calc);
    assert_memory_not_equal(info.hash_stored, info.hash_calc, 32);
    free(bad);
    free(img);
}

static void test_header_errors(void **state)
{
    (void)state;
    size_t len;
    LOAD_OR_SKIP(0, len);
    uint8_t *bad = malloc(len);
    struct mpota_diag d = {0};
    // Magic is refused from the first byte.
    mpota_image_parser_t p;
    mpota_image_parser_init(&p, MPOTA_CHIP_ANY, 0, NULL);
    uint8_t ff = 0xFF;
    assert_int_equal(mpota_image_parser_push(&p, &ff, 1, &d), MPOTA_ERR_IMAGE_MAGIC);
    assert_int_equal(d.actual, 0xFF);
    assert_int_equal(d.expected, 0xE9);
    assert_false(mpota_image_parser_header_known(&p));

    for (unsigned count = 0; count <= 20; count += 17) {  // 0 and 17
        memcpy(bad, img, len);
        bad[1] = (uint8_t)count;
        assert_int_equal(mpota_image_parse(bad, 24, MPOTA_CHIP_ANY, NULL, &d),
                         MPOTA_ERR_IMAGE_SEGMENT_COUNT);
        assert_int_equal(d.actual, count);
    }
    memcpy(bad, img, len);
    bad[23] = 2;
    assert_int_equal(mpota_image_parse(bad, len, MPOTA_CHIP_ANY, NULL, &d),
                     MPOTA_ERR_IMAGE_HASH_FLAG);
    assert_int_equal(d.actual, 2);
    // A segment whose load range wraps past 4 GiB.
    memcpy(bad, img, len);
    bad[0x138 + 0] = 0xFC;  // DRAM segment: load 0xFFFFFFFC, 8 bytes long
    bad[0x138 + 1] = 0xFF;
    bad[0x138 + 2] = 0xFF;
    bad[0x138 + 3] = 0xFF;
    assert_int_equal(mpota_image_parse(bad, len, MPOTA_CHIP_ANY, NULL, &d), MPOTA_ERR_IMAGE_WRAP);
    assert_int_equal(d.offset, 0x138);
    // Empty input.
    assert_int_equal(mpota_image_parse(img, 0, MPOTA_CHIP_ANY, NULL, &d),
                     MPOTA_ERR_IMAGE_TRUNCATED);
    free(bad);
    free(img);
}

// ---------------------------------------------------------------- chips and layouts

static void test_foreign_chip(void **state)
{
    (void)state;
    const uint16_t chips[] = {MPOTA_CHIP_ESP32S3, MPOTA_CHIP_ESP32C3};
    const char *names[] = {"ESP32-S3 (chip id 9)", "ESP32-C3 (chip id 5)"};
    for (int i = 0; i < 2; i++) {
        struct mpota_app_spec s = {.chip_id = chips[i], .total_size = 0x30000, .seed = 7};
        uint8_t *img;
        size_t len;
        assert_int_equal(mpota_image_build_app(&s, &img, &len, NULL), 0);
        struct mpota_diag d = {0};
        assert_int_equal(mpota_image_parse(img, len, MPOTA_CHIP_ESP32, NULL, &d),
                         MPOTA_ERR_IMAGE_CHIP);
        assert_int_equal(d.offset, 12);
        assert_int_equal(d.expected, MPOTA_CHIP_ESP32);
        assert_int_equal(d.actual, chips[i]);
        char text[300];
        mpota_diag_format(&d, text, sizeof(text));
        assert_non_null(strstr(text, names[i]));
        assert_non_null(strstr(text, "ESP32 (chip id 0)"));
        // Reported as soon as the header is in.
        mpota_image_parser_t p;
        mpota_image_parser_init(&p, MPOTA_CHIP_ESP32, 0, NULL);
        assert_int_equal(mpota_image_parser_push(&p, img, 23, NULL), 0);
        assert_int_equal(mpota_image_parser_push(&p, img + 23, 1, NULL), MPOTA_ERR_IMAGE_CHIP);
        // The right chip, or any chip, is fine.
        assert_int_equal(mpota_image_parse(img, len, chips[i], NULL, NULL), 0);
        assert_int_equal(mpota_image_parse(img, len, MPOTA_CHIP_ANY, NULL, NULL), 0);
        free(img);
    }
}

// IDF < 3.3 images (2018 MicroPython) have no esp_app_desc_t: valid on ESP32.
static void test_no_app_description(void **state)
{
    (void)state;
    struct mpota_app_spec s = {.chip_id = MPOTA_CHIP_ESP32, .total_size = 0x50000,
                               .seed = 3, .no_app_desc = true};
    uint8_t *img;
    size_t len;
    assert_int_equal(mpota_image_build_app(&s, &img, &len, NULL), 0);
    mpota_image_parser_t p;
    struct mpota_image_info info;
    mpota_image_parser_init(&p, MPOTA_CHIP_ESP32, 0, &info);
    assert_int_equal(mpota_image_parser_push(&p, img, 0x24, NULL), 0);
    assert_int_equal(mpota_image_parser_events(&p), MPOTA_IMAGE_EV_HEADER | MPOTA_IMAGE_EV_APP_DESC);
    bool present = true;
    assert_true(mpota_image_parser_app_desc_known(&p, &present));
    assert_false(present);
    assert_int_equal(mpota_image_parser_push(&p, img + 0x24, len - 0x24, NULL), 0);
    assert_int_equal(mpota_image_parser_finish(&p, NULL), 0);
    assert_false(info.app_desc_present);
    assert_int_equal(mpota_image_check_app(&info, NULL), 0);
    // A chip whose bootloader needs the description refuses it.
    info.header.chip_id = MPOTA_CHIP_ESP32C6;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_image_check_app(&info, &d), MPOTA_ERR_IMAGE_NO_APP_DESC);
    assert_int_equal(d.offset, 0x20);
    free(img);
}

// The mapped-segment rule compares the *flash* address with the load address.
static void test_mapped_rule_uses_flash_address(void **state)
{
    (void)state;
    size_t len;
    LOAD_OR_SKIP(0, len);
    mpota_image_parser_t p;
    struct mpota_diag d = {0};
    mpota_image_parser_init(&p, MPOTA_CHIP_ESP32, 0x190000, NULL);  // ota_1 of the 4MiB layout
    assert_int_equal(mpota_image_parser_push(&p, img, len, &d), 0);
    assert_int_equal(mpota_image_parser_finish(&p, &d), 0);
    mpota_image_parser_init(&p, MPOTA_CHIP_ESP32, 0x191000, NULL);  // not 64 KiB aligned
    assert_int_equal(mpota_image_parser_push(&p, img, len, &d), MPOTA_ERR_IMAGE_SEGMENT_MAP);
    assert_int_equal(d.offset, 0x18);
    assert_int_equal(d.expected, 0x1020);
    assert_int_equal(d.actual, 0x3f400020);
    free(img);
}

static void test_trailing_bytes_and_tiny_images(void **state)
{
    (void)state;
    size_t len;
    LOAD_OR_SKIP(0, len);
    // Image, erased flash, then a "signature sector" of junk.
    size_t big = len + 8192;
    uint8_t *b = malloc(big);
    memcpy(b, img, len);
    memset(b + len, 0xFF, 4096);
    for (size_t i = len + 4096; i < big; i++) {
        b[i] = (uint8_t)(i * 7);
    }
    struct mpota_image_info info;
    assert_int_equal(mpota_image_parse(b, big, MPOTA_CHIP_ESP32, &info, NULL), 0);
    assert_int_equal(info.image_len, len);
    assert_int_equal(info.total_len, big);

    // A smallest image: one empty segment, checksum, no hash.
    uint8_t tiny[48] = {0xE9, 1, 2, 0x20};
    tiny[12] = 0;
    memset(tiny + 24, 0, 8);           // segment at 0 (padding), length 0
    tiny[47] = MPOTA_IMAGE_CHECKSUM_SEED;
    assert_int_equal(mpota_image_parse(tiny, sizeof(tiny), MPOTA_CHIP_ESP32, &info, NULL), 0);
    assert_int_equal(info.image_len, 48);
    assert_false(info.app_desc_present);
    tiny[40] = 1;  // non-zero padding: no error without a hash, but noted
    assert_int_equal(mpota_image_parse(tiny, sizeof(tiny), MPOTA_CHIP_ESP32, &info, NULL), 0);
    assert_true(info.padding_nonzero);
    free(b);
    free(img);
}

// ---------------------------------------------------------------- verify_area

// A RAM-backed flash: NOR rules are not needed here, only reads with a log.
struct ram_flash {
    uint8_t *mem;
    uint32_t max_read_end;   // highest address read + 1
    uint32_t max_read_len;
    int fail_reads;          // make reads fail
};

static int ram_read(const struct mpota_flash *f, uint32_t addr, void *buf, uint32_t len)
{
    struct ram_flash *r = f->ctx;
    if (r->fail_reads) {
        return MPOTA_ERR_FLASH_IO;
    }
    memcpy(buf, r->mem + addr, len);
    if (addr + len > r->max_read_end) {
        r->max_read_end = addr + len;
    }
    if (len > r->max_read_len) {
        r->max_read_len = len;
    }
    return 0;
}

static int ram_prog(const struct mpota_flash *f, uint32_t addr, const void *buf, uint32_t len)
{
    struct ram_flash *r = f->ctx;
    memcpy(r->mem + addr, buf, len);
    return 0;
}

static int ram_erase(const struct mpota_flash *f, uint32_t addr, uint32_t len)
{
    struct ram_flash *r = f->ctx;
    memset(r->mem + addr, 0xFF, len);
    return 0;
}

#define FLASH_SIZE 0x400000u

static void test_verify_area(void **state)
{
    (void)state;
    size_t len;
    LOAD_OR_SKIP(1, len);
    struct ram_flash rf = {.mem = malloc(FLASH_SIZE)};
    memset(rf.mem, 0xFF, FLASH_SIZE);
    struct mpota_flash fl = {&rf, ram_read, ram_prog, ram_erase, FLASH_SIZE, 0x1000, 0x10000, 1};
    struct mpota_area slot;
    assert_int_equal(mpota_area_init(&slot, &fl, 0x190000, 0x180000, false), 0);
    memcpy(rf.mem + 0x190000, img, len);

    struct mpota_image_info info;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_image_verify_area(&slot, MPOTA_CHIP_ESP32, &info, &d), 0);
    check_ref_info(1, &info);
    assert_true(rf.max_read_len <= 256);                   // small stack buffer
    assert_int_equal(rf.max_read_end, 0x190000 + len);     // nothing past the image
    assert_int_equal(mpota_image_verify_area(&slot, MPOTA_CHIP_ESP32, NULL, NULL), 0);

    // Wrong chip expected.
    assert_int_equal(mpota_image_verify_area(&slot, MPOTA_CHIP_ESP32S3, NULL, &d),
                     MPOTA_ERR_IMAGE_CHIP);

    // Corrupted on flash.
    rf.mem[0x190000 + 0x10030] ^= 0x10;
    assert_int_equal(mpota_image_verify_area(&slot, MPOTA_CHIP_ESP32, NULL, &d),
                     MPOTA_ERR_IMAGE_CHECKSUM);
    assert_int_equal(d.offset, REF_CHECKSUM_OFF);
    rf.mem[0x190000 + 0x10030] ^= 0x10;

    // A slot smaller than the image: refused once the headers show it, before
    // reading past the slot.
    struct mpota_area small;
    assert_int_equal(mpota_area_init(&small, &fl, 0x190000, 0x10000, false), 0);
    rf.max_read_end = 0;
    assert_int_equal(mpota_image_verify_area(&small, MPOTA_CHIP_ESP32, NULL, &d),
                     MPOTA_ERR_IMAGE_TOO_BIG);
    assert_int_equal(d.expected, 0x10000);
    assert_true(d.actual > 0x10000 && d.actual <= len);  // what the headers read so far need
    assert_true(rf.max_read_end <= 0x190000 + 0x10000);
    // Exactly the image's size is enough.
    assert_int_equal(mpota_area_init(&small, &fl, 0x190000, (uint32_t)len, false), 0);
    assert_int_equal(mpota_image_verify_area(&small, MPOTA_CHIP_ESP32, NULL, &d), 0);

    // Not 64 KiB aligned on flash: the mapped segments would be misplaced.
    struct mpota_area odd;
    memcpy(rf.mem + 0x311000, img, len);
    assert_int_equal(mpota_area_init(&odd, &fl, 0x311000, 0x80000, false), 0);
    assert_int_equal(mpota_image_verify_area(&odd, MPOTA_CHIP_ESP32, NULL, &d),
                     MPOTA_ERR_IMAGE_SEGMENT_MAP);

    // An erased slot, and a read failure.
    struct mpota_area blank;
    assert_int_equal(mpota_area_init(&blank, &fl, 0x10000, 0x180000, false), 0);
    assert_int_equal(mpota_image_verify_area(&blank, MPOTA_CHIP_ESP32, NULL, &d),
                     MPOTA_ERR_IMAGE_MAGIC);
    rf.fail_reads = 1;
    assert_int_equal(mpota_image_verify_area(&slot, MPOTA_CHIP_ESP32, NULL, &d),
                     MPOTA_ERR_FLASH_IO);
    assert_int_equal(d.offset, 0x190000);
    rf.fail_reads = 0;

    // Truncated on flash (the rest of the slot erased).
    memset(rf.mem + 0x190000 + 0x8000, 0xFF, len - 0x8000);
    assert_int_not_equal(mpota_image_verify_area(&slot, MPOTA_CHIP_ESP32, NULL, &d), 0);
    free(rf.mem);
    free(img);
}

static void test_verify_area_large_built_images(void **state)
{
    (void)state;
    const uint16_t chips[] = {MPOTA_CHIP_ESP32, MPOTA_CHIP_ESP32S3, MPOTA_CHIP_ESP32C3};
    struct ram_flash rf = {.mem = malloc(FLASH_SIZE)};
    struct mpota_flash fl = {&rf, ram_read, ram_prog, ram_erase, FLASH_SIZE, 0x1000, 0x10000, 1};
    for (int i = 0; i < 3; i++) {
        struct mpota_app_spec s = {.chip_id = chips[i], .total_size = 0x17A5C0, .seed = 11u + i,
                                   .version = "v1.24.0"};
        uint8_t *img;
        size_t len;
        assert_int_equal(mpota_image_build_app(&s, &img, &len, NULL), 0);
        memset(rf.mem, 0xFF, FLASH_SIZE);
        memcpy(rf.mem + 0x10000, img, len);
        struct mpota_area slot;
        assert_int_equal(mpota_area_init(&slot, &fl, 0x10000, 0x180000, false), 0);
        struct mpota_image_info info;
        assert_int_equal(mpota_image_verify_area(&slot, chips[i], &info, NULL), 0);
        assert_int_equal(info.image_len, 0x17A5C0);
        assert_string_equal(info.app_desc.version, "v1.24.0");
        assert_int_equal(rf.max_read_end, 0x10000 + len);
        rf.max_read_end = 0;
        free(img);
    }
    struct mpota_area huge = {&fl, 0, 0x1000001, false};
    assert_int_equal(mpota_image_verify_area(&huge, MPOTA_CHIP_ANY, NULL, NULL),
                     MPOTA_ERR_INVALID_ARG);
    free(rf.mem);
}


// ---------------------------------------------------------------- chip tables

static void test_chip_tables(void **state)
{
    (void)state;
    char t[128];
    // SPEC §8.3 and esptool's own test vectors.
    join_types(MPOTA_CHIP_ESP32, 0x3FFB0000, t, sizeof(t));
    assert_string_equal(t, "BYTE_ACCESSIBLE, DRAM");
    join_types(MPOTA_CHIP_ESP32, 0x50000000, t, sizeof(t));
    assert_string_equal(t, "RTC_DATA");
    join_types(MPOTA_CHIP_ESP32, 0x40000000, t, sizeof(t));
    assert_string_equal(t, "IROM");
    join_types(MPOTA_CHIP_ESP32C3, 0x3fcd6114, t, sizeof(t));
    assert_string_equal(t, "DRAM, BYTE_ACCESSIBLE");
    join_types(MPOTA_CHIP_ESP32S3, 0x3FC90000, t, sizeof(t));
    assert_string_equal(t, "BYTE_ACCESSIBLE, MEM_INTERNAL, DRAM");
    join_types(MPOTA_CHIP_ESP32, 0x3FFFFFFC, t, sizeof(t));  // DIRAM_DRAM's end is exclusive
    assert_string_equal(t, "BYTE_ACCESSIBLE, DRAM");
    join_types(MPOTA_CHIP_ESP32C6, 0x42000000, t, sizeof(t));
    assert_string_equal(t, "");
    size_t n;
    assert_non_null(mpota_chip_memory_map(MPOTA_CHIP_ESP32, &n));
    assert_int_equal(n, 15);
    assert_null(mpota_chip_memory_map(MPOTA_CHIP_ESP32H2, &n));
    assert_int_equal(n, 0);
    const char *one[1];
    assert_int_equal(mpota_chip_memory_types(MPOTA_CHIP_ESP32, 0x3FFB0000, one, 1), 2);
    assert_string_equal(one[0], "BYTE_ACCESSIBLE");

    // Flash-mapped windows, half-open (SPEC §4.9).
    assert_true(mpota_chip_is_mapped_addr(MPOTA_CHIP_ESP32, 0x3F400000));
    assert_false(mpota_chip_is_mapped_addr(MPOTA_CHIP_ESP32, 0x3F800000));
    assert_true(mpota_chip_is_mapped_addr(MPOTA_CHIP_ESP32, 0x400D0000));
    assert_false(mpota_chip_is_mapped_addr(MPOTA_CHIP_ESP32, 0x400CFFFC));
    assert_false(mpota_chip_is_mapped_addr(MPOTA_CHIP_ESP32, 0x40400000));
    assert_true(mpota_chip_is_mapped_addr(MPOTA_CHIP_ESP32S3, 0x3DFFFFFC));
    assert_true(mpota_chip_is_mapped_addr(MPOTA_CHIP_ESP32S3, 0x43FFFFFC));
    assert_false(mpota_chip_is_mapped_addr(MPOTA_CHIP_ESP32C3, 0x3C800000));
    assert_false(mpota_chip_is_mapped_addr(MPOTA_CHIP_ESP32C3, 0x42800000));
    assert_true(mpota_chip_is_mapped_addr(MPOTA_CHIP_ESP32C3, 0x427FFFFC));
    assert_false(mpota_chip_is_mapped_addr(MPOTA_CHIP_ANY, 0x42000000));

    // Names both ways.
    assert_string_equal(mpota_chip_name(MPOTA_CHIP_ESP32S3), "ESP32-S3");
    assert_null(mpota_chip_name(77));
    assert_int_equal(mpota_chip_from_name("esp32s3"), MPOTA_CHIP_ESP32S3);
    assert_int_equal(mpota_chip_from_name("ESP32-C3"), MPOTA_CHIP_ESP32C3);
    assert_int_equal(mpota_chip_from_name("esp32_c61"), MPOTA_CHIP_ESP32C61);
    assert_int_equal(mpota_chip_from_name("Esp32"), MPOTA_CHIP_ESP32);
    assert_int_equal(mpota_chip_from_name("esp32s"), MPOTA_CHIP_ANY);
    assert_int_equal(mpota_chip_from_name("esp8266"), MPOTA_CHIP_ANY);
    assert_int_equal(mpota_chip_from_name(NULL), MPOTA_CHIP_ANY);

    // SPEC §1 bootloader addresses; SPEC §4.3 header names.
    assert_int_equal(mpota_chip_bootloader_offset(MPOTA_CHIP_ESP32), 0x1000);
    assert_int_equal(mpota_chip_bootloader_offset(MPOTA_CHIP_ESP32S2), 0x1000);
    assert_int_equal(mpota_chip_bootloader_offset(MPOTA_CHIP_ESP32S3), 0);
    assert_int_equal(mpota_chip_bootloader_offset(MPOTA_CHIP_ESP32C3), 0);
    assert_int_equal(mpota_chip_bootloader_offset(MPOTA_CHIP_ESP32P4), 0x2000);
    assert_true(mpota_chip_requires_app_desc(MPOTA_CHIP_ESP32C6));
    assert_false(mpota_chip_requires_app_desc(MPOTA_CHIP_ESP32));
    assert_string_equal(mpota_chip_flash_size_name(0), "1MB");
    assert_string_equal(mpota_chip_flash_size_name(7), "128MB");
    assert_null(mpota_chip_flash_size_name(8));
    assert_string_equal(mpota_chip_flash_freq_name(MPOTA_CHIP_ESP32, 0xF), "80m");
    assert_string_equal(mpota_chip_flash_freq_name(MPOTA_CHIP_ESP32S3, 1), "26m");
    assert_string_equal(mpota_chip_flash_freq_name(MPOTA_CHIP_ESP32C2, 0), "30m");
    assert_string_equal(mpota_chip_flash_freq_name(MPOTA_CHIP_ESP32H2, 0xF), "48m");
    assert_string_equal(mpota_chip_flash_freq_name(MPOTA_CHIP_ESP32C6, 0), "80m");
    assert_null(mpota_chip_flash_freq_name(MPOTA_CHIP_ESP32C5, 1));
    assert_null(mpota_chip_flash_freq_name(MPOTA_CHIP_ESP32, 3));
    assert_string_equal(mpota_chip_flash_mode_name(3), "DOUT");
    assert_null(mpota_chip_flash_mode_name(4));
}

// ---------------------------------------------------------------- app descriptions

static void test_app_desc_codec(void **state)
{
    (void)state;
    struct mpota_app_desc a = {0}, b;
    a.magic_word = MPOTA_APP_DESC_MAGIC;
    a.secure_version = 0x01020304;
    strcpy(a.version, "0123456789abcdef0123456789abcdef");  // fills the field: no NUL on flash
    strcpy(a.project_name, "micropython");
    strcpy(a.time, "01:02:03");
    strcpy(a.date, "Feb  3 2026");
    strcpy(a.idf_ver, "v5.5.1-dirty");
    for (int i = 0; i < 32; i++) {
        a.app_elf_sha256[i] = (uint8_t)(i * 9);
    }
    a.min_efuse_blk_rev_full = 1;
    a.max_efuse_blk_rev_full = 199;
    a.mmu_page_size = 16;
    uint8_t raw[256];
    mpota_app_desc_encode(&a, raw);
    // Field offsets of SPEC §4.7.
    assert_int_equal(raw[0], 0x32);
    assert_int_equal(raw[3], 0xAB);
    assert_int_equal(raw[4], 0x04);
    assert_memory_equal(raw + 16, "0123456789abcdef0123456789abcdef", 32);
    assert_memory_equal(raw + 48, "micropython\0", 12);
    assert_memory_equal(raw + 112, "v5.5.1-dirty", 12);
    assert_int_equal(raw[144 + 1], 9);
    assert_int_equal(raw[178], 199);
    assert_int_equal(raw[180], 16);
    assert_int_equal(mpota_app_desc_decode(raw, sizeof(raw), &b), 0);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(mpota_app_desc_decode(raw, 255, &b), MPOTA_ERR_IMAGE_NO_APP_DESC);
    raw[0] ^= 1;
    assert_int_equal(mpota_app_desc_decode(raw, sizeof(raw), &b), MPOTA_ERR_IMAGE_NO_APP_DESC);
    // A NUL inside a field ends the string there, as on the device.
    raw[0] ^= 1;
    raw[16 + 3] = 0;
    assert_int_equal(mpota_app_desc_decode(raw, sizeof(raw), &b), 0);
    assert_string_equal(b.version, "012");

    struct mpota_bootloader_desc bd = {.magic_byte = 0x50, .secure_version = 2, .version = 77};
    strcpy(bd.idf_ver, "v5.2.2");
    strcpy(bd.date_time, "Jan  1 2025 12:34:56");
    uint8_t braw[80];
    mpota_bootloader_desc_encode(&bd, braw);
    assert_int_equal(braw[0], 0x50);
    assert_int_equal(braw[3], 2);
    assert_int_equal(braw[4], 77);
    assert_memory_equal(braw + 8, "v5.2.2", 6);
    assert_memory_equal(braw + 40, "Jan  1 2025 12:34:56", 20);
    struct mpota_bootloader_desc bd2;
    assert_int_equal(mpota_bootloader_desc_decode(braw, sizeof(braw), &bd2), 0);
    assert_memory_equal(&bd, &bd2, sizeof(bd));
    braw[0] = 0x51;
    assert_int_equal(mpota_bootloader_desc_decode(braw, sizeof(braw), &bd2), MPOTA_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_images_every_field),
        cmocka_unit_test(test_parser_state_is_small),
        cmocka_unit_test(test_events_one_byte_at_a_time),
        cmocka_unit_test(test_every_split_point),
        cmocka_unit_test(test_one_byte_and_random_chunks),
        cmocka_unit_test(test_truncation_at_every_length),
        cmocka_unit_test(test_byte_flips),
        cmocka_unit_test(test_first_problem_is_sticky),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_foreign_chip),
        cmocka_unit_test(test_no_app_description),
        cmocka_unit_test(test_mapped_rule_uses_flash_address),
        cmocka_unit_test(test_trailing_bytes_and_tiny_images),
        cmocka_unit_test(test_verify_area),
        cmocka_unit_test(test_verify_area_large_built_images),
        cmocka_unit_test(test_chip_tables),
        cmocka_unit_test(test_app_desc_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
