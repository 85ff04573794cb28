// Making detools patches on the host (src/host/delta_make.c, delta_bsdiff.c,
// delta_lzma.c) and applying them with the core (delta_apply.c): detools'
// size encoding byte for byte; patches of random pairs with edits, in every
// compression and heatshrink's extreme parameters, give back NEW through the
// core's applier; the triples cover NEW exactly; empty and identical inputs;
// detools' own lzma patch applies; and the host's lzma refusals (trailing
// data, a damaged or cut stream) name the patch byte.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delta_apply.h"
#include "delta_bsdiff.h"
#include "delta_make.h"
#include "testutil.h"

static void test_sizes_as_detools_packs_them(void **state)
{
    (void)state;
    const struct {
        int64_t v;
        uint8_t bytes[4];
        size_t n;
    } cases[] = {
        {0, {0x00}, 1},        {1, {0x01}, 1},          {63, {0x3F}, 1},
        {64, {0x80, 0x01}, 2}, {8191, {0xBF, 0x7F}, 2}, {8192, {0x80, 0x80, 0x01}, 3},
        {-1, {0x41}, 1},       {-64, {0xC0, 0x01}, 2},  {-8191, {0xFF, 0x7F}, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mpota_buf b = {0};
        mpota_delta_put_size(&b, cases[i].v);
        assert_int_equal(b.len, cases[i].n);
        assert_memory_equal(b.p, cases[i].bytes, cases[i].n);
        mpota_buf_free(&b);
    }
}

// OLD random; NEW with bytes changed, a block inserted and one removed.
static void make_pair(uint64_t seed, size_t len, uint8_t **old, uint8_t **new_, size_t *new_len)
{
    *old = malloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        (*old)[i] = (uint8_t)(rng_below(&seed, 4) ? rng_below(&seed, 8) : rng_below(&seed, 256));
    }
    size_t ins = len / 3, ins_len = len / 20, rem = len / 2, rem_len = len / 25;
    *new_len = len + ins_len - rem_len;
    *new_ = malloc(*new_len + 1);
    memcpy(*new_, *old, ins);
    for (size_t i = 0; i < ins_len; i++) {
        (*new_)[ins + i] = (uint8_t)rng_below(&seed, 256);
    }
    memcpy(*new_ + ins + ins_len, *old + ins, rem - ins);
    memcpy(*new_ + ins_len + rem, *old + rem + rem_len, len - rem - rem_len);
    for (size_t i = 0; i < *new_len / 100; i++) {
        (*new_)[rng_below(&seed, (uint32_t)*new_len)] ^= 0x10;
    }
}

static void round_trip(const uint8_t *old, size_t old_len, const uint8_t *new_, size_t new_len,
                       const struct mpota_delta_make_opts *o)
{
    struct mpota_buf patch = {0}, out = {0};
    struct mpota_delta_made made;
    struct mpota_delta_applied a;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_delta_make(old, old_len, new_, new_len, o, &patch, &made), 0);
    assert_int_equal(made.diff_bytes + made.extra_bytes, new_len);
    int rc = mpota_delta_apply(old, old_len, patch.p, patch.len, &out, &a, &d);
    if (rc) {
        fail_msg("compression %d: refused %d at %u (%u, %u)", o->compression, rc, d.offset,
                 d.expected, d.actual);
    }
    assert_int_equal(a.compression, o->compression);
    assert_int_equal(out.len, new_len);
    assert_memory_equal(out.p, new_, new_len);
    mpota_buf_free(&patch);
    mpota_buf_free(&out);
}

static void test_round_trips_in_every_compression(void **state)
{
    (void)state;
    const struct mpota_delta_make_opts opts[] = {
        {.compression = MPOTA_DELTA_NONE},
        {.compression = MPOTA_DELTA_CRLE},
        {.compression = MPOTA_DELTA_HEATSHRINK},
        {.compression = MPOTA_DELTA_HEATSHRINK, .window_sz2 = 4, .lookahead_sz2 = 3},
        {.compression = MPOTA_DELTA_HEATSHRINK, .window_sz2 = 12, .lookahead_sz2 = 11},
        {.compression = MPOTA_DELTA_LZMA},
    };
    const size_t lens[] = {1, 100, 5000, 70000};
    for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
        uint8_t *old, *new_;
        size_t new_len;
        make_pair(l + 1, lens[l], &old, &new_, &new_len);
        for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
            round_trip(old, lens[l], new_, new_len, &opts[i]);
            round_trip(new_, new_len, old, lens[l], &opts[i]);  // and back
            round_trip(NULL, 0, new_, new_len, &opts[i]);       // from nothing
        }
        free(old);
        free(new_);
    }
}

static void test_identical_and_empty(void **state)
{
    (void)state;
    uint8_t *old, *new_;
    size_t new_len;
    make_pair(9, 4000, &old, &new_, &new_len);
    struct mpota_delta_triples t;
    assert_int_equal(mpota_delta_bsdiff(old, 4000, old, 4000, &t), 0);
    assert_int_equal(t.n, 1);  // all of it one diff of zeros
    assert_int_equal(t.t[0].diff_len, 4000);
    assert_int_equal(t.t[0].extra_len, 0);
    mpota_delta_triples_free(&t);
    assert_int_equal(mpota_delta_bsdiff(old, 4000, NULL, 0, &t), 0);
    assert_int_equal(t.n, 0);
    for (int c = 0; c <= MPOTA_DELTA_HEATSHRINK; c++) {
        if (c == MPOTA_DELTA_BZ2) {
            continue;
        }
        struct mpota_buf patch = {0};
        const struct mpota_delta_make_opts o = {.compression = c};
        assert_int_equal(mpota_delta_make(old, 4000, NULL, 0, &o, &patch, NULL), 0);
        const uint8_t want[] = {(uint8_t)c, 0};  // detools' empty patch
        assert_int_equal(patch.len, 2);
        assert_memory_equal(patch.p, want, 2);
        mpota_buf_free(&patch);
    }
    free(old);
    free(new_);
}

static void test_options_checked(void **state)
{
    (void)state;
    const uint8_t x[] = {1, 2, 3};
    const struct mpota_delta_make_opts bad[] = {
        {.compression = MPOTA_DELTA_BZ2},
        {.compression = MPOTA_DELTA_ZSTD},
        {.compression = MPOTA_DELTA_HEATSHRINK, .window_sz2 = 16},
        {.compression = MPOTA_DELTA_HEATSHRINK, .window_sz2 = 8, .lookahead_sz2 = 8},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct mpota_buf patch = {0};
        assert_int_equal(mpota_delta_make(x, 3, x, 3, &bad[i], &patch, NULL),
                         MPOTA_ERR_INVALID_ARG);
        assert_int_equal(patch.len, 0);
    }
    assert_string_equal(mpota_delta_compression_name(MPOTA_DELTA_HEATSHRINK), "heatshrink");
    assert_null(mpota_delta_compression_name(7));
}

static int apply_vector(const uint8_t *patch, size_t len, struct mpota_diag *d)
{
    size_t from_len, to_len;
    uint8_t *from = vector_load("detools", "from.bin", &from_len);
    uint8_t *to = vector_load("detools", "to.bin", &to_len);
    struct mpota_buf out = {0};
    struct mpota_delta_applied a;
    int rc = mpota_delta_apply(from, from_len, patch, len, &out, &a, d);
    if (!rc) {
        assert_true(a.lzma);
        assert_int_equal(out.len, to_len);
        assert_memory_equal(out.p, to, to_len);
    } else {
        assert_int_equal(out.len < to_len, true);
    }
    mpota_buf_free(&out);
    free(from);
    free(to);
    return rc;
}

// detools' lzma patch of the vector pair: it applies; with data after the
// stream, damage inside it, or cut, it is refused.
static void test_lzma_patches(void **state)
{
    (void)state;
    size_t len;
    uint8_t *patch = vector_load("detools", "to.lzma.patch", &len);
    uint8_t *longer = malloc(len + 3);
    memcpy(longer, patch, len);
    memcpy(longer + len, "abc", 3);
    struct mpota_diag d = {0};
    assert_int_equal(apply_vector(patch, len, &d), 0);
    assert_int_equal(apply_vector(longer, len + 3, &d), MPOTA_ERR_DELTA_TRAILING);
    assert_int_equal(d.offset, len);
    longer[len / 2] ^= 0xFF;
    longer[len / 2 + 1] ^= 0xFF;
    assert_int_equal(apply_vector(longer, len, &d) != 0, true);
    assert_int_equal(apply_vector(patch, len - 100, &d), MPOTA_ERR_DELTA_TRUNCATED);
    assert_int_equal(d.expected, 44000);
    const uint8_t lzma_header_only[] = {0x01, 0x05};
    assert_int_equal(apply_vector(lzma_header_only, 2, &d), MPOTA_ERR_DELTA_TRUNCATED);
    free(longer);
    free(patch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_as_detools_packs_them),
        cmocka_unit_test(test_round_trips_in_every_compression),
        cmocka_unit_test(test_identical_and_empty),
        cmocka_unit_test(test_options_checked),
        cmocka_unit_test(test_lzma_patches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
