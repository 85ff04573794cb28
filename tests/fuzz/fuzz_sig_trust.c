// libFuzzer target: the trust check of an image on flash (sig.h:
// mpota_sig_trust_add_running, mpota_sig_check_area) over a 64 KiB slot that
// holds the input (the rest erased). Seeds: the signed images of
// tests/vectors/sbv2. Properties checked (abort on violation):
// * a slot's own keys: at most 3 are added, and a signature becomes required
//   exactly when one was;
// * the check returns only its documented codes, and passes a trust that
//   asks for nothing without reading anything;
// * it never passes when the trust lists keys and no block in the sector is
//   by one of them;
// * an image checked against its own keys with its true padded digest
//   passes or names why (the seeds pass).
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "flash_emu.h"
#include "mpota/sig.h"

#if MBEDTLS_VERSION_MAJOR < 3
#define mbedtls_sha256 mbedtls_sha256_ret
#endif

#define SLOT 0x10000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool documented(int rc)
{
    return rc == MPOTA_OK || rc == MPOTA_ERR_SIG_MISSING || rc == MPOTA_ERR_SIG_CORRUPT ||
           rc == MPOTA_ERR_SIG_SCHEME || rc == MPOTA_ERR_SIG_DIGEST ||
           rc == MPOTA_ERR_SIG_INVALID || rc == MPOTA_ERR_SIG_UNTRUSTED ||
           rc == MPOTA_ERR_SIG_REVOKED;
}

// Whether some block of the sector at sector_off is by a key t lists.
static bool any_trusted_block(const uint8_t *mem, uint32_t sector_off,
                              const struct mpota_sig_trust *t)
{
    for (unsigned i = 0; sector_off + MPOTA_SIG_SECTOR_SIZE <= SLOT && i < MPOTA_SIG_BLOCKS_MAX;
         i++) {
        struct mpota_sig_block b;
        if (mpota_sig_block_read(mem + sector_off, sector_off, i, &b, NULL) == MPOTA_OK &&
            mpota_sig_trust_has(t, b.key_digest, NULL)) {
            return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mpota_flash_emu emu;
    static bool opened;
    if (!opened && mpota_flash_emu_open_ram(&emu, SLOT) != 0) {
        abort();
    }
    opened = true;
    size_t n = size < SLOT ? size : SLOT;
    memset(emu.mem, 0xFF, SLOT);
    memcpy(emu.mem, data, n);
    struct mpota_area a = {&emu.flash, 0, SLOT, true};

    struct mpota_sig_trust t = {0};
    int added = mpota_sig_trust_add_running(&t, &a, NULL);
    if (added < 0 || added > (int)MPOTA_SIG_BLOCKS_MAX || t.required != (added > 0)) {
        abort();
    }
    // The image length the seeds have (6,000 B) and one from the input.
    uint32_t lens[2] = {6000, n > 4 ? (uint32_t)data[n - 1] << 8 | data[n - 2] : 1};
    for (unsigned k = 0; k < 2; k++) {
        uint32_t sector = mpota_sig_sector_offset(lens[k]);
        uint8_t padded[32];
        if (sector <= SLOT) {
            mbedtls_sha256(emu.mem, sector, padded, 0);
        }
        int rc = mpota_sig_check_area(&a, lens[k], (uint32_t)n, padded, &t, NULL);
        if (!documented(rc) ||
            (rc == MPOTA_OK && t.count > 0 && !any_trusted_block(emu.mem, sector, &t))) {
            abort();
        }
        struct mpota_sig_trust none = {0};
        if (mpota_sig_check_area(&a, lens[k], (uint32_t)n, NULL, &none, NULL) != MPOTA_OK) {
            abort();
        }
    }
    return 0;
}
