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
#include "mpota/flash.h"

#define MPOTA_SIG_SECTOR_SIZE 4096u
#define MPOTA_SIG_BLOCK_SIZE 1216u
#define MPOTA_SIG_BLOCK_MAGIC 0xE7u  // byte 0 of every block
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

// Reads the block raw (1,216 bytes, at image offset off, for the numbers in
// d), as mpota_sig_block_read() does for a slot of a whole sector.
int mpota_sig_block_parse(const uint8_t raw[MPOTA_SIG_BLOCK_SIZE], uint32_t off,
                          struct mpota_sig_block *b, struct mpota_diag *d);

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

// Which keys an update must be signed by. A zeroed struct asks for nothing:
// signatures are not checked (ESP-IDF without signed apps).
#define MPOTA_SIG_TRUST_MAX 8u
struct mpota_sig_trust {
    // Trusted key digests, in order: eFuse's slots, a signed running app's
    // keys (mpota_sig_trust_add_running), the caller's.
    uint8_t keys[MPOTA_SIG_TRUST_MAX][MPOTA_SIG_KEY_DIGEST_LEN];
    uint8_t count;
    uint8_t revoked;        // bit i: keys[i] no longer counts (eFuse KEY_REVOKE)
    bool required;          // refuse an image without a block that verifies, even by an
                            // untrusted key when no key is trusted
    bool first_block_only;  // ESP32 (rev >= 3) and ESP32-C2 read block 0 only
};

// Adds a trusted key digest (a second copy of one is ignored). 0, or
// MPOTA_ERR_SIG_TRUST_FULL (d: expected = the limit).
int mpota_sig_trust_add(struct mpota_sig_trust *t, const uint8_t digest[MPOTA_SIG_KEY_DIGEST_LEN],
                        struct mpota_diag *d);

// True if digest is one of t's keys and its slot is not revoked; *slot (may
// be NULL) gets its index either way (MPOTA_SIG_TRUST_MAX if absent).
bool mpota_sig_trust_has(const struct mpota_sig_trust *t,
                         const uint8_t digest[MPOTA_SIG_KEY_DIGEST_LEN], unsigned *slot);

// ESP-IDF's signed-on-update rule: a running app that is signed trusts the
// keys of its own blocks (each block that reads: magic, CRC, scheme; its
// signature is not checked, as ESP-IDF does not), in order, only the first
// with first_block_only. Adds them to t and makes a signature required.
// `running`: the running app's slot. Returns the number of keys added (0: the
// running app is not signed, or its image cannot be walked), or a negative
// flash or MPOTA_ERR_SIG_TRUST_FULL error.
int mpota_sig_trust_add_running(struct mpota_sig_trust *t, const struct mpota_area *running,
                                struct mpota_diag *d);

// Whether the image in `slot` (image_len bytes as its headers say, and
// `stored` bytes written there in all) carries a block that t accepts: a
// trusted, unrevoked key (any key when t has none), its digest of the image
// padded to 4 KiB (padded_sha256: SHA-256 of those bytes, or NULL if the data
// ended before the boundary; P-384 blocks re-read the slot for SHA-384), and
// a signature that verifies. The blocks the data reached are read back from
// flash one at a time (a block cut short reads erased bytes and fails its
// CRC).
// 0 if so, or why not, the most telling reason first: a trusted block that
// fails (SIG_DIGEST, SIG_INVALID, SIG_SCHEME), SIG_REVOKED, SIG_UNTRUSTED
// (label: the first 16 hex digits of its key digest), SIG_CORRUPT,
// SIG_MISSING (unsigned). Nothing is checked when t asks for nothing.
int mpota_sig_check_area(const struct mpota_area *slot, uint32_t image_len, uint32_t stored,
                         const uint8_t *padded_sha256, const struct mpota_sig_trust *t,
                         struct mpota_diag *d);

// Secure boot's check of the app in `slot` (the bootloader's, and set_boot's
// on its behalf): the image length from its headers, the SHA-256 of the image
// padded to 4 KiB read from the slot, then mpota_sig_check_area over the
// whole slot. 0, MPOTA_ERR_SIG_MISSING for no image, or a refusal.
int mpota_sig_check_slot(const struct mpota_area *slot, const struct mpota_sig_trust *t,
                         struct mpota_diag *d);

// SHA-384 of the first len bytes of a (the P-384 image digest), by the
// crypto backend. 0 or a flash error.
int mpota_sig_sha384_area(const struct mpota_area *a, uint32_t len, uint8_t out[48]);

#endif
