// heatshrink's decoder (delta_dec.h), as detools uses it for patches. An item
// is a tag bit, most significant bit first: 1 and an 8-bit literal, or 0, an
// index of window_sz2 bits and a count of lookahead_sz2 bits: count + 1 bytes
// copied one by one from index + 1 bytes back, so a copy may repeat what it
// has just written. Each field is collected bit by bit across input bytes,
// so the state is a few counters and nothing waits in a buffer.
#include <string.h>

#include "delta_dec.h"

// heatshrink's own limits (heatshrink_common.h): windows of 2^4 .. 2^15
// bytes, lookaheads of 2^3 bytes up to half the window.
#define HS_MIN_WINDOW_BITS 4u
#define HS_MAX_WINDOW_BITS 15u
#define HS_MIN_LOOKAHEAD_BITS 3u

enum {
    HS_PARAMS,   // the byte of window and lookahead bits
    HS_TAG,
    HS_LITERAL,
    HS_INDEX,
    HS_COUNT,
};

void mpota_heatshrink_dec_init(struct mpota_heatshrink_dec *h)
{
    *h = (struct mpota_heatshrink_dec){.phase = HS_PARAMS};
}

uint32_t mpota_heatshrink_dec_window_needed(const struct mpota_heatshrink_dec *h)
{
    return h->window_bits ? 1u << h->window_bits : 0;
}

static void expect(struct mpota_heatshrink_dec *h, uint8_t phase, uint8_t bits)
{
    h->phase = phase;
    h->need = bits;
    h->field = 0;
}

// detools writes window_sz2 - 4 in the high nibble, lookahead_sz2 - 3 in the low.
static int params_byte(struct mpota_heatshrink_dec *h, uint8_t *window, uint32_t window_size,
                       uint8_t byte)
{
    h->window_bits = (uint8_t)((byte >> 4) + HS_MIN_WINDOW_BITS);
    h->lookahead_bits = (uint8_t)((byte & 0x0Fu) + HS_MIN_LOOKAHEAD_BITS);
    if (h->window_bits > HS_MAX_WINDOW_BITS || h->lookahead_bits >= h->window_bits) {
        return MPOTA_ERR_DELTA_CORRUPT;  // heatshrink refuses to make such a stream
    }
    uint32_t need = mpota_heatshrink_dec_window_needed(h);
    if (need > window_size) {
        return MPOTA_ERR_DELTA_WINDOW;
    }
    memset(window, 0, need);
    expect(h, HS_TAG, 1);
    return MPOTA_OK;
}

static int put(struct mpota_heatshrink_dec *h, uint8_t *window, uint8_t byte,
               mpota_dec_out_fn out, void *ctx)
{
    uint16_t mask = (uint16_t)((1u << h->window_bits) - 1u);
    window[h->head++ & mask] = byte;
    return out(ctx, byte, 1);
}

// A back-reference may reach the window's zeros before anything was written.
static int copy_back(struct mpota_heatshrink_dec *h, uint8_t *window, uint32_t count,
                     mpota_dec_out_fn out, void *ctx)
{
    uint16_t mask = (uint16_t)((1u << h->window_bits) - 1u);
    int rc = MPOTA_OK;
    while (count-- && rc == MPOTA_OK) {
        rc = put(h, window, window[(uint16_t)(h->head - h->back) & mask], out, ctx);
    }
    return rc;
}

// A field is complete: act on it and say what comes next.
static int field_done(struct mpota_heatshrink_dec *h, uint8_t *window, mpota_dec_out_fn out,
                      void *ctx)
{
    switch (h->phase) {
    case HS_TAG:
        if (h->field) {
            expect(h, HS_LITERAL, 8);
        } else {
            expect(h, HS_INDEX, h->window_bits);
        }
        return MPOTA_OK;
    case HS_LITERAL: {
        uint8_t literal = (uint8_t)h->field;
        expect(h, HS_TAG, 1);
        return put(h, window, literal, out, ctx);
    }
    case HS_INDEX:
        h->back = (uint16_t)(h->field + 1u);
        expect(h, HS_COUNT, h->lookahead_bits);
        return MPOTA_OK;
    default: {  // HS_COUNT
        uint32_t count = h->field + 1u;
        expect(h, HS_TAG, 1);
        return copy_back(h, window, count, out, ctx);
    }
    }
}

int mpota_heatshrink_dec_byte(struct mpota_heatshrink_dec *h, uint8_t *window,
                              uint32_t window_size, uint8_t byte, mpota_dec_out_fn out,
                              void *ctx)
{
    if (h->phase == HS_PARAMS) {
        return params_byte(h, window, window_size, byte);
    }
    int rc = MPOTA_OK;
    for (uint8_t avail = 8; avail && rc == MPOTA_OK;) {
        uint8_t take = h->need < avail ? h->need : avail;
        avail = (uint8_t)(avail - take);
        h->field = (uint16_t)(h->field << take | ((byte >> avail) & ((1u << take) - 1u)));
        h->need = (uint8_t)(h->need - take);
        if (h->need == 0) {
            rc = field_done(h, window, out, ctx);
        }
    }
    return rc;
}
