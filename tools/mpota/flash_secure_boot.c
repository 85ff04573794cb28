// Secure Boot V2 in `mpota flash`: the key digests `flash new --trust`
// burns into the emulated chip's eFuses (with --revoke), what `flash status`
// shows of them, and the check that the app a new device starts with can
// boot under them. The rules are the core's (sig.h, mpota_sig_check_slot).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cmd_image_sig.h"
#include "device.h"
#include "flash_emu.h"
#include "mpota/image.h"
#include "mpota/sig.h"

// How many digest slots the chip's eFuses have (ESP32 one, BLK2; C2 one).
static unsigned key_slots(uint16_t chip)
{
    return chip == MPOTA_CHIP_ESP32 || chip == MPOTA_CHIP_ESP32C2 ? 1u : MPOTA_EFUSE_KEY_SLOTS;
}

// The app a new device starts with must boot under its secure boot.
static int check_app_boots(const struct cli_secure_boot *sb, uint16_t chip, const uint8_t *app,
                           size_t app_len)
{
    struct mpota_sig_trust t = {.count = (uint8_t)sb->n, .revoked = sb->revoke, .required = true,
                                .first_block_only = key_slots(chip) == 1};
    memcpy(t.keys, sb->digest, sizeof(sb->digest));
    struct mpota_flash_emu emu;
    uint32_t size = ((uint32_t)app_len + 0xFFFFu) & ~0xFFFFu;
    if (mpota_flash_emu_open_ram(&emu, size) != 0) {
        return cli_fail("out of memory");
    }
    memcpy(emu.mem, app, app_len);
    struct mpota_area a = {&emu.flash, 0, size, true};
    struct mpota_diag d = {0};
    int rc = mpota_sig_check_slot(&a, &t, &d);
    mpota_flash_emu_close(&emu);
    if (rc) {
        cli_fail_diag(&d);
        return cli_fail("--app: secure boot would never start it: sign it with a key given to "
                        "--trust that is not revoked");
    }
    return CLI_OK;
}

int cli_check_new_secure_boot(uint16_t chip, const char *const *trust, const char *const *revoke,
                              const uint8_t *app, size_t app_len, struct cli_secure_boot *sb)
{
    memset(sb, 0, sizeof(*sb));
    static const char *const none[] = {NULL};
    struct sig_trust keys;
    if (!sig_trust_load(&keys, trust, none)) {
        return CLI_REFUSED;  // the key file's problem is said
    }
    if (keys.n > key_slots(chip)) {
        return cli_fail("%u keys to trust, but %s has %u key digest slot%s in eFuse", keys.n,
                        mpota_chip_name(chip), key_slots(chip), key_slots(chip) == 1 ? "" : "s");
    }
    sb->n = keys.n;
    memcpy(sb->digest, keys.digest, sb->n * sizeof(sb->digest[0]));
    for (; *revoke; revoke++) {
        uint32_t slot;
        cli_parse_size(*revoke, &slot);  // cli_parse checked it: 0..2
        if (slot >= sb->n) {
            return cli_fail("--revoke %u: slot %u holds no key (%u given with --trust)",
                            (unsigned)slot, (unsigned)slot, sb->n);
        }
        sb->revoke |= (uint8_t)(1u << slot);
    }
    if (sb->revoke == (1u << sb->n) - 1u) {
        return cli_fail("--revoke: every trusted key would be revoked, and nothing could boot");
    }
    return app ? check_app_boots(sb, chip, app, app_len) : CLI_OK;
}

void cli_status_secure_boot_json(cJSON *root, const struct mpota_device *dev)
{
    const struct mpota_efuse *f = &dev->efuse->fuses;
    cJSON *sb = cJSON_AddObjectToObject(root, "secure_boot");
    cJSON_AddBoolToObject(sb, "enabled", f->secure_boot_en);
    cJSON *keys = cJSON_AddArrayToObject(sb, "keys");
    for (unsigned i = 0; i < MPOTA_EFUSE_KEY_SLOTS; i++) {
        if (!mpota_efuse_key_present(f, i)) {
            continue;
        }
        char hex[2 * MPOTA_SIG_KEY_DIGEST_LEN + 1];
        cli_hex(f->key_digest[i], MPOTA_SIG_KEY_DIGEST_LEN, hex);
        cJSON *k = cJSON_CreateObject();
        cJSON_AddNumberToObject(k, "slot", i);
        cJSON_AddStringToObject(k, "key_digest", hex);
        cJSON_AddBoolToObject(k, "revoked", mpota_efuse_key_revoked(f, i));
        cJSON_AddItemToArray(keys, k);
    }
}

void cli_status_secure_boot_text(const struct mpota_device *dev)
{
    const struct mpota_efuse *f = &dev->efuse->fuses;
    if (!f->secure_boot_en) {
        printf("Secure boot: off\n");
        return;
    }
    printf("Secure boot: on (Secure Boot V2%s)\n",
           dev->secure_boot.first_block_only ? ", signature block 0 only" : "");
    for (unsigned i = 0; i < MPOTA_EFUSE_KEY_SLOTS; i++) {
        if (mpota_efuse_key_present(f, i)) {
            char hex[2 * MPOTA_SIG_KEY_DIGEST_LEN + 1];
            cli_hex(f->key_digest[i], MPOTA_SIG_KEY_DIGEST_LEN, hex);
            printf("  key digest %u: %s%s\n", i, hex,
                   mpota_efuse_key_revoked(f, i) ? " (revoked)" : "");
        }
    }
}
