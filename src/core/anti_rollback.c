// The anti-rollback rule (CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK): an app may be
// selected only if the secure_version in its app description is at least
// the chip's security version, a counter of burnt eFuse bits that can only
// grow. The core never burns: it asks the port (ctx->raise_security_version)
// and otherwise reads the counter the port gave it (boot.h,
// docs/DESIGN.md §4, "Anti-rollback").
#include "mpota/boot.h"

#include "mpota/err.h"
#include "mpota/flash.h"
#include "mpota/image.h"
#include "mpota/part.h"

// Where esp_app_desc_t.secure_version sits in an app image.
#define SECURE_VERSION_OFFSET (MPOTA_APP_DESC_OFFSET + 4u)

uint32_t mpota_boot_security_version_bits(const struct mpota_boot_ctx *ctx)
{
    return ctx->security_version_bits ? ctx->security_version_bits
                                      : mpota_chip_security_version_bits(ctx->chip);
}

int mpota_boot_check_secure_version(const struct mpota_boot_ctx *ctx, uint32_t secure_version,
                                    struct mpota_diag *d)
{
    if (!ctx->anti_rollback) {
        return MPOTA_OK;
    }
    if (secure_version < ctx->security_version) {
        return mpota_diag_set(d, MPOTA_ERR_SECURE_VERSION_LOW, SECURE_VERSION_OFFSET,
                              ctx->security_version, secure_version);
    }
    uint32_t bits = mpota_boot_security_version_bits(ctx);
    if (secure_version > bits) {
        return mpota_diag_set(d, MPOTA_ERR_SECURE_VERSION_TOO_BIG, SECURE_VERSION_OFFSET, bits,
                              secure_version);
    }
    return MPOTA_OK;
}

bool mpota_boot_app_allowed(const struct mpota_boot_ctx *ctx, const struct mpota_partition *p,
                            uint32_t counter, uint32_t *sv, bool *has_desc)
{
    struct mpota_app_desc desc;
    struct mpota_area a;
    bool present = p && p->size && mpota_area_init(&a, ctx->flash, p->offset, p->size, true) == 0 &&
                   mpota_app_desc_read_area(&a, &desc) == MPOTA_OK;
    if (sv) {
        *sv = present ? desc.secure_version : 0;
    }
    if (has_desc) {
        *has_desc = present;
    }
    // Without a description there is no version to trust: the bootloader
    // refuses it too.
    return !ctx->anti_rollback || (present && desc.secure_version >= counter);
}

int mpota_boot_raise(const struct mpota_boot_ctx *ctx, uint32_t v, uint32_t *counter)
{
    if (v <= *counter) {
        return MPOTA_OK;  // eFuse bits cannot be cleared: nothing to do
    }
    if (v > mpota_boot_security_version_bits(ctx)) {
        return MPOTA_ERR_SECURE_VERSION_TOO_BIG;
    }
    int rc = ctx->raise_security_version ? ctx->raise_security_version(ctx->raise_arg, v)
                                         : MPOTA_OK;
    if (rc == MPOTA_OK) {
        *counter = v;
    }
    return rc;
}
