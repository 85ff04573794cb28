// The signature blocks of an app image file, each read and checked against
// the image (sig.h), for `mpota image info` and `image verify`: the host
// computes the image digest (SHA-256 or SHA-384) over the file's bytes.
#ifndef MPOTA_SIG_REPORT_H
#define MPOTA_SIG_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpota/sig.h"

struct mpota_sig_report {
    bool sector_present;  // the file holds the 4 KiB after the image's end, rounded up
    uint32_t sector_offset;
    unsigned count;       // blocks found (magic byte present), slots 0.. in order
    struct {
        unsigned slot;
        int err;              // 0: a block by its key over this image; else why not
        struct mpota_diag diag;
        struct mpota_sig_block block;  // scheme and key digest, when it read
    } blocks[MPOTA_SIG_BLOCKS_MAX];
};

// Fills *r for the app image at buf (len bytes of file, image_len of them the
// image as its headers say).
void mpota_sig_report(const uint8_t *buf, size_t len, uint32_t image_len,
                      struct mpota_sig_report *r);

#endif
