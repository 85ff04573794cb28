// mpota manifest make: a glenn20-format manifest for an app image.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "manifest.h"
#include "mpota/image.h"

static int manifest_make(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *pos[1] = {0}, *url = NULL, *out = NULL;
    const struct cli_opt opts[] = {
        {.name = "--url", .value = &url, .arg = "URL",
         .help = "where the manifest says the firmware is (default: IMAGE's file name, "
                 "relative to the manifest)"},
        {.name = "-o", .value = &out, .arg = "OUT", .required = true,
         .help = "manifest file to write (.json)"},
        {0}};
    int status = cli_parse(cmd, argc, argv, opts, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    size_t len;
    uint8_t *img = cli_read_file(pos[0], &len);
    if (!img) {
        return CLI_REFUSED;
    }
    // Only an app image belongs in a manifest: the same refusal as an update.
    static struct mpota_image_info info;
    struct mpota_diag d = {0};
    int rc = cli_check_app(img, len, MPOTA_CHIP_ANY, NULL, &info, &d);
    if (rc) {
        free(img);
        return cli_fail_diag(&d);
    }
    // Without --url the firmware is named relative to the manifest.
    const char *name = url;
    if (!name) {
        const char *slash = strrchr(pos[0], '/');
        name = slash ? slash + 1 : pos[0];
    }
    char *json = mpota_manifest_make(name, img, len, &info);
    free(img);
    bool ok = json && cli_write_file(out, json, strlen(json));
    if (ok) {
        printf("%s\n", json);
    }
    free(json);
    return ok ? CLI_OK : CLI_REFUSED;
}

static const struct cli_cmd manifest_cmds[] = {
    {.group = "manifest", .name = "make", .args = "IMAGE", .min_pos = 1, .max_pos = 1,
     .run = manifest_make,
     .summary = "write a manifest for an app image (glenn20 format: firmware, sha, length, "
                "version ...)"},
    {0}};

const struct cli_group cli_manifest_group = {"manifest", manifest_cmds};
