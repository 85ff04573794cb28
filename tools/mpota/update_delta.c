// The delta stage of `mpota flash update` (update_delta.h).
#include "update_delta.h"

#include <stdio.h>
#include <string.h>

#include "mpota/image.h"

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

int update_delta_push(struct update_delta *u, const uint8_t *p, uint32_t n)
{
    int rc = mpota_delta_push(&u->d, p, n);
    if (!rc) {
        u->taken += n;
    }
    return rc;
}

int update_delta_finish(struct update_delta *u)
{
    return mpota_delta_finish(&u->d);
}

const struct mpota_diag *update_delta_diag(const struct update_delta *u, int rc)
{
    const struct mpota_diag *sd = mpota_session_diag(u->session);
    return sd->err == rc ? sd : mpota_delta_diag(&u->d);
}

bool update_delta_looks_like_patch(const char *path)
{
    FILE *f = fopen(path, "rb");
    int c = f ? fgetc(f) : EOF;
    if (f) {
        fclose(f);
    }
    return c != EOF && (c & 0xF0) == 0 && (c & 0x0F) <= MPOTA_DELTA_LZ4;
}
