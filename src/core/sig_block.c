// Secure Boot V2 signature blocks (sig.h): what a block is, its key's digest,
// and the check of a block against an image. The signature arithmetic is the
// crypto backend's (sig_verify_mbedtls.c). Layout: docs/DESIGN.md §8.
#include <string.h>

#include "mpota/bytes.h"
#include "mpota/crc.h"
#include "mpota/hash.h"
#include "mpota/sig.h"

#define MAGIC MPOTA_SIG_BLOCK_MAGIC
#define VERSION_RSA 2u
#define VERSION_ECDSA 3u
#define CRC_LEN 1196u       // the CRC covers the bytes before it
#define DIGEST_AT 4u        // the image digest, every scheme
#define SHA384_FLAG_AT 2u   // ECDSA: 1 = the digest is SHA-384 (P-384)

// The key fields a block's key digest covers: espsecure's and ESP-IDF's
// digest of the public key (eFuse holds it).
struct key_span {
    uint16_t at, len;
};

static int corrupt(struct mpota_diag *d, uint32_t off, uint32_t expected, uint32_t actual)
{
    return mpota_diag_set(d, MPOTA_ERR_SIG_CORRUPT, off, expected, actual);
}

// Scheme, digest length and key span from the version, hash flag and curve.
static bool classify(const uint8_t *raw, struct mpota_sig_block *b, struct key_span *k)
{
    if (raw[1] == VERSION_RSA) {
        *b = (struct mpota_sig_block){.scheme = MPOTA_SIG_RSA3072, .digest_len = 32};
        *k = (struct key_span){36, 776};  // n, e, rinv, m'
        return true;
    }
    if (raw[1] != VERSION_ECDSA) {
        return false;
    }
    if (raw[SHA384_FLAG_AT] == 1) {
        *b = (struct mpota_sig_block){.scheme = MPOTA_SIG_ECDSA_P384, .digest_len = 48};
        *k = (struct key_span){52, 97};  // curve id, X, Y
        return raw[52] == 3;
    }
    *k = (struct key_span){36, 65};
    *b = (struct mpota_sig_block){.digest_len = 32};
    b->scheme = raw[36] == 2 ? MPOTA_SIG_ECDSA_P256 : raw[36] == 1 ? MPOTA_SIG_ECDSA_P192 : 0;
    return b->scheme != 0;
}

const char *mpota_sig_scheme_name(uint8_t scheme)
{
    static const char *const names[] = {"unknown", "RSA-3072", "ECDSA P-256", "ECDSA P-384",
                                        "ECDSA P-192"};
    return names[scheme < sizeof(names) / sizeof(names[0]) ? scheme : 0];
}

int mpota_sig_block_parse(const uint8_t raw[MPOTA_SIG_BLOCK_SIZE], uint32_t off,
                          struct mpota_sig_block *b, struct mpota_diag *d)
{
    if (!raw || !b) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
    }
    if (raw[0] != MAGIC) {
        return mpota_diag_set(d, MPOTA_ERR_SIG_MISSING, off, 0, 0);
    }
    uint32_t crc = mpota_crc32_le(0, raw, CRC_LEN);
    if (crc != mpota_le32(raw + CRC_LEN)) {
        return corrupt(d, off, crc, mpota_le32(raw + CRC_LEN));
    }
    struct key_span k;
    if (!classify(raw, b, &k)) {
        return corrupt(d, off, VERSION_RSA, raw[1]);
    }
    b->raw = raw;
    mpota_sha256_t h = {0};
    mpota_sha256_start(&h);
    mpota_sha256_update(&h, raw + k.at, k.len);
    mpota_sha256_finish(&h, b->key_digest);
    return MPOTA_OK;
}

int mpota_sig_block_read(const uint8_t sector[MPOTA_SIG_SECTOR_SIZE], uint32_t sector_off,
                         unsigned i, struct mpota_sig_block *b, struct mpota_diag *d)
{
    if (!sector || i >= MPOTA_SIG_BLOCKS_MAX) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
    }
    return mpota_sig_block_parse(sector + i * MPOTA_SIG_BLOCK_SIZE,
                                 sector_off + i * MPOTA_SIG_BLOCK_SIZE, b, d);
}

int mpota_sig_block_verify(const struct mpota_sig_block *b, const uint8_t *digest,
                           size_t digest_len, uint32_t block_off, struct mpota_diag *d)
{
    if (!b || !b->raw || !digest) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
    }
    if (digest_len != b->digest_len || memcmp(b->raw + DIGEST_AT, digest, digest_len) != 0) {
        return mpota_diag_set(d, MPOTA_ERR_SIG_DIGEST, block_off, 0, 0);
    }
    int rc = mpota_sig_verify_backend(b, digest);
    if (rc == MPOTA_ERR_SIG_SCHEME) {
        mpota_diag_set(d, rc, block_off, 0, b->scheme);
        mpota_diag_label(d, mpota_sig_scheme_name(b->scheme), MPOTA_DIAG_LABEL_MAX);
        return rc;
    }
    return rc ? mpota_diag_set(d, rc, block_off, 0, 0) : MPOTA_OK;
}
