// What a stream is, from its first bytes (stream.h).
#include "mpota/stream.h"

#include <stdbool.h>

#include "mpota/delta.h"
#include "mpota/image.h"

// RFC 1950 §2.2: CM 8 (deflate), CINFO <= 7 (window 2^(CINFO+8) <= 32 KiB),
// and CMF*256 + FLG a multiple of 31. No app image or detools header passes:
// their first bytes (0xE9, 0x00..0x06) have another CM.
static bool zlib_header(uint8_t cmf, uint8_t flg)
{
    return (cmf & 0x0Fu) == 8u && (cmf >> 4) <= 7u && ((unsigned)cmf * 256u + flg) % 31u == 0;
}

static bool may_start_zlib(uint8_t cmf)
{
    return (cmf & 0x0Fu) == 8u && (cmf >> 4) <= 7u;
}

enum mpota_stream_kind mpota_stream_kind(const uint8_t *p, size_t n)
{
    if (n == 0) {
        return MPOTA_STREAM_MORE;
    }
    if (p[0] == MPOTA_IMAGE_MAGIC) {
        return MPOTA_STREAM_APP;
    }
    if ((p[0] >> 4) == 0 && (p[0] & 0x0Fu) <= MPOTA_DELTA_LZ4) {
        return MPOTA_STREAM_DETOOLS;
    }
    if (p[0] == 0x1F) {
        // ID1 ID2 CM: the magic alone would also match other methods.
        if (n >= 2 && p[1] != 0x8B) {
            return MPOTA_STREAM_OTHER;
        }
        return n < 3 ? MPOTA_STREAM_MORE : p[2] == 8 ? MPOTA_STREAM_GZIP : MPOTA_STREAM_OTHER;
    }
    if (may_start_zlib(p[0])) {
        return n < 2 ? MPOTA_STREAM_MORE
               : zlib_header(p[0], p[1]) ? MPOTA_STREAM_ZLIB
                                         : MPOTA_STREAM_OTHER;
    }
    return MPOTA_STREAM_OTHER;
}

const char *mpota_stream_kind_name(enum mpota_stream_kind k)
{
    switch (k) {
    case MPOTA_STREAM_APP:
        return "app image";
    case MPOTA_STREAM_GZIP:
        return "gzip";
    case MPOTA_STREAM_ZLIB:
        return "zlib";
    case MPOTA_STREAM_DETOOLS:
        return "detools patch";
    case MPOTA_STREAM_OTHER:
        return "other";
    default:
        return "unknown";
    }
}
