// Secure Boot V2 keys (sig_keys.h): read with mbedTLS's pk parser (2.28 on
// the host, 3.x elsewhere), written into a block as espsecure does. Layout
// and byte order: docs/DESIGN.md §8.
#include "sig_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/rsa.h>
#include <mbedtls/version.h>

#include "host_err.h"
#include "mpota/bytes.h"
#include "mpota/crc.h"
#include "sig_rng.h"

#ifndef MBEDTLS_PRIVATE  // 2.x: struct members are public
#define MBEDTLS_PRIVATE(member) member
#endif

#define MAGIC 0xE7u
#define VERSION_RSA 2u
#define VERSION_ECDSA 3u
#define CRC_AT 1196u
#define RSA_LEN 384u
#define RSA_N_AT 36u
#define RSA_E_AT 420u
#define RSA_RINV_AT 424u
#define RSA_MDASH_AT 808u
#define EC_CURVE_AT 36u    // P-256; the point follows the curve id
#define EC384_CURVE_AT 52u // after the 48-byte SHA-384 digest
#define CURVE_P256 2u
#define CURVE_P384 3u

void mpota_sig_block_seal(uint8_t block[MPOTA_SIG_BLOCK_SIZE])
{
    mpota_put_le32(block + CRC_AT, mpota_crc32_le(0, block, CRC_AT));
}

// -n^-1 mod 2^32 from n's low word (odd): Newton's iteration doubles the
// correct low bits each step, from 3 (n*n = 1 mod 8 for odd n) to 48.
static uint32_t montgomery_mdash(uint32_t n0)
{
    uint32_t inv = n0;
    for (int i = 0; i < 4; i++) {
        inv *= 2u - n0 * inv;
    }
    return 0u - inv;
}

// n, e, rinv = R^2 mod n with R = 2^3072, m' (the ROM's Montgomery
// constants; they are part of the key digest).
static int fill_rsa(mbedtls_rsa_context *rsa, uint8_t *block)
{
    mbedtls_mpi n, e, rinv;
    mbedtls_mpi_init(&n);
    mbedtls_mpi_init(&e);
    mbedtls_mpi_init(&rinv);
    int rc = mbedtls_rsa_export(rsa, &n, NULL, NULL, NULL, &e);
    rc = rc ? rc : mbedtls_mpi_write_binary_le(&n, block + RSA_N_AT, RSA_LEN);
    rc = rc ? rc : mbedtls_mpi_write_binary_le(&e, block + RSA_E_AT, 4);
    rc = rc ? rc : mbedtls_mpi_lset(&rinv, 1);
    rc = rc ? rc : mbedtls_mpi_shift_l(&rinv, 2 * 8 * RSA_LEN);
    rc = rc ? rc : mbedtls_mpi_mod_mpi(&rinv, &rinv, &n);
    rc = rc ? rc : mbedtls_mpi_write_binary_le(&rinv, block + RSA_RINV_AT, RSA_LEN);
    if (!rc) {
        mpota_put_le32(block + RSA_MDASH_AT, montgomery_mdash(mpota_le32(block + RSA_N_AT)));
    }
    mbedtls_mpi_free(&rinv);
    mbedtls_mpi_free(&e);
    mbedtls_mpi_free(&n);
    return rc;
}

// The curve id, then X and Y, each little-endian.
static int fill_ecdsa(const mbedtls_ecp_keypair *kp, uint8_t *block, bool p384)
{
    size_t n = p384 ? 48 : 32;
    uint8_t *at = block + (p384 ? EC384_CURVE_AT : EC_CURVE_AT);
    const mbedtls_ecp_point *q = &kp->MBEDTLS_PRIVATE(Q);
    at[0] = p384 ? CURVE_P384 : CURVE_P256;
    int rc = mbedtls_mpi_write_binary_le(&q->MBEDTLS_PRIVATE(X), at + 1, n);
    return rc ? rc : mbedtls_mpi_write_binary_le(&q->MBEDTLS_PRIVATE(Y), at + 1 + n, n);
}

int mpota_sig_key_fill(const struct mpota_sig_key *k, uint8_t block[MPOTA_SIG_BLOCK_SIZE])
{
    block[0] = MAGIC;
    block[3] = 0;
    if (k->scheme == MPOTA_SIG_RSA3072) {
        block[1] = VERSION_RSA;
        block[2] = 0;
        return fill_rsa(mbedtls_pk_rsa(k->pk), block);
    }
    bool p384 = k->scheme == MPOTA_SIG_ECDSA_P384;
    block[1] = VERSION_ECDSA;
    block[2] = p384;  // the digest is SHA-384
    return fill_ecdsa(mbedtls_pk_ec(k->pk), block, p384);
}

// The scheme of a parsed key, or why it has none.
static int classify(struct mpota_sig_key *k, struct mpota_diag *d)
{
    mbedtls_pk_type_t type = mbedtls_pk_get_type(&k->pk);
    if (type == MBEDTLS_PK_RSA) {
        size_t bits = mbedtls_pk_get_bitlen(&k->pk);
        k->scheme = MPOTA_SIG_RSA3072;
        return bits == 8 * RSA_LEN ? MPOTA_OK
                                   : mpota_diag_set(d, MPOTA_ERR_SIG_KEY_SIZE, 0, 8 * RSA_LEN,
                                                    (uint32_t)bits);
    }
    if (type == MBEDTLS_PK_ECKEY || type == MBEDTLS_PK_ECDSA) {
        mbedtls_ecp_group_id id = mbedtls_pk_ec(k->pk)->MBEDTLS_PRIVATE(grp).id;
        k->scheme = id == MBEDTLS_ECP_DP_SECP256R1   ? MPOTA_SIG_ECDSA_P256
                    : id == MBEDTLS_ECP_DP_SECP384R1 ? MPOTA_SIG_ECDSA_P384
                                                     : 0;
        if (k->scheme) {
            return MPOTA_OK;
        }
        const mbedtls_ecp_curve_info *curve = mbedtls_ecp_curve_info_from_grp_id(id);
        char what[MPOTA_DIAG_LABEL_MAX + 1];
        snprintf(what, sizeof(what), "ECDSA %s", curve ? curve->name : "(unknown curve)");
        mpota_diag_set(d, MPOTA_ERR_SIG_KEY_TYPE, 0, 0, 0);
        mpota_diag_label(d, what, sizeof(what));
        return MPOTA_ERR_SIG_KEY_TYPE;
    }
    mpota_diag_set(d, MPOTA_ERR_SIG_KEY_TYPE, 0, 0, 0);
    mpota_diag_label(d, mbedtls_pk_get_name(&k->pk), MPOTA_DIAG_LABEL_MAX);
    return MPOTA_ERR_SIG_KEY_TYPE;
}

// mbedTLS's pk parser as a private key; 3.x wants a generator for blinding.
static int parse_private(mbedtls_pk_context *pk, const uint8_t *pem, size_t len)
{
#if MBEDTLS_VERSION_MAJOR >= 3
    struct mpota_sig_rng rng;
    int rc = mpota_sig_rng_init(&rng);
    rc = rc ? rc : mbedtls_pk_parse_key(pk, pem, len, NULL, 0, mpota_sig_rng_random, &rng);
    mpota_sig_rng_free(&rng);
    return rc;
#else
    return mbedtls_pk_parse_key(pk, pem, len, NULL, 0);
#endif
}

// Why neither parse took the text, in a few words for the diag's label.
static int not_a_key(int rc_private, int rc_public, const char *text, struct mpota_diag *d)
{
    const char *why = "no PEM key in it";
    if (rc_private == MBEDTLS_ERR_PK_PASSWORD_REQUIRED ||
        rc_private == MBEDTLS_ERR_PK_PASSWORD_MISMATCH) {
        why = "encrypted: decrypt it first";
    } else if (rc_private == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG ||
               rc_public == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG) {
        mpota_diag_set(d, MPOTA_ERR_SIG_KEY_TYPE, 0, 0, 0);
        mpota_diag_label(d, "non-RSA, non-EC", MPOTA_DIAG_LABEL_MAX);
        return MPOTA_ERR_SIG_KEY_TYPE;
    } else if (strstr(text, "-----BEGIN")) {
        why = "a damaged or unknown PEM key";
    }
    mpota_diag_set(d, MPOTA_ERR_SIG_KEY_FORMAT, 0, 0, 0);
    mpota_diag_label(d, why, MPOTA_DIAG_LABEL_MAX);
    return MPOTA_ERR_SIG_KEY_FORMAT;
}

// The key digest: a block of k's scheme with k's fields, read back by the
// core, which knows which bytes the digest covers.
static int digest_key(struct mpota_sig_key *k, struct mpota_diag *d)
{
    static uint8_t sector[MPOTA_SIG_SECTOR_SIZE];
    memset(sector, 0, sizeof(sector));
    int rc = mpota_sig_key_fill(k, sector);
    if (rc) {
        mpota_diag_set(d, MPOTA_ERR_SIG_CRYPTO, 0, 0, (uint32_t)-rc);
        mpota_diag_label(d, "export the key", MPOTA_DIAG_LABEL_MAX);
        return MPOTA_ERR_SIG_CRYPTO;
    }
    mpota_sig_block_seal(sector);
    struct mpota_sig_block b;
    rc = mpota_sig_block_read(sector, 0, 0, &b, d);
    if (!rc) {
        memcpy(k->digest, b.key_digest, sizeof(k->digest));
    }
    return rc;
}

int mpota_sig_key_parse(struct mpota_sig_key *k, const uint8_t *pem, size_t len,
                        struct mpota_diag *d)
{
    memset(k, 0, sizeof(*k));
    mbedtls_pk_init(&k->pk);
    char *text = malloc(len + 1);  // PEM input to mbedTLS ends with a NUL it counts
    if (!text) {
        return mpota_diag_set(d, MPOTA_ERR_NO_SPACE, 0, 0, 0);
    }
    memcpy(text, pem, len);
    text[len] = '\0';
    int rc_private = parse_private(&k->pk, (const uint8_t *)text, len + 1);
    int rc_public = 0;
    k->is_private = rc_private == 0;
    if (rc_private) {
        mbedtls_pk_free(&k->pk);
        mbedtls_pk_init(&k->pk);
        rc_public = mbedtls_pk_parse_public_key(&k->pk, (const uint8_t *)text, len + 1);
    }
    int rc = rc_public ? not_a_key(rc_private, rc_public, text, d) : classify(k, d);
    free(text);
    return rc ? rc : digest_key(k, d);
}

void mpota_sig_key_free(struct mpota_sig_key *k)
{
    mbedtls_pk_free(&k->pk);
}
