// Manifest parsing (src/host/manifest.c): every number must be an integer in
// its field's range, and every refusal is one sentence that names the key and
// says what was expected (issue 9, item 13). "compression" and the gzip
// file manifest make --gzip writes (issue 13).
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deflate_zlib.h"
#include "inflate_zlib.h"
#include "manifest.h"

#define SHA "\"sha\": \"" \
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\""

static int parse(const char *json, struct mpota_manifest *m)
{
    struct mpota_diag d = {0};
    int rc = mpota_manifest_parse(json, strlen(json), m, &d);
    if (rc) {
        assert_int_equal(rc, MPOTA_ERR_MANIFEST);
        assert_int_equal(d.err, MPOTA_ERR_MANIFEST);
        // One sentence: no line breaks, ends with a full stop.
        assert_null(strchr(m->error, '\n'));
        assert_true(strlen(m->error) > 20);
    }
    return rc;
}

// The manifest is refused and the message holds each of the given parts.
static void refused(const char *json, const char *part1, const char *part2)
{
    struct mpota_manifest m;
    int rc = parse(json, &m);
    if (rc == 0) {
        fail_msg("accepted: %s", json);
    }
    if (!strstr(m.error, part1) || (part2 && !strstr(m.error, part2))) {
        fail_msg("%s\n  message: %s\n  wants: %s / %s", json, m.error, part1,
                 part2 ? part2 : "");
    }
    mpota_manifest_free(&m);
}

static void test_secure_version_range(void **state)
{
    (void)state;
    struct mpota_manifest m;
    assert_int_equal(parse("{\"firmware\": \"a.bin\", \"secure_version\": 4294967295}", &m), 0);
    assert_true(m.has_secure_version);
    assert_int_equal(m.secure_version, 4294967295u);
    mpota_manifest_free(&m);
    assert_int_equal(parse("{\"firmware\": \"a.bin\", \"secure_version\": 0}", &m), 0);
    assert_int_equal(m.secure_version, 0);
    mpota_manifest_free(&m);

    const char *bad[] = {"1e20", "4294967296", "0.5", "-1", "\"3\"", "true"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char json[128];
        snprintf(json, sizeof(json), "{\"firmware\": \"a.bin\", \"secure_version\": %s}", bad[i]);
        refused(json, "\"secure_version\"", "0 to 4,294,967,295");
    }
    // The message gives the number as written, not what a cast made of it.
    refused("{\"firmware\": \"a.bin\", \"secure_version\": 1e20}", "got the number 1e+20", NULL);
    refused("{\"firmware\": \"a.bin\", \"secure_version\": 0.5}", "got the number 0.5", NULL);
}

static void test_length_range(void **state)
{
    (void)state;
    struct mpota_manifest m;
    assert_int_equal(parse("{\"firmware\": \"a.bin\", \"length\": 4294967295}", &m), 0);
    assert_int_equal(m.length, 4294967295u);
    mpota_manifest_free(&m);
    const char *bad[] = {"1500000.5", "0", "-4", "4294967296", "1e300", "\"10\"", "null"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char json[128];
        snprintf(json, sizeof(json), "{\"firmware\": \"a.bin\", \"length\": %s}", bad[i]);
        refused(json, "\"length\"", "1 to 4,294,967,295");
    }
    refused("{\"firmware\": \"a.bin\", \"length\": 1500000.5}", "got the number 1500000.5", NULL);
}

static void test_each_key_is_named(void **state)
{
    (void)state;
    refused("{\"sha\": \"00\"}", "no \"firmware\"", NULL);
    refused("{\"firmware\": 3}", "\"firmware\"", "got the number 3");
    refused("{\"firmware\": \"\"}", "\"firmware\"", "empty");
    refused("{\"firmware\": \"a.bin\", \"sha\": \"00\"}", "\"sha\"", "64 hex digits");
    refused("{\"firmware\": \"a.bin\", \"sha\": 5}", "\"sha\"", "got the number 5");
    refused("{\"firmware\": \"a.bin\", \"sha\": \""
            "0011223344556677889900112233445566778899001122334455667788990xyz\"}",
            "\"sha\"", "not a hex digit");
    refused("{\"firmware\": \"a.bin\", \"version\": 2}", "\"version\"", "a string");
    refused("{\"firmware\": \"a.bin\", \"version\": \"v1.0.0-01234567890123456789012345\"}",
            "\"version\"", "32 characters");
    refused("{\"firmware\": \"a.bin\", \"project\": [1]}", "\"project\"", "an array");
    refused("{\"firmware\": \"a.bin\", \"project\": \"a-project-name-longer-than-32-chars\"}",
            "\"project\"", "32 characters");
    refused("{\"firmware\": \"a.bin\", \"chip\": \"ESP32-X9\"}", "\"chip\"", "ESP32-S3");
    refused("{\"firmware\": \"a.bin\", \"chip\": 9}", "\"chip\"", "got the number 9");
    refused("[1, 2]", "a JSON object", "an array");
    refused("{\"firmware\": \"a.bin\",\n \"sha\": }", "not valid JSON", "line 2");
    refused("", "not valid JSON", NULL);

    // 32 characters fit esp_app_desc_t.version exactly.
    struct mpota_manifest m;
    assert_int_equal(parse("{\"firmware\": \"a.bin\", " SHA ", "
                           "\"version\": \"0123456789abcdef0123456789abcdef\"}", &m), 0);
    assert_string_equal(m.version, "0123456789abcdef0123456789abcdef");
    assert_true(m.has_sha256);
    mpota_manifest_free(&m);
}

#define FROM "aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899"

// "patches": detools entries are kept in order with their base and length;
// another format is skipped; each malformed field is named.
static void test_patches(void **state)
{
    (void)state;
    struct mpota_manifest m;
    assert_int_equal(parse("{\"firmware\": \"a.bin\", " SHA ", \"length\": 1000, \"patches\": ["
                           "{\"from\": \"" FROM "\", \"url\": \"p1.patch\", \"format\": \"detools\","
                           " \"compression\": \"heatshrink\", \"length\": 77},"
                           "{\"from\": \"" FROM "\", \"url\": \"x.bsdiff\", \"format\": \"bsdiff\"},"
                           "{\"from\": \"" FROM "\", \"url\": \"p2.patch\", \"length\": 5}]}", &m), 0);
    assert_int_equal(m.patch_count, 2);
    assert_string_equal(m.patches[0].url, "p1.patch");
    assert_string_equal(m.patches[0].compression, "heatshrink");
    assert_int_equal(m.patches[0].length, 77);
    assert_int_equal(m.patches[0].from[0], 0xAA);
    assert_int_equal(m.patches[0].from[31], 0x99);
    assert_string_equal(m.patches[1].url, "p2.patch");
    assert_string_equal(m.patches[1].compression, "");
    mpota_manifest_free(&m);
    assert_int_equal(m.patch_count, 0);

    refused("{\"firmware\": \"a.bin\", \"patches\": {}}", "\"patches\" must be an array", NULL);
    refused("{\"firmware\": \"a.bin\", \"patches\": [3]}", "entry 0 must be an object", "number 3");
    refused("{\"firmware\": \"a.bin\", \"patches\": [{\"from\": \"" FROM "\", \"length\": 5}]}",
            "patch 0: \"url\"", "got nothing");
    refused("{\"firmware\": \"a.bin\", \"patches\": [{\"from\": \"abc\", \"url\": \"p\", "
            "\"length\": 5}]}", "patch 0: \"from\"", "64 hex digits");
    refused("{\"firmware\": \"a.bin\", \"patches\": [{\"from\": \"" FROM "\", \"url\": \"p\"}]}",
            "patch 0: \"length\"", "got nothing");
    refused("{\"firmware\": \"a.bin\", \"patches\": [{\"from\": \"" FROM "\", \"url\": \"p\", "
            "\"length\": 0}]}", "\"length\"", "the number 0");
    refused("{\"firmware\": \"a.bin\", \"patches\": [{\"from\": \"" FROM "\", \"url\": \"p\", "
            "\"length\": 5, \"compression\": \"gzip\"}]}", "\"compression\" must be one of", "got gzip");
    refused("{\"firmware\": \"a.bin\", \"patches\": [{\"format\": 1}]}", "\"format\" must be a string",
            NULL);
    // Nine detools patches: one more than a manifest may offer.
    char json[4096] = "{\"firmware\": \"a.bin\", \"patches\": [";
    for (int i = 0; i < 9; i++) {
        strcat(json, i ? ",{\"from\": \"" FROM "\", \"url\": \"p\", \"length\": 5}"
                       : "{\"from\": \"" FROM "\", \"url\": \"p\", \"length\": 5}");
    }
    strcat(json, "]}");
    refused(json, "more than 8 detools patches", NULL);
}

// "compression": "gzip" or "none" (or absent); nothing else.
static void test_compression(void **state)
{
    (void)state;
    struct mpota_manifest m;
    assert_int_equal(parse("{\"firmware\": \"a.bin.gz\", \"compression\": \"gzip\"}", &m), 0);
    assert_true(m.gzip);
    mpota_manifest_free(&m);
    assert_int_equal(parse("{\"firmware\": \"a.bin\", \"compression\": \"none\"}", &m), 0);
    assert_false(m.gzip);
    mpota_manifest_free(&m);
    assert_int_equal(parse("{\"firmware\": \"a.bin\"}", &m), 0);
    assert_false(m.gzip);
    mpota_manifest_free(&m);
    refused("{\"firmware\": \"a.bin\", \"compression\": \"bzip2\"}",
            "\"compression\" must be \"gzip\"", "got \"bzip2\"");
    refused("{\"firmware\": \"a.bin\", \"compression\": \"GZIP\"}", "or \"none\"", "got \"GZIP\"");
    refused("{\"firmware\": \"a.bin\", \"compression\": true}", "\"compression\"", "got true");
}

static int to_buffer(void *ctx, const uint8_t *p, uint32_t n)
{
    uint8_t **at = ctx;
    memcpy(*at, p, n);
    *at += n;
    return 0;
}

// manifest make --gzip's file: gzip that inflates to the image, the same
// bytes every time, no name or time in its header; its manifest says
// "compression" and the image's sha and length.
static void test_make_gzip(void **state)
{
    (void)state;
    static uint8_t img[200000], back[200000];
    for (size_t i = 0; i < sizeof(img); i++) {
        img[i] = (uint8_t)(i % 251 < 100 ? i % 7 : i * 2654435761u >> 24);
    }
    size_t n1, n2;
    uint8_t *gz1 = mpota_deflate_zlib_gzip(img, sizeof(img), &n1);
    uint8_t *gz2 = mpota_deflate_zlib_gzip(img, sizeof(img), &n2);
    assert_non_null(gz1);
    assert_int_equal(n1, n2);
    assert_memory_equal(gz1, gz2, n1);
    static const uint8_t head[10] = {0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 2, 3};
    assert_memory_equal(gz1, head, sizeof(head));
    uint8_t *at = back;
    mpota_inflate_zlib_t z = {0};
    const struct mpota_inflate_zlib_cfg cfg = {MPOTA_STREAM_GZIP, sizeof(back), NULL, to_buffer, &at};
    assert_int_equal(mpota_inflate_zlib_begin(&z, &cfg), 0);
    assert_int_equal(mpota_inflate_zlib_push(&z, gz1, (uint32_t)n1), 0);
    assert_int_equal(mpota_inflate_zlib_finish(&z), 0);
    mpota_inflate_zlib_end(&z);
    assert_int_equal(at - back, sizeof(img));
    assert_memory_equal(back, img, sizeof(img));

    struct mpota_image_info info = {0};
    char *json = mpota_manifest_make_compressed("a.bin.gz", "gzip", img, sizeof(img), &info);
    struct mpota_manifest m;
    assert_int_equal(parse(json, &m), 0);
    assert_true(m.gzip);
    assert_string_equal(m.firmware, "a.bin.gz");
    assert_int_equal(m.length, sizeof(img));
    assert_true(strstr(json, "\"compression\":\t\"gzip\"") != NULL);
    mpota_manifest_free(&m);
    free(json);
    free(gz1);
    free(gz2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secure_version_range),
        cmocka_unit_test(test_length_range),
        cmocka_unit_test(test_each_key_is_named),
        cmocka_unit_test(test_patches),
        cmocka_unit_test(test_compression),
        cmocka_unit_test(test_make_gzip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
