// The inflate stage of the host tools (issue 13), over zlib: gzip (RFC 1952)
// or zlib (RFC 1950) bytes pushed in chunks of any size, the decompressed
// image handed to a sink -- the update session's write, so the session hashes
// and checks the image, never the compressed bytes.
//
//   mpota_inflate_zlib_begin()   kind (from mpota_stream_kind), bound, sink
//   mpota_inflate_zlib_push()    the next compressed bytes, all taken or failed
//   mpota_inflate_zlib_finish()  after the last byte: the stream must have ended
//   mpota_inflate_zlib_end()     frees zlib's state, at any point
//
// Every byte pushed is consumed (a push that returns 0 has taken all of it),
// so the count of compressed bytes taken is where a dropped download resumes,
// with the decompressor's state still valid.
//
// Refusals (sticky: every later call returns the same code; offsets count
// compressed bytes; the diag says the rest):
//   MPOTA_ERR_INFLATE_HEADER    a header zlib does not take (label: zlib's words),
//                               or a preset dictionary
//   MPOTA_ERR_INFLATE_CORRUPT   invalid deflate data (offset: the byte decoding failed at)
//   MPOTA_ERR_INFLATE_CHECKSUM  the trailer's CRC-32, ISIZE or Adler-32 differs
//                               (expected: the trailer's, actual: the data's, label: which)
//   MPOTA_ERR_INFLATE_TRAILING  a byte after the end of the stream, a second gzip
//                               member included (offset: that byte)
//   MPOTA_ERR_INFLATE_TRUNCATED finish() before the end of the stream (offset = actual
//                               = bytes taken)
//   MPOTA_ERR_INFLATE_TOO_BIG   more than out_max bytes of output (a decompression
//                               bomb): refused before a byte beyond it reaches the sink
//   MPOTA_ERR_NO_SPACE          zlib could not allocate its state
//   the sink's error, unchanged (the sink's own record says why)
//
// RAM: zlib's inflate state (~7 KiB) and its 32 KiB window, allocated by
// zlib at begin; plus the output buffer in the struct.
#ifndef MPOTA_INFLATE_ZLIB_H
#define MPOTA_INFLATE_ZLIB_H

#include <stdbool.h>
#include <stdint.h>

#include <zlib.h>

#include "mpota/err.h"
#include "mpota/stream.h"

// Returns 0 or a negative error, which stops the stage and is returned by
// push()/finish() unchanged.
typedef int (*mpota_inflate_zlib_sink_fn)(void *ctx, const uint8_t *data, uint32_t len);

struct mpota_inflate_zlib_cfg {
    enum mpota_stream_kind kind;  // MPOTA_STREAM_GZIP or MPOTA_STREAM_ZLIB
    uint32_t out_max;             // the most output allowed (the slot's size); 0 = no bound
    const char *out_name;         // what out_max is, for the diag ("ota_1"); may be NULL
    mpota_inflate_zlib_sink_fn sink;
    void *sink_ctx;
};

// Bytes handed to the sink at a time (at most).
#define MPOTA_INFLATE_ZLIB_CHUNK 16384u

// Caller-owned; the fields are private.
typedef struct {
    struct mpota_inflate_zlib_cfg cfg;
    z_stream z;
    bool ready;       // z holds zlib's state (end() frees it)
    bool ended;       // the stream's end (and trailer) has been read
    uint64_t in;      // compressed bytes taken
    uint64_t out;     // decompressed bytes handed to the sink
    uint8_t tail[4];  // the last 4 compressed bytes taken: a failed trailer's values
    struct mpota_diag diag;  // diag.err is the sticky error
    uint8_t buf[MPOTA_INFLATE_ZLIB_CHUNK];
} mpota_inflate_zlib_t;

// Starts a stage in s, which is zeroed or was ended (end()). cfg is copied.
// MPOTA_ERR_INVALID_ARG for another kind or no sink; MPOTA_ERR_NO_SPACE if
// zlib cannot allocate.
int mpota_inflate_zlib_begin(mpota_inflate_zlib_t *s, const struct mpota_inflate_zlib_cfg *cfg);

// Takes the next len compressed bytes. 0 when all were taken.
int mpota_inflate_zlib_push(mpota_inflate_zlib_t *s, const void *data, uint32_t len);

// After the last byte: 0 if the stream ended (trailer checked), else
// MPOTA_ERR_INFLATE_TRUNCATED.
int mpota_inflate_zlib_finish(mpota_inflate_zlib_t *s);

// Frees zlib's state; the counts and the diag stay readable. Safe to call
// twice, and on a zeroed struct.
void mpota_inflate_zlib_end(mpota_inflate_zlib_t *s);

// Compressed bytes taken: where a resumed download continues.
uint64_t mpota_inflate_zlib_in(const mpota_inflate_zlib_t *s);

// Decompressed bytes handed to the sink.
uint64_t mpota_inflate_zlib_out(const mpota_inflate_zlib_t *s);

// Why the stage failed (err 0 while it has not). After a sink's refusal
// only err is set (the sink's code): the sink's own record says why.
const struct mpota_diag *mpota_inflate_zlib_diag(const mpota_inflate_zlib_t *s);

#endif
