// The delta stage of `mpota flash update` (update_delta.h).
#include "update_delta.h"

#include <stdio.h>
#include <string.h>

#include "delta_lzma.h"
#include "mpota/image.h"
#include "mpota/stream.h"

bool update_delta_pick(struct update_delta *u, const struct mpota_device *dev,
                       const struct mpota_partition *running, const struct mpota_manifest *m)
{
    u->chosen = NULL;
    if (!running || !m->patch_count) {
        return false;
    }
    struct mpota_area ra;
    struct mpota_diag d = {0};
    u->base_known = mpota_area_init(&ra, &dev->emu.flash, running->offset, running->size,
                                    true) == 0 &&
                    mpota_image_digest_area(&ra, dev->chip, u->base_sha, &u->base_len, &d) == 0;
    for (unsigned i = 0; u->base_known && i < m->patch_count && !u->chosen; i++) {
        if (memcmp(m->patches[i].from, u->base_sha, 32) == 0) {
            u->chosen = &m->patches[i];
        }
    }
    return u->chosen != NULL;
}

static int to_session(void *ctx, const uint8_t *p, uint32_t n)
{
    return mpota_session_write(ctx, p, n);
}

int update_delta_begin(struct update_delta *u, mpota_session_t *s,
                       const struct mpota_boot_ctx *ctx, const struct mpota_partition *running,
                       uint32_t patch_len)
{
    const struct mpota_partition *target = mpota_session_target(s);
    u->session = s;
    u->patch_len = patch_len;
    u->taken = 0;
    u->lzma = false;
    mpota_buf_free(&u->held);
    if (!target || !running) {
        return mpota_diag_set(&u->d.diag, MPOTA_ERR_BAD_STATE, 0, 0, 0);
    }
    int rc = mpota_area_init(&u->from, ctx->flash, running->offset, running->size, true);
    if (!rc && !u->base_known) {
        struct mpota_diag d = {0};
        rc = mpota_image_digest_area(&u->from, ctx->chip, u->base_sha, &u->base_len, &d);
        u->base_known = rc == 0;
        if (rc) {
            u->d.diag = d;
            return rc;
        }
    }
    const struct mpota_delta_cfg cfg = {
        .from = &u->from,
        .from_len = u->base_len,
        .patch_len = patch_len,
        .to_max = target->size,
        .window = u->window,
        .window_size = sizeof(u->window),
        .sink = to_session,
        .sink_ctx = s,
    };
    return rc ? rc : mpota_delta_begin(&u->d, &cfg);
}

// An lzma patch (compression 1), which the core does not decompress: the
// host holds it whole (patches are small) and decompresses it at the end.
static bool starts_lzma(const struct update_delta *u, const uint8_t *p, uint32_t n)
{
    return u->taken == 0 && n && p[0] == MPOTA_DELTA_LZMA;
}

int update_delta_push(struct update_delta *u, const uint8_t *p, uint32_t n)
{
    int rc = MPOTA_OK;
    u->lzma = u->lzma || starts_lzma(u, p, n);
    if (!u->lzma) {
        rc = mpota_delta_push(&u->d, p, n);
    } else if ((uint64_t)u->taken + n > u->patch_len) {
        rc = mpota_diag_set(&u->d.diag, MPOTA_ERR_EXPECT_LENGTH, u->patch_len, u->patch_len,
                            u->taken + n);
    } else {
        mpota_buf_put(&u->held, p, n);
        rc = u->held.failed ? mpota_diag_set(&u->d.diag, MPOTA_ERR_NO_SPACE, 0, 0, 0) : 0;
    }
    if (!rc) {
        u->taken += n;
    }
    return rc;
}

// The held lzma patch, applied by the core as its "none" twin; at most
// twice the slot in payload (diffs and extras are each at most the image).
static int apply_lzma(struct update_delta *u)
{
    struct mpota_delta_cfg cfg = u->d.cfg;
    bool core_refused;
    struct mpota_diag diag = {0};
    int rc = mpota_delta_lzma_apply(&u->d, &cfg, u->held.p, u->held.len,
                                    2ull * cfg.to_max + 65536u, NULL, &core_refused, &diag);
    if (rc && !core_refused) {
        u->d.diag = diag;  // the stream's own failure, at its byte of the patch
    }
    return rc;
}

int update_delta_finish(struct update_delta *u)
{
    int rc = u->lzma ? (u->taken < u->patch_len
                            ? mpota_diag_set(&u->d.diag, MPOTA_ERR_EXPECT_LENGTH, u->taken,
                                             u->patch_len, u->taken)
                            : apply_lzma(u))
                     : mpota_delta_finish(&u->d);
    mpota_buf_free(&u->held);
    return rc;
}

const struct mpota_diag *update_delta_diag(const struct update_delta *u, int rc)
{
    const struct mpota_diag *sd = mpota_session_diag(u->session);
    return sd->err == rc ? sd : mpota_delta_diag(&u->d);
}

bool update_delta_looks_like_patch(const char *path)
{
    uint8_t head[MPOTA_STREAM_SNIFF_LEN];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof(head), f) : 0;
    if (f) {
        fclose(f);
    }
    return mpota_stream_kind(head, n) == MPOTA_STREAM_DETOOLS;
}
