// Update manifests and hash side files.
//
// Manifest: glenn20's format, a JSON object {"firmware": URL-or-path,
// "sha": hex SHA-256, "length": bytes}, with the optional keys "version",
// "project", "chip", "secure_version" that `mpota manifest make` adds and an
// update checks when present, "compression" ("gzip": the firmware file is the
// image gzip'd; "sha" and "length" stay the image's), and "patches" (delta
// patches from named base images: struct mpota_manifest_patch). "firmware" is relative to the manifest's own
// location unless it is an absolute URL or path.
//
// Side files: a sha256sum-format ".sha" file ("<64 hex>  <name>", as iot49's
// ota32 publishes) and loboris' ".md5" file (32 hex digits, optionally followed
// by a name).
#ifndef MPOTA_MANIFEST_H
#define MPOTA_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host_err.h"
#include "mpota/image.h"

// A delta patch a manifest offers (issue 13): a detools sequential patch
// that turns the image whose SHA-256 (as flashed) is `from` into this
// manifest's image. "sha" and "length" stay the new image's.
#define MPOTA_MANIFEST_PATCHES_MAX 8u
struct mpota_manifest_patch {
    char *url;              // malloc'd; relative to the manifest, as "firmware" is
    uint8_t from[32];       // the base image's SHA-256
    char compression[16];   // as the manifest says ("" = not given); the patch's header decides
    uint32_t length;        // the patch's size in bytes
};

struct mpota_manifest {
    char *firmware;              // malloc'd; as written in the manifest
    bool has_sha256;
    uint8_t sha256[32];
    uint32_t length;             // 0 = not given
    bool gzip;                   // "compression": "gzip" (absent or "none": false)
    char version[33];            // "" = not given
    char project[33];
    uint16_t chip;               // MPOTA_CHIP_ANY = not given
    bool has_secure_version;
    uint32_t secure_version;
    // "patches": the detools ones, in the manifest's order (entries of
    // another "format" are skipped: a device takes the full image instead).
    unsigned patch_count;
    struct mpota_manifest_patch patches[MPOTA_MANIFEST_PATCHES_MAX];
    // Why it was refused: one sentence naming the key and what it must be
    // ("" when it parsed). Tools print it with the manifest's path.
    char error[256];
};

// Parses manifest JSON. Errors: MPOTA_ERR_MANIFEST (not JSON, no "firmware",
// a key of the wrong type, "sha" not 64 hex digits, unknown chip name, a
// "compression" other than "gzip" or "none").
int mpota_manifest_parse(const char *json, size_t len, struct mpota_manifest *m,
                         struct mpota_diag *d);

void mpota_manifest_free(struct mpota_manifest *m);

// JSON text (malloc'd, caller frees) describing the app image `img` as a
// manifest: firmware (url, or the given name), sha, length, version, project,
// chip, idf, secure_version.
char *mpota_manifest_make(const char *firmware, const uint8_t *img, size_t len,
                          const struct mpota_image_info *info);

// The same, for a firmware file that holds the image compressed: with
// "compression": compression ("gzip") after "firmware"; sha and length are
// still the image's. NULL compression: as mpota_manifest_make().
char *mpota_manifest_make_compressed(const char *firmware, const char *compression,
                                     const uint8_t *img, size_t len,
                                     const struct mpota_image_info *info);

// A path relative to a manifest file's directory: `ref` as it is if it is
// absolute, else dirname(manifest_path)/ref. malloc'd. (URLs are resolved by
// libcurl, see http_curl.h.)
char *mpota_manifest_resolve_path(const char *manifest_path, const char *ref);

// Reads a hash from a side file's text: the first 64 (SHA-256) or 32 (MD5) hex
// digits at the start of the text, after optional white space. false if the
// text does not start with one.
bool mpota_sidecar_sha256(const char *text, uint8_t out[32]);
bool mpota_sidecar_md5(const char *text, uint8_t out[16]);

#endif
