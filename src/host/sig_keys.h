// Secure Boot V2 keys on the host (docs/DESIGN.md §8): a PEM private or
// public key read with mbedTLS, the block fields it fills as espsecure lays
// them out, and its key digest (espsecure digest_sbv2_public_key, the eFuse
// value). RSA-3072, ECDSA P-256 and P-384.
#ifndef MPOTA_SIG_KEYS_H
#define MPOTA_SIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>

#include "mpota/sig.h"

struct mpota_sig_key {
    mbedtls_pk_context pk;
    uint8_t scheme;   // enum mpota_sig_scheme
    bool is_private;  // can sign
    uint8_t digest[MPOTA_SIG_KEY_DIGEST_LEN];
};

// Reads a PEM key (len bytes, NUL-terminated or not): a private key, else a
// public one. 0, or MPOTA_ERR_SIG_KEY_FORMAT (no key, or encrypted),
// MPOTA_ERR_SIG_KEY_SIZE (RSA not 3072 bits), MPOTA_ERR_SIG_KEY_TYPE (a curve
// or key type without a Secure Boot V2 scheme), with d filled. Free *k with
// mpota_sig_key_free() in every case.
int mpota_sig_key_parse(struct mpota_sig_key *k, const uint8_t *pem, size_t len,
                        struct mpota_diag *d);
void mpota_sig_key_free(struct mpota_sig_key *k);

// Writes what a block of k's scheme holds before its image digest (magic,
// version, the P-384 hash flag) and k's public key fields (RSA: n, e, rinv,
// m'; ECDSA: curve id, X, Y), little-endian as espsecure writes them. The
// other bytes are left. The one writer of key fields, for signing and for
// the key digest alike. 0, or mbedTLS's error.
int mpota_sig_key_fill(const struct mpota_sig_key *k, uint8_t block[MPOTA_SIG_BLOCK_SIZE]);

// Writes the CRC-32 of bytes 0..1195 at 1196, as ESP-IDF checks it.
void mpota_sig_block_seal(uint8_t block[MPOTA_SIG_BLOCK_SIZE]);

#endif
