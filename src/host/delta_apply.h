// Applying a detools sequential patch on the host (`mpota delta apply`)
// with the device's code: OLD is loaded into a RAM emulated flash and read
// through a read-only area, and the core applier (mpota/delta.h) makes NEW.
// An lzma patch (compression 1), which the core does not decompress, is
// decompressed here and handed to the core as the equivalent "none" patch:
// the same header with compression 0, the same size, the payload as it
// decompresses. Host only (allocates).
#ifndef MPOTA_DELTA_APPLY_H
#define MPOTA_DELTA_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "byte_buf.h"
#include "mpota/err.h"

// The largest OLD and NEW: the largest flash an ESP32 has (and the RAM
// emulated flash holds).
#define MPOTA_DELTA_APPLY_MAX_LEN (32u << 20)

struct mpota_delta_applied {
    int compression;      // the header's low nibble (enum mpota_delta_compression), -1 if none
    bool lzma;            // decompressed here first
    size_t lzma_payload;  // lzma: the payload's size decompressed
    bool core_offsets_decompressed;  // lzma: the core refused, its offsets count in the decompressed patch
};

// Applies patch[0..patch_len) to old[0..old_len) and appends NEW to new_.
// Returns 0, or the core's refusal with d filled (MPOTA_ERR_DELTA_*,
// MPOTA_ERR_EXPECT_LENGTH); an lzma payload that does not decode is
// MPOTA_ERR_DELTA_CORRUPT, and data after its end marker
// MPOTA_ERR_DELTA_TRAILING, both at that byte of the patch itself;
// MPOTA_ERR_INVALID_ARG (d: expected = the limit, actual = the length) when
// OLD or the patch is longer than MPOTA_DELTA_APPLY_MAX_LEN;
// MPOTA_ERR_NO_SPACE on no memory.
int mpota_delta_apply(const uint8_t *old, size_t old_len, const uint8_t *patch, size_t patch_len,
                      struct mpota_buf *new_, struct mpota_delta_applied *info,
                      struct mpota_diag *d);

#endif
