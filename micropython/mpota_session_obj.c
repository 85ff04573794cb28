// mpota.Session: the update engine (mpota/session.h) as a Python object.
//
//   s = mpota.Session(device)
//   s.begin(target=None, *, size=0, sha256=None, md5=None, verify=True, policy=0,
//           keys=(), require_signature=False, one_block=False)
//   s.resume(written, target=None, *, ...same keywords...)
//   s.write(buf)            any buffer-protocol object; returns after the chunk
//   s.write_at(off, buf)
//   s.offset()              where the next in-order byte goes (HTTP Range)
//   s.restart()             the data starts again from byte 0
//   s.end()                 verify; returns the byte count
//   s.set_boot()            boot the new app next (state NEW)
//   s.abort()               the target slot is left reading as empty
//   s.state(), s.target(), s.sha256()
//
// The object embeds the mpota_session_t (and the options it points to): no
// static state and no copy of the data -- write() hands the caller's buffer
// to the core, which keeps no pointer into it. Progress, timeouts and Ctrl-C
// stay in the caller's loop because every call returns after its chunk.
// resume() and write_at() (resume across resets, out-of-order data) are in
// the twin's module only (MPOTA_MODULE_TWIN_API, mpota_device_obj.c): the
// ota package streams in order and resumes from offset().
#include <string.h>

#include "py/runtime.h"

#include "mpota/flash.h"
#include "mpota/session.h"
#include "mpota/mpver.h"
#include "mpota_mod.h"

typedef struct {
    mp_obj_base_t base;
    mp_obj_t device;                     // keeps the port (flash, table) alive
    struct mpota_update_opts opts;       // the session points here
    struct mpota_app_desc running_desc;  // opts.running_desc, for the policies
    char running_mpver[MPOTA_MPVER_MAX + 1];  // opts.running_micropython_version
    struct mpota_sig_trust trust;        // opts.trust: keys=, the running app's keys
    mpota_session_t s;
} session_obj_t;

static session_obj_t *get(mp_obj_t o)
{
    return MP_OBJ_TO_PTR(o);
}

mpota_session_t *mpota_session_core(mp_obj_t o, mp_obj_t *device)
{
    if (!mp_obj_is_type(o, &mpota_session_type)) {
        mp_raise_TypeError(MP_ERROR_TEXT("expected an mpota.Session"));
    }
    session_obj_t *self = get(o);
    mpota_device_port(self->device);
    *device = self->device;
    return &self->s;
}

// Raises the session's sticky error if rc is not 0.
static void check(session_obj_t *self, int rc)
{
    mpota_check(rc, mpota_session_diag(&self->s));
}

#if MPOTA_MODULE_TWIN_API
static uint32_t get_u32(mp_obj_t o)
{
    mp_int_t v = mp_obj_get_int(o);
    if (v < 0 || (uint64_t)v > UINT32_MAX) {
        mp_raise_ValueError(MP_ERROR_TEXT("offset out of range"));
    }
    return (uint32_t)v;
}
#endif

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// A digest given as raw bytes (n) or as hex text (2n characters); None or
// "" means none. Returns whether one was given.
static bool get_digest(mp_obj_t o, uint8_t *out, size_t n)
{
    if (o == mp_const_none) {
        return false;
    }
    if (mp_obj_is_str(o)) {
        size_t len;
        const char *s = mp_obj_str_get_data(o, &len);
        if (len == 0) {
            return false;
        }
        if (len == 2 * n) {
            for (size_t i = 0; i < n; i++) {
                int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
                if (hi < 0 || lo < 0) {
                    break;
                }
                out[i] = (uint8_t)(hi << 4 | lo);
                if (i == n - 1) {
                    return true;
                }
            }
        }
    } else {
        mp_buffer_info_t b;
        mp_get_buffer_raise(o, &b, MP_BUFFER_READ);
        if (b.len == n) {
            memcpy(out, b.buf, n);
            return true;
        }
    }
    mp_raise_ValueError(MP_ERROR_TEXT("digest must be bytes or hex of the right length"));
}

enum {
    ARG_target, ARG_size, ARG_sha256, ARG_md5, ARG_verify, ARG_policy, ARG_keys,
    ARG_require_signature, ARG_one_block
};

static const mp_arg_t begin_args[] = {
    {MP_QSTR_target, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE}},
    {MP_QSTR_size, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 0}},
    {MP_QSTR_sha256, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE}},
    {MP_QSTR_md5, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE}},
    {MP_QSTR_verify, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = true}},
    {MP_QSTR_policy, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 0}},
    {MP_QSTR_keys, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE}},
    {MP_QSTR_require_signature, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = false}},
    {MP_QSTR_one_block, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = false}},
};

// The trust: with secure boot the port's eFuse keys, else the running app's
// own keys when it is signed (ESP-IDF's signed-on-update rule, always), then
// keys= (Secure Boot V2 key digests, 32 bytes or 64 hex digits each, as
// espsecure digest_sbv2_public_key). set_boot still checks secure boot's own.
static void parse_trust(session_obj_t *self, struct mpota_port *port, const mp_arg_val_t *a)
{
    struct mpota_sig_trust *t = &self->trust;
    memset(t, 0, sizeof(*t));
    struct mpota_diag d = {0};
    struct mpota_area ra;
    int rc = 0;
    if (port->ctx.secure_boot) {
        *t = *port->ctx.secure_boot;  // secure boot: the eFuse keys, as the bootloader
    } else if (port->running && mpota_area_init(&ra, port->ctx.flash, port->running->offset,
                                                port->running->size, true) == 0) {
        rc = mpota_sig_trust_add_running(t, &ra, &d);
    }
    t->required = t->required || a[ARG_require_signature].u_bool;
    t->first_block_only = t->first_block_only || a[ARG_one_block].u_bool;
    mp_obj_t keys = a[ARG_keys].u_obj;
    if (rc >= 0 && keys != mp_const_none) {
        mp_obj_t it = mp_getiter(keys, NULL), k;
        while (rc >= 0 && (k = mp_iternext(it)) != MP_OBJ_STOP_ITERATION) {
            uint8_t digest[MPOTA_SIG_KEY_DIGEST_LEN];
            if (!get_digest(k, digest, sizeof(digest))) {
                mp_raise_ValueError(MP_ERROR_TEXT("keys: key digests, not None"));
            }
            rc = mpota_sig_trust_add(t, digest, &d);
        }
    }
    mpota_check(rc < 0 ? rc : 0, &d);
    self->opts.trust = t;
}

// Parses the begin/resume arguments into self->opts and returns the target
// partition (NULL: the next update slot).
static const struct mpota_partition *parse_opts(session_obj_t *self, struct mpota_port *port,
                                                size_t n_args, const mp_obj_t *pos,
                                                mp_map_t *kw)
{
    mp_arg_val_t a[MP_ARRAY_SIZE(begin_args)];
    mp_arg_parse_all(n_args, pos, kw, MP_ARRAY_SIZE(begin_args), begin_args, a);
    enum mpota_session_state st = mpota_session_state(&self->s);
    if (st == MPOTA_SESSION_HEAD || st == MPOTA_SESSION_WRITING) {
        // A second begin would forget a half-written slot: abort it first.
        mpota_raise(MPOTA_ERR_BAD_STATE);
    }
    struct mpota_update_opts *o = &self->opts;
    memset(o, 0, sizeof(*o));
    if (a[ARG_size].u_int < 0 || (uint64_t)a[ARG_size].u_int > UINT32_MAX) {
        mp_raise_ValueError(MP_ERROR_TEXT("size out of range"));
    }
    o->expected_size = (uint32_t)a[ARG_size].u_int;
    o->has_sha256 = get_digest(a[ARG_sha256].u_obj, o->sha256, sizeof(o->sha256));
    o->has_md5 = get_digest(a[ARG_md5].u_obj, o->md5, sizeof(o->md5));
    o->no_verify = !a[ARG_verify].u_bool;
    o->policy = (uint32_t)a[ARG_policy].u_int;
    struct mpota_area ra;
    if (o->policy && port->running &&
        mpota_area_init(&ra, port->ctx.flash, port->running->offset, port->running->size,
                        true) == 0) {
        mpota_update_opts_read_running(o, &ra, &self->running_desc, self->running_mpver);
    }
    parse_trust(self, port, a);
    mp_obj_t target = a[ARG_target].u_obj;
    return target == mp_const_none ? NULL : mpota_device_find(port, target);
}

static mp_obj_t session_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
                                 const mp_obj_t *args)
{
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    mpota_device_port(args[0]);  // type check
    session_obj_t *self = mp_obj_malloc(session_obj_t, type);
    self->device = args[0];
    memset(&self->opts, 0, sizeof(self->opts));
    memset(&self->s, 0, sizeof(self->s));
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t session_begin(size_t n_args, const mp_obj_t *args, mp_map_t *kw)
{
    session_obj_t *self = get(args[0]);
    struct mpota_port *port = mpota_device_port(self->device);
    const struct mpota_partition *target = parse_opts(self, port, n_args - 1, args + 1, kw);
    struct mpota_diag d = {0};
    int rc = mpota_session_begin(&self->s, &port->ctx, port->running, target, &self->opts, &d);
    mpota_check(rc, &d);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(session_begin_obj, 1, session_begin);

#if MPOTA_MODULE_TWIN_API
static mp_obj_t session_resume(size_t n_args, const mp_obj_t *args, mp_map_t *kw)
{
    if (n_args < 2) {
        mp_raise_TypeError(MP_ERROR_TEXT("resume(written, target=None, ...)"));
    }
    session_obj_t *self = get(args[0]);
    struct mpota_port *port = mpota_device_port(self->device);
    uint32_t written = get_u32(args[1]);
    const struct mpota_partition *target = parse_opts(self, port, n_args - 2, args + 2, kw);
    struct mpota_diag d = {0};
    int rc = mpota_session_resume(&self->s, &port->ctx, port->running, target, &self->opts,
                                  written, &d);
    mpota_check(rc, &d);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(session_resume_obj, 2, session_resume);
#endif

static mp_obj_t session_write(mp_obj_t self_in, mp_obj_t data)
{
    session_obj_t *self = get(self_in);
    mpota_device_port(self->device);
    mp_buffer_info_t b;
    mp_get_buffer_raise(data, &b, MP_BUFFER_READ);
    check(self, mpota_session_write(&self->s, b.buf, (uint32_t)b.len));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(session_write_obj, session_write);

#if MPOTA_MODULE_TWIN_API
static mp_obj_t session_write_at(mp_obj_t self_in, mp_obj_t off, mp_obj_t data)
{
    session_obj_t *self = get(self_in);
    mpota_device_port(self->device);
    uint32_t o = get_u32(off);
    mp_buffer_info_t b;
    mp_get_buffer_raise(data, &b, MP_BUFFER_READ);
    check(self, mpota_session_write_at(&self->s, o, b.buf, (uint32_t)b.len));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(session_write_at_obj, session_write_at);
#endif

static mp_obj_t session_offset(mp_obj_t self_in)
{
    return mp_obj_new_int_from_uint(mpota_session_offset(&get(self_in)->s));
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_offset_obj, session_offset);

static mp_obj_t session_restart(mp_obj_t self_in)
{
    session_obj_t *self = get(self_in);
    mpota_device_port(self->device);
    check(self, mpota_session_restart(&self->s));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_restart_obj, session_restart);

static mp_obj_t session_end(mp_obj_t self_in)
{
    session_obj_t *self = get(self_in);
    mpota_device_port(self->device);
    check(self, mpota_session_end(&self->s, NULL));
    return mp_obj_new_int_from_uint(mpota_session_offset(&self->s));
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_end_obj, session_end);

static mp_obj_t session_set_boot(mp_obj_t self_in)
{
    session_obj_t *self = get(self_in);
    mpota_device_port(self->device);
    check(self, mpota_session_set_boot(&self->s));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_set_boot_obj, session_set_boot);

static mp_obj_t session_abort(mp_obj_t self_in)
{
    session_obj_t *self = get(self_in);
    mpota_device_port(self->device);
    mpota_check(mpota_session_abort(&self->s), NULL);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_abort_obj, session_abort);

static mp_obj_t session_state(mp_obj_t self_in)
{
    return MP_OBJ_NEW_SMALL_INT(mpota_session_state(&get(self_in)->s));
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_state_obj, session_state);

static mp_obj_t session_target(mp_obj_t self_in)
{
    const struct mpota_partition *p = mpota_session_target(&get(self_in)->s);
    return p ? mp_obj_new_str_from_cstr(p->label) : mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_target_obj, session_target);

static mp_obj_t session_sha256(mp_obj_t self_in)
{
    uint8_t digest[32];
    mpota_check(mpota_session_sha256(&get(self_in)->s, digest), NULL);
    return mp_obj_new_bytes(digest, sizeof(digest));
}
static MP_DEFINE_CONST_FUN_OBJ_1(session_sha256_obj, session_sha256);

static const mp_rom_map_elem_t session_locals_table[] = {
    {MP_ROM_QSTR(MP_QSTR_begin), MP_ROM_PTR(&session_begin_obj)},
#if MPOTA_MODULE_TWIN_API
    {MP_ROM_QSTR(MP_QSTR_resume), MP_ROM_PTR(&session_resume_obj)},
#endif
    {MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&session_write_obj)},
#if MPOTA_MODULE_TWIN_API
    {MP_ROM_QSTR(MP_QSTR_write_at), MP_ROM_PTR(&session_write_at_obj)},
#endif
    {MP_ROM_QSTR(MP_QSTR_offset), MP_ROM_PTR(&session_offset_obj)},
    {MP_ROM_QSTR(MP_QSTR_restart), MP_ROM_PTR(&session_restart_obj)},
    {MP_ROM_QSTR(MP_QSTR_end), MP_ROM_PTR(&session_end_obj)},
    {MP_ROM_QSTR(MP_QSTR_set_boot), MP_ROM_PTR(&session_set_boot_obj)},
    {MP_ROM_QSTR(MP_QSTR_abort), MP_ROM_PTR(&session_abort_obj)},
    {MP_ROM_QSTR(MP_QSTR_state), MP_ROM_PTR(&session_state_obj)},
    {MP_ROM_QSTR(MP_QSTR_target), MP_ROM_PTR(&session_target_obj)},
    {MP_ROM_QSTR(MP_QSTR_sha256), MP_ROM_PTR(&session_sha256_obj)},
    // enum mpota_session_state
    {MP_ROM_QSTR(MP_QSTR_IDLE), MP_ROM_INT(MPOTA_SESSION_IDLE)},
    {MP_ROM_QSTR(MP_QSTR_HEAD), MP_ROM_INT(MPOTA_SESSION_HEAD)},
    {MP_ROM_QSTR(MP_QSTR_WRITING), MP_ROM_INT(MPOTA_SESSION_WRITING)},
    {MP_ROM_QSTR(MP_QSTR_DONE), MP_ROM_INT(MPOTA_SESSION_DONE)},
    {MP_ROM_QSTR(MP_QSTR_SWITCHED), MP_ROM_INT(MPOTA_SESSION_SWITCHED)},
    {MP_ROM_QSTR(MP_QSTR_FAILED), MP_ROM_INT(MPOTA_SESSION_FAILED)},
};
static MP_DEFINE_CONST_DICT(session_locals, session_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    mpota_session_type,
    MP_QSTR_Session,
    MP_TYPE_FLAG_NONE,
    make_new, session_make_new,
    locals_dict, &session_locals
    );
