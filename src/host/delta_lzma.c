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
