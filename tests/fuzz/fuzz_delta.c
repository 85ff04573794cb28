// libFuzzer target for the detools patch applier (delta.h) against a fixed
// base, tests/vectors/detools/small.from, in a read-only area of a RAM flash.
// Input layout: byte 0 = control, the rest = the patch.
//   bits 0-5: the piece size of the chunked run (1 .. 64)
//   bit 6:    a 256 B heatshrink window instead of 32 KiB (the largest)
//   bit 7:    the sink refuses its third chunk
// Seeds: the patches of tests/vectors/detools after one control byte
// (scripts/fuzz.sh). Properties checked (abort on violation):
// * the patch in one push and in pieces gives the same code, diag and image;
// * the sink gets 1 .. MPOTA_DELTA_CHUNK bytes a call, only once the image's
//   size is known, never more than that size in all, never more than to_max;
// * only documented codes come back, a sink's unchanged; success means the
//   whole image went to the sink; a failure sticks and the sink hears nothing more.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flash_emu.h"
#include "mpota/delta.h"

#define AREA_SIZE (32u << 10)
#define TO_MAX (64u << 10)
#define SINK_CODE MPOTA_ERR_FLASH_VERIFY

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what, int line)
{
    if (!ok) {
        fprintf(stderr, "check failed: %s (line %d)\n", what, line);
        abort();
    }
}

#define CHECK(c) check((c), #c, __LINE__)

struct run {
    const mpota_delta_t *d;
    uint8_t out[TO_MAX];
    uint32_t len, calls;
    bool refuse_third;
};

static int sink(void *ctx, const uint8_t *data, uint32_t len)
{
    struct run *r = ctx;
    uint32_t to_size = mpota_delta_to_size(r->d);
    CHECK(len >= 1 && len <= MPOTA_DELTA_CHUNK);
    CHECK(to_size > 0 && to_size <= TO_MAX && len <= to_size - r->len);
    if (r->refuse_third && ++r->calls == 3) {
        return SINK_CODE;
    }
    memcpy(r->out + r->len, data, len);
    r->len += len;
    return MPOTA_OK;
}

static bool documented(int rc, bool sink_refuses)
{
    return rc == MPOTA_OK || rc == MPOTA_ERR_EXPECT_LENGTH ||
           (rc <= MPOTA_ERR_DELTA_HEADER && rc >= MPOTA_ERR_DELTA_DATA_FORMAT) ||
           (rc == SINK_CODE && sink_refuses);
}

static const struct mpota_area *base(void)
{
    static struct mpota_flash_emu emu;
    static struct mpota_area area;
    static uint32_t len;
    if (!area.flash) {
        FILE *f = fopen(MPOTA_VECTORS_DIR "/detools/small.from", "rb");
        CHECK(f && mpota_flash_emu_open_ram(&emu, AREA_SIZE) == 0);
        len = (uint32_t)fread(emu.mem, 1, AREA_SIZE, f);
        fclose(f);
        area = (struct mpota_area){&emu.flash, 0, AREA_SIZE, true};
        area.size = len;  // from_len: the whole image
    }
    return &area;
}

// The patch in pieces of `piece` bytes (0: one push); the code returned.
static int apply(struct run *r, mpota_delta_t *d, const struct mpota_delta_cfg *cfg,
                 const uint8_t *patch, size_t len, size_t piece)
{
    r->d = d;
    CHECK(mpota_delta_begin(d, cfg) == MPOTA_OK);
    int rc = MPOTA_OK;
    size_t step = piece ? piece : (len ? len : 1);
    for (size_t off = 0; rc == MPOTA_OK && off < len; off += step) {
        rc = mpota_delta_push(d, patch + off, (uint32_t)(len - off < step ? len - off : step));
    }
    rc = rc ? rc : mpota_delta_finish(d);
    if (rc) {
        uint32_t calls = r->calls, made = r->len;
        CHECK(mpota_delta_diag(d)->err == rc);
        CHECK(mpota_delta_push(d, patch, (uint32_t)len) == rc && mpota_delta_finish(d) == rc);
        CHECK(r->calls == calls && r->len == made);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run whole, pieces;
    static mpota_delta_t dw, dp;
    static uint8_t window[1u << 15];
    if (size < 1) {
        return 0;
    }
    const struct mpota_area *from = base();
    uint8_t control = data[0];
    const uint8_t *patch = data + 1;
    size_t len = size - 1;
    struct mpota_delta_cfg cfg = {.from = from, .from_len = from->size,
                                  .patch_len = (uint32_t)len, .to_max = TO_MAX,
                                  .window = window,
                                  .window_size = control & 0x40u ? 256u : sizeof(window),
                                  .sink = sink};
    whole.len = pieces.len = whole.calls = pieces.calls = 0;
    whole.refuse_third = pieces.refuse_third = (control & 0x80u) != 0;
    cfg.sink_ctx = &whole;
    int rw = apply(&whole, &dw, &cfg, patch, len, 0);
    cfg.sink_ctx = &pieces;
    int rp = apply(&pieces, &dp, &cfg, patch, len, 1u + (control & 0x3Fu));

    CHECK(documented(rw, whole.refuse_third));
    CHECK(rw == rp);
    const struct mpota_diag *a = mpota_delta_diag(&dw), *b = mpota_delta_diag(&dp);
    CHECK(a->offset == b->offset && a->expected == b->expected && a->actual == b->actual &&
          strcmp(a->label, b->label) == 0);
    CHECK(whole.len == pieces.len && memcmp(whole.out, pieces.out, whole.len) == 0);
    CHECK(rw != MPOTA_OK || whole.len == mpota_delta_to_size(&dw));
    return 0;
}
