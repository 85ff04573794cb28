// Update manifests and hash side files (manifest.h).
#define _POSIX_C_SOURCE 200809L
#include "manifest.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mpota/hash.h"

static int bad(struct mpota_diag *d, const char *key)
{
    mpota_diag_set(d, MPOTA_ERR_MANIFEST, 0, 0, 0);
    mpota_diag_label(d, key, 16);
    return MPOTA_ERR_MANIFEST;
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

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

int mpota_manifest_parse(const char *json, size_t len, struct mpota_manifest *m,
                         struct mpota_diag *d)
{
    memset(m, 0, sizeof(*m));
    m->chip = MPOTA_CHIP_ANY;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return bad(d, "(not JSON)");
    }
    int rc = MPOTA_OK;
    const cJSON *fw = cJSON_GetObjectItemCaseSensitive(root, "firmware");
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(root, "sha");
    const cJSON *length = cJSON_GetObjectItemCaseSensitive(root, "length");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *project = cJSON_GetObjectItemCaseSensitive(root, "project");
    const cJSON *chip = cJSON_GetObjectItemCaseSensitive(root, "chip");
    const cJSON *secure = cJSON_GetObjectItemCaseSensitive(root, "secure_version");
    if (!cJSON_IsString(fw) || !fw->valuestring[0]) {
        rc = bad(d, "firmware");
    } else if (sha && !cJSON_IsNull(sha) &&
               (!cJSON_IsString(sha) || strlen(sha->valuestring) != 64 ||
                !parse_hex(sha->valuestring, m->sha256, 32))) {
        rc = bad(d, "sha");
    } else if (length && (!cJSON_IsNumber(length) || length->valuedouble < 0 ||
                          length->valuedouble > UINT32_MAX)) {
        rc = bad(d, "length");
    } else if ((version && !cJSON_IsString(version)) || (project && !cJSON_IsString(project))) {
        rc = bad(d, version && !cJSON_IsString(version) ? "version" : "project");
    } else if (chip && (!cJSON_IsString(chip) ||
                        mpota_chip_from_name(chip->valuestring) == MPOTA_CHIP_ANY)) {
        rc = bad(d, "chip");
    } else if (secure && (!cJSON_IsNumber(secure) || secure->valuedouble < 0)) {
        rc = bad(d, "secure_version");
    }
    if (!rc) {
        m->firmware = strdup(fw->valuestring);
        m->has_sha256 = cJSON_IsString(sha);
        m->length = length ? (uint32_t)length->valuedouble : 0;
        if (version) {
            copy_str(m->version, sizeof(m->version), version->valuestring);
        }
        if (project) {
            copy_str(m->project, sizeof(m->project), project->valuestring);
        }
        if (chip) {
            m->chip = mpota_chip_from_name(chip->valuestring);
        }
        m->has_secure_version = secure != NULL;
        m->secure_version = secure ? (uint32_t)secure->valuedouble : 0;
    }
    cJSON_Delete(root);
    return rc;
}

void mpota_manifest_free(struct mpota_manifest *m)
{
    free(m->firmware);
    m->firmware = NULL;
}

char *mpota_manifest_make(const char *firmware, const uint8_t *img, size_t len,
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
