// LZMA alone streams through liblzma (delta_lzma.h).
#include "delta_lzma.h"

#include <lzma.h>

#include "mpota/err.h"

// A header whose dictionary would need more decoder memory than this is
// refused as corrupt: detools' dictionary is 8 MiB (preset 6), mpota's at
// most 64 MiB.
#define DECODER_MEMLIMIT ((uint64_t)512 << 20)

// The largest preset, with the dictionary no larger than the input needs
// (a patch is a few MiB at most; preset 9's 64 MiB would only cost memory
// here and in every decoder).
static int encoder_options(size_t len, lzma_options_lzma *opt)
{
    if (lzma_lzma_preset(opt, 9u | LZMA_PRESET_EXTREME)) {
        return MPOTA_ERR_INVALID_ARG;
    }
    uint32_t dict = LZMA_DICT_SIZE_MIN;
    while (dict < len && dict < opt->dict_size) {
        dict *= 2;
    }
    opt->dict_size = dict;
    return MPOTA_OK;
}

int mpota_lzma_encode(const uint8_t *in, size_t len, struct mpota_buf *out)
{
    lzma_options_lzma opt;
    lzma_stream strm = LZMA_STREAM_INIT;
    if (encoder_options(len, &opt) || lzma_alone_encoder(&strm, &opt) != LZMA_OK) {
        return MPOTA_ERR_NO_SPACE;
    }
    strm.next_in = in;
    strm.avail_in = len;
    lzma_ret ret = LZMA_OK;
    while (ret == LZMA_OK && mpota_buf_reserve(out, 1u << 16)) {
        strm.next_out = out->p + out->len;
        strm.avail_out = out->cap - out->len;
        ret = lzma_code(&strm, LZMA_FINISH);
        out->len = out->cap - strm.avail_out;
    }
    lzma_end(&strm);
    return ret == LZMA_STREAM_END ? MPOTA_OK : MPOTA_ERR_NO_SPACE;
}

int mpota_lzma_decode(const uint8_t *in, size_t len, uint64_t limit, mpota_lzma_sink_fn sink,
                      void *ctx, size_t *used)
{
    lzma_stream strm = LZMA_STREAM_INIT;
    *used = 0;
    if (lzma_alone_decoder(&strm, DECODER_MEMLIMIT) != LZMA_OK) {
        return MPOTA_ERR_NO_SPACE;
    }
    strm.next_in = in;
    strm.avail_in = len;
    uint8_t buf[1u << 16];
    lzma_ret ret = LZMA_OK;
    int rc = MPOTA_OK;
    while (ret == LZMA_OK && !rc) {
        strm.next_out = buf;
        strm.avail_out = sizeof(buf);
        ret = lzma_code(&strm, LZMA_FINISH);
        size_t made = sizeof(buf) - strm.avail_out;
        rc = strm.total_out > limit ? MPOTA_ERR_DELTA_CORRUPT : made ? sink(ctx, buf, made) : 0;
    }
    *used = (size_t)strm.total_in;
    lzma_end(&strm);
    if (rc || ret == LZMA_STREAM_END) {
        return rc;
    }
    // LZMA_BUF_ERROR: no progress with all the input given, so it ended early.
    return ret == LZMA_BUF_ERROR ? MPOTA_ERR_DELTA_TRUNCATED
           : ret == LZMA_MEM_ERROR ? MPOTA_ERR_NO_SPACE
                                   : MPOTA_ERR_DELTA_CORRUPT;
}

// The header byte and the bytes of the new image's size (or all there are).
static size_t head_len(const uint8_t *patch, size_t len)
{
    size_t i = 1;
    while (i < len && (patch[i] & 0x80u)) {
        i++;
    }
    return i < len ? i + 1 : len;
}

static int count(void *ctx, const uint8_t *data, size_t len)
{
    (void)data;
    *(uint64_t *)ctx += len;
    return MPOTA_OK;
}

static int to_core(void *ctx, const uint8_t *data, size_t len)
{
    return mpota_delta_push(ctx, data, (uint32_t)len);
}

int mpota_delta_lzma_apply(mpota_delta_t *d, const struct mpota_delta_cfg *cfg,
                           const uint8_t *patch, size_t len, uint64_t limit, size_t *payload,
                           bool *core_refused, struct mpota_diag *diag)
{
    size_t head = head_len(patch, len), used = 0;
    uint64_t n = 0;
    *core_refused = false;
    if (limit > UINT32_MAX - head) {
        limit = UINT32_MAX - head;  // the twin's length is 32 bits
    }
    int rc = head < len ? mpota_lzma_decode(patch + head, len - head, limit, count, &n, &used)
                        : MPOTA_OK;
    if (rc == MPOTA_OK && head + used < len) {
        return mpota_diag_set(diag, MPOTA_ERR_DELTA_TRAILING, (uint32_t)(head + used), 0, 0);
    }
    if (rc == MPOTA_ERR_DELTA_CORRUPT || rc == MPOTA_ERR_NO_SPACE) {
        return mpota_diag_set(diag, rc, (uint32_t)(head + used), 0, 0);
    }
    if (payload) {
        *payload = (size_t)n;
    }
    struct mpota_delta_cfg twin = *cfg;
    twin.patch_len = (uint32_t)(head + n);
    uint8_t none = (uint8_t)(patch[0] & 0xF0u);  // compression 0, the same patch type
    rc = mpota_delta_begin(d, &twin);
    rc = rc ? rc : mpota_delta_push(d, &none, 1);
    rc = rc ? rc : mpota_delta_push(d, patch + 1, (uint32_t)(head - 1));
    if (!rc && head < len) {
        rc = mpota_lzma_decode(patch + head, len - head, limit, to_core, d, &used);
        rc = rc == MPOTA_ERR_DELTA_TRUNCATED ? MPOTA_OK : rc;
    }
    rc = rc ? rc : mpota_delta_finish(d);
    if (rc) {
        *core_refused = true;
        *diag = *mpota_delta_diag(d);
        diag->err = rc;
    }
    return rc;
}
