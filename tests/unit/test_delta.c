// The detools sequential-patch applier (delta.c, crle_dec.c,
// heatshrink_dec.c): patches built here with small encoders of our own and
// patches made by the reference detools (tests/vectors/detools), each fed in
// one go, byte by byte, in every chunk size up to 64 and split at every
// offset, always to the same image; every refusal with its offset, expected
// and actual; the sink's failures passed through; the base read only inside
// [0, from_len) of a read-only area on an emulated flash.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flash_emu.h"
#include "mpota/delta.h"
#include "testutil.h"

#define FLASH_SIZE (64u << 10)
#define WINDOW_SIZE 1024u
#define TO_MAX (1u << 20)

// ---------------------------------------------------------------- the rig

struct sink {
    uint8_t *data;
    size_t len;
    uint32_t calls, short_calls;  // short: fewer than MPOTA_DELTA_CHUNK bytes
    int fail_rc;                  // returned once len would pass fail_after
    size_t fail_after;
};

struct rig {
    struct mpota_flash_emu emu;
    struct mpota_area from;  // read only: the running slot
    uint8_t window[WINDOW_SIZE];
    struct mpota_delta_cfg cfg;
    struct sink out;
    mpota_delta_t d;
};

static int sink_write(void *ctx, const uint8_t *data, uint32_t len)
{
    struct sink *o = ctx;
    o->calls++;
    o->short_calls += len < MPOTA_DELTA_CHUNK;
    assert_true(len > 0 && len <= MPOTA_DELTA_CHUNK);
    if (o->fail_rc && o->len + len > o->fail_after) {
        return o->fail_rc;
    }
    o->data = realloc(o->data, o->len + len);
    memcpy(o->data + o->len, data, len);
    o->len += len;
    return MPOTA_OK;
}

// The running image at the start of the read-only area.
static void load_from(struct rig *r, const uint8_t *img, size_t len)
{
    memset(r->emu.mem, 0xFF, FLASH_SIZE);
    assert_int_equal(mpota_flash_emu_load(&r->emu, 0, img, (uint32_t)len), 0);
    r->cfg.from_len = (uint32_t)len;
}

static int setup(void **state)
{
    struct rig *r = calloc(1, sizeof(*r));
    assert_int_equal(mpota_flash_emu_open_ram(&r->emu, FLASH_SIZE), 0);
    r->from = (struct mpota_area){&r->emu.flash, 0, FLASH_SIZE, true};
    memset(r->window, 0xA5, sizeof(r->window));  // the decoder must zero what it uses
    r->cfg = (struct mpota_delta_cfg){.from = &r->from, .to_max = TO_MAX, .window = r->window,
                                      .window_size = WINDOW_SIZE, .sink = sink_write,
                                      .sink_ctx = &r->out};
    *state = r;
    return 0;
}

static void reset_out(struct rig *r)
{
    free(r->out.data);
    r->out = (struct sink){0};
}

static int teardown(void **state)
{
    struct rig *r = *state;
    reset_out(r);
    mpota_flash_emu_close(&r->emu);
    free(r);
    return 0;
}

// Applies a whole patch in pieces of `chunk` bytes: push's or finish's code.
static int apply(struct rig *r, const uint8_t *patch, size_t len, size_t chunk)
{
    reset_out(r);
    r->cfg.patch_len = (uint32_t)len;
    int rc = mpota_delta_begin(&r->d, &r->cfg);
    for (size_t off = 0; rc == MPOTA_OK && off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = mpota_delta_push(&r->d, patch + off, (uint32_t)n);
    }
    return rc ? rc : mpota_delta_finish(&r->d);
}

static void assert_output(const struct rig *r, const uint8_t *want, size_t len)
{
    assert_int_equal(r->out.len, len);
    if (len) {
        assert_memory_equal(r->out.data, want, len);
    }
    // Full chunks, then at most one short one at the end.
    assert_true(r->out.short_calls <= 1);
}

static void assert_diag(const struct rig *r, int err, uint32_t offset, uint32_t expected,
                        uint32_t actual)
{
    const struct mpota_diag *d = mpota_delta_diag(&r->d);
    assert_int_equal(d->err, err);
    assert_int_equal(d->offset, offset);
    assert_int_equal(d->expected, expected);
    assert_int_equal(d->actual, actual);
}

// Applies in one go, byte by byte, in every chunk size up to 64 and split
// at every offset: always the image `want`.
static void assert_applies(struct rig *r, const uint8_t *patch, size_t len, const uint8_t *want,
                           size_t want_len)
{
    for (size_t chunk = 1; chunk <= 64; chunk++) {
        assert_int_equal(apply(r, patch, len, chunk), MPOTA_OK);
        assert_output(r, want, want_len);
    }
    assert_int_equal(apply(r, patch, len, len ? len : 1), MPOTA_OK);
    assert_output(r, want, want_len);
    for (size_t split = 0; split <= len && len <= 600; split++) {
        reset_out(r);
        r->cfg.patch_len = (uint32_t)len;
        assert_int_equal(mpota_delta_begin(&r->d, &r->cfg), MPOTA_OK);
        assert_int_equal(mpota_delta_push(&r->d, patch, (uint32_t)split), MPOTA_OK);
        assert_int_equal(mpota_delta_push(&r->d, patch + split, (uint32_t)(len - split)),
                         MPOTA_OK);
        assert_int_equal(mpota_delta_finish(&r->d), MPOTA_OK);
        assert_output(r, want, want_len);
    }
}

// ---------------------------------------------------------------- encoders

struct buf {
    uint8_t *p;
    size_t len;
};

static void put(struct buf *b, const void *data, size_t n)
{
    b->p = realloc(b->p, b->len + n + 1);
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_byte(struct buf *b, uint8_t c)
{
    put(b, &c, 1);
}

// A detools size: sign and 6 bits first, then 7 bits a byte, bit 7 "more".
static void put_size(struct buf *b, int64_t v)
{
    uint64_t m = v < 0 ? (uint64_t)-v : (uint64_t)v;
    uint8_t c = (uint8_t)((v < 0 ? 0x40u : 0u) | (m & 0x3Fu));
    for (m >>= 6; m; m >>= 7) {
        put_byte(b, c | 0x80u);
        c = m & 0x7Fu;
    }
    put_byte(b, c);
}

// crle's size: 7 bits a byte, least significant first.
static void put_crle_size(struct buf *b, uint64_t v)
{
    for (; v >= 0x80u; v >>= 7) {
        put_byte(b, (uint8_t)(v | 0x80u));
    }
    put_byte(b, (uint8_t)v);
}

// crle as detools makes it: runs of 6 or more repeated, the rest scattered.
static struct buf crle(const uint8_t *in, size_t n)
{
    struct buf b = {0};
    size_t lit = 0;  // start of the pending scattered bytes
    for (size_t i = 0; i <= n;) {
        size_t run = 1;
        while (i < n && i + run < n && in[i + run] == in[i]) {
            run++;
        }
        if (i == n || run >= 6) {
            if (i > lit) {
                put_byte(&b, 0);
                put_crle_size(&b, i - lit);
                put(&b, in + lit, i - lit);
            }
            if (i == n) {
                break;
            }
            put_byte(&b, 1);
            put_crle_size(&b, run);
            put_byte(&b, in[i]);
            i += run;
            lit = i;
        } else {
            i++;
        }
    }
    return b;
}

// heatshrink's bit stream, most significant bit first.
struct bits {
    struct buf b;
    uint8_t cur, used;
};

static void put_bits(struct bits *w, uint32_t v, unsigned n)
{
    while (n--) {
        w->cur = (uint8_t)(w->cur << 1 | ((v >> n) & 1u));
        if (++w->used == 8) {
            put_byte(&w->b, w->cur);
            w->cur = w->used = 0;
        }
    }
}

// The last byte padded with `pad` bits (heatshrink's encoder pads with 0).
static struct buf bits_end(struct bits *w, unsigned pad)
{
    if (w->used) {
        put_bits(w, pad ? 0xFFu : 0u, 8u - w->used);
    }
    return w->b;
}

static void hs_literal(struct bits *w, uint8_t c)
{
    put_bits(w, 1, 1);
    put_bits(w, c, 8);
}

static void hs_backref(struct bits *w, unsigned wb, unsigned lb, uint32_t back, uint32_t count)
{
    put_bits(w, 0, 1);
    put_bits(w, back - 1u, wb);
    put_bits(w, count - 1u, lb);
}

// A greedy heatshrink encoder: the longest match in the window, else a literal.
static struct buf heatshrink(const uint8_t *in, size_t n, unsigned wb, unsigned lb)
{
    struct bits w = {0};
    put_byte(&w.b, (uint8_t)((wb - 4u) << 4 | (lb - 3u)));
    for (size_t i = 0; i < n;) {
        size_t best = 0, best_back = 0, max = n - i < (1u << lb) ? n - i : (1u << lb);
        for (size_t back = 1; back <= i && back <= (1u << wb); back++) {
            size_t k = 0;
            while (k < max && in[i + k - back] == in[i + k]) {
                k++;
            }
            if (k > best) {
                best = k;
                best_back = back;
            }
        }
        if (best >= 2) {
            hs_backref(&w, wb, lb, (uint32_t)best_back, (uint32_t)best);
            i += best;
        } else {
            hs_literal(&w, in[i++]);
        }
    }
    return bits_end(&w, 0);
}

// The patch around a payload: header byte, to_size, compressed payload.
static struct buf patch_of(uint8_t compression, uint32_t to_size, const struct buf *payload,
                           unsigned wb, unsigned lb)
{
    struct buf p = {0}, c = {0};
    put_byte(&p, compression);
    put_size(&p, to_size);
    if (compression == MPOTA_DELTA_CRLE) {
        c = crle(payload->p, payload->len);
    } else if (compression == MPOTA_DELTA_HEATSHRINK) {
        c = heatshrink(payload->p, payload->len, wb, lb);
    } else {
        put(&c, payload->p, payload->len);
    }
    put(&p, c.p, c.len);
    free(c.p);
    return p;
}

// A bsdiff triple list turned into a payload that makes `to` from `from`.
struct triple {
    uint32_t diff, extra;
    int32_t adjust;
};

static struct buf payload_of(const uint8_t *from, const uint8_t *to, const struct triple *t,
                             size_t count)
{
    struct buf b = {0};
    put_size(&b, 0);  // no data-format patch
    size_t fp = 0, tp = 0;
    for (size_t i = 0; i < count; i++) {
        put_size(&b, t[i].diff);
        for (uint32_t k = 0; k < t[i].diff; k++) {
            put_byte(&b, (uint8_t)(to[tp++] - from[fp++]));
        }
        put_size(&b, t[i].extra);
        put(&b, to + tp, t[i].extra);
        tp += t[i].extra;
        put_size(&b, t[i].adjust);
        fp = (size_t)((int64_t)fp + t[i].adjust);
    }
    return b;
}

// A none patch whose image is one extra: `bytes` as they are.
static struct buf extra_only(const uint8_t *bytes, uint32_t n)
{
    struct buf p = {0};
    put_byte(&p, MPOTA_DELTA_NONE);
    put_size(&p, n);
    put_size(&p, 0);
    put_size(&p, 0);
    put_size(&p, n);
    put(&p, bytes, n);
    put_size(&p, 0);
    return p;
}

// ---------------------------------------------------------------- images

#define FROM_LEN 3000u

struct images {
    uint8_t from[FROM_LEN], to[4000];
    size_t to_len;
    struct buf payload;
};

// from: pseudo-random; to: a changed copy of its middle, new bytes with a
// run (crle's repeated segments), its start again (a negative adjustment),
// then its very end (a diff that reads up to exactly from_len).
static void make_images(struct images *im)
{
    uint64_t rng = 13;
    for (size_t i = 0; i < FROM_LEN; i++) {
        im->from[i] = (uint8_t)rng_next(&rng);
    }
    static const struct triple t[] = {
        {0, 5, 1000},         // 5 new bytes; from moves to 1000
        {700, 300, -1700},    // from[1000..1700) changed, 300 new; back to 0
        {400, 0, 2500},       // from[0..400) again; on to 2900
        {100, 40, -3000},     // from[2900..3000): the last byte of from
    };
    size_t tp = 0, fp = 0;
    for (size_t i = 0; i < 4; i++) {
        for (uint32_t k = 0; k < t[i].diff; k++, tp++, fp++) {
            im->to[tp] = (uint8_t)(im->from[fp] + (k % 50 == 0 ? 7 : 0));
        }
        for (uint32_t k = 0; k < t[i].extra; k++, tp++) {
            im->to[tp] = k >= 100 && k < 200 ? 0xAA : (uint8_t)(k * 31u);
        }
        fp = (size_t)((int64_t)fp + t[i].adjust);
    }
    im->to_len = tp;
    im->payload = payload_of(im->from, im->to, t, 4);
}

// ---------------------------------------------------------------- tests

// One image by none, crle and heatshrink (two windows): the same bytes, in
// any chunking.
static void test_each_compression_any_chunking(void **state)
{
    struct rig *r = *state;
    struct images im;
    make_images(&im);
    load_from(r, im.from, FROM_LEN);
    static const struct {
        uint8_t compression, wb, lb;
    } kinds[] = {{MPOTA_DELTA_NONE, 0, 0}, {MPOTA_DELTA_CRLE, 0, 0},
                 {MPOTA_DELTA_HEATSHRINK, 8, 4}, {MPOTA_DELTA_HEATSHRINK, 10, 5},
                 {MPOTA_DELTA_HEATSHRINK, 4, 3}};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        struct buf p = patch_of(kinds[k].compression, (uint32_t)im.to_len, &im.payload,
                                kinds[k].wb, kinds[k].lb);
        assert_applies(r, p.p, p.len, im.to, im.to_len);
        assert_int_equal(mpota_delta_to_size(&r->d), im.to_len);
        free(p.p);
    }
    free(im.payload.p);
}

// The state holds no pointer into itself: a copy taken mid-stream goes on
// to the same image.
static void test_state_copied_mid_stream(void **state)
{
    struct rig *r = *state;
    struct images im;
    make_images(&im);
    load_from(r, im.from, FROM_LEN);
    struct buf p = patch_of(MPOTA_DELTA_HEATSHRINK, (uint32_t)im.to_len, &im.payload, 8, 4);
    r->cfg.patch_len = (uint32_t)p.len;
    assert_int_equal(mpota_delta_begin(&r->d, &r->cfg), MPOTA_OK);
    assert_int_equal(mpota_delta_push(&r->d, p.p, (uint32_t)(p.len / 2)), MPOTA_OK);
    mpota_delta_t *copy = malloc(sizeof(*copy));
    memcpy(copy, &r->d, sizeof(*copy));
    memset(&r->d, 0xA5, sizeof(r->d));
    assert_int_equal(mpota_delta_push(copy, p.p + p.len / 2, (uint32_t)(p.len - p.len / 2)),
                     MPOTA_OK);
    assert_int_equal(mpota_delta_finish(copy), MPOTA_OK);
    assert_output(r, im.to, im.to_len);
    free(copy);
    free(p.p);
    free(im.payload.p);
}

static void apply_vector(struct rig *r, const char *from_name, const char *patch_name,
                         const char *to_name)
{
    size_t from_len, patch_len, to_len;
    uint8_t *from = vector_load("detools", from_name, &from_len);
    uint8_t *patch = vector_load("detools", patch_name, &patch_len);
    uint8_t *to = vector_load("detools", to_name, &to_len);
    load_from(r, from, from_len);
    static const size_t chunks[] = {1, 2, 3, 7, 100, 255, 256, 257, 4096};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        assert_int_equal(apply(r, patch, patch_len, chunks[i]), MPOTA_OK);
        assert_output(r, to, to_len);
    }
    assert_int_equal(apply(r, patch, patch_len, patch_len ? patch_len : 1), MPOTA_OK);
    assert_output(r, to, to_len);
    print_message("%s: %zu B patch -> %zu B image, %u sink calls\n", patch_name, patch_len,
                  to_len, r->out.calls);
    free(from);
    free(patch);
    free(to);
}

// Patches made by the reference detools 0.53 (tests/vectors/detools/README.md).
static void test_real_detools_patches(void **state)
{
    struct rig *r = *state;
    apply_vector(r, "app.from", "app.none.patch", "app.to");
    apply_vector(r, "app.from", "app.crle.patch", "app.to");
    apply_vector(r, "app.from", "app.heatshrink.patch", "app.to");
    apply_vector(r, "small.from", "small.none.patch", "small.to");
    apply_vector(r, "small.from", "small.crle.patch", "small.to");
    apply_vector(r, "small.from", "small.hs10.patch", "small.to");
    apply_vector(r, "small.from", "empty.none.patch", "empty.to");
    assert_int_equal(r->out.calls, 0);  // an empty image: the sink never hears of it

    // The same heatshrink patch with a 512 B window: refused before any output.
    size_t len;
    uint8_t *patch = vector_load("detools", "small.hs10.patch", &len);
    r->cfg.window_size = 512;
    assert_int_equal(apply(r, patch, len, len), MPOTA_ERR_DELTA_WINDOW);
    assert_diag(r, MPOTA_ERR_DELTA_WINDOW, 4, 512, 1024);  // header, to_size 0x90 0x99 0x02
    assert_int_equal(r->out.calls, 0);
    r->cfg.window_size = WINDOW_SIZE;
    free(patch);
    patch = vector_load("detools", "small.lzma.patch", &len);
    assert_int_equal(apply(r, patch, len, len), MPOTA_ERR_DELTA_COMPRESSION);
    assert_string_equal(mpota_delta_diag(&r->d)->label, "lzma");
    free(patch);
}

// Refused the same way in one go and byte by byte, and the failure sticks.
static void assert_refused(struct rig *r, const uint8_t *patch, size_t len, int err,
                           uint32_t offset, uint32_t expected, uint32_t actual)
{
    for (size_t chunk = 1; chunk <= len; chunk = chunk == 1 && len > 1 ? len : len + 1) {
        assert_int_equal(apply(r, patch, len, chunk), err);
        assert_diag(r, err, offset, expected, actual);
        uint32_t calls = r->out.calls;
        assert_int_equal(mpota_delta_push(&r->d, patch, (uint32_t)len), err);
        assert_int_equal(mpota_delta_finish(&r->d), err);
        assert_diag(r, err, offset, expected, actual);
        assert_int_equal(r->out.calls, calls);
    }
}

#define REFUSED(r, err, off, exp, act, ...)                                             \
    do {                                                                                \
        static const uint8_t p_[] = {__VA_ARGS__};                                      \
        assert_refused(r, p_, sizeof(p_), err, off, exp, act);                          \
    } while (0)

#define APPLIES(r, want, ...)                                                           \
    do {                                                                                \
        static const uint8_t p_[] = {__VA_ARGS__};                                      \
        assert_applies(r, p_, sizeof(p_), (const uint8_t *)(want), sizeof(want) - 1u);   \
    } while (0)

static int setup_images(void **state)
{
    setup(state);
    struct rig *r = *state;
    struct images im;
    make_images(&im);
    load_from(r, im.from, FROM_LEN);
    free(im.payload.p);
    return 0;
}

static void test_refuses_other_headers(void **state)
{
    struct rig *r = *state;
    REFUSED(r, MPOTA_ERR_DELTA_HEADER, 0, 0, 0x80, 0x80, 0x00);  // bit 7
    REFUSED(r, MPOTA_ERR_DELTA_HEADER, 0, 0, 0x10, 0x10, 0x00);  // in-place
    REFUSED(r, MPOTA_ERR_DELTA_HEADER, 0, 0, 0x24, 0x24, 0x00);  // hdiffpatch
    REFUSED(r, MPOTA_ERR_DELTA_HEADER, 0, 0, 0x07, 0x07, 0x00);  // compression 7
    static const char *const names[] = {"", "lzma", "", "bz2", "", "zstd", "lz4"};
    for (uint8_t c = 1; c <= 6; c++) {
        if (c == MPOTA_DELTA_CRLE || c == MPOTA_DELTA_HEATSHRINK) {
            continue;
        }
        uint8_t p[] = {c, 0x0A, 0x00};
        assert_refused(r, p, sizeof(p), MPOTA_ERR_DELTA_COMPRESSION, 0, 0, c);
        assert_string_equal(mpota_delta_diag(&r->d)->label, names[c]);
    }
    REFUSED(r, MPOTA_ERR_DELTA_DATA_FORMAT, 3, 0, 2, 0x00, 0x0A, 0x05, 0x02);
    assert_string_equal(mpota_delta_diag(&r->d)->label, "xtensa-lx106");
    REFUSED(r, MPOTA_ERR_DELTA_DATA_FORMAT, 3, 0, 0, 0x00, 0x0A, 0x05, 0x00);
    assert_string_equal(mpota_delta_diag(&r->d)->label, "arm-cortex-m4");
    REFUSED(r, MPOTA_ERR_DELTA_DATA_FORMAT, 3, 0, 9, 0x00, 0x0A, 0x05, 0x09);
    assert_string_equal(mpota_delta_diag(&r->d)->label, "unknown");
    REFUSED(r, MPOTA_ERR_DELTA_CORRUPT, 2, 0, 0, 0x00, 0x0A, 0x45);  // negative data format
}

static void test_refuses_sizes_beyond_the_image(void **state)
{
    struct rig *r = *state;
    r->cfg.to_max = 100;  // to_size 101: refused at its last byte, nothing made
    REFUSED(r, MPOTA_ERR_DELTA_TO_RANGE, 2, 100, 101, 0x00, 0xA5, 0x01, 0x00, 0x00);
    assert_int_equal(r->out.calls, 0);
    uint8_t hundred[100];  // to_size 100: as large as allowed
    memset(hundred, 'h', sizeof(hundred));
    struct buf p = extra_only(hundred, sizeof(hundred));
    assert_applies(r, p.p, p.len, hundred, 100);
    free(p.p);
    r->cfg.to_max = TO_MAX;
    // to_size past 32 bits, at the byte that makes it so.
    REFUSED(r, MPOTA_ERR_DELTA_TO_RANGE, 5, TO_MAX, UINT32_MAX, 0x00, 0xBF, 0xFF, 0xFF, 0xFF,
            0x7F);
    REFUSED(r, MPOTA_ERR_DELTA_TO_RANGE, 6, TO_MAX, UINT32_MAX, 0x00, 0x80, 0x80, 0x80, 0x80,
            0x80, 0x00);  // six bytes: longer than detools writes any 32-bit size
    REFUSED(r, MPOTA_ERR_DELTA_CORRUPT, 1, 0, 0, 0x00, 0x41);  // negative to_size
    // to_size 10: a diff of 11, an extra of 7 after 4, sizes past 32 bits.
    REFUSED(r, MPOTA_ERR_DELTA_TO_RANGE, 3, 10, 11, 0x00, 0x0A, 0x00, 0x0B);
    REFUSED(r, MPOTA_ERR_DELTA_TO_RANGE, 8, 10, 11, 0x00, 0x0A, 0x00, 0x04, 1, 2, 3, 4, 0x07);
    REFUSED(r, MPOTA_ERR_DELTA_TO_RANGE, 7, 10, UINT32_MAX, 0x00, 0x0A, 0x00, 0xBF, 0xFF, 0xFF,
            0xFF, 0x7F);
    REFUSED(r, MPOTA_ERR_DELTA_CORRUPT, 3, 0, 0, 0x00, 0x0A, 0x00, 0x45);  // diff -5
    REFUSED(r, MPOTA_ERR_DELTA_CORRUPT, 4, 0, 0, 0x00, 0x0A, 0x00, 0x00, 0x43);  // extra -3
    // An adjustment of 2^33 after the last byte: no real patch moves 4 GiB.
    REFUSED(r, MPOTA_ERR_DELTA_CORRUPT, 11, 0, 0, 0x00, 0x02, 0x00, 0x00, 0x02, 'a', 'b', 0x80,
            0x80, 0x80, 0x80, 0x40);
    // "-0" is 0.
    APPLIES(r, "ab", 0x00, 0x02, 0x40, 0x40, 0x02, 'a', 'b', 0x40);
}

// A none patch of to_size 1 whose triples first move the from position by
// each of `moves`, then make one byte as from[pos] + 5 with a diff of `diff`
// bytes (diff 1: the image; more: beyond it, for a refusal).
static struct buf moved_read(const int64_t *moves, size_t count, uint32_t diff)
{
    struct buf p = {0};
    put_byte(&p, MPOTA_DELTA_NONE);
    put_size(&p, diff);
    put_size(&p, 0);
    for (size_t i = 0; i < count; i++) {
        put_size(&p, 0);
        put_size(&p, 0);
        put_size(&p, moves[i]);
    }
    put_size(&p, diff);
    for (uint32_t i = 0; i < diff; i++) {
        put_byte(&p, 5);
    }
    put_size(&p, 0);
    put_size(&p, 0);
    return p;
}

static void test_reads_the_base_only_inside_from_len(void **state)
{
    struct rig *r = *state;
    uint8_t last = (uint8_t)(r->emu.mem[FROM_LEN - 1] + 5);
    static const int64_t to_last[] = {FROM_LEN - 1};
    struct buf p = moved_read(to_last, 1, 1);  // the read ends exactly at from_len
    assert_applies(r, p.p, p.len, &last, 1);
    free(p.p);
    p = moved_read(to_last, 1, 2);  // one byte beyond: refused at the diff's size
    assert_refused(r, p.p, p.len, MPOTA_ERR_DELTA_FROM_RANGE, (uint32_t)p.len - 5, FROM_LEN,
                   FROM_LEN + 1);
    free(p.p);
    // Below 0 and back: only a read counts, and one before byte 0 is refused.
    uint8_t fifth = (uint8_t)(r->emu.mem[5] + 5);
    static const int64_t around[] = {-5, 10, -1000, 1000};
    p = moved_read(around, 4, 1);
    assert_applies(r, p.p, p.len, &fifth, 1);
    free(p.p);
    // 4 GiB away and back is still exact; one byte further is corrupt.
    static const int64_t far[] = {-(int64_t)UINT32_MAX, UINT32_MAX, 5};
    p = moved_read(far, 3, 1);
    assert_applies(r, p.p, p.len, &fifth, 1);
    free(p.p);
    static const int64_t too_far[] = {-(int64_t)UINT32_MAX, -1};
    p = moved_read(too_far, 2, 1);
    assert_refused(r, p.p, p.len, MPOTA_ERR_DELTA_CORRUPT, (uint32_t)p.len - 5, 0, 0);
    free(p.p);
    static const int64_t before[] = {-1};
    p = moved_read(before, 1, 1);
    assert_refused(r, p.p, p.len, MPOTA_ERR_DELTA_FROM_RANGE, (uint32_t)p.len - 4, FROM_LEN,
                   UINT32_MAX);
    free(p.p);
    // The whole base may be shorter than its area: from_len is the limit.
    r->cfg.from_len = FROM_LEN - 1;
    p = moved_read(to_last, 1, 1);
    assert_refused(r, p.p, p.len, MPOTA_ERR_DELTA_FROM_RANGE, (uint32_t)p.len - 4,
                   FROM_LEN - 1, FROM_LEN);
    free(p.p);
    r->cfg.from_len = FROM_LEN;
}

static void test_ends_exactly_with_the_image(void **state)
{
    struct rig *r = *state;
    APPLIES(r, "x", 0x00, 0x01, 0x00, 0x00, 0x01, 'x', 0x00);
    REFUSED(r, MPOTA_ERR_DELTA_TRAILING, 7, 0, 0, 0x00, 0x01, 0x00, 0x00, 0x01, 'x', 0x00, 0xEE);
    // An empty image: the header and to_size are the whole patch.
    APPLIES(r, "", 0x00, 0x00);
    APPLIES(r, "", 0x02, 0x00);
    APPLIES(r, "", 0x04, 0x00);
    REFUSED(r, MPOTA_ERR_DELTA_TRAILING, 2, 0, 0, 0x00, 0x00, 0x00);
    REFUSED(r, MPOTA_ERR_DELTA_TRAILING, 2, 0, 0, 0x04, 0x00, 0x44);
    // Cut short: the image is not complete.
    REFUSED(r, MPOTA_ERR_DELTA_TRUNCATED, 7, 3, 2, 0x00, 0x03, 0x00, 0x00, 0x03, 'a', 'b');
    REFUSED(r, MPOTA_ERR_DELTA_TRUNCATED, 8, 3, 3, 0x00, 0x03, 0x00, 0x00, 0x03, 'a', 'b', 'c');
    REFUSED(r, MPOTA_ERR_DELTA_TRUNCATED, 1, 0, 0, 0x00);
    reset_out(r);
    r->cfg.patch_len = 0;
    assert_int_equal(mpota_delta_begin(&r->d, &r->cfg), MPOTA_OK);
    assert_int_equal(mpota_delta_finish(&r->d), MPOTA_ERR_DELTA_TRUNCATED);
    assert_diag(r, MPOTA_ERR_DELTA_TRUNCATED, 0, 0, 0);

    // More bytes than patch_len said, and fewer.
    static const uint8_t x[] = {0x00, 0x01, 0x00, 0x00, 0x01, 'x', 0x00};
    r->cfg.patch_len = 5;
    assert_int_equal(mpota_delta_begin(&r->d, &r->cfg), MPOTA_OK);
    assert_int_equal(mpota_delta_push(&r->d, x, sizeof(x)), MPOTA_ERR_EXPECT_LENGTH);
    assert_diag(r, MPOTA_ERR_EXPECT_LENGTH, 5, 5, 7);
    r->cfg.patch_len = 9;
    assert_int_equal(mpota_delta_begin(&r->d, &r->cfg), MPOTA_OK);
    assert_int_equal(mpota_delta_push(&r->d, x, sizeof(x)), MPOTA_OK);
    assert_int_equal(mpota_delta_finish(&r->d), MPOTA_ERR_EXPECT_LENGTH);
    assert_diag(r, MPOTA_ERR_EXPECT_LENGTH, 7, 9, 7);
    // Fewer, and the image not complete either: the missing bytes are the
    // first fact (a cut download, or a length that lies).
    r->cfg.patch_len = 20;
    assert_int_equal(mpota_delta_begin(&r->d, &r->cfg), MPOTA_OK);
    assert_int_equal(mpota_delta_push(&r->d, x, 4), MPOTA_OK);
    assert_int_equal(mpota_delta_finish(&r->d), MPOTA_ERR_EXPECT_LENGTH);
    assert_diag(r, MPOTA_ERR_EXPECT_LENGTH, 4, 20, 4);
}

static void test_crle_segments(void **state)
{
    struct rig *r = *state;
    // Empty segments mid-stream, and a run as extra data.
    APPLIES(r, "x", 0x02, 0x01, 0x00, 0x00, 0x01, 0x00, 0x55, 0x00, 0x05, 0x00, 0x00, 0x01, 'x',
            0x00);
    APPLIES(r, "zzzzzzzzzz", 0x02, 0x0A, 0x00, 0x03, 0x00, 0x00, 0x0A, 0x01, 0x0A, 'z', 0x00,
            0x01, 0x00);
    REFUSED(r, MPOTA_ERR_DELTA_CORRUPT, 2, 0, 0, 0x02, 0x0A, 0x02);  // kind 2
    REFUSED(r, MPOTA_ERR_DELTA_CORRUPT, 7, 0, 0, 0x02, 0x0A, 0x01, 0x80, 0x80, 0x80, 0x80,
            0x10);  // a count of 2^32
    REFUSED(r, MPOTA_ERR_DELTA_CORRUPT, 8, 0, 0, 0x02, 0x0A, 0x00, 0x80, 0x80, 0x80, 0x80,
            0x80, 0x00);  // a size in six bytes
    // A run that goes on after the image: refused at its byte.
    REFUSED(r, MPOTA_ERR_DELTA_TRAILING, 10, 0, 0, 0x02, 0x01, 0x00, 0x04, 0x00, 0x00, 0x01,
            'x', 0x01, 0x03, 0x00);
    // A segment that promised bytes after the image, then the patch ended.
    REFUSED(r, MPOTA_ERR_DELTA_CORRUPT, 9, 0, 0, 0x02, 0x01, 0x00, 0x0A, 0x00, 0x00, 0x01, 'x',
            0x00);
}

// A run of 3e9 zeros where a triple starts: a billion triples that change
// nothing, then whatever the remainder leaves to read.
static void test_crle_long_zero_run(void **state)
{
    struct rig *r = *state;
    for (uint32_t rest = 0; rest < 3; rest++) {
        struct buf p = {0};
        put_byte(&p, MPOTA_DELTA_CRLE);
        put_size(&p, 3);
        static const uint8_t df[] = {0x00, 0x01, 0x00};  // scattered: data format size 0
        put(&p, df, sizeof(df));
        put_byte(&p, 1);
        put_crle_size(&p, 3000000000u + rest);
        put_byte(&p, 0);
        // Zeros to finish the triple the last `rest` zeros began, then (0, 3, 0).
        static const uint8_t tail[] = {0x00, 0x00, 0x00, 0x03, 'x', 'y', 'z', 0x00};
        uint32_t skip = rest ? rest - 1u : 2u;
        put_byte(&p, 0);
        put_byte(&p, (uint8_t)(sizeof(tail) - skip));
        put(&p, tail + skip, sizeof(tail) - skip);
        assert_int_equal(apply(r, p.p, p.len, 1), MPOTA_OK);
        assert_output(r, (const uint8_t *)"xyz", 3);
        free(p.p);
    }
}

// A heatshrink patch (window 2^8, lookahead 2^4) of a hand-written stream.
static struct buf hs_patch(uint32_t to_size, struct bits *w, unsigned pad)
{
    struct buf p = {0};
    put_byte(&p, MPOTA_DELTA_HEATSHRINK);
    put_size(&p, to_size);
    put_byte(&p, (8 - 4) << 4 | (4 - 3));
    struct buf body = bits_end(w, pad);
    put(&p, body.p, body.len);
    free(body.p);
    return p;
}

// Literals for the payload's sizes: data format 0, diff 0, extra n.
static void hs_extra_header(struct bits *w, uint8_t n)
{
    hs_literal(w, 0x00);
    hs_literal(w, 0x00);
    hs_literal(w, n);
}

static void test_heatshrink_back_references(void **state)
{
    struct rig *r = *state;
    // A copy that overlaps what it writes: "ab", then 6 from 2 back.
    struct bits w = {0};
    hs_extra_header(&w, 8);
    hs_literal(&w, 'a');
    hs_literal(&w, 'b');
    hs_backref(&w, 8, 4, 2, 6);
    hs_literal(&w, 0x00);  // adjustment
    struct buf p = hs_patch(8, &w, 0);
    assert_applies(r, p.p, p.len, (const uint8_t *)"abababab", 8);
    free(p.p);

    // Copies from the window's zeros before anything was written there: the
    // sizes from 200 back, then 4 extra bytes from a whole window (256) back.
    w = (struct bits){0};
    hs_backref(&w, 8, 4, 200, 2);
    hs_literal(&w, 0x04);
    hs_backref(&w, 8, 4, 256, 4);
    hs_literal(&w, 0x00);
    p = hs_patch(4, &w, 0);
    static const uint8_t zeros[4] = {0};
    assert_applies(r, p.p, p.len, zeros, 4);
    free(p.p);

    // The last byte's unused bits are padding, ones as well as zeros; a
    // byte after it is not.
    for (unsigned pad = 0; pad < 2; pad++) {
        w = (struct bits){0};
        hs_extra_header(&w, 1);
        hs_literal(&w, 'q');
        hs_literal(&w, 0x00);
        p = hs_patch(1, &w, pad);
        assert_applies(r, p.p, p.len, (const uint8_t *)"q", 1);
        put_byte(&p, 0x00);
        assert_refused(r, p.p, p.len, MPOTA_ERR_DELTA_TRAILING, (uint32_t)p.len - 1, 0, 0);
        p.len -= 2;  // cut inside the adjustment's literal
        assert_refused(r, p.p, p.len, MPOTA_ERR_DELTA_TRUNCATED, (uint32_t)p.len, 1, 1);
        free(p.p);
    }
    // A copy longer than what is left of the image.
    w = (struct bits){0};
    hs_extra_header(&w, 1);
    hs_literal(&w, 0x00);
    hs_backref(&w, 8, 4, 1, 3);  // the adjustment, then two more zeros
    p = hs_patch(1, &w, 0);
    assert_refused(r, p.p, p.len, MPOTA_ERR_DELTA_TRAILING, (uint32_t)p.len - 1, 0, 0);
    free(p.p);
}

static void test_heatshrink_parameters(void **state)
{
    struct rig *r = *state;
    REFUSED(r, MPOTA_ERR_DELTA_CORRUPT, 2, 0, 0, 0x04, 0x0A, 0xC0);  // window 2^16
    REFUSED(r, MPOTA_ERR_DELTA_CORRUPT, 2, 0, 0, 0x04, 0x0A, 0x05);  // lookahead 2^8 > 2^4
    REFUSED(r, MPOTA_ERR_DELTA_CORRUPT, 2, 0, 0, 0x04, 0x0A, 0x12);  // lookahead = window
    REFUSED(r, MPOTA_ERR_DELTA_WINDOW, 2, WINDOW_SIZE, 2048, 0x04, 0x0A, 0x70);
    r->cfg.window_size = 256;
    REFUSED(r, MPOTA_ERR_DELTA_WINDOW, 2, 256, 512, 0x04, 0x0A, 0x50);
    // Exactly the window the patch needs; none needed without heatshrink.
    struct bits w = {0};
    hs_extra_header(&w, 1);
    hs_literal(&w, 'q');
    hs_literal(&w, 0x00);
    struct buf p = hs_patch(1, &w, 0);
    assert_applies(r, p.p, p.len, (const uint8_t *)"q", 1);
    free(p.p);
    r->cfg.window = NULL;
    r->cfg.window_size = 0;
    APPLIES(r, "x", 0x00, 0x01, 0x00, 0x00, 0x01, 'x', 0x00);
    REFUSED(r, MPOTA_ERR_DELTA_WINDOW, 2, 0, 256, 0x04, 0x0A, 0x40);
    r->cfg.window = r->window;
    r->cfg.window_size = WINDOW_SIZE;
}

static void test_sink_and_flash_failures_pass_through(void **state)
{
    struct rig *r = *state;
    uint8_t bytes[600];  // three chunks for the sink
    for (unsigned i = 0; i < sizeof(bytes); i++) {
        bytes[i] = (uint8_t)i;
    }
    struct buf p = extra_only(bytes, sizeof(bytes));
    assert_int_equal(apply(r, p.p, p.len, p.len), MPOTA_OK);
    assert_int_equal(r->out.calls, 3);  // 256, 256, 88
    // The sink refuses its second chunk: its code, at the patch byte that
    // filled the chunk (the 512th extra byte, after 7 bytes of header and
    // sizes); the failure sticks and the sink hears nothing more.
    for (size_t chunk = 1; chunk <= p.len; chunk = chunk == 1 ? p.len : p.len + 1) {
        reset_out(r);
        r->out.fail_rc = MPOTA_ERR_FLASH_IO;
        r->out.fail_after = 256;
        r->cfg.patch_len = (uint32_t)p.len;
        assert_int_equal(mpota_delta_begin(&r->d, &r->cfg), MPOTA_OK);
        int rc = MPOTA_OK;
        for (size_t off = 0; rc == MPOTA_OK && off < p.len; off += chunk) {
            size_t n = p.len - off < chunk ? p.len - off : chunk;
            rc = mpota_delta_push(&r->d, p.p + off, (uint32_t)n);
        }
        assert_int_equal(rc, MPOTA_ERR_FLASH_IO);
        assert_diag(r, MPOTA_ERR_FLASH_IO, 7 + 511, 0, 0);
        assert_int_equal(r->out.calls, 2);
        assert_int_equal(mpota_delta_push(&r->d, p.p, 1), MPOTA_ERR_FLASH_IO);
        assert_int_equal(mpota_delta_finish(&r->d), MPOTA_ERR_FLASH_IO);
        assert_int_equal(r->out.calls, 2);
        assert_int_equal(r->out.len, 256);
    }
    reset_out(r);
    free(p.p);

    // The base cannot be read: the flash's code, at the flash address.
    static const int64_t to_100[] = {100};
    p = moved_read(to_100, 1, 1);
    r->emu.powered_off = true;
    assert_refused(r, p.p, p.len, MPOTA_ERR_FLASH_IO, r->from.off + 100, FLASH_SIZE, 0);
    mpota_flash_emu_power_on(&r->emu);
    free(p.p);
}

static void test_begin_checks_the_config(void **state)
{
    struct rig *r = *state;
    static const uint8_t x[] = {0x00, 0x01, 0x00, 0x00, 0x01, 'x', 0x00};
    struct mpota_delta_cfg good = r->cfg;
    good.patch_len = sizeof(x);
    struct mpota_delta_cfg bad[4] = {good, good, good, good};
    bad[0].sink = NULL;
    bad[1].from = NULL;
    bad[2].from_len = FLASH_SIZE + 1;  // beyond the area
    bad[3].window = NULL;              // with a window_size
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(mpota_delta_begin(&r->d, &bad[i]), MPOTA_ERR_INVALID_ARG);
        assert_int_equal(mpota_delta_push(&r->d, x, sizeof(x)), MPOTA_ERR_INVALID_ARG);
        assert_int_equal(mpota_delta_finish(&r->d), MPOTA_ERR_INVALID_ARG);
    }
    assert_int_equal(mpota_delta_begin(&r->d, NULL), MPOTA_ERR_INVALID_ARG);
    assert_int_equal(mpota_delta_begin(&r->d, &good), MPOTA_OK);
    assert_int_equal(mpota_delta_to_size(&r->d), 0);
    assert_int_equal(mpota_delta_push(&r->d, x, sizeof(x)), MPOTA_OK);
    assert_int_equal(mpota_delta_to_size(&r->d), 1);
    assert_int_equal(mpota_delta_finish(&r->d), MPOTA_OK);
}

// The refusals read as the catalogue says, with their numbers.
static void test_diag_sentences(void **state)
{
    struct rig *r = *state;
    char text[256];
    REFUSED(r, MPOTA_ERR_DELTA_WINDOW, 2, WINDOW_SIZE, 2048, 0x04, 0x0A, 0x70);
    mpota_diag_format(mpota_delta_diag(&r->d), text, sizeof(text));
    assert_non_null(strstr(text, "window is 2,048 B; this build holds 1,024 B"));
    REFUSED(r, MPOTA_ERR_DELTA_COMPRESSION, 0, 0, 0x05, 0x05, 0x0A);
    mpota_diag_format(mpota_delta_diag(&r->d), text, sizeof(text));
    assert_non_null(strstr(text, "zstd"));
}

static void test_state_size(void **state)
{
    (void)state;
    size_t fixed = sizeof(mpota_delta_t) - MPOTA_DELTA_CHUNK;
    print_message("mpota_delta_t: %zu B (%zu B besides the %u B chunk)\n", sizeof(mpota_delta_t),
                  fixed, MPOTA_DELTA_CHUNK);
    assert_true(fixed <= 176);  // 64-bit host; 136 B on a 32-bit target (392 in all)
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_compression_any_chunking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_copied_mid_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_detools_patches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_other_headers, setup_images, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_sizes_beyond_the_image, setup_images,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reads_the_base_only_inside_from_len, setup_images,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ends_exactly_with_the_image, setup_images, teardown),
        cmocka_unit_test_setup_teardown(test_crle_segments, setup_images, teardown),
        cmocka_unit_test_setup_teardown(test_crle_long_zero_run, setup_images, teardown),
        cmocka_unit_test_setup_teardown(test_heatshrink_back_references, setup_images, teardown),
        cmocka_unit_test_setup_teardown(test_heatshrink_parameters, setup_images, teardown),
        cmocka_unit_test_setup_teardown(test_sink_and_flash_failures_pass_through, setup_images,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_begin_checks_the_config, setup_images, teardown),
        cmocka_unit_test_setup_teardown(test_diag_sentences, setup_images, teardown),
        cmocka_unit_test(test_state_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
