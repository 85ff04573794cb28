// Signing an app image as `espsecure sign_data --version 2` does (docs/
// DESIGN.md §8): the image padded with 0xFF to 4 KiB, then a sector of up to
// 3 blocks, one per key, the rest 0xFF. Unlike espsecure, the sector is found
// from the image (its end rounded up to 4 KiB), not from the file's length.
#ifndef MPOTA_SIG_SIGN_H
#define MPOTA_SIG_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpota/sig.h"
#include "sig_keys.h"

struct mpota_sig_signed {
    uint32_t sector_offset;
    unsigned kept;     // blocks of the image's own sector kept (append), first
    unsigned dropped;  // blocks there that do not verify, left out
    unsigned added;    // one per key, after the kept ones
    size_t left_out;   // bytes of the file after the sector, not in the output
};

// Signs the app image in file (len bytes; image_len of them the image as
// its headers say) with keys[0..nkeys) (private keys, 1..3). append: keep
// the blocks of the image's sector that verify, as espsecure
// --append_signatures; without it a signed image is refused. On success
// *out (malloc'd, caller frees) holds *out_len bytes: the bytes before the
// sector, 0xFF where the file had none, then the sector. Errors, with d
// filled: MPOTA_ERR_SIG_KEY_PUBLIC, MPOTA_ERR_SIG_SIGNED, MPOTA_ERR_SIG_CUT
// (the file ends inside a sector with a block), MPOTA_ERR_SIG_TOO_MANY,
// MPOTA_ERR_SIG_MIXED (two schemes or curves in one sector),
// MPOTA_ERR_SIG_CRYPTO, MPOTA_ERR_NO_SPACE.
int mpota_sig_sign(const uint8_t *file, size_t len, uint32_t image_len,
                   const struct mpota_sig_key *keys, unsigned nkeys, bool append,
                   uint8_t **out, size_t *out_len, struct mpota_sig_signed *r,
                   struct mpota_diag *d);

#endif
