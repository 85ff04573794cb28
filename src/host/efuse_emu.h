// The emulated chip's eFuses: a small text file "<flash>.efuse" beside the
// flash file. eFuse bits can only be burnt (0 -> 1), never cleared, so every
// write here ORs into what the file holds now -- read again just before --
// and nothing can lower a field, whichever process or Device object writes.
//
// Fields (one "name value" line each; a missing file or line is unburnt):
//   secure_version 0x0000000F   the anti-rollback field's raw bits; the
//                               security version is how many are burnt
//   secure_boot_en 1            Secure Boot V2 enabled
//   key_digest0 <64 hex>        SHA-256 of a Secure Boot V2 public key
//   key_digest1 / key_digest2   (all zeros = slot not burnt)
//   key_revoke 0x1              bit i: digest i revoked
//
// The flash and its eFuses are two files as they are two chips: a copied
// flash file without its .efuse is that flash on a blank chip (counter 0);
// `mpota flash new` removes a stale .efuse.
//
// Power cuts: raising the counter burns one bit at a time, each bit one
// write of the file (a new file renamed over it), so a killed process leaves
// whole bits. With MPOTA_EFUSE_FAIL_AFTER=N in the environment the N-th bit
// burn of the process never happens: the power fails as it starts
// (mpota_flash_emu_cut_exit's exit status, 75), or on_cut runs (tests).
#ifndef MPOTA_EFUSE_EMU_H
#define MPOTA_EFUSE_EMU_H

#include <stdbool.h>
#include <stdint.h>

#define MPOTA_EFUSE_KEY_SLOTS 3
#define MPOTA_EFUSE_KEY_DIGEST_LEN 32
#define MPOTA_EFUSE_SUFFIX ".efuse"
#define MPOTA_EFUSE_FAIL_AFTER_ENV "MPOTA_EFUSE_FAIL_AFTER"

struct mpota_efuse {
    uint32_t secure_version;  // raw bits of the SECURE_VERSION field
    bool secure_boot_en;
    uint8_t key_digest[MPOTA_EFUSE_KEY_SLOTS][MPOTA_EFUSE_KEY_DIGEST_LEN];
    uint8_t key_revoke;       // bit i: key_digest[i] revoked
};

struct mpota_efuse_emu {
    char *path;               // "<flash>.efuse" (heap)
    struct mpota_efuse fuses; // as last read or burnt
    uint64_t burns;           // bit burns by this process
    uint64_t fail_after;      // 0 = never; N = the N-th burn is cut
    void (*on_cut)(void *arg);  // NULL = exit like a flash cut
    void *on_cut_arg;
};

// Opens the eFuses of the flash file flash_path: reads "<flash>.efuse" (none
// = a blank chip) and MPOTA_EFUSE_FAIL_AFTER. Returns 0, MPOTA_ERR_FILE
// (errno says why; EINVAL for a line that does not parse) or
// MPOTA_ERR_INVALID_ARG (the environment variable is not a count).
int mpota_efuse_open(struct mpota_efuse_emu *e, const char *flash_path);

void mpota_efuse_close(struct mpota_efuse_emu *e);

// Burns every bit set in `bits` into the file (OR with what it holds now)
// and updates e->fuses. Uncounted, never cut: setting up a chip (flash new).
// Returns 0 or MPOTA_ERR_FILE.
int mpota_efuse_burn(struct mpota_efuse_emu *e, const struct mpota_efuse *bits);

// The security version: burnt bits among the field's low `width` bits
// (esp_efuse_read_secure_version).
uint32_t mpota_efuse_security_version(const struct mpota_efuse *f, uint32_t width);

// esp_efuse_update_secure_version: burns the lowest unburnt bits of the
// field, one per write, until the security version is v (width bits at
// most). v at or below the current one: nothing. Each bit is one counted
// burn that the power cut can hit. Returns 0, MPOTA_ERR_SECURE_VERSION_TOO_BIG
// (v > width, nothing burnt) or MPOTA_ERR_FILE.
int mpota_efuse_raise_security_version(struct mpota_efuse_emu *e, uint32_t v, uint32_t width);

// Secure Boot V2 fields, on a struct (burn it with mpota_efuse_burn). The
// setters only set bits, as a burn would.
bool mpota_efuse_key_present(const struct mpota_efuse *f, unsigned slot);
void mpota_efuse_set_key_digest(struct mpota_efuse *f, unsigned slot,
                                const uint8_t digest[MPOTA_EFUSE_KEY_DIGEST_LEN]);
bool mpota_efuse_key_revoked(const struct mpota_efuse *f, unsigned slot);
void mpota_efuse_revoke_key(struct mpota_efuse *f, unsigned slot);

#endif
