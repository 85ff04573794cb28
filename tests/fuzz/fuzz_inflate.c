// libFuzzer target: the stream sniffer (stream.h) and the inflate stage
// (inflate_zlib.h) on arbitrary bytes. Input: byte 0 picks the piece size the
// stream is pushed in (1..128) and whether a stream the sniffer does not call
// gzip or zlib is pushed anyway (as gzip or zlib: header refusals); byte 1
// the output bound (1..256 KiB); the rest is the stream. Seeds: gzip and zlib
// of small images (scripts/fuzz.sh). Properties checked (abort on violation):
// * the sniffer answers MORE only below MPOTA_STREAM_SNIFF_LEN bytes, and a
//   shorter prefix says MORE or what the whole says;
// * the sink never gets more than the bound, and what it got is the stage's
//   out count; a stage that failed stays failed with the same code;
// * only documented codes come back; a failure's offset is within the input;
// * the verdict does not depend on the pieces: zlib fed the whole stream at
//   once (the reference) ends cleanly, within the bound, with nothing after
//   the end exactly when the stage returns 0, and then with the same bytes.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "inflate_zlib.h"
#include "mpota/stream.h"

#define OUT_MAX_LIMIT (256u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t got[OUT_MAX_LIMIT], want[OUT_MAX_LIMIT + 1];
static uint32_t got_len, bound;

static int sink(void *ctx, const uint8_t *p, uint32_t n)
{
    (void)ctx;
    if (got_len + (uint64_t)n > bound) {
        abort();
    }
    memcpy(got + got_len, p, n);
    got_len += n;
    return 0;
}

static bool documented(int rc)
{
    return rc == MPOTA_OK || (rc <= MPOTA_ERR_INFLATE_HEADER && rc >= MPOTA_ERR_INFLATE_TOO_BIG);
}

static void check_sniffer(const uint8_t *p, size_t n)
{
    enum mpota_stream_kind whole = mpota_stream_kind(p, n);
    if (n >= MPOTA_STREAM_SNIFF_LEN && whole == MPOTA_STREAM_MORE) {
        abort();
    }
    for (size_t k = 0; k < n && k < MPOTA_STREAM_SNIFF_LEN; k++) {
        enum mpota_stream_kind early = mpota_stream_kind(p, k);
        if (early != MPOTA_STREAM_MORE && early != whole) {
            abort();
        }
    }
}

// zlib on the whole stream in one call: true if it ends cleanly with nothing
// after it and at most `bound` bytes of output (in want[], *len).
static bool reference(enum mpota_stream_kind kind, const uint8_t *p, size_t n, uint32_t *len)
{
    z_stream z = {0};
    if (inflateInit2(&z, kind == MPOTA_STREAM_GZIP ? 15 + 16 : 15) != Z_OK) {
        abort();
    }
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = want;
    z.avail_out = bound + 1;  // one more: output beyond the bound is seen
    int zr = inflate(&z, Z_FINISH);
    *len = (uint32_t)z.total_out;
    bool clean = zr == Z_STREAM_END && z.avail_in == 0 && z.total_out <= bound;
    inflateEnd(&z);
    return clean;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    size_t piece = 1 + (data[0] & 0x7Fu);
    bool force = data[0] & 0x80u;
    bound = (1u + data[1]) * 1024u;
    data += 2;
    size -= 2;
    check_sniffer(data, size);
    enum mpota_stream_kind kind = mpota_stream_kind(data, size);
    if (kind != MPOTA_STREAM_GZIP && kind != MPOTA_STREAM_ZLIB) {
        if (!force) {
            return 0;
        }
        kind = size && (data[0] & 1) ? MPOTA_STREAM_ZLIB : MPOTA_STREAM_GZIP;
    }
    static mpota_inflate_zlib_t s;
    const struct mpota_inflate_zlib_cfg cfg = {kind, bound, "slot", sink, NULL};
    got_len = 0;
    int rc = mpota_inflate_zlib_begin(&s, &cfg);
    for (size_t i = 0; i < size && !rc; i += piece) {
        rc = mpota_inflate_zlib_push(&s, data + i, (uint32_t)(size - i < piece ? size - i : piece));
    }
    rc = rc ? rc : mpota_inflate_zlib_finish(&s);
    const struct mpota_diag *d = mpota_inflate_zlib_diag(&s);
    if (!documented(rc) || d->err != rc || got_len != mpota_inflate_zlib_out(&s) ||
        mpota_inflate_zlib_in(&s) > size || (rc && d->offset > size)) {
        abort();
    }
    if (rc && size && mpota_inflate_zlib_push(&s, data, 1) != rc) {
        abort();
    }
    mpota_inflate_zlib_end(&s);
    uint32_t want_len;
    bool clean = reference(kind, data, size, &want_len);
    if (clean != (rc == MPOTA_OK)) {
        abort();
    }
    if (!rc && (want_len != got_len || memcmp(want, got, got_len) != 0 ||
                mpota_inflate_zlib_in(&s) != size)) {
        abort();
    }
    return 0;
}
