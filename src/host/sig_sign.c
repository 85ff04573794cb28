// mpota_sig_sign (sig_sign.h): espsecure's signing (RSA-PSS SHA-256 salt
// 32; ECDSA over SHA-256, SHA-384 for P-384) on mbedTLS, with the sector
// placed where ESP-IDF looks for it. Every new block is read back and
// verified by the core before the image is handed out.
#include "sig_sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include <mbedtls/version.h>

#include "host_err.h"
#include "sig_report.h"
#include "sig_rng.h"

#if MBEDTLS_VERSION_MAJOR < 3
#define mbedtls_sha256 mbedtls_sha256_ret
#define mbedtls_sha512 mbedtls_sha512_ret
#endif
#ifndef MBEDTLS_PRIVATE  // 2.x: struct members are public
#define MBEDTLS_PRIVATE(member) member
#endif

#define DIGEST_AT 4u
#define RSA_LEN 384u
#define RSA_SIG_AT 812u
#define P256_SIG_AT 101u  // after the curve id and X||Y
#define P384_SIG_AT 149u

// The image digests a sector's blocks sign: everything before the sector.
struct image_digests {
    uint8_t sha256[32], sha384[64];  // mbedTLS declares 64 for SHA-384 too
};

static void reverse(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] = src[n - 1 - i];
    }
}

static int crypto_failed(struct mpota_diag *d, int rc, const char *what)
{
    mpota_diag_set(d, MPOTA_ERR_SIG_CRYPTO, 0, 0, (uint32_t)-rc);
    mpota_diag_label(d, what, MPOTA_DIAG_LABEL_MAX);
    return MPOTA_ERR_SIG_CRYPTO;
}

// RSA-PSS, SHA-256, MGF1-SHA-256, salt 32; stored byte-reversed.
static int sign_rsa(const struct mpota_sig_key *k, const uint8_t *digest,
                    struct mpota_sig_rng *rng, uint8_t *sig_le)
{
    mbedtls_rsa_context *rsa = mbedtls_pk_rsa(k->pk);
    uint8_t sig[RSA_LEN];
#if MBEDTLS_VERSION_MAJOR >= 3
    int rc = mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
#else
    mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
    int rc = 0;
#endif
    rc = rc ? rc
            : mbedtls_rsa_rsassa_pss_sign_ext(rsa, mpota_sig_rng_random, rng, MBEDTLS_MD_SHA256,
                                              32, digest, 32, sig);
    if (!rc) {
        reverse(sig_le, sig, RSA_LEN);
    }
    return rc;
}

// ECDSA with a random k; r then s, n bytes each, little-endian.
static int sign_ecdsa(const struct mpota_sig_key *k, const uint8_t *digest, size_t n,
                      struct mpota_sig_rng *rng, uint8_t *rs_le)
{
    mbedtls_ecp_keypair *kp = mbedtls_pk_ec(k->pk);
    mbedtls_mpi r, s;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    int rc = mbedtls_ecdsa_sign(&kp->MBEDTLS_PRIVATE(grp), &r, &s, &kp->MBEDTLS_PRIVATE(d),
                                digest, n, mpota_sig_rng_random, rng);
    rc = rc ? rc : mbedtls_mpi_write_binary_le(&r, rs_le, n);
    rc = rc ? rc : mbedtls_mpi_write_binary_le(&s, rs_le + n, n);
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    return rc;
}

// One block for key k at block_off in the output: key fields, digest,
// signature, CRC; then the core reads and verifies it.
static int make_block(const struct mpota_sig_key *k, const struct image_digests *dg,
                      struct mpota_sig_rng *rng, uint8_t *sector, unsigned slot,
                      uint32_t sector_off, struct mpota_diag *d)
{
    uint8_t *block = sector + slot * MPOTA_SIG_BLOCK_SIZE;
    bool p384 = k->scheme == MPOTA_SIG_ECDSA_P384;
    const uint8_t *digest = p384 ? dg->sha384 : dg->sha256;
    size_t digest_len = p384 ? 48 : 32;
    memset(block, 0, MPOTA_SIG_BLOCK_SIZE);
    int rc = mpota_sig_key_fill(k, block);
    if (rc) {
        return crypto_failed(d, rc, "export the key");
    }
    memcpy(block + DIGEST_AT, digest, digest_len);
    if (k->scheme == MPOTA_SIG_RSA3072) {
        rc = sign_rsa(k, digest, rng, block + RSA_SIG_AT);
    } else {
        rc = sign_ecdsa(k, digest, digest_len, rng, block + (p384 ? P384_SIG_AT : P256_SIG_AT));
    }
    if (rc) {
        return crypto_failed(d, rc, mpota_sig_scheme_name(k->scheme));
    }
    mpota_sig_block_seal(block);
    struct mpota_sig_block b;
    rc = mpota_sig_block_read(sector, sector_off, slot, &b, d);
    return rc ? rc
              : mpota_sig_block_verify(&b, digest, digest_len,
                                       sector_off + slot * MPOTA_SIG_BLOCK_SIZE, d);
}

// The image's own sector: refused (signed, no append; cut short), or the
// blocks to keep counted.
static int check_sector(const uint8_t *file, size_t len, const struct mpota_sig_report *rep,
                        bool append, struct mpota_sig_signed *r, struct mpota_diag *d)
{
    uint32_t at = rep->sector_offset;
    if (!rep->sector_present && len > at && file[at] == 0xE7u) {
        return mpota_diag_set(d, MPOTA_ERR_SIG_CUT, at, MPOTA_SIG_SECTOR_SIZE,
                              (uint32_t)(len - at));
    }
    if (rep->count && !append) {
        return mpota_diag_set(d, MPOTA_ERR_SIG_SIGNED, at, 0, rep->count);
    }
    for (unsigned i = 0; i < rep->count; i++) {
        rep->blocks[i].err ? r->dropped++ : r->kept++;
    }
    return MPOTA_OK;
}

static int mixed(uint8_t a, uint8_t b, struct mpota_diag *d)
{
    char both[MPOTA_DIAG_LABEL_MAX + 1];
    snprintf(both, sizeof(both), "%s and %s", mpota_sig_scheme_name(a), mpota_sig_scheme_name(b));
    mpota_diag_set(d, MPOTA_ERR_SIG_MIXED, 0, 0, 0);
    mpota_diag_label(d, both, sizeof(both));
    return MPOTA_ERR_SIG_MIXED;
}

// Private keys, at most 3 blocks in all, one scheme (and curve) among the
// kept blocks and the keys, as one ESP-IDF build accepts.
static int check_keys(const struct mpota_sig_key *keys, unsigned nkeys,
                      const struct mpota_sig_report *rep, const struct mpota_sig_signed *r,
                      struct mpota_diag *d)
{
    if (nkeys == 0) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
    }
    for (unsigned i = 0; i < nkeys; i++) {
        if (!keys[i].is_private) {
            return mpota_diag_set(d, MPOTA_ERR_SIG_KEY_PUBLIC, 0, 0, i);
        }
    }
    if (r->kept + nkeys > MPOTA_SIG_BLOCKS_MAX) {
        return mpota_diag_set(d, MPOTA_ERR_SIG_TOO_MANY, 0, MPOTA_SIG_BLOCKS_MAX,
                              r->kept + nkeys);
    }
    uint8_t first = 0;  // the first kept block's scheme, else the first key's
    for (unsigned i = 0; i < rep->count; i++) {
        uint8_t s = rep->blocks[i].block.scheme;
        if (!rep->blocks[i].err && first && s != first) {
            return mixed(first, s, d);
        }
        first = !rep->blocks[i].err && !first ? s : first;
    }
    first = first ? first : keys[0].scheme;
    for (unsigned i = 0; i < nkeys; i++) {
        if (keys[i].scheme != first) {
            return mixed(first, keys[i].scheme, d);
        }
    }
    return MPOTA_OK;
}

// The output: the file's bytes before the sector (0xFF where it has none),
// the kept blocks, the rest of the sector 0xFF.
static uint8_t *lay_out(const uint8_t *file, size_t len, const struct mpota_sig_report *rep,
                        const struct mpota_sig_signed *r)
{
    size_t at = r->sector_offset, total = at + MPOTA_SIG_SECTOR_SIZE;
    uint8_t *buf = malloc(total);
    if (!buf) {
        return NULL;
    }
    size_t have = len < at ? len : at;
    memcpy(buf, file, have);
    memset(buf + have, 0xFF, total - have);
    unsigned kept = 0;
    for (unsigned i = 0; i < rep->count; i++) {
        if (!rep->blocks[i].err) {
            memcpy(buf + at + kept++ * MPOTA_SIG_BLOCK_SIZE, rep->blocks[i].block.raw,
                   MPOTA_SIG_BLOCK_SIZE);
        }
    }
    return buf;
}

// A block per key after the kept ones.
static int add_blocks(uint8_t *buf, const struct mpota_sig_key *keys, unsigned nkeys,
                      struct mpota_sig_signed *r, struct mpota_diag *d)
{
    static struct image_digests dg;
    mbedtls_sha256(buf, r->sector_offset, dg.sha256, 0);
    mbedtls_sha512(buf, r->sector_offset, dg.sha384, 1);
    struct mpota_sig_rng rng;
    int rc = mpota_sig_rng_init(&rng);
    if (rc) {
        rc = crypto_failed(d, rc, "seed its random generator");
    }
    for (unsigned i = 0; !rc && i < nkeys; i++) {
        rc = make_block(&keys[i], &dg, &rng, buf + r->sector_offset, r->kept + i,
                        r->sector_offset, d);
        r->added += rc ? 0 : 1;
    }
    mpota_sig_rng_free(&rng);
    return rc;
}

int mpota_sig_sign(const uint8_t *file, size_t len, uint32_t image_len,
                   const struct mpota_sig_key *keys, unsigned nkeys, bool append,
                   uint8_t **out, size_t *out_len, struct mpota_sig_signed *r,
                   struct mpota_diag *d)
{
    memset(r, 0, sizeof(*r));
    *out = NULL;
    *out_len = 0;
    static struct mpota_sig_report rep;
    mpota_sig_report(file, len, image_len, &rep);
    r->sector_offset = rep.sector_offset;
    int rc = check_sector(file, len, &rep, append, r, d);
    rc = rc ? rc : check_keys(keys, nkeys, &rep, r, d);
    if (rc) {
        return rc;
    }
    size_t total = (size_t)r->sector_offset + MPOTA_SIG_SECTOR_SIZE;
    uint8_t *buf = lay_out(file, len, &rep, r);
    if (!buf) {
        return mpota_diag_set(d, MPOTA_ERR_NO_SPACE, 0, 0, 0);
    }
    r->left_out = len > total ? len - total : 0;
    rc = add_blocks(buf, keys, nkeys, r, d);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = total;
    return MPOTA_OK;
}
