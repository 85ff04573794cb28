// The streaming detools sequential-patch applier (delta.h). A patch byte goes
// through the header reader, or through the payload decoder (none, or crle and
// heatshrink of delta_dec.h), whose output drives the bsdiff layer: detools
// sizes, diff bytes added to the base, extra bytes copied. The new image
// gathers in out[] and goes to the sink a chunk at a time. Every size is
// checked against what it may reach before anything acts on it, and the first
// failure is sticky. The format is described in delta.h.
#include <string.h>

#include "delta_dec.h"
#include "mpota/delta.h"

_Static_assert(MPOTA_DELTA_CHUNK >= 1u && MPOTA_DELTA_CHUNK <= UINT16_MAX,
               "out_len and from_ready count out[] in 16 bits");

enum {
    ST_HEADER,      // the header byte
    ST_TO_SIZE,     // the new image's size, still plain patch bytes
    ST_DF_SIZE,     // the payload from here on: the data-format patch's size
    ST_DF_FORMAT,   // a data format's number, read only to name it
    ST_DIFF_SIZE,   // a triple: diff size, diff bytes,
    ST_DIFF,
    ST_EXTRA_SIZE,  // extra size, extra bytes,
    ST_EXTRA,
    ST_ADJUST,      // the adjustment of the from position
    ST_DONE,
};

// A detools size starts with 6 value bits; 4 more bytes reach bit 34, so
// bits shifted beyond this are past 32 bits, or written longer than needed.
#define SIZE_LAST_SHIFT 27u

static const char *const data_format_names[] = {"arm-cortex-m4", "aarch64", "xtensa-lx106"};

static int fail(mpota_delta_t *d, int err, uint32_t expected, uint32_t actual)
{
    d->failed = true;
    return mpota_diag_set(&d->diag, err, d->patch_pos, expected, actual);
}

static int fail_named(mpota_delta_t *d, int err, uint32_t actual, const char *name)
{
    fail(d, err, 0, actual);
    mpota_diag_label(&d->diag, name, strlen(name));
    return err;
}

// For a diag's actual: an end past 32 bits reads as UINT32_MAX.
static uint32_t clamp32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/// The new image ///

// Hands out[] to the sink. Its failure is the sink's to explain: only the
// code is kept here.
static int flush(mpota_delta_t *d)
{
    if (d->out_len == 0) {
        return MPOTA_OK;
    }
    int rc = d->cfg.sink(d->cfg.sink_ctx, d->out, d->out_len);
    d->out_len = 0;
    if (rc) {
        d->failed = true;
        mpota_diag_set(&d->diag, rc, d->patch_pos, 0, 0);
    }
    return rc;
}

// Reads the from-data under the next diff bytes into out[], where each diff
// byte is then added to it: no second buffer. The diff's whole range was
// checked when its size was read.
static int fetch_from(mpota_delta_t *d)
{
    uint32_t room = MPOTA_DELTA_CHUNK - d->out_len;
    uint32_t n = d->left < room ? d->left : room;
    uint32_t at = (uint32_t)d->from_pos;
    int rc = mpota_area_read(d->cfg.from, at, d->out + d->out_len, n);
    if (rc) {
        d->failed = true;
        return mpota_diag_set(&d->diag, rc, d->cfg.from->off + at, d->cfg.from->flash->size, 0);
    }
    d->from_pos += n;
    d->from_ready = (uint16_t)n;
    return MPOTA_OK;
}

// Takes as many of *count copies of byte as the current diff or extra and
// out[] have room for.
static int data_run(mpota_delta_t *d, uint8_t byte, uint32_t *count)
{
    bool diff = d->state == ST_DIFF;
    if (diff && d->from_ready == 0) {
        int rc = fetch_from(d);
        if (rc) {
            return rc;
        }
    }
    uint32_t room = diff ? d->from_ready : MPOTA_DELTA_CHUNK - d->out_len;
    uint32_t n = *count < d->left ? *count : d->left;
    n = n < room ? n : room;
    uint8_t *to = d->out + d->out_len;
    if (diff) {
        for (uint32_t i = 0; i < n; i++) {
            to[i] = (uint8_t)(to[i] + byte);  // bsdiff: new = from + diff, mod 256
        }
        d->from_ready = (uint16_t)(d->from_ready - n);
    } else {
        memset(to, byte, n);
    }
    d->out_len = (uint16_t)(d->out_len + n);
    d->to_pos += n;
    d->left -= n;
    *count -= n;
    if (d->left == 0) {
        d->state = diff ? ST_EXTRA_SIZE : ST_ADJUST;
    }
    bool full = d->out_len == MPOTA_DELTA_CHUNK, complete = d->to_pos == d->to_size;
    return full || complete ? flush(d) : MPOTA_OK;
}

/// Sizes, one handler per state that reads one ///

// A size past 32 bits: the code its place calls for.
static int too_big(mpota_delta_t *d)
{
    switch (d->state) {
    case ST_TO_SIZE:
        return fail(d, MPOTA_ERR_DELTA_TO_RANGE, d->cfg.to_max, UINT32_MAX);
    case ST_DIFF_SIZE:
    case ST_EXTRA_SIZE:
        if (!d->size_neg) {
            return fail(d, MPOTA_ERR_DELTA_TO_RANGE, d->to_size, UINT32_MAX);
        }
        return fail(d, MPOTA_ERR_DELTA_CORRUPT, 0, 0);
    default:  // no real adjustment moves 4 GiB, no data-format patch is that big
        return fail(d, MPOTA_ERR_DELTA_CORRUPT, 0, 0);
    }
}

// Takes one byte of a detools size: 1 when it is complete (size_val and
// size_neg), 0 when more bytes follow, or an error.
static int size_byte(mpota_delta_t *d, uint8_t byte)
{
    if (d->size_shift == 0) {
        d->size_val = byte & 0x3Fu;
        d->size_neg = (byte & 0x40u) != 0;
        d->size_shift = 6;
    } else {
        uint64_t bits = d->size_shift <= SIZE_LAST_SHIFT ? (uint64_t)(byte & 0x7Fu) << d->size_shift
                                                         : UINT64_MAX;
        if (bits > UINT32_MAX - d->size_val) {
            return too_big(d);
        }
        d->size_val += (uint32_t)bits;
        d->size_shift = (uint8_t)(d->size_shift + 7);
    }
    if (byte & 0x80u) {
        return 0;
    }
    d->size_shift = 0;
    return 1;
}

// "-0" is 0; any other negative size is malformed where a size must not be.
static bool negative(const mpota_delta_t *d)
{
    return d->size_neg && d->size_val != 0;
}

static int to_size_read(mpota_delta_t *d)
{
    if (negative(d)) {
        return fail(d, MPOTA_ERR_DELTA_CORRUPT, 0, 0);
    }
    if (d->size_val > d->cfg.to_max) {
        return fail(d, MPOTA_ERR_DELTA_TO_RANGE, d->cfg.to_max, d->size_val);
    }
    d->to_size = d->size_val;
    // An empty image is the whole patch: detools writes no payload for it.
    d->state = d->to_size ? ST_DF_SIZE : ST_DONE;
    return MPOTA_OK;
}

static int df_size_read(mpota_delta_t *d)
{
    if (negative(d)) {
        return fail(d, MPOTA_ERR_DELTA_CORRUPT, 0, 0);
    }
    d->state = d->size_val ? ST_DF_FORMAT : ST_DIFF_SIZE;
    return MPOTA_OK;
}

static int df_format_read(mpota_delta_t *d)
{
    bool known = !d->size_neg && d->size_val < 3u;
    return fail_named(d, MPOTA_ERR_DELTA_DATA_FORMAT, d->size_val,
                      known ? data_format_names[d->size_val] : "unknown");
}

// A diff or extra size: it must fit the image, and a diff's from-data must
// lie in [0, from_len) before any of it is read.
static int data_size_read(mpota_delta_t *d, uint8_t data_state)
{
    uint32_t n = d->size_val;
    if (negative(d)) {
        return fail(d, MPOTA_ERR_DELTA_CORRUPT, 0, 0);
    }
    if (n > d->to_size - d->to_pos) {
        return fail(d, MPOTA_ERR_DELTA_TO_RANGE, d->to_size, clamp32((uint64_t)d->to_pos + n));
    }
    if (data_state == ST_DIFF && n &&
        (d->from_pos < 0 || d->from_pos + n > (int64_t)d->cfg.from_len)) {
        // A start before byte 0 has no end to name: it reads as UINT32_MAX too.
        uint64_t end = d->from_pos < 0 ? UINT64_MAX : (uint64_t)d->from_pos + n;
        return fail(d, MPOTA_ERR_DELTA_FROM_RANGE, d->cfg.from_len, clamp32(end));
    }
    d->left = n;
    d->from_ready = 0;
    d->state = n ? data_state : (uint8_t)(data_state + 1);  // empty: the next size
    return MPOTA_OK;
}

// The adjustment moves the from position only: detools seeks, it does not
// read, so a position out of range is an error only once a diff reads there.
// Real patches never leave [0, from_len]; one 4 GiB away is corrupt, and the
// bound keeps every sum exact however many adjustments come.
static int adjust_read(mpota_delta_t *d)
{
    int64_t by = d->size_val;
    int64_t to = d->from_pos + (d->size_neg ? -by : by);
    if (to < -(int64_t)UINT32_MAX || to > (int64_t)UINT32_MAX) {
        return fail(d, MPOTA_ERR_DELTA_CORRUPT, 0, 0);
    }
    d->from_pos = to;
    d->state = d->to_pos < d->to_size ? ST_DIFF_SIZE : ST_DONE;
    return MPOTA_OK;
}

static int size_step(mpota_delta_t *d, uint8_t byte)
{
    int rc = size_byte(d, byte);
    if (rc != 1) {
        return rc;
    }
    switch (d->state) {
    case ST_TO_SIZE:
        return to_size_read(d);
    case ST_DF_SIZE:
        return df_size_read(d);
    case ST_DF_FORMAT:
        return df_format_read(d);
    case ST_DIFF_SIZE:
        return data_size_read(d, ST_DIFF);
    case ST_EXTRA_SIZE:
        return data_size_read(d, ST_EXTRA);
    default:  // ST_ADJUST
        return adjust_read(d);
    }
}

/// The payload ///

// A run of one-byte zero sizes where a triple starts is whole triples
// (0, 0, 0) that change nothing: only what is left over is read, so that one
// crle segment of 2^32 zeros costs no 2^32 steps.
static uint32_t after_empty_triples(const mpota_delta_t *d, uint8_t byte, uint32_t count)
{
    bool zero = (byte & 0xBFu) == 0;  // 0 or -0, no byte follows
    return d->state == ST_DIFF_SIZE && d->size_shift == 0 && zero ? count % 3u : count;
}

// The decoders' output (mpota_dec_out_fn): count copies of byte.
static int payload(void *ctx, uint8_t byte, uint32_t count)
{
    mpota_delta_t *d = ctx;
    int rc = MPOTA_OK;
    while (count && rc == MPOTA_OK) {
        if (d->state == ST_DIFF || d->state == ST_EXTRA) {
            rc = data_run(d, byte, &count);
        } else if (d->state == ST_DONE) {
            rc = fail(d, MPOTA_ERR_DELTA_TRAILING, 0, 0);
        } else {
            count = after_empty_triples(d, byte, count);
            if (count) {
                count--;
                rc = size_step(d, byte);
            }
        }
    }
    return rc;
}

static int payload_byte(mpota_delta_t *d, uint8_t byte)
{
    int rc;
    switch (d->compression) {
    case MPOTA_DELTA_CRLE:
        rc = mpota_crle_dec_byte(&d->dec.crle, byte, payload, d);
        break;
    case MPOTA_DELTA_HEATSHRINK:
        rc = mpota_heatshrink_dec_byte(&d->dec.hs, d->cfg.window, d->cfg.window_size, byte,
                                       payload, d);
        break;
    default:
        return payload(d, byte, 1);
    }
    if (rc == MPOTA_OK || d->failed) {
        return rc;  // a failure behind the decoder has its diag already
    }
    if (rc == MPOTA_ERR_DELTA_WINDOW) {
        return fail(d, rc, d->cfg.window_size, mpota_heatshrink_dec_window_needed(&d->dec.hs));
    }
    return fail(d, rc, 0, 0);
}

/// The patch ///

static int header_byte(mpota_delta_t *d, uint8_t byte)
{
    uint8_t compression = byte & 0x0Fu;
    if (byte >> 4 || compression > MPOTA_DELTA_LZ4) {
        return fail(d, MPOTA_ERR_DELTA_HEADER, 0, byte);  // bit 7, or not sequential
    }
    if (compression != MPOTA_DELTA_NONE && compression != MPOTA_DELTA_CRLE &&
        compression != MPOTA_DELTA_HEATSHRINK) {
        return fail_named(d, MPOTA_ERR_DELTA_COMPRESSION, byte,
                          mpota_delta_compression_name(compression));
    }
    d->compression = compression;
    if (compression == MPOTA_DELTA_CRLE) {
        mpota_crle_dec_init(&d->dec.crle);
    } else if (compression == MPOTA_DELTA_HEATSHRINK) {
        mpota_heatshrink_dec_init(&d->dec.hs);
    }
    d->state = ST_TO_SIZE;
    return MPOTA_OK;
}

static int patch_byte(mpota_delta_t *d, uint8_t byte)
{
    switch (d->state) {
    case ST_HEADER:
        return header_byte(d, byte);
    case ST_TO_SIZE:
        return size_step(d, byte);
    case ST_DONE:
        // Heatshrink's padding is the rest of the byte that completed the
        // image; nothing may come after it.
        return fail(d, MPOTA_ERR_DELTA_TRAILING, 0, 0);
    default:
        return payload_byte(d, byte);
    }
}

int mpota_delta_begin(mpota_delta_t *d, const struct mpota_delta_cfg *cfg)
{
    memset(d, 0, sizeof(*d));
    if (!cfg || !cfg->from || !cfg->sink || (cfg->window_size && !cfg->window) ||
        cfg->from_len > cfg->from->size) {
        MPOTA_ASSERT(!"mpota_delta_cfg: from, from_len, sink, window");
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
        if (d->patch_pos == d->cfg.patch_len && d->state != ST_DONE) {
            return fail(d, MPOTA_ERR_EXPECT_LENGTH, d->cfg.patch_len,
                        clamp32((uint64_t)d->patch_pos + (len - i)));
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
    // Fewer bytes than the declared length first: a download cut short or a
    // lying length, whatever the image looks like so far.
    if (d->patch_pos < d->cfg.patch_len) {
        return fail(d, MPOTA_ERR_EXPECT_LENGTH, d->cfg.patch_len, d->patch_pos);
    }
    if (d->state != ST_DONE) {
        return fail(d, MPOTA_ERR_DELTA_TRUNCATED, d->to_size, d->to_pos);
    }
    // A crle segment that promised bytes the patch does not have.
    if (d->compression == MPOTA_DELTA_CRLE && !mpota_crle_dec_idle(&d->dec.crle)) {
        return fail(d, MPOTA_ERR_DELTA_CORRUPT, 0, 0);
    }
    return MPOTA_OK;
}

uint32_t mpota_delta_to_size(const mpota_delta_t *d)
{
    return d->to_size;
}

const struct mpota_diag *mpota_delta_diag(const mpota_delta_t *d)
{
    return &d->diag;
}

const char *mpota_delta_compression_name(int c)
{
    static const char *const names[] = {"none", "lzma", "crle", "bz2", "heatshrink", "zstd",
                                        "lz4"};
    return c >= 0 && c <= MPOTA_DELTA_LZ4 ? names[c] : NULL;
}
