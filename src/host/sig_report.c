// mpota_sig_report (sig_report.h): every block of an image file's signature
// sector, read and checked with the digest of the bytes before the sector.
#include "sig_report.h"

#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include <mbedtls/version.h>

#if MBEDTLS_VERSION_MAJOR < 3
#define mbedtls_sha256 mbedtls_sha256_ret
#define mbedtls_sha512 mbedtls_sha512_ret
#endif

void mpota_sig_report(const uint8_t *buf, size_t len, uint32_t image_len,
                      struct mpota_sig_report *r)
{
    memset(r, 0, sizeof(*r));
    r->sector_offset = mpota_sig_sector_offset(image_len);
    r->sector_present = len >= (size_t)r->sector_offset + MPOTA_SIG_SECTOR_SIZE;
    if (!r->sector_present) {
        return;
    }
    const uint8_t *sector = buf + r->sector_offset;
    uint8_t sha256[32], sha384[64];  // mbedTLS declares 64 for SHA-384 too
    bool have256 = false, have384 = false;
    for (unsigned i = 0; i < MPOTA_SIG_BLOCKS_MAX; i++) {
        struct mpota_diag d = {0};
        struct mpota_sig_block b = {0};
        int err = mpota_sig_block_read(sector, r->sector_offset, i, &b, &d);
        if (err == MPOTA_ERR_SIG_MISSING) {
            continue;
        }
        if (!err) {
            bool big = b.digest_len == 48;
            if (big && !have384) {
                mbedtls_sha512(buf, r->sector_offset, sha384, 1);
                have384 = true;
            } else if (!big && !have256) {
                mbedtls_sha256(buf, r->sector_offset, sha256, 0);
                have256 = true;
            }
            err = mpota_sig_block_verify(&b, big ? sha384 : sha256, b.digest_len,
                                         r->sector_offset + i * MPOTA_SIG_BLOCK_SIZE, &d);
        }
        r->blocks[r->count].slot = i;
        r->blocks[r->count].err = err;
        r->blocks[r->count].diag = d;
        r->blocks[r->count].block = b;
        r->count++;
    }
}
