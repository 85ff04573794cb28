// What the `mpota flash` commands show and check of anti-rollback: the
// chip's security version (an eFuse counter), the apps the bootloader
// skipped for being below it, and the raise a boot or a confirm burnt.
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "device.h"
#include "mpota/boot.h"
#include "mpota/image.h"

int cli_check_new_anti_rollback(uint16_t chip, uint32_t security_version, bool has_app,
                                uint32_t app_secure_version)
{
    uint32_t width = mpota_chip_security_version_bits(chip);
    if (security_version > width) {
        return cli_fail("--security-version %u is more than the %s eFuse field can count (%u "
                        "bits, one per version); give at most %u",
                        security_version, mpota_chip_name(chip), width, width);
    }
    struct mpota_boot_ctx ctx = {.chip = chip, .anti_rollback = true,
                                 .security_version = security_version};
    struct mpota_diag d = {0};
    if (has_app && mpota_boot_check_secure_version(&ctx, app_secure_version, &d) != 0) {
        return cli_fail_diag(&d);
    }
    return CLI_OK;
}

int cli_burn_new_security_version(struct mpota_device *dev, uint32_t security_version)
{
    int rc = mpota_device_set_anti_rollback(dev, 0);
    struct mpota_efuse bits = {
        .secure_version = security_version >= 32 ? 0xFFFFFFFFu : (1u << security_version) - 1u};
    if (!rc && security_version) {
        rc = mpota_efuse_burn(dev->efuse, &bits);
        if (rc) {
            dev->file_op = "write";
            dev->file_suffix = MPOTA_EFUSE_SUFFIX;
        }
    }
    return rc;
}

void cli_status_anti_rollback_json(cJSON *root, const struct mpota_device *dev)
{
    struct mpota_boot_ctx ctx;
    mpota_device_ctx(dev, &ctx);
    cJSON_AddBoolToObject(root, "anti_rollback", dev->anti_rollback);
    cJSON_AddNumberToObject(root, "security_version", mpota_device_security_version(dev));
    cJSON_AddNumberToObject(root, "security_version_bits", mpota_boot_security_version_bits(&ctx));
}

void cli_status_anti_rollback_text(const struct mpota_device *dev)
{
    struct mpota_boot_ctx ctx;
    mpota_device_ctx(dev, &ctx);
    printf("Anti-rollback: %s, security version %u (eFuse, %u-bit field)\n",
           dev->anti_rollback ? "on" : "off", mpota_device_security_version(dev),
           mpota_boot_security_version_bits(&ctx));
}

const char *cli_below_counter(const struct mpota_device *dev, uint32_t secure_version)
{
    return dev->anti_rollback && secure_version < mpota_device_security_version(dev)
               ? " (below the security version: the bootloader skips it)"
               : "";
}

void cli_boot_anti_rollback_json(cJSON *root, const struct mpota_device *dev,
                                 const struct mpota_boot_report *r)
{
    cJSON *skipped = cJSON_AddArrayToObject(root, "skipped");
    for (unsigned i = 0; i < r->n_skipped; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "label", r->skipped[i].part->label);
        if (r->skipped[i].has_desc) {
            cJSON_AddNumberToObject(o, "secure_version", r->skipped[i].secure_version);
        } else {
            cJSON_AddNullToObject(o, "secure_version");
        }
        cJSON_AddItemToArray(skipped, o);
    }
    if (r->raise_to) {
        cJSON_AddNumberToObject(root, "raised_to", r->raise_to);
    } else {
        cJSON_AddNullToObject(root, "raised_to");
    }
    cJSON_AddNumberToObject(root, "security_version", mpota_device_security_version(dev));
}

void cli_boot_anti_rollback_text(const struct mpota_device *dev, uint32_t counter_before,
                                 const struct mpota_boot_report *r)
{
    // After this boot's raise, which the load attempts already counted.
    uint32_t now = mpota_device_security_version(dev);
    for (unsigned i = 0; i < r->n_skipped; i++) {
        const struct mpota_boot_skip *s = &r->skipped[i];
        if (s->has_desc) {
            printf("bootloader: skipped %s: its secure_version %u is below the chip's security "
                   "version %u (anti-rollback)\n",
                   s->part->label, s->secure_version, now);
        } else {
            printf("bootloader: skipped %s: no app description, so no secure_version "
                   "(anti-rollback)\n",
                   s->part->label);
        }
    }
    if (r->raise_to && r->raise_err) {
        printf("bootloader: raising the security version to %u failed (%s); the boot goes on "
               "and the next one tries again\n",
               r->raise_to, mpota_host_err_name(r->raise_err));
    }
    cli_print_raise("bootloader: ", counter_before, now);
}

void cli_print_raise(const char *who, uint32_t before, uint32_t after)
{
    if (after != before) {
        printf("%ssecurity version raised from %u to %u (eFuse bits burnt)\n", who, before,
               after);
    }
}
