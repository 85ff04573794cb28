// A detools patch applied by the core on the host (delta_apply.h).
#include "delta_apply.h"

#include <stdlib.h>

#include "delta_lzma.h"
#include "flash_emu.h"
#include "heatshrink_enc.h"
#include "mpota/delta.h"

#define SECTOR 4096u

struct run {
    struct mpota_flash_emu emu;  // OLD, as a running slot is
    struct mpota_area from;
    mpota_delta_t d;
    struct mpota_buf *out;
    uint8_t window[1u << MPOTA_HEATSHRINK_MAX_WINDOW_SZ2];  // any window heatshrink allows
};

static int to_buf(void *ctx, const uint8_t *data, uint32_t len)
{
    struct mpota_buf *out = ctx;
    mpota_buf_put(out, data, len);
    return out->failed ? MPOTA_ERR_NO_SPACE : MPOTA_OK;
}

static int begin(struct run *r, const uint8_t *old, size_t old_len, size_t patch_len)
{
    uint32_t size = (uint32_t)((old_len + SECTOR - 1) / SECTOR * SECTOR);
    int rc = mpota_flash_emu_open_ram(&r->emu, size ? size : SECTOR);
    if (!rc && old_len) {
        rc = mpota_flash_emu_load(&r->emu, 0, old, (uint32_t)old_len);
    }
    rc = rc ? rc : mpota_area_init(&r->from, &r->emu.flash, 0, r->emu.size, true);
    const struct mpota_delta_cfg cfg = {
        .from = &r->from,
        .from_len = (uint32_t)old_len,
        .patch_len = (uint32_t)patch_len,
        .to_max = MPOTA_DELTA_APPLY_MAX_LEN,
        .window = r->window,
        .window_size = sizeof(r->window),
        .sink = to_buf,
        .sink_ctx = r->out,
    };
    return rc ? rc : mpota_delta_begin(&r->d, &cfg);
}

// The core's verdict, its record in d.
static int verdict(struct run *r, int rc, struct mpota_diag *d)
{
    rc = rc ? rc : mpota_delta_finish(&r->d);
    if (rc) {
        *d = *mpota_delta_diag(&r->d);
        d->err = rc;
    }
    return rc;
}

// The header byte and the bytes of the new image's size (or all there are).
static size_t head_len(const uint8_t *patch, size_t len)
{
    size_t i = 1;
    while (i < len && (patch[i] & 0x80u)) {
        i++;
    }
    return i < len ? i + 1 : len;
}

static int count(void *ctx, const uint8_t *data, size_t len)
{
    (void)data;
    *(uint64_t *)ctx += len;
    return MPOTA_OK;
}

static int to_core(void *ctx, const uint8_t *data, size_t len)
{
    return mpota_delta_push(ctx, data, (uint32_t)len);
}

// lzma: decoded once to learn the "none" patch's length (which the core
// needs first), then again into the core.
static int apply_lzma(struct run *r, const uint8_t *old, size_t old_len, const uint8_t *patch,
                      size_t patch_len, struct mpota_delta_applied *info, struct mpota_diag *d)
{
    size_t head = head_len(patch, patch_len), used = 0;
    uint64_t payload = 0, limit = UINT32_MAX - head;
    int rc = head < patch_len ? mpota_lzma_decode(patch + head, patch_len - head, limit, count,
                                                  &payload, &used)
                              : MPOTA_OK;
    if (rc == MPOTA_OK && head + used < patch_len) {
        return mpota_diag_set(d, MPOTA_ERR_DELTA_TRAILING, (uint32_t)(head + used), 0, 0);
    }
    if (rc == MPOTA_ERR_DELTA_CORRUPT || rc == MPOTA_ERR_NO_SPACE) {
        return mpota_diag_set(d, rc, (uint32_t)(head + used), 0, 0);
    }
    // A stream cut short (no end marker) goes on: the core judges what it
    // made, and says how much of NEW is missing if any is.
    info->lzma_payload = (size_t)payload;
    rc = begin(r, old, old_len, head + (size_t)payload);
    uint8_t none = (uint8_t)(patch[0] & 0xF0u);  // compression 0, the same patch type
    rc = rc ? rc : mpota_delta_push(&r->d, &none, 1);
    rc = rc ? rc : mpota_delta_push(&r->d, patch + 1, (uint32_t)(head - 1));
    if (!rc && head < patch_len) {
        rc = mpota_lzma_decode(patch + head, patch_len - head, limit, to_core, &r->d, &used);
        rc = rc == MPOTA_ERR_DELTA_TRUNCATED ? MPOTA_OK : rc;
    }
    rc = verdict(r, rc, d);
    info->core_offsets_decompressed = rc != MPOTA_OK;
    return rc;
}

int mpota_delta_apply(const uint8_t *old, size_t old_len, const uint8_t *patch, size_t patch_len,
                      struct mpota_buf *new_, struct mpota_delta_applied *info,
                      struct mpota_diag *d)
{
    *info = (struct mpota_delta_applied){.compression = patch_len ? patch[0] & 0x0F : -1};
    if (old_len > MPOTA_DELTA_APPLY_MAX_LEN || patch_len > UINT32_MAX) {
        size_t n = old_len > MPOTA_DELTA_APPLY_MAX_LEN ? old_len : patch_len;
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, MPOTA_DELTA_APPLY_MAX_LEN,
                              n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
    }
    struct run *r = calloc(1, sizeof(*r));
    if (!r) {
        return mpota_diag_set(d, MPOTA_ERR_NO_SPACE, 0, 0, 0);
    }
    r->out = new_;
    int rc;
    info->lzma = patch_len && patch[0] == MPOTA_DELTA_LZMA;
    if (info->lzma) {
        rc = apply_lzma(r, old, old_len, patch, patch_len, info, d);
    } else {
        rc = begin(r, old, old_len, patch_len);
        rc = verdict(r, rc ? rc : mpota_delta_push(&r->d, patch, (uint32_t)patch_len), d);
    }
    mpota_flash_emu_close(&r->emu);
    free(r);
    return rc;
}
