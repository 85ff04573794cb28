// libFuzzer target: Secure Boot V2 signature blocks (sig.h) from random bytes.
// The input fills the sector (the rest stays 0xFF, as after espsecure); the
// first 48 bytes are also the claimed image digest. Properties checked (abort
// on violation):
// * read() and verify() return only their documented codes, and reading is
//   deterministic (the same block twice gives the same key digest);
// * a block that reads has a known scheme and a 32 or 48-byte digest;
// * a block never verifies over a digest other than the one it carries, and
//   verifying it over its own gives only a pass or the documented refusals.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpota/sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t sector[MPOTA_SIG_SECTOR_SIZE];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(sector, 0xFF, sizeof(sector));
    memcpy(sector, data, size < sizeof(sector) ? size : sizeof(sector));
    uint8_t digest[MPOTA_SIG_DIGEST_MAX] = {0};
    memcpy(digest, data, size < sizeof(digest) ? size : sizeof(digest));
    for (unsigned i = 0; i < MPOTA_SIG_BLOCKS_MAX; i++) {
        struct mpota_sig_block b, again;
        struct mpota_diag d = {0};
        int rc = mpota_sig_block_read(sector, 0x2000, i, &b, &d);
        if (rc == MPOTA_ERR_SIG_MISSING || rc == MPOTA_ERR_SIG_CORRUPT) {
            continue;
        }
        if (rc != MPOTA_OK || (b.digest_len != 32 && b.digest_len != 48) || b.scheme < 1 ||
            b.scheme > 4) {
            abort();
        }
        if (mpota_sig_block_read(sector, 0x2000, i, &again, &d) != MPOTA_OK ||
            memcmp(b.key_digest, again.key_digest, sizeof(b.key_digest)) != 0) {
            abort();
        }
        // Checked against the claimed digest, then against the block's own
        // digest field: a real sector (the seeds) passes the second only.
        rc = mpota_sig_block_verify(&b, digest, b.digest_len, 0x2000, &d);
        if (rc == MPOTA_OK ? memcmp(digest, b.raw + 4, b.digest_len) != 0
                           : rc != MPOTA_ERR_SIG_DIGEST && rc != MPOTA_ERR_SIG_INVALID &&
                                 rc != MPOTA_ERR_SIG_SCHEME) {
            abort();  // a pass for a digest the block does not sign
        }
        rc = mpota_sig_block_verify(&b, b.raw + 4, b.digest_len, 0x2000, &d);
        if (rc != MPOTA_OK && rc != MPOTA_ERR_SIG_INVALID && rc != MPOTA_ERR_SIG_SCHEME) {
            abort();
        }
    }
    return 0;
}
