// ESP-IDF Secure Boot V2 signatures (docs/DESIGN.md §8): the 4 KiB signature
// sector espsecure sign_data --version 2 appends to an app image, read and
// checked block by block.
//
// Layout: the image, padded to a 4 KiB boundary (espsecure pads with 0xFF;
// the digest covers the padding), then the sector: up to 3 blocks of 1,216
// bytes back to back, the rest 0xFF. A block: magic 0xE7, version (2 RSA, 3
// ECDSA), for P-384 byte 2 = 1, the image digest (SHA-256; SHA-384 for
// P-384), the public key, the signature, then at 1,196 a CRC-32 (zlib's) of
// the bytes before it. Big numbers are stored little-endian.
#ifndef MPOTA_SIG_H
#define MPOTA_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpota/err.h"

#define MPOTA_SIG_SECTOR_SIZE 4096u
#define MPOTA_SIG_BLOCK_SIZE 1216u
#define MPOTA_SIG_BLOCKS_MAX 3u
#define MPOTA_SIG_KEY_DIGEST_LEN 32u  // SHA-256 of the key fields, as in eFuse
#define MPOTA_SIG_DIGEST_MAX 48u      // SHA-384

enum mpota_sig_scheme {
    MPOTA_SIG_RSA3072 = 1,     // RSA-PSS, SHA-256, MGF1-SHA-256, salt 32
    MPOTA_SIG_ECDSA_P256 = 2,  // ECDSA over SHA-256
    MPOTA_SIG_ECDSA_P384 = 3,  // ECDSA over SHA-384
    MPOTA_SIG_ECDSA_P192 = 4,  // ECDSA over SHA-256 (read, not verified)
};

// One block as read: a view into the caller's sector bytes.
struct mpota_sig_block {
    const uint8_t *raw;                       // its 1,216 bytes
    uint8_t scheme;                           // enum mpota_sig_scheme
    uint8_t digest_len;                       // of the image digest: 32 or 48
    uint8_t key_digest[MPOTA_SIG_KEY_DIGEST_LEN];  // espsecure digest_sbv2_public_key
};

// "RSA-3072", "ECDSA P-256", "ECDSA P-384", "ECDSA P-192"; "unknown" else.
const char *mpota_sig_scheme_name(uint8_t scheme);

// Where the signature sector of an image of image_len bytes starts (its end
// rounded up to 4 KiB; not the file's last 4 KiB, which may be padding).
static inline uint32_t mpota_sig_sector_offset(uint32_t image_len)
{
    return (image_len + MPOTA_SIG_SECTOR_SIZE - 1u) & ~(MPOTA_SIG_SECTOR_SIZE - 1u);
}

// Reads block i (0..2) of the sector at sector_off in the image (for the
// numbers in d). Returns 0 with *b filled; MPOTA_ERR_SIG_MISSING if the slot
// holds no block (no magic byte); MPOTA_ERR_SIG_CORRUPT if it has the magic
// but not the version, scheme or CRC of one (d: offset of the block,
// expected/actual CRC or version).
int mpota_sig_block_read(const uint8_t sector[MPOTA_SIG_SECTOR_SIZE], uint32_t sector_off,
                         unsigned i, struct mpota_sig_block *b, struct mpota_diag *d);

// Checks block b against the image's digest (digest_len bytes, SHA-256 or for
// P-384 SHA-384 of everything before the sector): the digest it carries, then
// its signature with the key it carries. 0 if both hold; MPOTA_ERR_SIG_DIGEST
// (the block signs other bytes); MPOTA_ERR_SIG_INVALID (the signature does not
// verify); MPOTA_ERR_SIG_SCHEME (this build cannot verify that scheme).
// block_off: where the block is in the image, for d.
int mpota_sig_block_verify(const struct mpota_sig_block *b, const uint8_t *digest,
                           size_t digest_len, uint32_t block_off, struct mpota_diag *d);

// The signature check proper, by the crypto backend (sig_verify_mbedtls.c):
// 0 when b's signature verifies over digest with b's key, MPOTA_ERR_SIG_INVALID
// when not, MPOTA_ERR_SIG_SCHEME when the backend lacks the scheme.
int mpota_sig_verify_backend(const struct mpota_sig_block *b, const uint8_t *digest);

#endif
