// Update manifests and hash side files (manifest.h).
#define _POSIX_C_SOURCE 200809L
#include "manifest.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mpota/delta.h"
#include "mpota/hash.h"

// Refuses the manifest: one sentence in m->error, the key in the diag label.
static int refuse(struct mpota_manifest *m, struct mpota_diag *d, const char *key,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int refuse(struct mpota_manifest *m, struct mpota_diag *d, const char *key,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->error, sizeof(m->error), fmt, ap);
    va_end(ap);
    mpota_diag_set(d, MPOTA_ERR_MANIFEST, 0, 0, 0);
    mpota_diag_label(d, key, 16);
    return MPOTA_ERR_MANIFEST;
}

// What a JSON value is, for "got ..." in messages.
static const char *json_kind(const cJSON *item)
{
    if (cJSON_IsNumber(item)) {
        return "a number";
    } else if (cJSON_IsString(item)) {
        return item->valuestring[0] ? "a string" : "an empty string";
    } else if (cJSON_IsArray(item)) {
        return "an array";
    } else if (cJSON_IsObject(item)) {
        return "an object";
    } else if (cJSON_IsTrue(item)) {
        return "true";
    } else if (cJSON_IsFalse(item)) {
        return "false";
    }
    return "null";
}

// "got <what the value is>": "the number N" as written (the shortest form
// that reads back the same), else its JSON kind.
static const char *got(const cJSON *item, char buf[64])
{
    if (!cJSON_IsNumber(item)) {
        return json_kind(item);
    }
    snprintf(buf, 64, "the number %.15g", item->valuedouble);
    if (strtod(buf + 11, NULL) != item->valuedouble) {
        snprintf(buf, 64, "the number %.17g", item->valuedouble);
    }
    return buf;
}

// A JSON number that is a whole number from min to max (at most UINT32_MAX).
// The range is checked before the cast: a cast of 1e20 is undefined.
static bool whole_number(const cJSON *item, double min, double max, uint32_t *out)
{
    if (!cJSON_IsNumber(item)) {
        return false;
    }
    double v = item->valuedouble;
    if (!(v >= min && v <= max)) {
        return false;  // also NaN
    }
    uint32_t u = (uint32_t)v;
    if ((double)u != v) {
        return false;  // a fraction
    }
    *out = u;
    return true;
}

// "ESP32, ESP32-S2, ..." into buf.
static void chip_names(char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned id = 0; id < 256 && used < cap; id++) {
        const char *name = mpota_chip_name((uint16_t)id);
        if (name) {
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", name);
        }
    }
}

// Line and column (from 1) of byte `at` in text.
static void line_col(const char *text, size_t at, unsigned *line, unsigned *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

// "version" / "project": a string that fits its 32-byte esp_app_desc_t field.
static int check_desc_string(struct mpota_manifest *m, struct mpota_diag *d, const cJSON *item,
                             const char *key, const char *field)
{
    char buf[64];
    if (!cJSON_IsString(item)) {
        return refuse(m, d, key,
                      "the manifest's \"%s\" must be a string of at most 32 characters "
                      "(esp_app_desc_t.%s); got %s",
                      key, field, got(item, buf));
    }
    size_t n = strlen(item->valuestring);
    if (n > 32) {
        return refuse(m, d, key,
                      "the manifest's \"%s\" must be a string of at most 32 characters "
                      "(esp_app_desc_t.%s); got %zu characters",
                      key, field, n);
    }
    return MPOTA_OK;
}

static bool parse_hex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++) {
        if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    for (size_t i = 0; i < n; i++) {
        char byte[3] = {s[2 * i], s[2 * i + 1], 0};
        out[i] = (uint8_t)strtoul(byte, NULL, 16);
    }
    return true;
}

// Checks every key; fills m. Returns 0 or MPOTA_ERR_MANIFEST with m->error.
// "sha": 64 hex digits, the image's SHA-256.
static int parse_sha(struct mpota_manifest *m, struct mpota_diag *d, const cJSON *sha)
{
    char buf[64];
    if (!cJSON_IsString(sha) || strlen(sha->valuestring) != 64) {
        if (cJSON_IsString(sha)) {
            snprintf(buf, sizeof(buf), "a string of %zu characters", strlen(sha->valuestring));
        }
        return refuse(m, d, "sha",
                      "the manifest's \"sha\" must be the image's SHA-256 as 64 hex digits; "
                      "got %s",
                      cJSON_IsString(sha) ? buf : got(sha, buf));
    }
    if (!parse_hex(sha->valuestring, m->sha256, 32)) {
        size_t at = 0;
        while (isxdigit((unsigned char)sha->valuestring[at])) {
            at++;
        }
        return refuse(m, d, "sha",
                      "the manifest's \"sha\" must be the image's SHA-256 as 64 hex digits; "
                      "character %zu ('%c') is not a hex digit",
                      at + 1, isprint((unsigned char)sha->valuestring[at])
                                  ? sha->valuestring[at] : '?');
    }
    m->has_sha256 = true;
    return MPOTA_OK;
}

// "chip": a chip name mpota knows.
static int check_chip(struct mpota_manifest *m, struct mpota_diag *d, const cJSON *chip)
{
    if (cJSON_IsString(chip) && mpota_chip_from_name(chip->valuestring) != MPOTA_CHIP_ANY) {
        return MPOTA_OK;
    }
    char names[200], what[64], buf[64];
    chip_names(names, sizeof(names));
    if (cJSON_IsString(chip)) {
        snprintf(what, sizeof(what), "\"%.40s\"", chip->valuestring);
    } else {
        snprintf(what, sizeof(what), "%s", got(chip, buf));
    }
    return refuse(m, d, "chip", "the manifest's \"chip\" must be one of %s; got %s", names, what);
}

// "compression": how the firmware file holds the image. gzip only: what
// every web server can keep beside the image and the device can inflate.
static int parse_compression(struct mpota_manifest *m, struct mpota_diag *d, const cJSON *c)
{
    char buf[64], what[64];
    if (cJSON_IsString(c) && strcmp(c->valuestring, "gzip") == 0) {
        m->gzip = true;
        return MPOTA_OK;
    }
    if (cJSON_IsString(c) && strcmp(c->valuestring, "none") == 0) {
        return MPOTA_OK;
    }
    if (cJSON_IsString(c)) {
        snprintf(what, sizeof(what), "\"%.40s\"", c->valuestring);
    } else {
        snprintf(what, sizeof(what), "%s", got(c, buf));
    }
    return refuse(m, d, "compression",
                  "the manifest's \"compression\" must be \"gzip\" (the firmware file is the "
                  "image gzip'd) or \"none\"; got %s", what);
}

// One entry of "patches" (index i, for the messages) into *p, or skipped
// (*use false) when its "format" is not detools.
static int parse_patch(struct mpota_manifest *m, struct mpota_diag *d, const cJSON *e, int i,
                       struct mpota_manifest_patch *p, bool *use)
{
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(e, "url");
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(e, "from");
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(e, "format");
    const cJSON *comp = cJSON_GetObjectItemCaseSensitive(e, "compression");
    const cJSON *length = cJSON_GetObjectItemCaseSensitive(e, "length");
    char buf[64];
    *use = false;
    if (!cJSON_IsObject(e)) {
        return refuse(m, d, "patches", "the manifest's \"patches\" entry %d must be an object; "
                      "got %s", i, got(e, buf));
    }
    if (format && !cJSON_IsString(format)) {
        return refuse(m, d, "patches", "patch %d: \"format\" must be a string such as "
                      "\"detools\"; got %s", i, got(format, buf));
    }
    if (format && strcmp(format->valuestring, "detools") != 0) {
        return MPOTA_OK;  // a format for other devices: they take the full image
    }
    if (!cJSON_IsString(url) || !url->valuestring[0]) {
        return refuse(m, d, "patches", "patch %d: \"url\" must be the patch's path or URL, a "
                      "non-empty string; got %s", i, url ? got(url, buf) : "nothing");
    }
    if (!cJSON_IsString(from) || strlen(from->valuestring) != 64 ||
        !parse_hex(from->valuestring, p->from, 32)) {
        return refuse(m, d, "patches", "patch %d: \"from\" must be the base image's SHA-256 as "
                      "64 hex digits (sha256sum of the .bin it was made from)", i);
    }
    if (!whole_number(length, 1, UINT32_MAX, &p->length)) {
        return refuse(m, d, "patches", "patch %d: \"length\" must be the patch's size in bytes, "
                      "a whole number from 1 to 4,294,967,295; got %s", i,
                      length ? got(length, buf) : "nothing");
    }
    bool known = false;
    for (int k = 0; comp && cJSON_IsString(comp) && mpota_delta_compression_name(k); k++) {
        known = known || strcmp(comp->valuestring, mpota_delta_compression_name(k)) == 0;
    }
    if (comp && !known) {
        return refuse(m, d, "patches", "patch %d: \"compression\" must be one of none, crle, "
                      "heatshrink, lzma, bz2, zstd or lz4 (detools' names); got %s", i,
                      cJSON_IsString(comp) ? comp->valuestring : got(comp, buf));
    }
    snprintf(p->compression, sizeof(p->compression), "%s", comp ? comp->valuestring : "");
    p->url = strdup(url->valuestring);
    *use = p->url != NULL;
    return p->url ? MPOTA_OK : refuse(m, d, "patches", "out of memory reading the manifest");
}

// "patches": an array of at most MPOTA_MANIFEST_PATCHES_MAX detools entries.
static int parse_patches(struct mpota_manifest *m, struct mpota_diag *d, const cJSON *patches)
{
    char buf[64];
    if (!patches || cJSON_IsNull(patches)) {
        return MPOTA_OK;
    }
    if (!cJSON_IsArray(patches)) {
        return refuse(m, d, "patches", "the manifest's \"patches\" must be an array of "
                      "{\"from\", \"url\", \"length\"} objects; got %s", got(patches, buf));
    }
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, patches)
    {
        bool use;
        struct mpota_manifest_patch p = {0};
        int rc = parse_patch(m, d, e, i++, &p, &use);
        if (rc) {
            return rc;
        }
        if (use && m->patch_count == MPOTA_MANIFEST_PATCHES_MAX) {
            free(p.url);
            return refuse(m, d, "patches", "the manifest offers more than %u detools patches",
                          MPOTA_MANIFEST_PATCHES_MAX);
        }
        if (use) {
            m->patches[m->patch_count++] = p;
        }
    }
    return MPOTA_OK;
}

static int parse_object(const cJSON *root, struct mpota_manifest *m, struct mpota_diag *d)
{
    const cJSON *fw = cJSON_GetObjectItemCaseSensitive(root, "firmware");
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(root, "sha");
    const cJSON *length = cJSON_GetObjectItemCaseSensitive(root, "length");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *project = cJSON_GetObjectItemCaseSensitive(root, "project");
    const cJSON *chip = cJSON_GetObjectItemCaseSensitive(root, "chip");
    const cJSON *secure = cJSON_GetObjectItemCaseSensitive(root, "secure_version");
    const cJSON *compression = cJSON_GetObjectItemCaseSensitive(root, "compression");
    char buf[64];
    int rc;
    if (!fw) {
        return refuse(m, d, "firmware",
                      "the manifest has no \"firmware\": it must name the app image, as a path "
                      "relative to the manifest or a URL");
    }
    if (!cJSON_IsString(fw) || !fw->valuestring[0]) {
        return refuse(m, d, "firmware",
                      "the manifest's \"firmware\" must be the app image's path or URL, a "
                      "non-empty string; got %s",
                      got(fw, buf));
    }
    if (sha && !cJSON_IsNull(sha) && (rc = parse_sha(m, d, sha))) {
        return rc;
    }
    if (length && !whole_number(length, 1, UINT32_MAX, &m->length)) {
        return refuse(m, d, "length",
                      "the manifest's \"length\" must be the image's size in bytes, a whole "
                      "number from 1 to 4,294,967,295; got %s",
                      got(length, buf));
    }
    if (version && (rc = check_desc_string(m, d, version, "version", "version"))) {
        return rc;
    }
    if (project && (rc = check_desc_string(m, d, project, "project", "project_name"))) {
        return rc;
    }
    if (chip && (rc = check_chip(m, d, chip))) {
        return rc;
    }
    if (secure && !whole_number(secure, 0, UINT32_MAX, &m->secure_version)) {
        return refuse(m, d, "secure_version",
                      "the manifest's \"secure_version\" must be a whole number from 0 to "
                      "4,294,967,295 (esp_app_desc_t.secure_version is 32 bits); got %s",
                      got(secure, buf));
    }
    if (compression && (rc = parse_compression(m, d, compression))) {
        return rc;
    }
    if ((rc = parse_patches(m, d, cJSON_GetObjectItemCaseSensitive(root, "patches")))) {
        return rc;
    }
    m->firmware = strdup(fw->valuestring);
    if (!m->firmware) {
        return refuse(m, d, "firmware", "out of memory reading the manifest");
    }
    if (version) {
        snprintf(m->version, sizeof(m->version), "%s", version->valuestring);
    }
    if (project) {
        snprintf(m->project, sizeof(m->project), "%s", project->valuestring);
    }
    if (chip) {
        m->chip = mpota_chip_from_name(chip->valuestring);
    }
    m->has_secure_version = secure != NULL;
    return MPOTA_OK;
}

int mpota_manifest_parse(const char *json, size_t len, struct mpota_manifest *m,
                         struct mpota_diag *d)
{
    memset(m, 0, sizeof(*m));
    m->chip = MPOTA_CHIP_ANY;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    int rc;
    if (!root) {
        // cJSON points at the byte it could not take (or the end of the text).
        size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : len;
        unsigned line, col;
        line_col(json, at, &line, &col);
        rc = refuse(m, d, "(not JSON)",
                    "the manifest is not valid JSON: syntax error at line %u, column %u%s", line,
                    col, at >= len ? " (the text ends too early)" : "");
    } else if (!cJSON_IsObject(root)) {
        rc = refuse(m, d, "(not an object)",
                    "the manifest must be a JSON object such as {\"firmware\": \"app.bin\", "
                    "\"sha\": \"<64 hex digits>\"}; this one is %s",
                    json_kind(root));
    } else {
        rc = parse_object(root, m, d);
    }
    cJSON_Delete(root);
    if (rc) {
        mpota_manifest_free(m);
    }
    return rc;
}

void mpota_manifest_free(struct mpota_manifest *m)
{
    free(m->firmware);
    m->firmware = NULL;
    for (unsigned i = 0; i < m->patch_count; i++) {
        free(m->patches[i].url);
        m->patches[i].url = NULL;
    }
    m->patch_count = 0;
}

char *mpota_manifest_make(const char *firmware, const uint8_t *img, size_t len,
                          const struct mpota_image_info *info)
{
    return mpota_manifest_make_compressed(firmware, NULL, img, len, info);
}

char *mpota_manifest_make_compressed(const char *firmware, const char *compression,
                                     const uint8_t *img, size_t len,
                                     const struct mpota_image_info *info)
{
    uint8_t digest[32];
    mpota_sha256_t h;
    mpota_sha256_start(&h);
    mpota_sha256_update(&h, img, len);
    mpota_sha256_finish(&h, digest);
    char hex[65];
    for (int i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "firmware", firmware);
    if (compression) {
        cJSON_AddStringToObject(root, "compression", compression);
    }
    cJSON_AddStringToObject(root, "sha", hex);
    cJSON_AddNumberToObject(root, "length", (double)len);
    const char *chip = mpota_chip_name(info->header.chip_id);
    if (chip) {
        cJSON_AddStringToObject(root, "chip", chip);
    }
    if (info->app_desc_present) {
        cJSON_AddStringToObject(root, "version", info->app_desc.version);
        cJSON_AddStringToObject(root, "project", info->app_desc.project_name);
        cJSON_AddStringToObject(root, "idf", info->app_desc.idf_ver);
        cJSON_AddNumberToObject(root, "secure_version", info->app_desc.secure_version);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

char *mpota_manifest_resolve_path(const char *manifest_path, const char *ref)
{
    const char *slash = strrchr(manifest_path, '/');
    if (ref[0] == '/' || !slash) {
        return strdup(ref);
    }
    size_t dir = (size_t)(slash - manifest_path) + 1;
    char *out = malloc(dir + strlen(ref) + 1);
    if (out) {
        memcpy(out, manifest_path, dir);
        strcpy(out + dir, ref);
    }
    return out;
}

static bool sidecar_hex(const char *text, uint8_t *out, size_t n)
{
    while (*text && isspace((unsigned char)*text)) {
        text++;
    }
    if (strlen(text) < 2 * n || !parse_hex(text, out, n)) {
        return false;
    }
    // The digest must end there: 64 hex digits, not the start of a longer one.
    char next = text[2 * n];
    return next == '\0' || isspace((unsigned char)next) || next == '*';
}

bool mpota_sidecar_sha256(const char *text, uint8_t out[32])
{
    return sidecar_hex(text, out, 32);
}

bool mpota_sidecar_md5(const char *text, uint8_t out[16])
{
    return sidecar_hex(text, out, 16);
}
