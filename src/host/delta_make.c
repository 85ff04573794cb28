// detools sequential patches from bsdiff triples (delta_make.h).
#include "delta_make.h"

#include <stdbool.h>

#include "crle_enc.h"
#include "delta_bsdiff.h"
#include "delta_lzma.h"
#include "heatshrink_enc.h"

#define PATCH_TYPE_SEQUENTIAL 0u

void mpota_delta_put_size(struct mpota_buf *b, int64_t v)
{
    uint64_t m = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
    uint8_t first = (uint8_t)((v < 0 ? 0x40u : 0u) | (m & 0x3Fu));
    m >>= 6;
    mpota_buf_byte(b, (uint8_t)(first | (m ? 0x80u : 0u)));
    while (m) {
        uint8_t c = (uint8_t)(m & 0x7Fu);
        m >>= 7;
        mpota_buf_byte(b, (uint8_t)(c | (m ? 0x80u : 0u)));
    }
}

// The uncompressed payload: no data format, then the triples with their bytes.
static void put_payload(const uint8_t *old, const uint8_t *new_,
                        const struct mpota_delta_triples *t, struct mpota_buf *out,
                        struct mpota_delta_made *made)
{
    mpota_delta_put_size(out, 0);  // the data-format patch's size: none
    int64_t from = 0;
    size_t to = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct mpota_delta_triple *x = &t->t[i];
        mpota_delta_put_size(out, x->diff_len);
        if (mpota_buf_reserve(out, x->diff_len)) {
            for (uint32_t k = 0; k < x->diff_len; k++) {
                out->p[out->len + k] = (uint8_t)(new_[to + k] - old[from + k]);
            }
            out->len += x->diff_len;
        }
        to += x->diff_len;
        mpota_delta_put_size(out, x->extra_len);
        mpota_buf_put(out, new_ + to, x->extra_len);
        to += x->extra_len;
        mpota_delta_put_size(out, x->adjust);
        from += (int64_t)x->diff_len + x->adjust;
        made->diff_bytes += x->diff_len;
        made->extra_bytes += x->extra_len;
    }
    made->triples = t->n;
    made->payload_len = out->len;
}

static int compress(const struct mpota_buf *payload, const struct mpota_delta_make_opts *o,
                    struct mpota_buf *patch)
{
    switch (o->compression) {
    case MPOTA_DELTA_NONE:
        mpota_buf_put(patch, payload->p, payload->len);
        return patch->failed ? MPOTA_ERR_NO_SPACE : MPOTA_OK;
    case MPOTA_DELTA_CRLE:
        return mpota_crle_encode(payload->p, payload->len, patch);
    case MPOTA_DELTA_HEATSHRINK:
        // detools' own framing: the two parameters in one byte first.
        mpota_buf_byte(patch, (uint8_t)((o->window_sz2 - MPOTA_HEATSHRINK_MIN_WINDOW_SZ2) << 4 |
                                        (o->lookahead_sz2 - MPOTA_HEATSHRINK_MIN_LOOKAHEAD_SZ2)));
        return mpota_heatshrink_encode(payload->p, payload->len, o->window_sz2,
                                       o->lookahead_sz2, patch, NULL);
    default:  // MPOTA_DELTA_LZMA
        return mpota_lzma_encode(payload->p, payload->len, patch);
    }
}

// opts with the defaults filled in; false if they are out of range.
static bool resolve(const struct mpota_delta_make_opts *in, struct mpota_delta_make_opts *o)
{
    *o = in ? *in : (struct mpota_delta_make_opts){0};
    o->window_sz2 = o->window_sz2 ? o->window_sz2 : MPOTA_DELTA_HS_WINDOW_SZ2;
    o->lookahead_sz2 = o->lookahead_sz2 ? o->lookahead_sz2 : MPOTA_DELTA_HS_LOOKAHEAD_SZ2;
    bool known = o->compression == MPOTA_DELTA_NONE || o->compression == MPOTA_DELTA_CRLE ||
                 o->compression == MPOTA_DELTA_HEATSHRINK || o->compression == MPOTA_DELTA_LZMA;
    return known && o->window_sz2 >= MPOTA_HEATSHRINK_MIN_WINDOW_SZ2 &&
           o->window_sz2 <= MPOTA_HEATSHRINK_MAX_WINDOW_SZ2 &&
           o->lookahead_sz2 >= MPOTA_HEATSHRINK_MIN_LOOKAHEAD_SZ2 &&
           o->lookahead_sz2 < o->window_sz2;
}

int mpota_delta_make(const uint8_t *old, size_t old_len, const uint8_t *new_, size_t new_len,
                     const struct mpota_delta_make_opts *opts, struct mpota_buf *patch,
                     struct mpota_delta_made *made)
{
    struct mpota_delta_make_opts o;
    struct mpota_delta_made unused;
    made = made ? made : &unused;
    *made = (struct mpota_delta_made){0};
    if (!resolve(opts, &o) || old_len > MPOTA_DELTA_BSDIFF_MAX_LEN ||
        new_len > MPOTA_DELTA_BSDIFF_MAX_LEN) {
        return MPOTA_ERR_INVALID_ARG;
    }
    mpota_buf_byte(patch, (uint8_t)(PATCH_TYPE_SEQUENTIAL << 4 | o.compression));
    mpota_delta_put_size(patch, (int64_t)new_len);
    if (new_len == 0) {
        return patch->failed ? MPOTA_ERR_NO_SPACE : MPOTA_OK;  // detools writes no payload
    }
    struct mpota_delta_triples t;
    int rc = mpota_delta_bsdiff(old, old_len, new_, new_len, &t);
    if (rc) {
        return rc;
    }
    struct mpota_buf payload = {0};
    put_payload(old, new_, &t, &payload, made);
    mpota_delta_triples_free(&t);
    rc = payload.failed ? MPOTA_ERR_NO_SPACE : compress(&payload, &o, patch);
    mpota_buf_free(&payload);
    return rc;
}
