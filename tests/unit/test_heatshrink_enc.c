// The heatshrink encoder (src/host/heatshrink_enc.c). What it writes is
// decoded here by a small decoder written from heatshrink's format (not
// from the encoder) and gives back the input, for every parameter pair and
// kind of data; its length is the minimum, found by a brute-force search of
// every parse; it is never longer than a greedy parse by heatshrink's own
// rule; and it is no longer than detools' heatshrink payload for the vector
// pair (tests/vectors/detools).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "heatshrink_enc.h"
#include "mpota/err.h"
#include "testutil.h"

/// an independent decoder ///

struct bit_reader {
    const uint8_t *p;
    size_t len, bit;  // bit: the next bit, counted from the first byte's MSB
};

static bool take(struct bit_reader *r, unsigned n, uint32_t *v)
{
    if (r->bit + n > 8 * r->len) {
        return false;
    }
    *v = 0;
    for (unsigned i = 0; i < n; i++, r->bit++) {
        *v = *v << 1 | ((r->p[r->bit / 8] >> (7 - r->bit % 8)) & 1u);
    }
    return true;
}

// Decodes until no whole item is left (the padding); before the first
// byte the window reads zeros. Returns the bytes made (at most cap).
static size_t decode(const uint8_t *in, size_t len, unsigned w, unsigned l, uint8_t *out,
                     size_t cap)
{
    struct bit_reader r = {in, len, 0};
    size_t n = 0;
    uint32_t flag, a, b;
    while (take(&r, 1, &flag)) {
        if (flag && take(&r, 8, &a)) {
            assert_true(n < cap);
            out[n++] = (uint8_t)a;
        } else if (!flag && take(&r, w, &a) && take(&r, l, &b)) {
            for (uint32_t k = 0; k <= b; k++) {
                assert_true(n < cap);
                out[n] = n > a ? out[n - a - 1] : 0;
                n++;
            }
        } else {
            break;
        }
    }
    return n;
}

/// brute-force references ///

static uint8_t at_or_zero(const uint8_t *in, long i)
{
    return i < 0 ? 0 : in[i];
}

// The longest copy at i from 1..2^w back, by trying them all.
static size_t longest(const uint8_t *in, size_t len, size_t i, unsigned w, unsigned l)
{
    size_t max = len - i < (1u << l) ? len - i : (1u << l), best = 0;
    for (long d = 1; d <= (1l << w); d++) {
        size_t k = 0;
        while (k < max && at_or_zero(in, (long)(i + k) - d) == in[i + k]) {
            k++;
        }
        best = k > best ? k : best;
    }
    return best;
}

// The fewest bits over every parse (every copy length at every position).
static uint64_t optimal_bits(const uint8_t *in, size_t len, unsigned w, unsigned l)
{
    uint64_t *cost = calloc(len + 1, sizeof(*cost));
    for (size_t i = len; i-- > 0;) {
        size_t most = longest(in, len, i, w, l);
        cost[i] = 9 + cost[i + 1];
        for (size_t k = 1; k <= most; k++) {
            uint64_t c = 1 + w + l + cost[i + k];
            cost[i] = c < cost[i] ? c : cost[i];
        }
    }
    uint64_t bits = cost[0];
    free(cost);
    return bits;
}

// heatshrink's encoder's rule: the longest copy when it is longer than a
// copy's bits in whole bytes, else a literal.
static uint64_t greedy_bits(const uint8_t *in, size_t len, unsigned w, unsigned l)
{
    uint64_t bits = 0;
    for (size_t i = 0; i < len;) {
        size_t n = longest(in, len, i, w, l);
        bool copy = n > (1 + w + l) / 8;
        bits += copy ? 1 + w + l : 9;
        i += copy ? n : 1;
    }
    return bits;
}

/// inputs ///

enum kind { RANDOM, SPARSE, TEXT, RUNS, ZEROS, KINDS };

static uint8_t *input(enum kind k, size_t len, uint64_t seed)
{
    static const char words[] = "import machine uos esp32 Pin from the flash partition ";
    uint8_t *p = malloc(len + 1);
    for (size_t i = 0; i < len;) {
        uint32_t r = rng_below(&seed, 1000);
        size_t run = k == RUNS ? 1 + rng_below(&seed, 300) : 1;
        for (size_t j = 0; j < run && i < len; j++, i++) {
            p[i] = k == RANDOM   ? (uint8_t)r
                   : k == SPARSE ? (r < 100 ? (uint8_t)rng_below(&seed, 256) : 0)
                   : k == TEXT   ? (uint8_t)words[(i * 7 + r / 200) % (sizeof(words) - 1)]
                   : k == RUNS   ? (uint8_t)(r % 7)
                                 : 0;
        }
    }
    return p;
}

static const unsigned params[][2] = {{4, 3}, {5, 4}, {8, 4}, {8, 7}, {10, 9}, {11, 4}};

static uint8_t *encode(const uint8_t *in, size_t len, unsigned w, unsigned l, size_t *out_len,
                       uint64_t *bits)
{
    struct mpota_buf out = {0};
    assert_int_equal(mpota_heatshrink_encode(in, len, w, l, &out, bits), MPOTA_OK);
    assert_int_equal(out.len, (*bits + 7) / 8);
    *out_len = out.len;
    return out.p;
}

static void test_decodes_to_its_input(void **state)
{
    (void)state;
    const size_t lens[] = {0, 1, 2, 3, 17, 300, 5000};
    for (size_t p = 0; p < sizeof(params) / sizeof(params[0]); p++) {
        for (int k = 0; k < KINDS; k++) {
            for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
                uint8_t *in = input((enum kind)k, lens[i], 11 + i);
                size_t n;
                uint64_t bits;
                uint8_t *enc = encode(in, lens[i], params[p][0], params[p][1], &n, &bits);
                uint8_t *dec = malloc(lens[i] + 1);
                size_t got = decode(enc, n, params[p][0], params[p][1], dec, lens[i]);
                assert_int_equal(got, lens[i]);
                assert_memory_equal(dec, in, lens[i]);
                free(in);
                free(enc);
                free(dec);
            }
        }
    }
}

static void test_minimal_and_never_worse_than_greedy(void **state)
{
    (void)state;
    for (size_t p = 0; p < sizeof(params) / sizeof(params[0]); p++) {
        for (int k = 0; k < KINDS; k++) {
            unsigned w = params[p][0], l = params[p][1];
            uint8_t *in = input((enum kind)k, 2000, 5 + (uint64_t)k);
            size_t n;
            uint64_t bits;
            free(encode(in, 2000, w, l, &n, &bits));
            uint64_t best = optimal_bits(in, 2000, w, l), greedy = greedy_bits(in, 2000, w, l);
            if (bits != best || bits > greedy) {
                fail_msg("kind %d, window %u, lookahead %u: %llu bits, optimum %llu, greedy %llu",
                         k, w, l, (unsigned long long)bits, (unsigned long long)best,
                         (unsigned long long)greedy);
            }
            free(in);
        }
    }
}

// detools' heatshrink patch of the vector pair: the patch's header byte and
// size, then the parameters' byte and the stream.
static void check_detools_stream(const char *name)
{
    size_t len;
    uint8_t *patch = vector_load("detools", name, &len);
    size_t at = 1;
    while (patch[at] & 0x80u) {
        at++;
    }
    at++;
    unsigned w = (patch[at] >> 4) + 4u, l = (patch[at] & 0x0Fu) + 3u;
    size_t stream = len - at - 1, cap = 1u << 20, n;
    uint8_t *payload = malloc(cap);
    size_t payload_len = decode(patch + at + 1, stream, w, l, payload, cap);
    uint64_t bits;
    uint8_t *enc = encode(payload, payload_len, w, l, &n, &bits);
    if (n > stream) {
        fail_msg("%s: mpota's stream is %zu B, detools' %zu B", name, n, stream);
    }
    free(enc);
    free(payload);
    free(patch);
}

static void test_no_longer_than_detools(void **state)
{
    (void)state;
    check_detools_stream("to.heatshrink.patch");
    check_detools_stream("to.hs10.patch");
}

static void test_parameters_checked(void **state)
{
    (void)state;
    struct mpota_buf out = {0};
    const uint8_t in[] = {1, 2, 3};
    const unsigned bad[][2] = {{3, 2}, {16, 4}, {8, 2}, {8, 8}, {4, 4}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(mpota_heatshrink_encode(in, 3, bad[i][0], bad[i][1], &out, NULL),
                         MPOTA_ERR_INVALID_ARG);
        assert_int_equal(out.len, 0);
    }
    assert_int_equal(mpota_heatshrink_encode(in, 3, 15, 14, &out, NULL), MPOTA_OK);
    mpota_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decodes_to_its_input),
        cmocka_unit_test(test_minimal_and_never_worse_than_greedy),
        cmocka_unit_test(test_no_longer_than_detools),
        cmocka_unit_test(test_parameters_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
