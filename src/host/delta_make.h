// Making detools sequential patches (issue 13, host only): `mpota delta
// make`. The patch is what detools 0.53 create_patch writes with its default
// bsdiff algorithm and no data format (mpota/delta.h describes the format):
// the header byte, NEW's size, then the compressed payload -- a data-format
// size of 0, then per bsdiff triple its diff size, diff bytes, extra size,
// extra bytes and adjustment. detools' apply_patch and the core applier
// (src/core/delta.c) both read it; an empty NEW gives detools' empty patch
// (the header and a size of 0, nothing else).
#ifndef MPOTA_DELTA_MAKE_H
#define MPOTA_DELTA_MAKE_H

#include <stddef.h>
#include <stdint.h>

#include "byte_buf.h"
#include "mpota/delta.h"

// heatshrink's parameters when none are given: detools' defaults (a 256 B
// window, copies of up to 128 B).
#define MPOTA_DELTA_HS_WINDOW_SZ2 8u
#define MPOTA_DELTA_HS_LOOKAHEAD_SZ2 7u

// Zeroed: no compression, heatshrink's defaults.
struct mpota_delta_make_opts {
    enum mpota_delta_compression compression;  // NONE, CRLE, HEATSHRINK or LZMA
    uint8_t window_sz2;     // heatshrink: 4..15, 0 = MPOTA_DELTA_HS_WINDOW_SZ2
    uint8_t lookahead_sz2;  // heatshrink: 3..window_sz2 - 1, 0 = MPOTA_DELTA_HS_LOOKAHEAD_SZ2
};

// What went into the patch.
struct mpota_delta_made {
    size_t triples;        // bsdiff triples
    uint64_t diff_bytes;   // NEW bytes made from OLD plus a diff
    uint64_t extra_bytes;  // NEW bytes carried as they are
    size_t payload_len;    // the payload before compression
};

// Makes the patch from old to new_ and appends it to patch. Returns 0,
// MPOTA_ERR_INVALID_ARG (a compression other than the four, heatshrink
// parameters out of range, or a file over MPOTA_DELTA_BSDIFF_MAX_LEN) or
// MPOTA_ERR_NO_SPACE (no memory). made may be NULL.
int mpota_delta_make(const uint8_t *old, size_t old_len, const uint8_t *new_, size_t new_len,
                     const struct mpota_delta_make_opts *opts, struct mpota_buf *patch,
                     struct mpota_delta_made *made);

// Appends v as a detools size: bit 7 "more", bit 6 "negative" and 6 value
// bits first, then 7 value bits a byte, least significant first.
void mpota_delta_put_size(struct mpota_buf *b, int64_t v);

#endif
