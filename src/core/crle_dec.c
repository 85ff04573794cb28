// detools' crle payload decoder (delta_dec.h): conditional run-length
// encoding, runs of one byte as (count, byte), everything else as it is.
#include "delta_dec.h"

enum {
    CRLE_KIND,       // a segment's kind byte
    CRLE_SIZE,       // its size
    CRLE_SCATTERED,  // its literal bytes
    CRLE_REPEATED,   // the byte to repeat
};

void mpota_crle_dec_init(struct mpota_crle_dec *c)
{
    *c = (struct mpota_crle_dec){.phase = CRLE_KIND};
}

bool mpota_crle_dec_idle(const struct mpota_crle_dec *c)
{
    return c->phase == CRLE_KIND;
}

static int kind_byte(struct mpota_crle_dec *c, uint8_t byte)
{
    if (byte > 1) {
        return MPOTA_ERR_DELTA_CORRUPT;
    }
    c->repeated = byte;
    c->value = 0;
    c->shift = 0;
    c->phase = CRLE_SIZE;
    return MPOTA_OK;
}

static int size_byte(struct mpota_crle_dec *c, uint8_t byte)
{
    // Five bytes hold 35 bits: a sixth, or bits beyond 32, is no real segment.
    uint64_t bits = c->shift <= 28 ? (uint64_t)(byte & 0x7Fu) << c->shift : UINT64_MAX;
    if (bits > UINT32_MAX - c->value) {
        return MPOTA_ERR_DELTA_CORRUPT;
    }
    c->value += (uint32_t)bits;
    c->shift = (uint8_t)(c->shift + 7);
    if (byte & 0x80u) {
        return MPOTA_OK;
    }
    // An empty scattered segment is what detools writes for an empty payload.
    c->phase = c->repeated ? CRLE_REPEATED : c->value ? CRLE_SCATTERED : CRLE_KIND;
    return MPOTA_OK;
}

int mpota_crle_dec_byte(struct mpota_crle_dec *c, uint8_t byte, mpota_dec_out_fn out, void *ctx)
{
    switch (c->phase) {
    case CRLE_KIND:
        return kind_byte(c, byte);
    case CRLE_SIZE:
        return size_byte(c, byte);
    case CRLE_SCATTERED:
        if (--c->value == 0) {
            c->phase = CRLE_KIND;
        }
        return out(ctx, byte, 1);
    default:  // CRLE_REPEATED
        c->phase = CRLE_KIND;
        return c->value ? out(ctx, byte, c->value) : MPOTA_OK;
    }
}
