// mpota manifest make: a glenn20-format manifest for an app image.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "manifest.h"
#include "mpota/image.h"

static const char make_usage[] = "mpota manifest make IMAGE [--url URL] -o manifest.json";

int cmd_manifest(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "make") != 0) {
        return cli_usage(make_usage);
    }
    const char *pos[1] = {0}, *url = NULL, *out = NULL;
    const struct cli_opt opts[] = {{"--url", &url, NULL}, {"-o", &out, NULL}, {0}};
    if (!cli_parse(argc - 1, argv + 1, opts, pos, 1, 1, make_usage) || !out) {
        return cli_usage(make_usage);
    }
    size_t len;
    uint8_t *img = cli_read_file(pos[0], &len);
    if (!img) {
        return CLI_REFUSED;
    }
    // Only an app image belongs in a manifest: the same refusal as an update.
    static struct mpota_image_info info;
    struct mpota_diag d = {0};
    int rc = cli_check_app(img, len, MPOTA_CHIP_ANY, &info, &d);
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
