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

// OLD into a RAM flash, read through a read-only area as a running slot is;
// *cfg: the core's configuration for a patch of patch_len bytes.
static int load_old(struct run *r, const uint8_t *old, size_t old_len, size_t patch_len,
                    struct mpota_delta_cfg *cfg)
{
    uint32_t size = (uint32_t)((old_len + SECTOR - 1) / SECTOR * SECTOR);
    int rc = mpota_flash_emu_open_ram(&r->emu, size ? size : SECTOR);
    rc = rc ? rc : mpota_flash_emu_load(&r->emu, 0, old, (uint32_t)old_len);
    rc = rc ? rc : mpota_area_init(&r->from, &r->emu.flash, 0, r->emu.size, true);
    *cfg = (struct mpota_delta_cfg){
        .from = &r->from,
        .from_len = (uint32_t)old_len,
        .patch_len = (uint32_t)patch_len,
        .to_max = MPOTA_DELTA_APPLY_MAX_LEN,
        .window = r->window,
        .window_size = sizeof(r->window),
        .sink = to_buf,
        .sink_ctx = r->out,
    };
    return rc;
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

// lzma: the core applies the patch's "none" twin (delta_lzma.h).
static int apply_lzma(struct run *r, const uint8_t *old, size_t old_len, const uint8_t *patch,
                      size_t patch_len, struct mpota_delta_applied *info, struct mpota_diag *d)
{
    struct mpota_delta_cfg cfg;
    int rc = load_old(r, old, old_len, patch_len, &cfg);
    if (rc) {
        return verdict(r, rc, d);
    }
    return mpota_delta_lzma_apply(&r->d, &cfg, patch, patch_len, UINT64_MAX, &info->lzma_payload,
                                  &info->core_offsets_decompressed, d);
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
        struct mpota_delta_cfg cfg;
        rc = load_old(r, old, old_len, patch_len, &cfg);
        rc = rc ? rc : mpota_delta_begin(&r->d, &cfg);
        rc = verdict(r, rc ? rc : mpota_delta_push(&r->d, patch, (uint32_t)patch_len), d);
    }
    mpota_flash_emu_close(&r->emu);
    free(r);
    return rc;
}
