// LZMA "alone" streams (the .lzma format, Python's lzma.FORMAT_ALONE) via
// liblzma: the payload of detools' lzma patches (compression 1). The core
// applier does not decompress lzma; the host does, and hands it the payload
// as a "none" patch. Host only.
#ifndef MPOTA_DELTA_LZMA_H
#define MPOTA_DELTA_LZMA_H

#include <stddef.h>
#include <stdint.h>

#include "byte_buf.h"
#include "mpota/delta.h"

// Appends in[0..len) as an LZMA alone stream (size unknown in the header,
// an end marker after the data, as Python's encoder writes it) to out.
// Returns 0 or MPOTA_ERR_NO_SPACE (no memory).
int mpota_lzma_encode(const uint8_t *in, size_t len, struct mpota_buf *out);

// Where decoded bytes go: 0, or an error that stops the decoder.
typedef int (*mpota_lzma_sink_fn)(void *ctx, const uint8_t *data, size_t len);

// Decodes the stream at in[0..len), handing out what it makes, at most
// `limit` bytes (more is corrupt). Returns 0 at the end marker, with *used
// the stream's length (bytes after it are not read);
// MPOTA_ERR_DELTA_TRUNCATED when the input ends first; MPOTA_ERR_DELTA_CORRUPT
// (not LZMA, damaged, or over limit) with *used the input read; MPOTA_ERR_NO_SPACE;
// or the sink's error.
int mpota_lzma_decode(const uint8_t *in, size_t len, uint64_t limit, mpota_lzma_sink_fn sink,
                      void *ctx, size_t *used);

// Applies the lzma patch patch[0..len) with the core as its "none" twin:
// the header with compression 0, the same size, the payload as it
// decompresses (decoded once to count it, since the core needs the twin's
// length before its first byte, then again into the core). Begins d with
// cfg, its patch_len replaced by the twin's, and finishes it; at most
// `limit` payload bytes. Returns 0, or the failure with its record in diag:
// the stream's own (MPOTA_ERR_DELTA_CORRUPT or _TRAILING at that byte of
// the patch itself, MPOTA_ERR_NO_SPACE), or the core's (*core_refused set:
// its offsets count in the twin). A stream cut short goes on: the core says
// how much of the image is missing. *payload (may be NULL): the payload's size.
int mpota_delta_lzma_apply(mpota_delta_t *d, const struct mpota_delta_cfg *cfg,
                           const uint8_t *patch, size_t len, uint64_t limit, size_t *payload,
                           bool *core_refused, struct mpota_diag *diag);

#endif
