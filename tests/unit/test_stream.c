// What a stream is from its first bytes (stream.h): app images, gzip and
// zlib as zlib writes them at every window and level, detools patches, and
// every 3-byte prefix answered consistently as the bytes arrive.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "mpota/stream.h"
#include "testutil.h"

// zlib's own output for a small input: window 2^bits (8..15), gzip or zlib.
static size_t deflated(int level, int bits, bool gzip, uint8_t *out, size_t cap)
{
    static const uint8_t text[] = "an app image would go here; any bytes do";
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, gzip ? bits + 16 : bits, 8,
                                  Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)text;
    z.avail_in = sizeof(text);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = z.total_out;
    deflateEnd(&z);
    return n;
}

static void test_zlib_and_gzip_as_zlib_writes_them(void **state)
{
    (void)state;
    uint8_t buf[256];
    for (int level = 0; level <= 9; level++) {
        // zlib writes window 256 B (bits 8) as 512 B (bits 9): both are zlib.
        for (int bits = 8; bits <= 15; bits++) {
            assert_true(deflated(level, bits, false, buf, sizeof(buf)) > 2);
            assert_int_equal(mpota_stream_kind(buf, 2), MPOTA_STREAM_ZLIB);
            assert_int_equal(mpota_stream_kind(buf, 1), MPOTA_STREAM_MORE);
            if (bits == 8) {
                continue;  // zlib's gzip writer refuses a 256 B window
            }
            deflated(level, bits, true, buf, sizeof(buf));
            assert_int_equal(mpota_stream_kind(buf, 3), MPOTA_STREAM_GZIP);
            assert_int_equal(mpota_stream_kind(buf, 2), MPOTA_STREAM_MORE);
        }
    }
}

static void test_zlib_header_rules(void **state)
{
    (void)state;
    static const uint8_t good[] = {0x78, 0x9C}, dict[] = {0x78, 0xBB};  // FDICT: still zlib
    static const uint8_t check[] = {0x78, 0x9D}, method[] = {0x79, 0x9C}, window[] = {0x88, 0x1C};
    assert_int_equal(mpota_stream_kind(good, 2), MPOTA_STREAM_ZLIB);
    assert_int_equal(mpota_stream_kind(dict, 2), MPOTA_STREAM_ZLIB);
    assert_int_equal(mpota_stream_kind(check, 2), MPOTA_STREAM_OTHER);   // header check fails
    assert_int_equal(mpota_stream_kind(method, 2), MPOTA_STREAM_OTHER);  // CM 9
    assert_int_equal((0x88 * 256 + 0x1C) % 31, 0);
    assert_int_equal(mpota_stream_kind(window, 2), MPOTA_STREAM_OTHER);  // 64 KiB window
}

static void test_gzip_needs_deflate(void **state)
{
    (void)state;
    static const uint8_t other_method[] = {0x1F, 0x8B, 0x09}, not_gzip[] = {0x1F, 0x9D, 0x90};
    assert_int_equal(mpota_stream_kind(other_method, 3), MPOTA_STREAM_OTHER);
    // compress(1)'s .Z is told at its second byte.
    assert_int_equal(mpota_stream_kind(not_gzip, 2), MPOTA_STREAM_OTHER);
}

static void test_app_and_patches(void **state)
{
    (void)state;
    static const uint8_t app[] = {0xE9}, patches[] = {0, 1, 2, 3, 4, 5, 6}, seven[] = {0x07};
    static const uint8_t typed[] = {0x10}, high[] = {0x80};
    assert_int_equal(mpota_stream_kind(app, 1), MPOTA_STREAM_APP);
    for (size_t i = 0; i < sizeof(patches); i++) {
        assert_int_equal(mpota_stream_kind(patches + i, 1), MPOTA_STREAM_DETOOLS);
    }
    assert_int_equal(mpota_stream_kind(seven, 1), MPOTA_STREAM_OTHER);  // no such compression
    assert_int_equal(mpota_stream_kind(typed, 1), MPOTA_STREAM_OTHER);  // an in-place patch
    assert_int_equal(mpota_stream_kind(high, 1), MPOTA_STREAM_OTHER);
    assert_int_equal(mpota_stream_kind(NULL, 0), MPOTA_STREAM_MORE);
    static const char *const names[] = {"none", "crle", "heatshrink", "hs10", "lzma"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char name[32];
        size_t len;
        snprintf(name, sizeof(name), "to.%s.patch", names[i]);
        uint8_t *p = vector_load("detools", name, &len);
        assert_int_equal(mpota_stream_kind(p, len), MPOTA_STREAM_DETOOLS);
        free(p);
    }
}

static void test_testdata_images(void **state)
{
    (void)state;
    skip_without_testdata();
    size_t len;
    uint8_t *img = testdata_load("images/app-v1.0.1.bin", &len);
    assert_int_equal(mpota_stream_kind(img, len), MPOTA_STREAM_APP);
    free(img);
}

// Every 3-byte start: 3 bytes always tell, and 1 or 2 bytes say MORE or
// already what 3 bytes say (so a caller may route on the first answer).
static void test_every_prefix_is_consistent(void **state)
{
    (void)state;
    unsigned counts[MPOTA_STREAM_DETOOLS + 1] = {0};
    for (uint32_t v = 0; v < (1u << 24); v++) {
        const uint8_t p[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        enum mpota_stream_kind k = mpota_stream_kind(p, 3);
        assert_int_not_equal(k, MPOTA_STREAM_MORE);
        for (size_t n = 1; n < 3; n++) {
            enum mpota_stream_kind early = mpota_stream_kind(p, n);
            if (early != MPOTA_STREAM_MORE && early != k) {
                fail_msg("%02X %02X %02X: %zu bytes say %s, 3 say %s", p[0], p[1], p[2], n,
                         mpota_stream_kind_name(early), mpota_stream_kind_name(k));
            }
        }
        counts[k]++;
    }
    assert_int_equal(counts[MPOTA_STREAM_APP], 1u << 16);
    assert_int_equal(counts[MPOTA_STREAM_DETOOLS], 7u << 16);
    assert_int_equal(counts[MPOTA_STREAM_GZIP], 1u);
    // 8 window sizes, and 8 or 9 FLG values per CMF pass the check.
    unsigned zlib_pairs = 0;
    for (unsigned cmf = 0x08; cmf <= 0x78; cmf += 0x10) {
        for (unsigned flg = 0; flg < 256; flg++) {
            zlib_pairs += (cmf * 256 + flg) % 31 == 0;
        }
    }
    assert_int_equal(counts[MPOTA_STREAM_ZLIB], zlib_pairs << 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zlib_and_gzip_as_zlib_writes_them),
        cmocka_unit_test(test_zlib_header_rules),
        cmocka_unit_test(test_gzip_needs_deflate),
        cmocka_unit_test(test_app_and_patches),
        cmocka_unit_test(test_testdata_images),
        cmocka_unit_test(test_every_prefix_is_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
