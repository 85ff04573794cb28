// The delta stage of `mpota flash update` (issue 13): a detools patch onto
// the running image, applied by the core (mpota/delta.h) into the session.
#ifndef MPOTA_CLI_UPDATE_DELTA_H
#define MPOTA_CLI_UPDATE_DELTA_H

#include <stdbool.h>
#include <stdint.h>

#include "byte_buf.h"
#include "device.h"
#include "manifest.h"
#include "mpota/delta.h"
#include "mpota/session.h"

struct update_delta {
    bool on;                    // the source is a patch
    uint8_t base_sha[32];       // the running image as flashed
    uint32_t base_len;
    bool base_known;            // the running image verified and was digested
    const struct mpota_manifest_patch *chosen;  // the manifest's patch, if any
    uint32_t patch_len;
    uint32_t taken;             // patch bytes consumed
    bool lzma;                  // an lzma patch: held whole, then decompressed here
    struct mpota_buf held;      // its bytes
    struct mpota_area from;     // the running slot, read-only
    mpota_session_t *session;
    mpota_delta_t d;
    uint8_t window[1u << 15];   // the largest window heatshrink allows
};

// Digests the running image and picks the manifest's patch made from it.
// Returns true when one matches (u->chosen); false with nothing chosen when
// none does or the running image does not verify (the full image is the way).
bool update_delta_pick(struct update_delta *u, const struct mpota_device *dev,
                       const struct mpota_partition *running, const struct mpota_manifest *m);

// Starts applying a patch of patch_len bytes onto the running app of ctx
// into session s (begun on that ctx).
int update_delta_begin(struct update_delta *u, mpota_session_t *s,
                       const struct mpota_boot_ctx *ctx, const struct mpota_partition *running,
                       uint32_t patch_len);

// The next patch bytes, in order.
int update_delta_push(struct update_delta *u, const uint8_t *p, uint32_t n);

// After the last byte: the new image is complete.
int update_delta_finish(struct update_delta *u);

// The record of the stage that refused rc: the session's when it refused
// what the patch made, else the applier's.
const struct mpota_diag *update_delta_diag(const struct update_delta *u, int rc);

// Whether a file starts as a detools sequential patch (mpota_stream_kind).
bool update_delta_looks_like_patch(const char *path);

#endif
