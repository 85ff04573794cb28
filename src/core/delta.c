// Streaming detools sequential-patch applier (delta.h).
//
// Two push state machines, byte by byte so that patch bytes may arrive in
// pieces of any size: a decoder turns patch bytes into payload bytes (none,
// crle or heatshrink), and the bsdiff layer turns payload bytes into
// new-image bytes. Every size is checked against what it may reach before
// anything acts on it; the first failure is sticky.
#include <string.h>

#include "mpota/delta.h"

enum {
    ST_HEADER,      // header byte
    ST_TO_SIZE,     // the new image's size (raw patch bytes)
    ST_DF_SIZE,     // payload from here: the data-format patch's size (0)
    ST_DF_FORMAT,   // a data format's number, read only to name it
    ST_DIFF_SIZE,
    ST_DIFF,
    ST_EXTRA_SIZE,
    ST_EXTRA,
    ST_ADJUST,
    ST_DONE,
};

static const char *const compression_names[] = {"none", "lzma", "crle", "bz2", "heatshrink",
                                                "zstd", "lz4"};

static int fail(mpota_delta_t *d, int err, uint32_t expected, uint32_t actual)
{
    d->failed = true;
    return mpota_diag_set(&d->diag, err, d->patch_pos, expected, actual);
}

// Hands out[] to the sink.
static int flush(mpota_delta_t *d)
{
    if (!d->out_len) {
        return MPOTA_OK;
    }
    int rc = d->cfg.sink(d->cfg.sink_ctx, d->out, d->out_len);
    d->out_len = 0;
    if (rc) {
        d->failed = true;
        d->diag.err = rc;  // the sink's details are the sink's
    }
    return rc;
}

static int emit(mpota_delta_t *d, uint8_t c)
{
    d->out[d->out_len++] = c;
    d->to_pos++;
    return d->out_len == sizeof(d->out) ? flush(d) : MPOTA_OK;
}

/// detools sizes ///

// Takes one byte of a detools size. Returns 1 when the size is complete (in
// d->size_val, sign in d->size_neg), 0 when more bytes are needed, or an error.
static int size_byte(mpota_delta_t *d, uint8_t c)
{
    if (d->size_shift == 0) {
        d->size_val = c & 0x3Fu;
        d->size_neg = (c & 0x40u) != 0;
        d->size_shift = 6;
    } else {
        if (d->size_shift > 32) {
            return fail(d, MPOTA_ERR_DELTA_CORRUPT, 0, 0);  // no size here needs 33 bits
        }
        d->size_val |= (uint64_t)(c & 0x7Fu) << d->size_shift;
        d->size_shift += 7;
    }
    if (c & 0x80u) {
        return 0;
    }
    d->size_shift = 0;
    return d->size_val > UINT32_MAX ? fail(d, MPOTA_ERR_DELTA_CORRUPT, 0, 0) : 1;
}

/// the bsdiff layer ///

static int start_data(mpota_delta_t *d, uint8_t next_state)
{
    if (d->size_neg && d->size_val) {
        return fail(d, MPOTA_ERR_DELTA_CORRUPT, 0, 0);
    }
    uint32_t n = (uint32_t)d->size_val;
    if (n > d->to_size - d->to_pos) {
        uint64_t end = (uint64_t)d->to_pos + n;
        return fail(d, MPOTA_ERR_DELTA_TO_RANGE, d->to_size,
                    end > UINT32_MAX ? UINT32_MAX : (uint32_t)end);
    }
    if (next_state == ST_DIFF && n &&
        (d->from_pos < 0 || (uint64_t)d->from_pos + n > d->cfg.from_len)) {
        int64_t end = d->from_pos + (int64_t)n;
        return fail(d, MPOTA_ERR_DELTA_FROM_RANGE, d->cfg.from_len,
                    end < 0 ? 0 : end > UINT32_MAX ? UINT32_MAX : (uint32_t)end);
    }
    d->left = n;
    d->from_at = d->from_len = 0;
    d->state = n ? next_state : (uint8_t)(next_state + 1);  // the data, or the next size
    return MPOTA_OK;
}

// The end of a triple: the adjustment moves the from position.
static int adjust(mpota_delta_t *d)
{
    int64_t adj = (int64_t)d->size_val;
    d->from_pos += d->size_neg ? -adj : adj;
    if (d->to_pos < d->to_size) {
        d->state = ST_DIFF_SIZE;
        return MPOTA_OK;
    }
    d->state = ST_DONE;
    return flush(d);
}

static int sized(mpota_delta_t *d)
{
    switch (d->state) {
    case ST_DF_SIZE:
        if (d->size_val) {
            d->state = ST_DF_FORMAT;
            return MPOTA_OK;
        }
        d->state = ST_DIFF_SIZE;
        return MPOTA_OK;
    case ST_DF_FORMAT: {
        static const char *const formats[] = {"arm-cortex-m4", "aarch64", "xtensa-lx106"};
        const char *name = d->size_val < 3 && !d->size_neg ? formats[d->size_val] : "unknown";
        fail(d, MPOTA_ERR_DELTA_DATA_FORMAT, 0, 0);
        mpota_diag_label(&d->diag, name, strlen(name));
        return MPOTA_ERR_DELTA_DATA_FORMAT;
    }
    case ST_DIFF_SIZE:
        return start_data(d, ST_DIFF);
    case ST_EXTRA_SIZE:
        return start_data(d, ST_EXTRA);
    default:  // ST_ADJUST
        return adjust(d);
    }
}

// The next from-data byte under the diff (read a chunk at a time).
static int from_byte(mpota_delta_t *d, uint8_t *out)
{
    if (d->from_at == d->from_len) {
        uint32_t n = d->left < sizeof(d->from_buf) ? d->left : (uint32_t)sizeof(d->from_buf);
        int rc = mpota_area_read(d->cfg.from, (uint32_t)d->from_pos, d->from_buf, n);
        if (rc) {
            return fail(d, rc, d->cfg.from_len, (uint32_t)d->from_pos);
        }
        d->from_at = 0;
        d->from_len = n;
    }
    *out = d->from_buf[d->from_at++];
    return MPOTA_OK;
}

static int data_byte(mpota_delta_t *d, uint8_t c)
{
    if (d->state == ST_DIFF) {
        uint8_t f = 0;
        int rc = from_byte(d, &f);
        if (rc) {
            return rc;
        }
        c = (uint8_t)(c + f);
        d->from_pos++;
    }
    int rc = emit(d, c);
    if (!rc && --d->left == 0) {
        d->state = d->state == ST_DIFF ? ST_EXTRA_SIZE : ST_ADJUST;
    }
    return rc;
}

// One payload byte into the bsdiff layer.
static int payload_byte(mpota_delta_t *d, uint8_t c)
{
    if (d->state == ST_DIFF || d->state == ST_EXTRA) {
        return data_byte(d, c);
    }
    if (d->state == ST_DONE) {
        return fail(d, MPOTA_ERR_DELTA_TRAILING, 0, 0);
    }
    int rc = size_byte(d, c);
    return rc == 1 ? sized(d) : rc;
}

/// decoders ///

// crle: segments of kind 0 (scattered: size, then the bytes) and kind 1
// (repeated: count, then the byte); sizes are 7 bits a byte, low first.
enum { CRLE_KIND, CRLE_SIZE, CRLE_SCATTERED, CRLE_REPEATED };

static int crle_byte(mpota_delta_t *d, uint8_t c)
{
    switch (d->dec.crle.sub) {
    case CRLE_KIND:
        if (c > 1) {
            return fail(d, MPOTA_ERR_DELTA_CORRUPT, 1, c);
        }
        d->dec.crle.kind = c;
        d->dec.crle.value = 0;
        d->dec.crle.shift = 0;
        d->dec.crle.sub = CRLE_SIZE;
        return MPOTA_OK;
    case CRLE_SIZE:
        if (d->dec.crle.shift > 28 || (d->dec.crle.shift == 28 && (c & 0x7Fu) > 0x0Fu)) {
            return fail(d, MPOTA_ERR_DELTA_CORRUPT, 0, 0);  // more than 32 bits
        }
        d->dec.crle.value |= (uint32_t)(c & 0x7Fu) << d->dec.crle.shift;
        d->dec.crle.shift += 7;
        if (!(c & 0x80u)) {
            d->dec.crle.sub = d->dec.crle.kind ? CRLE_REPEATED
                              : d->dec.crle.value ? CRLE_SCATTERED : CRLE_KIND;
        }
        return MPOTA_OK;
    case CRLE_SCATTERED:
        if (--d->dec.crle.value == 0) {
            d->dec.crle.sub = CRLE_KIND;
        }
        return payload_byte(d, c);
    default: {  // CRLE_REPEATED
        d->dec.crle.sub = CRLE_KIND;
        int rc = MPOTA_OK;
        for (uint32_t n = d->dec.crle.value; n && !rc; n--) {
            rc = payload_byte(d, c);
        }
        return rc;
    }
    }
}

// heatshrink: one byte of window and lookahead bits, then items, most
// significant bit first: 1 + an 8-bit literal, or 0 + index (window bits)
// + count (lookahead bits), a copy of count+1 bytes from index+1 back. The
// window starts as zeros, as heatshrink's decoder's does.
static int hs_start(mpota_delta_t *d, uint8_t c)
{
    uint8_t w = (uint8_t)((c >> 4) + 4), l = (uint8_t)((c & 0x0Fu) + 3);
    if (w > 15 || l >= w) {
        return fail(d, MPOTA_ERR_DELTA_CORRUPT, 0, c);  // not heatshrink's parameters
    }
    if ((1u << w) > d->cfg.window_size) {
        return fail(d, MPOTA_ERR_DELTA_WINDOW, d->cfg.window_size, 1u << w);
    }
    memset(d->cfg.window, 0, 1u << w);
    d->dec.hs.window_bits = w;
    d->dec.hs.lookahead_bits = l;
    d->dec.hs.started = true;
    return MPOTA_OK;
}

static uint32_t hs_take(mpota_delta_t *d, uint8_t n)
{
    d->dec.hs.nbits = (uint8_t)(d->dec.hs.nbits - n);
    return (uint32_t)(d->dec.hs.bits >> d->dec.hs.nbits) & ((1u << n) - 1u);
}

static int hs_out(mpota_delta_t *d, uint8_t c)
{
    uint32_t mask = (1u << d->dec.hs.window_bits) - 1u;
    d->cfg.window[d->dec.hs.head++ & mask] = c;
    return payload_byte(d, c);
}

// Decodes every whole item in the bit buffer.
static int hs_items(mpota_delta_t *d)
{
    uint8_t w = d->dec.hs.window_bits, l = d->dec.hs.lookahead_bits;
    int rc = MPOTA_OK;
    while (!rc && d->dec.hs.nbits) {
        bool literal = (d->dec.hs.bits >> (d->dec.hs.nbits - 1)) & 1u;
        if (d->dec.hs.nbits < (literal ? 9u : 1u + w + l)) {
            break;  // the rest of the item is in the next byte
        }
        if (literal) {
            hs_take(d, 1);
            rc = hs_out(d, (uint8_t)hs_take(d, 8));
            continue;
        }
        hs_take(d, 1);
        uint32_t back = hs_take(d, w) + 1u, count = hs_take(d, l) + 1u;
        uint32_t mask = (1u << w) - 1u;
        for (; count && !rc; count--) {
            rc = hs_out(d, d->cfg.window[(d->dec.hs.head - back) & mask]);
        }
    }
    return rc;
}

static int hs_byte(mpota_delta_t *d, uint8_t c)
{
    if (!d->dec.hs.started) {
        return hs_start(d, c);
    }
    d->dec.hs.bits = (d->dec.hs.bits << 8) | c;
    d->dec.hs.nbits += 8;
    return hs_items(d);
}

/// the patch ///

static int header_byte(mpota_delta_t *d, uint8_t c)
{
    if (c >> 4 || (c & 0x0Fu) > MPOTA_DELTA_LZ4) {
        return fail(d, MPOTA_ERR_DELTA_HEADER, 0, c);  // bit 7, another patch type
    }
    d->compression = c & 0x0Fu;
    if (d->compression != MPOTA_DELTA_NONE && d->compression != MPOTA_DELTA_CRLE &&
        d->compression != MPOTA_DELTA_HEATSHRINK) {
        const char *name = compression_names[d->compression];
        fail(d, MPOTA_ERR_DELTA_COMPRESSION, 0, d->compression);
        mpota_diag_label(&d->diag, name, strlen(name));
        return MPOTA_ERR_DELTA_COMPRESSION;
    }
    d->state = ST_TO_SIZE;
    return MPOTA_OK;
}

static int to_size_byte(mpota_delta_t *d, uint8_t c)
{
    int rc = size_byte(d, c);
    if (rc != 1) {
        return rc;
    }
    if (d->size_neg && d->size_val) {
        return fail(d, MPOTA_ERR_DELTA_CORRUPT, 0, 0);
    }
    if (d->size_val > d->cfg.to_max) {
        return fail(d, MPOTA_ERR_DELTA_TO_RANGE, d->cfg.to_max, (uint32_t)d->size_val);
    }
    d->to_size = (uint32_t)d->size_val;
    d->state = d->to_size ? ST_DF_SIZE : ST_DONE;  // an empty image: nothing follows
    return MPOTA_OK;
}

static int patch_byte(mpota_delta_t *d, uint8_t c)
{
    switch (d->state) {
    case ST_HEADER:
        return header_byte(d, c);
    case ST_TO_SIZE:
        return to_size_byte(d, c);
    case ST_DONE:
        if (d->compression != MPOTA_DELTA_HEATSHRINK || d->to_size == 0) {
            return fail(d, MPOTA_ERR_DELTA_TRAILING, 0, 0);
        }
        break;  // heatshrink: the last byte's padding bits decode to nothing
    default:
        break;
    }
    switch (d->compression) {
    case MPOTA_DELTA_CRLE:
        return crle_byte(d, c);
    case MPOTA_DELTA_HEATSHRINK:
        return hs_byte(d, c);
    default:
        return payload_byte(d, c);
    }
}

int mpota_delta_begin(mpota_delta_t *d, const struct mpota_delta_cfg *cfg)
{
    memset(d, 0, sizeof(*d));
    if (!cfg || !cfg->from || !cfg->sink || (cfg->window_size && !cfg->window) ||
        cfg->from_len > cfg->from->size) {
        return fail(d, MPOTA_ERR_INVALID_ARG, 0, 0);
    }
    d->cfg = *cfg;
    d->state = ST_HEADER;
    return MPOTA_OK;
}

int mpota_delta_push(mpota_delta_t *d, const void *data, uint32_t len)
{
    if (d->failed) {
        return d->diag.err;
    }
    const uint8_t *p = data;
    for (uint32_t i = 0; i < len; i++) {
        if (d->patch_pos >= d->cfg.patch_len) {
            return fail(d, MPOTA_ERR_DELTA_TRAILING, d->cfg.patch_len, d->patch_pos + (len - i));
        }
        int rc = patch_byte(d, p[i]);
        if (rc) {
            return rc;
        }
        d->patch_pos++;
    }
    return MPOTA_OK;
}

int mpota_delta_finish(mpota_delta_t *d)
{
    if (d->failed) {
        return d->diag.err;
    }
    if (d->state != ST_DONE) {
        return fail(d, MPOTA_ERR_DELTA_TRUNCATED, d->to_size, d->to_pos);
    }
    if (d->patch_pos < d->cfg.patch_len) {
        // The image is complete, but the patch is shorter than its length said.
        return fail(d, MPOTA_ERR_EXPECT_LENGTH, d->cfg.patch_len, d->patch_pos);
    }
    bool partial = d->compression == MPOTA_DELTA_CRLE && d->dec.crle.sub != CRLE_KIND;
    return partial ? fail(d, MPOTA_ERR_DELTA_TRAILING, 0, 0) : flush(d);
}

uint32_t mpota_delta_to_size(const mpota_delta_t *d)
{
    return d->to_size;
}

const struct mpota_diag *mpota_delta_diag(const mpota_delta_t *d)
{
    return &d->diag;
}
