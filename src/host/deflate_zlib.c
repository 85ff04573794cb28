// gzip files of app images (deflate_zlib.h).
#include "deflate_zlib.h"

#include <stdlib.h>

#include <zlib.h>

uint8_t *mpota_deflate_zlib_gzip(const uint8_t *img, size_t len, size_t *out_len)
{
    z_stream z = {0};
    // 15 + 16: a gzip wrapper. zlib's header has no name and mtime 0 unless
    // deflateSetHeader() gives them; memLevel 9 packs a little tighter.
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        return NULL;
    }
    size_t cap = deflateBound(&z, (uLong)len);
    uint8_t *out = malloc(cap ? cap : 1);
    z.next_in = (Bytef *)(uintptr_t)img;  // zlib only reads it
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    // deflateBound() leaves room for the whole stream: one call finishes it.
    int rc = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}
