// detools' conditional run-length encoding (crle), host only: the input as
// segments, each a kind byte and a size written 7 bits a byte, least
// significant first (bit 7: more follow): kind 0 "scattered", the size and
// that many bytes as they are; kind 1 "repeated", the count and the one
// byte repeated. Runs of MPOTA_CRLE_MIN_RUN or more equal bytes become
// repeated segments, as detools' encoder makes them; an empty input is one
// empty scattered segment.
#ifndef MPOTA_CRLE_ENC_H
#define MPOTA_CRLE_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "byte_buf.h"

// The shortest run worth a repeated segment (detools'): a run inside
// scattered bytes costs a repeated segment and a new scattered header.
#define MPOTA_CRLE_MIN_RUN 6u

// Appends the segments for in[0..len) to out. Returns 0 or
// MPOTA_ERR_NO_SPACE (no memory).
int mpota_crle_encode(const uint8_t *in, size_t len, struct mpota_buf *out);

#endif
