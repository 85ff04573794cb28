// heatshrink's LZSS bit stream, encoded with an optimal parse (issue 13,
// host only). The stream, most significant bit first: 1 and an 8-bit
// literal, or 0, the distance - 1 in window_sz2 bits and the length - 1 in
// lookahead_sz2 bits: a copy of that many bytes from that far back (the
// copy may overlap what it makes; before the first byte the window holds
// zeros). The last byte is padded with zero bits. Any heatshrink decoder
// with the same two parameters reads it.
//
// Every copy costs the same 1 + window_sz2 + lookahead_sz2 bits and every
// literal 9, so the cheapest stream follows from a pass from the end: at
// each position, a literal, or a copy of any length up to the longest match
// within the window. The result is never longer than heatshrink's own
// (greedy) encoder's.
#ifndef MPOTA_HEATSHRINK_ENC_H
#define MPOTA_HEATSHRINK_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "byte_buf.h"

// heatshrink's limits: a window of 2^4 to 2^15 bytes, copies of up to
// 2^lookahead_sz2 bytes, lookahead_sz2 from 3 to window_sz2 - 1.
#define MPOTA_HEATSHRINK_MIN_WINDOW_SZ2 4
#define MPOTA_HEATSHRINK_MAX_WINDOW_SZ2 15
#define MPOTA_HEATSHRINK_MIN_LOOKAHEAD_SZ2 3

// Appends the stream for in[0..len) to out. Returns 0,
// MPOTA_ERR_INVALID_ARG (parameters out of heatshrink's limits) or
// MPOTA_ERR_NO_SPACE (no memory); *bits (if not NULL) gets the stream's
// length in bits before padding.
int mpota_heatshrink_encode(const uint8_t *in, size_t len, unsigned window_sz2,
                            unsigned lookahead_sz2, struct mpota_buf *out, uint64_t *bits);

#endif
