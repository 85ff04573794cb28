// The inflate stage over zlib (inflate_zlib.h).
#include "inflate_zlib.h"

#include <string.h>

#include "mpota/bytes.h"

static uint32_t clamp32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int fail(mpota_inflate_zlib_t *s, int err, uint64_t off, uint32_t exp, uint32_t act)
{
    return mpota_diag_set(&s->diag, err, clamp32(off), exp, act);
}

int mpota_inflate_zlib_begin(mpota_inflate_zlib_t *s, const struct mpota_inflate_zlib_cfg *cfg)
{
    memset(s, 0, sizeof(*s));
    if (!cfg || !cfg->sink ||
        (cfg->kind != MPOTA_STREAM_GZIP && cfg->kind != MPOTA_STREAM_ZLIB)) {
        return fail(s, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
    }
    s->cfg = *cfg;
    // The wrapper is the one the magic said: a gzip stream is never taken
    // as zlib, or the reverse (zlib's auto-detection, 15 + 32, would).
    int bits = cfg->kind == MPOTA_STREAM_GZIP ? 15 + 16 : 15;
    int rc = inflateInit2(&s->z, bits);
    if (rc != Z_OK) {
        return fail(s, MPOTA_ERR_NO_SPACE, 0, 0, 0);
    }
    s->ready = true;
    return MPOTA_OK;
}

// Keeps the last 4 bytes taken: when zlib rejects a trailer, they are its
// check value (zlib reads the trailer whole, byte-aligned, just before it
// compares).
static void keep_tail(mpota_inflate_zlib_t *s, const uint8_t *taken, uint32_t n)
{
    uint32_t k = n < 4 ? n : 4;
    memmove(s->tail, s->tail + k, 4 - k);
    memcpy(s->tail + 4 - k, taken + n - k, k);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// Z_DATA_ERROR into our codes. zlib says which check failed only in its
// message; these strings have not changed since zlib 1.2.0.
static int data_error(mpota_inflate_zlib_t *s)
{
    const char *msg = s->z.msg ? s->z.msg : "";
    bool gzip = s->cfg.kind == MPOTA_STREAM_GZIP;
    if (strcmp(msg, "incorrect data check") == 0) {
        // zlib has just updated adler to what the data gives.
        fail(s, MPOTA_ERR_INFLATE_CHECKSUM, s->in, gzip ? mpota_le32(s->tail) : be32(s->tail),
             (uint32_t)s->z.adler);
        mpota_diag_label(&s->diag, gzip ? "CRC-32" : "Adler-32", 16);
        return s->diag.err;
    }
    if (strcmp(msg, "incorrect length check") == 0) {
        fail(s, MPOTA_ERR_INFLATE_CHECKSUM, s->in, mpota_le32(s->tail),
             (uint32_t)(s->z.total_out & 0xFFFFFFFFu));
        mpota_diag_label(&s->diag, "length", 16);
        return s->diag.err;
    }
    static const char *const header_msgs[] = {"incorrect header check", "unknown compression method",
                                              "invalid window size", "unknown header flags set",
                                              "header crc mismatch"};
    for (size_t i = 0; i < sizeof(header_msgs) / sizeof(header_msgs[0]); i++) {
        if (strcmp(msg, header_msgs[i]) == 0) {
            fail(s, MPOTA_ERR_INFLATE_HEADER, s->in, 0, 0);
            mpota_diag_label(&s->diag, msg, MPOTA_DIAG_LABEL_MAX);
            return s->diag.err;
        }
    }
    // zlib gives back the bytes it had read ahead, so the last byte taken
    // holds the code it could not decode.
    return fail(s, MPOTA_ERR_INFLATE_CORRUPT, s->in ? s->in - 1 : 0, 0, 0);
}

// Hands what zlib made to the sink, within the bound.
static int deliver(mpota_inflate_zlib_t *s, uint32_t n)
{
    if (n == 0) {
        return MPOTA_OK;
    }
    if (s->cfg.out_max && s->out + n > s->cfg.out_max) {
        fail(s, MPOTA_ERR_INFLATE_TOO_BIG, s->in, s->cfg.out_max, 0);
        mpota_diag_label(&s->diag, s->cfg.out_name, MPOTA_DIAG_LABEL_MAX);
        return s->diag.err;
    }
    int rc = s->cfg.sink(s->cfg.sink_ctx, s->buf, n);
    if (rc) {
        return fail(s, rc, s->in, 0, 0);  // the sink's record says why
    }
    s->out += n;
    return MPOTA_OK;
}

// One inflate() call on what is left of the input, its output delivered.
// Returns 0 to go on, 1 when no more progress is possible with this input.
static int step(mpota_inflate_zlib_t *s, int *err)
{
    const uint8_t *before = s->z.next_in;
    s->z.next_out = s->buf;
    s->z.avail_out = sizeof(s->buf);
    int zr = inflate(&s->z, Z_NO_FLUSH);
    uint32_t taken = (uint32_t)(s->z.next_in - before);
    keep_tail(s, before, taken);
    s->in += taken;
    if (zr == Z_DATA_ERROR) {
        *err = data_error(s);
        return 1;
    }
    if (zr == Z_NEED_DICT) {
        *err = fail(s, MPOTA_ERR_INFLATE_HEADER, s->in, 0, 0);
        mpota_diag_label(&s->diag, "zlib preset dictionary", MPOTA_DIAG_LABEL_MAX);
        return 1;
    }
    if (zr == Z_MEM_ERROR || zr == Z_STREAM_ERROR) {
        *err = fail(s, MPOTA_ERR_NO_SPACE, s->in, 0, 0);
        return 1;
    }
    *err = deliver(s, (uint32_t)(sizeof(s->buf) - s->z.avail_out));
    if (*err) {
        return 1;
    }
    if (zr == Z_STREAM_END) {
        s->ended = true;
        return 1;
    }
    // Z_BUF_ERROR: input used up and nothing left to write. A full output
    // buffer may hide more output even when the input is used up.
    return zr == Z_BUF_ERROR || (s->z.avail_in == 0 && s->z.avail_out != 0);
}

int mpota_inflate_zlib_push(mpota_inflate_zlib_t *s, const void *data, uint32_t len)
{
    if (s->diag.err) {
        return s->diag.err;
    }
    if (!s->ready && !s->ended) {
        return fail(s, MPOTA_ERR_BAD_STATE, s->in, 0, 0);
    }
    if (len == 0) {
        return MPOTA_OK;
    }
    if (s->ended) {
        return fail(s, MPOTA_ERR_INFLATE_TRAILING, s->in, 0, 0);
    }
    s->z.next_in = (Bytef *)(uintptr_t)data;  // zlib's API is not const; it only reads
    s->z.avail_in = len;
    int err = MPOTA_OK;
    while (!step(s, &err)) {
    }
    if (!err && s->ended && s->z.avail_in) {
        // More after the end: a second gzip member, or anything appended.
        err = fail(s, MPOTA_ERR_INFLATE_TRAILING, s->in, 0, 0);
    }
    s->z.next_in = NULL;  // nothing of the caller's buffer is kept
    s->z.avail_in = 0;
    return err;
}

int mpota_inflate_zlib_finish(mpota_inflate_zlib_t *s)
{
    if (s->diag.err) {
        return s->diag.err;
    }
    if (!s->ended) {
        return fail(s, MPOTA_ERR_INFLATE_TRUNCATED, s->in, 0, clamp32(s->in));
    }
    return MPOTA_OK;
}

void mpota_inflate_zlib_end(mpota_inflate_zlib_t *s)
{
    if (s->ready) {
        inflateEnd(&s->z);
        s->ready = false;
    }
}

uint64_t mpota_inflate_zlib_in(const mpota_inflate_zlib_t *s)
{
    return s->in;
}

uint64_t mpota_inflate_zlib_out(const mpota_inflate_zlib_t *s)
{
    return s->out;
}

const struct mpota_diag *mpota_inflate_zlib_diag(const mpota_inflate_zlib_t *s)
{
    return &s->diag;
}
