// mpota_sig_verify_backend (sig.h) on mbedTLS: the host's libmbedcrypto (2.28),
// the twin's (MicroPython's lib/mbedtls, 3.x) or ESP-IDF's (3.x, RSA and ECC
// on the chip's engines where it has them). mbedTLS allocates its big numbers
// on the heap, as ESP-IDF's own signature check does; the core does not.
// A scheme the build's mbedTLS configuration leaves out is
// MPOTA_ERR_SIG_SCHEME, not a pass. (ESP-IDF has RSA-PSS, MBEDTLS_PKCS1_V21,
// by default; MicroPython's unix configuration lacks it, so the twin's build
// adds it.)
// Facts (byte order, PSS parameters): docs/DESIGN.md §8.
#include <string.h>

#include <mbedtls/version.h>

#if MBEDTLS_VERSION_MAJOR >= 3
#include <mbedtls/build_info.h>
#else
#include <mbedtls/config.h>
#endif

#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha512.h>

#include "mpota/sig.h"

// Little-endian on flash, big-endian for mbedTLS's point and PSS input.
static void reverse(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] = src[n - 1 - i];
    }
}

#if defined(MBEDTLS_RSA_C) && defined(MBEDTLS_PKCS1_V21)
#define RSA_LEN 384u
#define RSA_N_AT 36u
#define RSA_E_AT 420u
#define RSA_SIG_AT 812u

static int rsa_pss(mbedtls_rsa_context *rsa, const uint8_t *digest, const uint8_t *sig)
{
#if MBEDTLS_VERSION_MAJOR >= 3
    return mbedtls_rsa_rsassa_pss_verify_ext(rsa, MBEDTLS_MD_SHA256, 32, digest, MBEDTLS_MD_SHA256,
                                             32, sig);
#else
    return mbedtls_rsa_rsassa_pss_verify_ext(rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC, MBEDTLS_MD_SHA256,
                                             32, digest, MBEDTLS_MD_SHA256, 32, sig);
#endif
}

// RSA-PSS: SHA-256, MGF1 with SHA-256, salt 32 (espsecure's parameters).
static int verify_rsa(const uint8_t *raw, const uint8_t *digest)
{
    uint8_t sig[RSA_LEN];
    reverse(sig, raw + RSA_SIG_AT, RSA_LEN);
    mbedtls_rsa_context rsa;
    mbedtls_mpi n, e;
    mbedtls_mpi_init(&n);
    mbedtls_mpi_init(&e);
#if MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_rsa_init(&rsa);
    int rc = mbedtls_rsa_set_padding(&rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
#else
    mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
    int rc = 0;
#endif
    rc = rc ? rc : mbedtls_mpi_read_binary_le(&n, raw + RSA_N_AT, RSA_LEN);
    rc = rc ? rc : mbedtls_mpi_read_binary_le(&e, raw + RSA_E_AT, 4);
    rc = rc ? rc : mbedtls_rsa_import(&rsa, &n, NULL, NULL, NULL, &e);
    rc = rc ? rc : mbedtls_rsa_complete(&rsa);
    if (!rc && mbedtls_rsa_get_len(&rsa) != RSA_LEN) {
        rc = -1;  // not RSA-3072
    }
    rc = rc ? rc : rsa_pss(&rsa, digest, sig);
    mbedtls_rsa_free(&rsa);
    mbedtls_mpi_free(&n);
    mbedtls_mpi_free(&e);
    return rc ? MPOTA_ERR_SIG_INVALID : MPOTA_OK;
}
#endif

#if defined(MBEDTLS_ECDSA_C)
// ECDSA: the point X||Y and the signature r||s, each number little-endian.
static int verify_ecdsa(mbedtls_ecp_group_id id, size_t n, const uint8_t *point,
                        const uint8_t *rs, const uint8_t *digest, size_t digest_len)
{
    uint8_t q_raw[1 + 2 * 48];
    q_raw[0] = 0x04;  // uncompressed
    reverse(q_raw + 1, point, n);
    reverse(q_raw + 1 + n, point + n, n);
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
    mbedtls_mpi r, s;
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    int rc = mbedtls_ecp_group_load(&grp, id);
    rc = rc ? rc : mbedtls_ecp_point_read_binary(&grp, &q, q_raw, 1 + 2 * n);
    rc = rc ? rc : mbedtls_ecp_check_pubkey(&grp, &q);
    rc = rc ? rc : mbedtls_mpi_read_binary_le(&r, rs, n);
    rc = rc ? rc : mbedtls_mpi_read_binary_le(&s, rs + n, n);
    rc = rc ? rc : mbedtls_ecdsa_verify(&grp, digest, digest_len, &q, &r, &s);
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    return rc ? MPOTA_ERR_SIG_INVALID : MPOTA_OK;
}
#endif

int mpota_sig_verify_backend(const struct mpota_sig_block *b, const uint8_t *digest)
{
    switch (b->scheme) {
#if defined(MBEDTLS_RSA_C) && defined(MBEDTLS_PKCS1_V21)
    case MPOTA_SIG_RSA3072:
        return verify_rsa(b->raw, digest);
#endif
#if defined(MBEDTLS_ECDSA_C) && defined(MBEDTLS_ECP_DP_SECP256R1_ENABLED)
    case MPOTA_SIG_ECDSA_P256:
        return verify_ecdsa(MBEDTLS_ECP_DP_SECP256R1, 32, b->raw + 37, b->raw + 101, digest, 32);
#endif
#if defined(MBEDTLS_ECDSA_C) && defined(MBEDTLS_ECP_DP_SECP384R1_ENABLED)
    case MPOTA_SIG_ECDSA_P384:
        return verify_ecdsa(MBEDTLS_ECP_DP_SECP384R1, 48, b->raw + 53, b->raw + 149, digest, 48);
#endif
    default:
        return MPOTA_ERR_SIG_SCHEME;
    }
}

#if MBEDTLS_VERSION_MAJOR >= 3
#define SHA512_START mbedtls_sha512_starts
#define SHA512_UPDATE mbedtls_sha512_update
#define SHA512_FINISH mbedtls_sha512_finish
#else
#define SHA512_START mbedtls_sha512_starts_ret
#define SHA512_UPDATE mbedtls_sha512_update_ret
#define SHA512_FINISH mbedtls_sha512_finish_ret
#endif

int mpota_sig_sha384_area(const struct mpota_area *a, uint32_t len, uint8_t out[48])
{
#if defined(MBEDTLS_SHA512_C)
    // Only P-384 blocks need it (ESP32-C5, P4), once, after the image is on
    // flash: a pass over the slot instead of a second running hash per update.
    uint8_t buf[256], full[64];
    mbedtls_sha512_context c;
    mbedtls_sha512_init(&c);
    int rc = SHA512_START(&c, 1) ? MPOTA_ERR_SIG_SCHEME : MPOTA_OK;
    for (uint32_t at = 0; !rc && at < len;) {
        uint32_t n = len - at < sizeof(buf) ? len - at : (uint32_t)sizeof(buf);
        rc = mpota_area_read(a, at, buf, n);
        if (!rc) {
            (void)SHA512_UPDATE(&c, buf, n);
        }
        at += n;
    }
    if (!rc) {
        (void)SHA512_FINISH(&c, full);
        memcpy(out, full, 48);
    }
    mbedtls_sha512_free(&c);
    return rc;
#else
    (void)a;
    (void)len;
    (void)out;
    return MPOTA_ERR_SIG_SCHEME;
#endif
}
