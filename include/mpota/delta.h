// Applying a detools sequential patch as a stream (issue 13).
//
// A patch turns the running image (the "from" data, read through a read-only
// area) into a new image, which goes to a sink -- normally the update session,
// so the session's pre-flight, erase-ahead, hashing and read-back apply to
// patched images unchanged. Patch bytes arrive in chunks of any size, in order.
//
// The format (detools 0.53, `detools/apply.py`, `create.py`): one header byte
// (bit 7 zero, bits 6..4 the patch type, 0 = sequential; bits 3..0 the
// compression), the new image's size as a detools size (below), then the
// compressed payload, which runs to the end of the patch. The payload is a
// data-format size (0 here: data-format patches are refused), then chunks of
// bsdiff triples until the new image is complete:
//   diff size, diff bytes (added byte-wise to as many bytes of from data),
//   extra size, extra bytes (copied), adjustment (a signed size added to the
//   from position).
// A detools size: the first byte holds bit 7 "more", bit 6 "negative" and 6
// value bits; each further byte bit 7 "more" and 7 value bits, least
// significant first.
//
// Compressions: none (0), crle (2) and heatshrink (4; one byte of window and
// lookahead bits first, then heatshrink's bit stream). none, crle and
// heatshrink end with the patch, which is why the patch's length must be
// known before its first byte (a manifest's "length", a Content-Length or the
// file size). lzma (1), bz2, zstd and lz4 are refused here with
// MPOTA_ERR_DELTA_COMPRESSION; the host decompresses lzma itself and hands
// this applier an equivalent "none" patch.
//
// Every instruction is bounds-checked before it acts: from data beyond
// from_len, output beyond the declared size or to_max, and sizes that run
// past the patch are refused with the offset of the patch byte at fault.
// An adjustment may move the from position outside [0, from_len) (detools
// seeks there; only a diff that reads there is refused), but not 4 GiB away.
// Sizes that do not fit 32 bits are refused, as are bytes after the image is
// complete (heatshrink's last byte may end in padding bits).
// Nothing allocates; the heatshrink window is the caller's buffer.
#ifndef MPOTA_DELTA_H
#define MPOTA_DELTA_H

#include <stdbool.h>
#include <stdint.h>

#include "mpota/err.h"
#include "mpota/flash.h"

// detools' compression numbers (the low nibble of the header byte).
enum mpota_delta_compression {
    MPOTA_DELTA_NONE = 0,
    MPOTA_DELTA_LZMA = 1,
    MPOTA_DELTA_CRLE = 2,
    MPOTA_DELTA_BZ2 = 3,
    MPOTA_DELTA_HEATSHRINK = 4,
    MPOTA_DELTA_ZSTD = 5,
    MPOTA_DELTA_LZ4 = 6,
};

// Where the new image goes: returns 0 or a negative enum mpota_err, which
// stops the patch and is returned by mpota_delta_push() unchanged.
typedef int (*mpota_delta_sink_fn)(void *ctx, const uint8_t *data, uint32_t len);

struct mpota_delta_cfg {
    const struct mpota_area *from;  // the running slot (read only: it is never written)
    uint32_t from_len;              // bytes of it the patch may read: the running image
    uint32_t patch_len;             // the whole patch, header included
    uint32_t to_max;                // the largest new image allowed: the target slot's size
    uint8_t *window;                // heatshrink's window: 1 << window_sz2 bytes are used
    uint32_t window_size;           // a patch needing more is refused (MPOTA_ERR_DELTA_WINDOW)
    mpota_delta_sink_fn sink;
    void *sink_ctx;
};

// Bytes of new image handed to the sink at a time (and the from-data read size).
#ifndef MPOTA_DELTA_CHUNK
#define MPOTA_DELTA_CHUNK 256u
#endif

// Private: the payload decoders' states (src/core/crle_dec.c,
// heatshrink_dec.c), here only so that mpota_delta_t has a size.
struct mpota_crle_dec {
    uint32_t value;  // a segment's size being read, then its literal bytes left
    uint8_t phase;
    uint8_t shift;   // bits of value read
    uint8_t repeated;
};

struct mpota_heatshrink_dec {
    uint16_t head;   // window position of the next output byte
    uint16_t field;  // the bits of the field being read
    uint16_t back;   // a back-reference's distance
    uint8_t phase;
    uint8_t need;    // bits of the field still to come
    uint8_t window_bits, lookahead_bits;
};

// Caller-owned state; its fields are private (exposed only so that it can
// live on the stack or in a static): 392 bytes on a 32-bit target with the
// default MPOTA_DELTA_CHUNK (test_delta.c prints it).
typedef struct mpota_delta {
    int64_t from_pos;       // the next from-data byte a diff reads; an adjustment may
                            // take it out of range, only a read there is an error
    struct mpota_delta_cfg cfg;
    struct mpota_diag diag;
    uint32_t patch_pos;     // patch bytes consumed
    uint32_t to_size;       // from the header; 0 until it is read
    uint32_t to_pos;        // new-image bytes made (handed to the sink or in out[])
    uint32_t left;          // bytes left in the current diff or extra
    uint32_t size_val;      // the detools size being read
    union {
        struct mpota_crle_dec crle;
        struct mpota_heatshrink_dec hs;
    } dec;
    uint16_t out_len;       // new-image bytes in out[]
    uint16_t from_ready;    // out[out_len..] already holds this many from-data bytes
    uint8_t size_shift;     // bits of size_val read; 0 = none yet
    bool size_neg;
    uint8_t state;
    uint8_t compression;    // enum mpota_delta_compression
    bool failed;
    // A diff's from-data is read here first, then each diff byte is added in place.
    uint8_t out[MPOTA_DELTA_CHUNK];
} mpota_delta_t;

// Starts applying a patch. Nothing is read or written yet.
int mpota_delta_begin(mpota_delta_t *d, const struct mpota_delta_cfg *cfg);

// Consumes len patch bytes (all of them, or fails: the failure is sticky).
// A refusal is an MPOTA_ERR_DELTA_* code whose diag offset is the patch byte
// at fault, or MPOTA_ERR_EXPECT_LENGTH for bytes beyond patch_len; a sink's
// code comes back unchanged (its details are the sink's), and a flash code
// from reading the base has the flash address as its offset.
int mpota_delta_push(mpota_delta_t *d, const void *data, uint32_t len);

// After the last patch byte: 0 when the whole new image went to the sink and
// the patch held nothing more. MPOTA_ERR_EXPECT_LENGTH when fewer than
// patch_len bytes came (a cut download, or a length that lies);
// MPOTA_ERR_DELTA_TRUNCATED when all came but the image is not complete;
// MPOTA_ERR_DELTA_CORRUPT when a crle segment was cut short.
int mpota_delta_finish(mpota_delta_t *d);

// The new image's size from the header (0 before it is read).
uint32_t mpota_delta_to_size(const mpota_delta_t *d);

// detools' name of compression number c ("heatshrink"), NULL past lz4.
const char *mpota_delta_compression_name(int c);

// Why the last call failed.
const struct mpota_diag *mpota_delta_diag(const mpota_delta_t *d);

#endif
