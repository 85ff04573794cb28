// The crle encoder (src/host/crle_enc.c): its segments, decoded here by a
// small decoder written from detools' format, give back the input; runs of
// 6 or more equal bytes, and only those, become repeated segments (detools'
// rule); sizes over 127 take more bytes; an empty input is one empty
// scattered segment, as detools writes it.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crle_enc.h"
#include "mpota/err.h"
#include "testutil.h"

static size_t get_size(const uint8_t *p, size_t len, size_t *at)
{
    size_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        assert_true(*at < len);
        uint8_t c = p[(*at)++];
        v |= (size_t)(c & 0x7Fu) << shift;
        if (!(c & 0x80u)) {
            return v;
        }
    }
}

// Decodes every segment; counts the repeated ones.
static size_t decode(const uint8_t *p, size_t len, uint8_t *out, size_t cap, size_t *repeated)
{
    size_t at = 0, n = 0;
    *repeated = 0;
    while (at < len) {
        uint8_t kind = p[at++];
        assert_true(kind <= 1);
        size_t size = get_size(p, len, &at);
        assert_true(n + size <= cap);
        if (kind == 1) {
            assert_true(at < len);
            memset(out + n, p[at++], size);
            (*repeated)++;
        } else {
            assert_true(at + size <= len);
            memcpy(out + n, p + at, size);
            at += size;
        }
        n += size;
    }
    return n;
}

static struct mpota_buf encode(const uint8_t *in, size_t len)
{
    struct mpota_buf out = {0};
    assert_int_equal(mpota_crle_encode(in, len, &out), MPOTA_OK);
    return out;
}

static void test_round_trips(void **state)
{
    (void)state;
    uint64_t seed = 3;
    for (size_t len = 0; len < 3000; len += 1 + len / 3) {
        uint8_t *in = malloc(len + 1), *out = malloc(len + 1);
        for (size_t i = 0; i < len;) {  // runs of 1..20 of a few values
            size_t run = 1 + rng_below(&seed, 20);
            uint8_t v = (uint8_t)rng_below(&seed, 4);
            for (; run && i < len; run--) {
                in[i++] = v;
            }
        }
        struct mpota_buf enc = encode(in, len);
        size_t repeated;
        assert_int_equal(decode(enc.p, enc.len, out, len, &repeated), len);
        assert_memory_equal(out, in, len);
        mpota_buf_free(&enc);
        free(in);
        free(out);
    }
}

static void test_runs_of_six_repeat(void **state)
{
    (void)state;
    const uint8_t five[] = {9, 7, 7, 7, 7, 7, 9};
    const uint8_t six[] = {9, 7, 7, 7, 7, 7, 7, 9};
    struct mpota_buf e5 = encode(five, sizeof(five)), e6 = encode(six, sizeof(six));
    const uint8_t want5[] = {0, 7, 9, 7, 7, 7, 7, 7, 9};
    const uint8_t want6[] = {0, 1, 9, 1, 6, 7, 0, 1, 9};
    assert_int_equal(e5.len, sizeof(want5));
    assert_memory_equal(e5.p, want5, sizeof(want5));
    assert_int_equal(e6.len, sizeof(want6));
    assert_memory_equal(e6.p, want6, sizeof(want6));
    mpota_buf_free(&e5);
    mpota_buf_free(&e6);
}

static void test_long_sizes_and_empty(void **state)
{
    (void)state;
    uint8_t *zeros = calloc(300, 1);
    struct mpota_buf e = encode(zeros, 300);
    const uint8_t want[] = {1, 0xAC, 0x02, 0};  // 300 = 0x12C: 0x2C | more, then 2
    assert_int_equal(e.len, sizeof(want));
    assert_memory_equal(e.p, want, sizeof(want));
    mpota_buf_free(&e);
    struct mpota_buf empty = encode(NULL, 0);
    const uint8_t none[] = {0, 0};
    assert_int_equal(empty.len, 2);
    assert_memory_equal(empty.p, none, 2);
    mpota_buf_free(&empty);
    free(zeros);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_runs_of_six_repeat),
        cmocka_unit_test(test_long_sizes_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
