// mpota manifest make: a glenn20-format manifest for an app image.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "deflate_zlib.h"
#include "delta_make.h"
#include "manifest.h"
#include "mpota/hash.h"
#include "mpota/image.h"

static void sha256_hex(const uint8_t *p, size_t n, char hex[65])
{
    uint8_t d[32];
    mpota_sha256_t h;
    mpota_sha256_start(&h);
    mpota_sha256_update(&h, p, n);
    mpota_sha256_finish(&h, d);
    cli_hex(d, 32, hex);
}

// --delta-from OLD: a heatshrink patch from OLD to the image, written beside
// the manifest as <image>.from-<first 8 hex digits of OLD's SHA-256>.patch
// and offered in "patches" -- unless it is no smaller than the full download
// (full_len: the image, or with gzip its gzip), which is then the better
// one (said on stderr). Returns false on an error.
static bool add_patch(cJSON *patches, const char *old_path, const uint8_t *img, size_t len,
                      size_t full_len, bool gzip, const char *name, const char *out)
{
    size_t old_len;
    uint8_t *old = cli_read_file(old_path, &old_len);
    if (!old) {
        return false;
    }
    struct mpota_delta_make_opts o = {.compression = MPOTA_DELTA_HEATSHRINK};
    struct mpota_buf patch = {0};
    int rc = mpota_delta_make(old, old_len, img, len, &o, &patch, NULL);
    char from[65];
    sha256_hex(old, old_len, from);
    free(old);
    if (rc || patch.failed) {
        mpota_buf_free(&patch);
        cli_fail("cannot make a patch from %s: out of memory or too large", old_path);
        return false;
    }
    bool ok = true;
    if (patch.len >= full_len) {
        char a[32], b[32];
        fprintf(stderr, "mpota: the patch from %s is %s B, no smaller than the %s B %s: "
                        "not offered\n", old_path, cli_group(patch.len, a),
                cli_group(full_len, b), gzip ? "gzip of the image" : "image");
    } else {
        const char *slash = strrchr(out, '/');
        char path[4096], url[1024];
        snprintf(url, sizeof(url), "%s.from-%.8s.patch", name, from);
        snprintf(path, sizeof(path), "%.*s%s", slash ? (int)(slash + 1 - out) : 0, out, url);
        ok = cli_write_file(path, patch.p, patch.len);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "from", from);
        cJSON_AddStringToObject(e, "url", url);
        cJSON_AddStringToObject(e, "format", "detools");
        cJSON_AddStringToObject(e, "compression", "heatshrink");
        cJSON_AddNumberToObject(e, "length", (double)patch.len);
        cJSON_AddItemToArray(patches, e);
    }
    mpota_buf_free(&patch);
    return ok;
}

// The manifest's JSON with "patches" for each --delta-from (malloc'd), or NULL.
static char *with_patches(char *json, const char *const *olds, const uint8_t *img, size_t len,
                          size_t full_len, bool gzip, const char *name, const char *out)
{
    if (!olds[0]) {
        return json;
    }
    cJSON *root = cJSON_Parse(json);
    free(json);
    cJSON *patches = cJSON_AddArrayToObject(root, "patches");
    bool ok = true;
    for (size_t i = 0; ok && olds[i]; i++) {
        ok = add_patch(patches, olds[i], img, len, full_len, gzip, name, out);
    }
    if (!cJSON_GetArraySize(patches)) {
        cJSON_DeleteItemFromObject(root, "patches");  // none was worth offering
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return text;
}

// --gzip: IMAGE's gzip as <name>.gz beside the manifest, where the manifest
// names it. Returns the file's name (malloc'd) and *gz_len its size, or NULL
// after saying why.
static char *write_gzip(const char *image, const char *out, const uint8_t *img, size_t len,
                        size_t *gz_len)
{
    const char *slash = strrchr(image, '/'), *out_slash = strrchr(out, '/');
    const char *base = slash ? slash + 1 : image;
    size_t dir = out_slash ? (size_t)(out_slash - out) + 1 : 0;
    size_t n = dir + strlen(base) + 4;
    char *path = malloc(n);
    uint8_t *gz = path ? mpota_deflate_zlib_gzip(img, len, gz_len) : NULL;
    if (!gz) {
        fprintf(stderr, "mpota: out of memory compressing %s\n", image);
    } else {
        snprintf(path, n, "%.*s%s.gz", (int)dir, out, base);
    }
    bool ok = gz && cli_write_file(path, gz, *gz_len);
    free(gz);
    if (!ok) {
        free(path);
        return NULL;
    }
    return path;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int manifest_make(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *pos[1] = {0}, *url = NULL, *out = NULL;
    const char *olds[MPOTA_MANIFEST_PATCHES_MAX + 1] = {0};
    bool gzip = false;
    const struct cli_opt opts[] = {
        {.name = "--delta-from", .values = olds, .repeat = MPOTA_MANIFEST_PATCHES_MAX,
         .arg = "OLD",
         .help = "also offer a heatshrink patch from the app image OLD (written beside the "
                 "manifest as IMAGE.from-<OLD's SHA-256, 8 digits>.patch)"},
        {.name = "--url", .value = &url, .arg = "URL",
         .help = "where the manifest says the firmware is (default: IMAGE's file name, "
                 "relative to the manifest; with --gzip, the .gz's)"},
        {.name = "-o", .value = &out, .arg = "OUT", .required = true,
         .help = "manifest file to write (.json)"},
        {.name = "--gzip", .flag = &gzip,
         .help = "also write IMAGE's gzip (level 9, no name or time in it) as IMAGE.gz beside "
                 "OUT, and name that as the firmware, with \"compression\": \"gzip\"; \"sha\" "
                 "and \"length\" stay the image's"},
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
    // The .gz first: a manifest never names a file that is not there.
    size_t full_len = len;
    char *gz_path = gzip ? write_gzip(pos[0], out, img, len, &full_len) : NULL;
    if (gzip && !gz_path) {
        free(img);
        return CLI_REFUSED;
    }
    // Without --url the firmware is named relative to the manifest; patches
    // are named after the image, compressed or not.
    const char *name = url ? url : base_name(pos[0]);
    const char *firmware = url ? url : gz_path ? base_name(gz_path) : name;
    char *json = with_patches(
        mpota_manifest_make_compressed(firmware, gzip ? "gzip" : NULL, img, len, &info), olds,
        img, len, full_len, gzip, name, out);
    free(img);
    free(gz_path);
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
