// mpota.Patch: a detools sequential patch applied onto the running image,
// streaming into an update session (mpota/delta.h).
//
//   p = mpota.Patch(session, size)   size: the whole patch in bytes
//   p.write(buf)                     patch bytes, in order, any chunk size
//   p.finish()                       after the last byte; then session.end()
//   p.to_size()                      the new image's size (0 before the header)
//
// The "from" data is the running slot, read through a read-only area and
// only as far as its image goes (Device.running_digest()'s length); the new
// image goes through the session, so its pre-flight, erase-ahead, hashing and
// read-back apply as for a full download. A refusal raises mpota.Error with
// the applier's code (MPOTA_ERR_DELTA_*) or, when the session refused the
// image, the session's.
//
// RAM: the object holds mpota_delta_t and the heatshrink window: 1 <<
// MPOTA_MODULE_DELTA_WINDOW_BITS bytes (8 by default, detools' and ESP-IDF
// esp_delta_ota's window).
#include <string.h>

#include "py/runtime.h"

#include "mpota/delta.h"
#include "mpota/flash.h"
#include "mpota/image.h"
#include "mpota_mod.h"

#ifndef MPOTA_MODULE_DELTA_WINDOW_BITS
#define MPOTA_MODULE_DELTA_WINDOW_BITS 8
#endif

typedef struct {
    mp_obj_base_t base;
    mp_obj_t session;                // keeps the session (and its device) alive
    mpota_session_t *s;
    struct mpota_area from;          // the running slot, read-only
    mpota_delta_t d;
    uint8_t window[1u << MPOTA_MODULE_DELTA_WINDOW_BITS];
} patch_obj_t;

static int to_session(void *ctx, const uint8_t *data, uint32_t len)
{
    return mpota_session_write(ctx, data, len);
}

// Raises for rc: the session's own diag when the session refused the
// bytes the patch made, else the applier's.
static void check(patch_obj_t *self, int rc)
{
    if (!rc) {
        return;
    }
    const struct mpota_diag *sd = mpota_session_diag(self->s);
    mpota_check(rc, sd->err == rc ? sd : mpota_delta_diag(&self->d));
}

static mp_obj_t patch_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
                               const mp_obj_t *args)
{
    mp_arg_check_num(n_args, n_kw, 2, 2, false);
    mp_obj_t device;
    mpota_session_t *s = mpota_session_core(args[0], &device);
    mp_int_t size = mp_obj_get_int(args[1]);
    if (size <= 0 || (uint64_t)size > UINT32_MAX) {
        mp_raise_ValueError(MP_ERROR_TEXT("patch size out of range"));
    }
    struct mpota_port *port = mpota_device_port(device);
    const struct mpota_partition *target = mpota_session_target(s);
    if (!port->running || !target) {
        mpota_raise(MPOTA_ERR_BAD_STATE);
    }
    patch_obj_t *self = mp_obj_malloc(patch_obj_t, type);
    self->session = args[0];
    self->s = s;
    struct mpota_diag d = {0};
    int rc = mpota_area_init(&self->from, port->ctx.flash, port->running->offset,
                             port->running->size, true);
    uint8_t sha[MPOTA_IMAGE_HASH_LEN];
    uint32_t from_len = 0;
    if (!rc) {
        rc = mpota_image_digest_area(&self->from, port->ctx.chip, sha, &from_len, &d);
    }
    if (rc) {
        mpota_diag_label(&d, port->running->label, MPOTA_PART_LABEL_LEN);
        mpota_check(rc, &d);
    }
    const struct mpota_delta_cfg cfg = {
        .from = &self->from,
        .from_len = from_len,
        .patch_len = (uint32_t)size,
        .to_max = target->size,
        .window = self->window,
        .window_size = sizeof(self->window),
        .sink = to_session,
        .sink_ctx = s,
    };
    check(self, mpota_delta_begin(&self->d, &cfg));
    return MP_OBJ_FROM_PTR(self);
}

static patch_obj_t *live(mp_obj_t o)
{
    patch_obj_t *self = MP_OBJ_TO_PTR(o);
    mp_obj_t device;
    mpota_session_core(self->session, &device);  // raises once the device is closed
    return self;
}

static mp_obj_t patch_write(mp_obj_t self_in, mp_obj_t data)
{
    patch_obj_t *self = live(self_in);
    mp_buffer_info_t b;
    mp_get_buffer_raise(data, &b, MP_BUFFER_READ);
    check(self, mpota_delta_push(&self->d, b.buf, (uint32_t)b.len));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(patch_write_obj, patch_write);

static mp_obj_t patch_finish(mp_obj_t self_in)
{
    patch_obj_t *self = live(self_in);
    check(self, mpota_delta_finish(&self->d));
    return mp_obj_new_int_from_uint(mpota_delta_to_size(&self->d));
}
static MP_DEFINE_CONST_FUN_OBJ_1(patch_finish_obj, patch_finish);

static mp_obj_t patch_to_size(mp_obj_t self_in)
{
    patch_obj_t *self = MP_OBJ_TO_PTR(self_in);
    return mp_obj_new_int_from_uint(mpota_delta_to_size(&self->d));
}
static MP_DEFINE_CONST_FUN_OBJ_1(patch_to_size_obj, patch_to_size);

static const mp_rom_map_elem_t patch_locals_table[] = {
    {MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&patch_write_obj)},
    {MP_ROM_QSTR(MP_QSTR_finish), MP_ROM_PTR(&patch_finish_obj)},
    {MP_ROM_QSTR(MP_QSTR_to_size), MP_ROM_PTR(&patch_to_size_obj)},
};
static MP_DEFINE_CONST_DICT(patch_locals, patch_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    mpota_patch_type,
    MP_QSTR_Patch,
    MP_TYPE_FLAG_NONE,
    make_new, patch_make_new,
    locals_dict, &patch_locals
    );
