// The core's detools patch applier (src/core/delta.c): detools' own patches
// (tests/vectors/detools) reproduce their image in every chunking, and every
// malformed patch is refused with its code and numbers before it acts: a
// from-read past the running image, output past the image or the slot,
// sizes past the patch, trailing and missing bytes, a window too large,
// compressions and data formats this build does not apply, a sink's error.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flash_emu.h"
#include "host_file.h"
#include "mpota/delta.h"

#define FLASH (1u << 20)

struct out {
    uint8_t *p;
    size_t n, cap;
    int fail_at;  // the sink refuses once it holds this many bytes (0: never)
};

static int sink(void *ctx, const uint8_t *p, uint32_t n)
{
    struct out *o = ctx;
    if (o->fail_at && o->n + n >= (size_t)o->fail_at) {
        return MPOTA_ERR_FLASH_VERIFY;
    }
    assert_true(o->n + n <= o->cap);
    memcpy(o->p + o->n, p, n);
    o->n += n;
    return 0;
}

struct rig {
    struct mpota_flash_emu emu;
    struct mpota_area from;
    uint8_t window[1024];
    struct out out;
    mpota_delta_t d;
};

static struct rig *rig_new(const uint8_t *from, uint32_t from_len, uint32_t patch_len,
                           uint32_t to_max)
{
    struct rig *r = calloc(1, sizeof(*r));
    assert_int_equal(mpota_flash_emu_open_ram(&r->emu, FLASH), 0);
    assert_int_equal(mpota_flash_emu_load(&r->emu, 0, from, from_len), 0);
    assert_int_equal(mpota_area_init(&r->from, &r->emu.flash, 0, FLASH, true), 0);
    r->out.cap = FLASH;
    r->out.p = malloc(FLASH);
    const struct mpota_delta_cfg cfg = {.from = &r->from, .from_len = from_len,
                                        .patch_len = patch_len, .to_max = to_max,
                                        .window = r->window, .window_size = sizeof(r->window),
                                        .sink = sink, .sink_ctx = &r->out};
    assert_int_equal(mpota_delta_begin(&r->d, &cfg), 0);
    return r;
}

static void rig_free(struct rig *r)
{
    mpota_flash_emu_close(&r->emu);
    free(r->out.p);
    free(r);
}

// Pushes the patch in pieces of `chunk`, then finishes. Returns the first error.
static int apply(struct rig *r, const uint8_t *patch, size_t len, size_t chunk)
{
    int rc = 0;
    for (size_t i = 0; i < len && !rc; i += chunk) {
        rc = mpota_delta_push(&r->d, patch + i, (uint32_t)(len - i < chunk ? len - i : chunk));
    }
    return rc ? rc : mpota_delta_finish(&r->d);
}

static uint8_t *vector(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/detools/%s", MPOTA_VECTORS_DIR, name);
    uint8_t *p = mpota_host_read_file(path, len);
    if (!p) {
        fail_msg("cannot read %s", path);
    }
    return p;
}

static void test_detools_patches_reproduce_their_image(void **state)
{
    (void)state;
    size_t from_len, to_len;
    uint8_t *from = vector("from.bin", &from_len), *to = vector("to.bin", &to_len);
    const char *names[] = {"to.none.patch", "to.crle.patch", "to.heatshrink.patch",
                           "to.hs10.patch"};
    const size_t chunks[] = {1, 2, 3, 255, 4096, 1u << 20};
    for (size_t i = 0; i < 4; i++) {
        size_t len;
        uint8_t *patch = vector(names[i], &len);
        for (size_t c = 0; c < 6; c++) {
            struct rig *r = rig_new(from, (uint32_t)from_len, (uint32_t)len, 0x20000);
            int rc = apply(r, patch, len, chunks[c]);
            if (rc) {
                fail_msg("%s in %zu-byte pieces: %d at %u", names[i], chunks[c], rc,
                         r->d.diag.offset);
            }
            assert_int_equal(r->out.n, to_len);
            assert_memory_equal(r->out.p, to, to_len);
            assert_int_equal(mpota_delta_to_size(&r->d), to_len);
            rig_free(r);
        }
        free(patch);
    }
    free(from);
    free(to);
}

// Expects patch to be refused with err, offset, expected and actual.
static void refused(const uint8_t *from, uint32_t from_len, const uint8_t *patch, size_t len,
                    uint32_t to_max, int err, uint32_t off, uint32_t exp, uint32_t act)
{
    for (size_t chunk = 1; chunk <= len + 1; chunk = chunk * 3 + 1) {
        struct rig *r = rig_new(from, from_len, (uint32_t)len, to_max);
        int rc = apply(r, patch, len, chunk);
        const struct mpota_diag *d = mpota_delta_diag(&r->d);
        if (rc != err || d->offset != off || d->expected != exp || d->actual != act) {
            fail_msg("chunk %zu: got %d at %u (%u, %u), want %d at %u (%u, %u)", chunk, rc,
                     d->offset, d->expected, d->actual, err, off, exp, act);
        }
        // Sticky: the next call says the same.
        assert_int_equal(mpota_delta_push(&r->d, patch, 1), err);
        rig_free(r);
    }
}

static const uint8_t base[16] = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25};

static void test_none_patches_by_hand(void **state)
{
    (void)state;
    // to = 4 diff bytes over base[0..3] (+1 each), 2 extra bytes, adjust +6,
    // then 3 diff bytes over base[10..12] (+0), no extra, adjust 0.
    const uint8_t ok[] = {0x00, 9, 0, 4, 1, 1, 1, 1, 2, 0xAA, 0xBB, 6, 3, 0, 0, 0, 0, 0};
    struct rig *r = rig_new(base, sizeof(base), sizeof(ok), 100);
    assert_int_equal(apply(r, ok, sizeof(ok), 1), 0);
    const uint8_t want[] = {11, 12, 13, 14, 0xAA, 0xBB, 20, 21, 22};
    assert_int_equal(r->out.n, sizeof(want));
    assert_memory_equal(r->out.p, want, sizeof(want));
    rig_free(r);

    // A negative adjustment (0x41 = -1) reads a byte again; reading the
    // base's last byte is allowed.
    const uint8_t back[] = {0x00, 3, 0, 1, 0, 0, 0x41, 1, 5, 0, 0x0E, 1, 0, 0, 0};
    r = rig_new(base, sizeof(base), sizeof(back), 100);
    assert_int_equal(apply(r, back, sizeof(back), 2), 0);
    const uint8_t want2[] = {10, 15, 25};
    assert_int_equal(r->out.n, 3);
    assert_memory_equal(r->out.p, want2, 3);
    rig_free(r);

    // An empty image: the header alone.
    const uint8_t empty[] = {0x04, 0x00};
    r = rig_new(base, sizeof(base), sizeof(empty), 100);
    assert_int_equal(apply(r, empty, sizeof(empty), 1), 0);
    assert_int_equal(r->out.n, 0);
    rig_free(r);
}

static void test_refusals(void **state)
{
    (void)state;
    // Header: another patch type, bit 7, an unknown compression; lzma.
    const uint8_t in_place[] = {0x10, 1};
    refused(base, 16, in_place, 2, 100, MPOTA_ERR_DELTA_HEADER, 0, 0, 0x10);
    const uint8_t bit7[] = {0x80, 1};
    refused(base, 16, bit7, 2, 100, MPOTA_ERR_DELTA_HEADER, 0, 0, 0x80);
    const uint8_t lzma[] = {0x01, 1};
    refused(base, 16, lzma, 2, 100, MPOTA_ERR_DELTA_COMPRESSION, 0, 0, 1);
    // The new image larger than the slot; a negative image size.
    const uint8_t big[] = {0x00, 0x80 | 0x3F, 0x7F};  // 8191
    refused(base, 16, big, 3, 4096, MPOTA_ERR_DELTA_TO_RANGE, 2, 4096, 8191);
    const uint8_t neg[] = {0x00, 0x41};
    refused(base, 16, neg, 2, 100, MPOTA_ERR_DELTA_CORRUPT, 1, 0, 0);
    // A diff reading past the 16-byte base (from 0, 17 bytes).
    const uint8_t far[] = {0x00, 20, 0, 17};
    refused(base, 16, far, 4, 100, MPOTA_ERR_DELTA_FROM_RANGE, 3, 16, 17);
    // An adjustment below 0, then a diff.
    const uint8_t below[] = {0x00, 4, 0, 0, 0, 0x42, 2};
    refused(base, 16, below, 7, 100, MPOTA_ERR_DELTA_FROM_RANGE, 6, 16, 0);
    // Extra data beyond the image's 4 bytes.
    const uint8_t extra[] = {0x00, 4, 0, 0, 5};
    refused(base, 16, extra, 5, 100, MPOTA_ERR_DELTA_TO_RANGE, 4, 4, 5);
    // A data-format patch (xtensa-lx106 = 2).
    const uint8_t df[] = {0x00, 4, 3, 2};
    refused(base, 16, df, 4, 100, MPOTA_ERR_DELTA_DATA_FORMAT, 3, 0, 0);
    // The patch ends inside the image: 2 of 4 bytes made.
    const uint8_t cut[] = {0x00, 4, 0, 0, 4, 1, 2};
    refused(base, 16, cut, 7, 100, MPOTA_ERR_DELTA_TRUNCATED, 7, 4, 2);
    // Bytes after the image is complete.
    const uint8_t tail[] = {0x00, 1, 0, 0, 1, 9, 0, 0};
    refused(base, 16, tail, 8, 100, MPOTA_ERR_DELTA_TRAILING, 7, 0, 0);
    // A size of more than 32 bits.
    const uint8_t huge[] = {0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    refused(base, 16, huge, 7, 100, MPOTA_ERR_DELTA_CORRUPT, 6, 0, 0);
    // crle: an unknown segment kind.
    const uint8_t kind[] = {0x02, 1, 7};
    refused(base, 16, kind, 3, 100, MPOTA_ERR_DELTA_CORRUPT, 2, 1, 7);
    // heatshrink: a window of 2^12 B where 1,024 B are held; lookahead >= window.
    const uint8_t window[] = {0x04, 1, 0x84};
    refused(base, 16, window, 3, 100, MPOTA_ERR_DELTA_WINDOW, 2, 1024, 4096);
    const uint8_t look[] = {0x04, 1, 0x46};
    refused(base, 16, look, 3, 100, MPOTA_ERR_DELTA_CORRUPT, 2, 0, 0x46);
}

// A patch shorter than the length it was announced with, and one longer.
static void test_patch_length_is_checked(void **state)
{
    (void)state;
    const uint8_t ok[] = {0x00, 1, 0, 0, 1, 9, 0};
    struct rig *r = rig_new(base, 16, sizeof(ok) + 3, 100);
    assert_int_equal(apply(r, ok, sizeof(ok), 1), MPOTA_ERR_EXPECT_LENGTH);
    assert_int_equal(r->d.diag.expected, sizeof(ok) + 3);
    assert_int_equal(r->d.diag.actual, sizeof(ok));
    rig_free(r);
    r = rig_new(base, 16, sizeof(ok) - 1, 100);
    assert_int_equal(apply(r, ok, sizeof(ok), 100), MPOTA_ERR_DELTA_TRAILING);
    assert_int_equal(r->d.diag.offset, sizeof(ok) - 1);
    rig_free(r);
}

// The sink's refusal stops the patch and comes back unchanged.
static void test_sink_error_propagates(void **state)
{
    (void)state;
    size_t from_len, len;
    uint8_t *from = vector("from.bin", &from_len), *patch = vector("to.heatshrink.patch", &len);
    struct rig *r = rig_new(from, (uint32_t)from_len, (uint32_t)len, 0x20000);
    r->out.fail_at = 1000;
    assert_int_equal(apply(r, patch, len, 64), MPOTA_ERR_FLASH_VERIFY);
    assert_int_equal(mpota_delta_push(&r->d, patch, 1), MPOTA_ERR_FLASH_VERIFY);
    assert_true(r->out.n < 1000);
    rig_free(r);
    free(from);
    free(patch);
}

// heatshrink by hand (window 2^4, lookahead 2^3): literal 'a', a
// back-reference of 5 bytes at distance 1 (overlapping: "aaaaa"), and one
// into the zero-filled window before the start (distance 16: a zero).
static void test_heatshrink_back_references(void **state)
{
    (void)state;
    // Header 0x00: window 2^4, lookahead 2^3. The payload: dfsize 0, diff
    // 0, extra 7, the 7 bytes, adjustment 0, as literals and two references.
    uint8_t p[16] = {0x04, 7, 0x00};
    uint64_t bits = 0;
    unsigned nb = 0, pos = 3;
    const struct {
        unsigned v, n;
    } items[] = {
        {0x100 | 0x00, 9}, {0x100 | 0x00, 9}, {0x100 | 0x07, 9},  // dfsize, diff, extra size
        {0x100 | 'a', 9},                                      // 'a'
        {0x04, 8},                                             // back 1, count 5: "aaaaa"
        {0x78, 8},                                             // back 16, count 1: zero
        {0x100 | 0x00, 9},                                     // adjustment 0
    };
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        bits = (bits << items[i].n) | items[i].v;
        nb += items[i].n;
        while (nb >= 8) {
            p[pos++] = (uint8_t)(bits >> (nb - 8));
            nb -= 8;
        }
    }
    if (nb) {
        p[pos++] = (uint8_t)(bits << (8 - nb));
    }
    struct rig *r = rig_new(base, 16, pos, 100);
    assert_int_equal(apply(r, p, pos, 1), 0);
    const uint8_t want[] = {'a', 'a', 'a', 'a', 'a', 'a', 0};
    assert_int_equal(r->out.n, 7);
    assert_memory_equal(r->out.p, want, 7);
    rig_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detools_patches_reproduce_their_image),
        cmocka_unit_test(test_none_patches_by_hand),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_patch_length_is_checked),
        cmocka_unit_test(test_sink_error_propagates),
        cmocka_unit_test(test_heatshrink_back_references),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
