// The inflate stage over zlib (inflate_zlib.h): gzip and zlib streams whole,
// in 1-byte pushes and split at every point; every refusal with its numbers:
// truncated at every length, trailing bytes and a second member, each
// trailer check value, corrupt data, bad headers, the output bound, and a
// sink's own error passed through.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "inflate_zlib.h"
#include "mpota/bytes.h"
#include "testutil.h"

// Compressible bytes: words from a small vocabulary, and some noise.
static uint8_t *make_input(size_t len, uint64_t seed)
{
    static const char *const words[] = {"segment ", "flash ", "0xE9 ", "ota_1 ", "image "};
    uint8_t *p = malloc(len ? len : 1);
    for (size_t i = 0; i < len;) {
        if (rng_below(&seed, 4) == 0) {
            p[i++] = (uint8_t)rng_next(&seed);
            continue;
        }
        const char *w = words[rng_below(&seed, 5)];
        for (size_t k = 0; w[k] && i < len; k++) {
            p[i++] = (uint8_t)w[k];
        }
    }
    return p;
}

// zlib's deflate of in, as gzip or zlib (malloc'd).
static uint8_t *compress_as(enum mpota_stream_kind kind, const uint8_t *in, size_t len,
                            size_t *out_len)
{
    z_stream z = {0};
    int bits = kind == MPOTA_STREAM_GZIP ? 15 + 16 : 15;
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)len) + 16;
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

// A sink that keeps what it gets, and can refuse at a byte count.
struct collect {
    uint8_t *buf;
    size_t len, cap;
    size_t refuse_after;  // 0 = never
};

static int collect_sink(void *ctx, const uint8_t *p, uint32_t n)
{
    struct collect *c = ctx;
    if (c->refuse_after && c->len + n > c->refuse_after) {
        return MPOTA_ERR_IMAGE_MAGIC;
    }
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2;
        c->buf = realloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    return 0;
}

static void start(mpota_inflate_zlib_t *s, enum mpota_stream_kind kind, uint32_t out_max,
                  struct collect *c)
{
    const struct mpota_inflate_zlib_cfg cfg = {kind, out_max, "ota_1", collect_sink, c};
    memset(s, 0, sizeof(*s));
    assert_int_equal(mpota_inflate_zlib_begin(s, &cfg), MPOTA_OK);
}

// Pushes comp in pieces of `piece` bytes (0 = one push), then finishes.
static int run(mpota_inflate_zlib_t *s, const uint8_t *comp, size_t len, size_t piece)
{
    piece = piece ? piece : len;
    int rc = MPOTA_OK;
    for (size_t at = 0; !rc && at < len; at += piece) {
        rc = mpota_inflate_zlib_push(s, comp + at, (uint32_t)(len - at < piece ? len - at : piece));
    }
    return rc ? rc : mpota_inflate_zlib_finish(s);
}

// A whole stage: begun, comp pushed in `piece`-byte pieces, finished, ended.
// Returns its result; *d (if given) gets its diag, c what the sink got.
static int inflate_all(enum mpota_stream_kind kind, const uint8_t *comp, size_t clen,
                       uint32_t out_max, size_t piece, struct collect *c, struct mpota_diag *d)
{
    mpota_inflate_zlib_t s;
    start(&s, kind, out_max, c);
    int rc = run(&s, comp, clen, piece);
    assert_int_equal(rc, mpota_inflate_zlib_diag(&s)->err);
    assert_true(rc || mpota_inflate_zlib_in(&s) == clen);
    if (d) {
        *d = *mpota_inflate_zlib_diag(&s);
    }
    mpota_inflate_zlib_end(&s);
    mpota_inflate_zlib_end(&s);  // twice is fine
    return rc;
}

static void test_whole_and_byte_by_byte(void **state)
{
    (void)state;
    size_t len = 300000, clen;
    uint8_t *in = make_input(len, 1);
    const enum mpota_stream_kind kinds[] = {MPOTA_STREAM_GZIP, MPOTA_STREAM_ZLIB};
    for (int k = 0; k < 2; k++) {
        uint8_t *comp = compress_as(kinds[k], in, len, &clen);
        const size_t pieces[] = {0, 1, 4096, 65536};
        for (size_t i = 0; i < 4; i++) {
            struct collect c = {0};
            assert_int_equal(inflate_all(kinds[k], comp, clen, (uint32_t)len, pieces[i], &c, NULL),
                             MPOTA_OK);
            assert_int_equal(c.len, len);
            assert_memory_equal(c.buf, in, len);
            free(c.buf);
        }
        free(comp);
    }
    free(in);
}

static void test_every_split_point(void **state)
{
    (void)state;
    size_t len = 20000, clen;
    uint8_t *in = make_input(len, 2);
    uint8_t *comp = compress_as(MPOTA_STREAM_GZIP, in, len, &clen);
    for (size_t at = 0; at <= clen; at++) {
        mpota_inflate_zlib_t s;
        struct collect c = {0};
        start(&s, MPOTA_STREAM_GZIP, 0, &c);
        assert_int_equal(mpota_inflate_zlib_push(&s, comp, (uint32_t)at), MPOTA_OK);
        assert_int_equal(mpota_inflate_zlib_in(&s), at);  // every byte given is taken
        assert_int_equal(mpota_inflate_zlib_push(&s, comp + at, (uint32_t)(clen - at)), MPOTA_OK);
        assert_int_equal(mpota_inflate_zlib_finish(&s), MPOTA_OK);
        assert_int_equal(c.len, len);
        assert_memory_equal(c.buf, in, len);
        mpota_inflate_zlib_end(&s);
        free(c.buf);
    }
    free(comp);
    free(in);
}

static void test_truncated_at_every_length(void **state)
{
    (void)state;
    size_t len = 20000, clen;
    uint8_t *in = make_input(len, 3);
    uint8_t *comp = compress_as(MPOTA_STREAM_ZLIB, in, len, &clen);
    for (size_t n = 0; n < clen; n++) {
        mpota_inflate_zlib_t s;
        struct collect c = {0};
        start(&s, MPOTA_STREAM_ZLIB, 0, &c);
        assert_int_equal(run(&s, comp, n, 0), MPOTA_ERR_INFLATE_TRUNCATED);
        const struct mpota_diag *d = mpota_inflate_zlib_diag(&s);
        assert_int_equal(d->offset, n);
        assert_int_equal(d->actual, n);
        // Sticky.
        assert_int_equal(mpota_inflate_zlib_push(&s, comp + n, 1), MPOTA_ERR_INFLATE_TRUNCATED);
        mpota_inflate_zlib_end(&s);
        free(c.buf);
    }
    free(comp);
    free(in);
}

static int expect_trailing(enum mpota_stream_kind kind, const uint8_t *comp, size_t clen,
                           const uint8_t *more, size_t more_len, bool same_push)
{
    mpota_inflate_zlib_t s;
    struct collect c = {0};
    start(&s, kind, 0, &c);
    uint8_t *all = malloc(clen + more_len);
    memcpy(all, comp, clen);
    memcpy(all + clen, more, more_len);
    int rc = same_push ? mpota_inflate_zlib_push(&s, all, (uint32_t)(clen + more_len))
                       : mpota_inflate_zlib_push(&s, all, (uint32_t)clen);
    if (!same_push) {
        assert_int_equal(rc, MPOTA_OK);
        rc = mpota_inflate_zlib_push(&s, more, (uint32_t)more_len);
    }
    assert_int_equal(rc, MPOTA_ERR_INFLATE_TRAILING);
    assert_int_equal(mpota_inflate_zlib_diag(&s)->offset, clen);
    assert_int_equal(mpota_inflate_zlib_finish(&s), MPOTA_ERR_INFLATE_TRAILING);
    mpota_inflate_zlib_end(&s);
    free(all);
    free(c.buf);
    return rc;
}

static void test_trailing_bytes_and_second_member(void **state)
{
    (void)state;
    size_t len = 5000, clen, zlen;
    uint8_t *in = make_input(len, 4);
    uint8_t *comp = compress_as(MPOTA_STREAM_GZIP, in, len, &clen);
    uint8_t *zcomp = compress_as(MPOTA_STREAM_ZLIB, in, len, &zlen);
    static const uint8_t zero[1] = {0};
    for (int same = 0; same < 2; same++) {
        expect_trailing(MPOTA_STREAM_GZIP, comp, clen, zero, 1, same);
        expect_trailing(MPOTA_STREAM_GZIP, comp, clen, comp, clen, same);  // `cat a.gz b.gz`
        expect_trailing(MPOTA_STREAM_ZLIB, zcomp, zlen, zero, 1, same);
    }
    free(zcomp);
    free(comp);
    free(in);
}

// Flips one bit of comp[at] and runs it in `piece`-byte pushes; returns the diag.
static struct mpota_diag run_flipped(enum mpota_stream_kind kind, const uint8_t *comp,
                                     size_t clen, size_t at, uint8_t bit, size_t piece)
{
    uint8_t *bad = malloc(clen);
    memcpy(bad, comp, clen);
    bad[at] ^= bit;
    struct collect c = {0};
    struct mpota_diag d;
    inflate_all(kind, bad, clen, 0, piece, &c, &d);
    free(c.buf);
    free(bad);
    return d;
}

static void test_trailer_check_values(void **state)
{
    (void)state;
    size_t len = 70000, clen, zlen;
    uint8_t *in = make_input(len, 5);
    uint8_t *comp = compress_as(MPOTA_STREAM_GZIP, in, len, &clen);
    uint8_t *zcomp = compress_as(MPOTA_STREAM_ZLIB, in, len, &zlen);
    uint32_t crc = (uint32_t)crc32(0, in, (uInt)len), adler = (uint32_t)adler32(1, in, (uInt)len);
    for (size_t piece = 0; piece <= 1; piece++) {
        struct mpota_diag d = run_flipped(MPOTA_STREAM_GZIP, comp, clen, clen - 8, 0x01, piece);
        assert_int_equal(d.err, MPOTA_ERR_INFLATE_CHECKSUM);
        assert_string_equal(d.label, "CRC-32");
        assert_int_equal(d.expected, crc ^ 0x01);
        assert_int_equal(d.actual, crc);
        d = run_flipped(MPOTA_STREAM_GZIP, comp, clen, clen - 4, 0x01, piece);
        assert_int_equal(d.err, MPOTA_ERR_INFLATE_CHECKSUM);
        assert_string_equal(d.label, "length");
        assert_int_equal(d.expected, len ^ 0x01);
        assert_int_equal(d.actual, len);
        d = run_flipped(MPOTA_STREAM_ZLIB, zcomp, zlen, zlen - 1, 0x80, piece);
        assert_int_equal(d.err, MPOTA_ERR_INFLATE_CHECKSUM);
        assert_string_equal(d.label, "Adler-32");
        assert_int_equal(d.expected, adler ^ 0x80);
        assert_int_equal(d.actual, adler);
    }
    free(zcomp);
    free(comp);
    free(in);
}

// A flipped bit in the deflate data is refused, never taken: as invalid data
// found at or after it, or as a check value or length that no longer fits.
static void test_corrupt_data(void **state)
{
    (void)state;
    size_t len = 70000, clen;
    uint8_t *in = make_input(len, 6);
    uint8_t *comp = compress_as(MPOTA_STREAM_GZIP, in, len, &clen);
    uint64_t seed = 6;
    unsigned corrupt = 0;
    for (int i = 0; i < 300; i++) {
        size_t at = 10 + rng_below(&seed, (uint32_t)(clen - 18));  // header and trailer apart
        struct mpota_diag d = run_flipped(MPOTA_STREAM_GZIP, comp, clen, at,
                                          (uint8_t)(1u << rng_below(&seed, 8)), 0);
        if (d.err == MPOTA_ERR_INFLATE_CORRUPT) {
            assert_true(d.offset >= at && d.offset < clen);
            corrupt++;
        } else if (d.err != MPOTA_ERR_INFLATE_CHECKSUM && d.err != MPOTA_ERR_INFLATE_TRAILING &&
                   d.err != MPOTA_ERR_INFLATE_TRUNCATED) {
            fail_msg("bit flipped at %zu: %s", at, mpota_err_name(d.err));
        }
    }
    // Most flips still decode (to other bytes) and the CRC-32 catches them.
    assert_true(corrupt >= 10);
    // The first block's type 3 (reserved): refused at its own byte.
    struct mpota_diag d = run_flipped(MPOTA_STREAM_GZIP, comp, clen, 10, (uint8_t)(~comp[10] & 0x06), 1);
    assert_int_equal(d.err, MPOTA_ERR_INFLATE_CORRUPT);
    assert_int_equal(d.offset, 10);
    free(comp);
    free(in);
}

static void test_headers(void **state)
{
    (void)state;
    size_t len = 1000, clen, zlen;
    uint8_t *in = make_input(len, 7);
    uint8_t *comp = compress_as(MPOTA_STREAM_GZIP, in, len, &clen);
    uint8_t *zcomp = compress_as(MPOTA_STREAM_ZLIB, in, len, &zlen);
    struct mpota_diag d = run_flipped(MPOTA_STREAM_GZIP, comp, clen, 3, 0x80, 0);  // FLG bit 7
    assert_int_equal(d.err, MPOTA_ERR_INFLATE_HEADER);
    assert_string_equal(d.label, "unknown header flags set");
    // A zlib stream with a preset dictionary (FDICT, FCHECK kept valid).
    uint8_t dict[] = {0x78, 0xBB, 0, 0, 0, 1};
    mpota_inflate_zlib_t s;
    struct collect c = {0};
    start(&s, MPOTA_STREAM_ZLIB, 0, &c);
    assert_int_equal(mpota_inflate_zlib_push(&s, dict, sizeof(dict)), MPOTA_ERR_INFLATE_HEADER);
    assert_string_equal(mpota_inflate_zlib_diag(&s)->label, "zlib preset dictionary");
    mpota_inflate_zlib_end(&s);
    // Each wrapper only as itself.
    assert_int_equal(inflate_all(MPOTA_STREAM_GZIP, zcomp, zlen, 0, 0, &c, &d),
                     MPOTA_ERR_INFLATE_HEADER);
    assert_string_equal(d.label, "incorrect header check");
    assert_int_equal(inflate_all(MPOTA_STREAM_ZLIB, comp, clen, 0, 0, &c, NULL),
                     MPOTA_ERR_INFLATE_HEADER);
    const struct mpota_inflate_zlib_cfg app = {MPOTA_STREAM_APP, 0, NULL, collect_sink, &c};
    assert_int_equal(mpota_inflate_zlib_begin(&s, &app), MPOTA_ERR_INVALID_ARG);
    free(c.buf);
    free(zcomp);
    free(comp);
    free(in);
}

// Output beyond out_max never reaches the sink: a bomb stops there.
static void test_output_bound(void **state)
{
    (void)state;
    size_t len = 8u << 20, clen;
    uint8_t *zeros = calloc(len, 1);
    uint8_t *comp = compress_as(MPOTA_STREAM_GZIP, zeros, len, &clen);
    assert_true(clen < 10000);
    struct collect c = {0};
    struct mpota_diag d;
    assert_int_equal(inflate_all(MPOTA_STREAM_GZIP, comp, clen, 1u << 20, 1, &c, &d),
                     MPOTA_ERR_INFLATE_TOO_BIG);
    assert_int_equal(d.expected, 1u << 20);
    assert_string_equal(d.label, "ota_1");
    assert_true(d.offset < clen);
    assert_true(c.len <= 1u << 20 && c.len > (1u << 20) - MPOTA_INFLATE_ZLIB_CHUNK);
    free(c.buf);
    // Exactly the bound fits.
    c = (struct collect){0};
    assert_int_equal(inflate_all(MPOTA_STREAM_GZIP, comp, clen, (uint32_t)len, 0, &c, NULL),
                     MPOTA_OK);
    assert_int_equal(c.len, len);
    free(c.buf);
    free(comp);
    free(zeros);
}

static void test_sink_error_passes_through(void **state)
{
    (void)state;
    size_t len = 100000, clen;
    uint8_t *in = make_input(len, 8);
    uint8_t *comp = compress_as(MPOTA_STREAM_GZIP, in, len, &clen);
    mpota_inflate_zlib_t s;
    struct collect c = {.refuse_after = 20000};
    start(&s, MPOTA_STREAM_GZIP, 0, &c);
    assert_int_equal(run(&s, comp, clen, 0), MPOTA_ERR_IMAGE_MAGIC);
    assert_int_equal(mpota_inflate_zlib_push(&s, comp, 1), MPOTA_ERR_IMAGE_MAGIC);
    assert_int_equal(mpota_inflate_zlib_finish(&s), MPOTA_ERR_IMAGE_MAGIC);
    assert_true(c.len <= 20000);
    mpota_inflate_zlib_end(&s);
    free(c.buf);
    free(comp);
    free(in);
}

static void test_empty(void **state)
{
    (void)state;
    mpota_inflate_zlib_t s;
    struct collect c = {0};
    start(&s, MPOTA_STREAM_GZIP, 0, &c);
    assert_int_equal(mpota_inflate_zlib_finish(&s), MPOTA_ERR_INFLATE_TRUNCATED);
    assert_int_equal(mpota_inflate_zlib_diag(&s)->actual, 0);
    mpota_inflate_zlib_end(&s);
    size_t clen;
    uint8_t *comp = compress_as(MPOTA_STREAM_GZIP, (const uint8_t *)"", 0, &clen);
    assert_int_equal(inflate_all(MPOTA_STREAM_GZIP, comp, clen, 0, 1, &c, NULL), MPOTA_OK);
    assert_int_equal(c.len, 0);
    free(comp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_and_byte_by_byte),
        cmocka_unit_test(test_every_split_point),
        cmocka_unit_test(test_truncated_at_every_length),
        cmocka_unit_test(test_trailing_bytes_and_second_member),
        cmocka_unit_test(test_trailer_check_values),
        cmocka_unit_test(test_corrupt_data),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_output_bound),
        cmocka_unit_test(test_sink_error_passes_through),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
