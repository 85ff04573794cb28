// mpota.Error: the exception every mpota call raises. args = (code, text,
// offset, expected, actual, label): the core's code and numbers, and the
// catalogue's sentence (src/core/diag.c) unchanged -- or None in a firmware
// built with MPOTA_DIAG_TEXT=0, where the ota package words the error from
// the numbers (python/ota/_errors.py) and the module carries no text at all.
#include "py/objexcept.h"
#include "py/objstr.h"
#include "py/runtime.h"

#include "mpota_mod.h"

static mp_obj_t sentence(const struct mpota_diag *d)
{
#if MPOTA_DIAG_TEXT
    // Sized first, then formatted straight into the string's heap buffer:
    // no static or stack buffer of a guessed size.
    size_t len = mpota_diag_format(d, NULL, 0);
    vstr_t vstr;
    vstr_init_len(&vstr, len);
    mpota_diag_format(d, vstr.buf, len + 1);
    return mp_obj_new_str_from_vstr(&vstr);
#else
    (void)d;
    return mp_const_none;
#endif
}

MP_NORETURN void mpota_raise_diag(const struct mpota_diag *d)
{
    mp_obj_t args[6] = {
        MP_OBJ_NEW_SMALL_INT(d->err),
        sentence(d),
        mp_obj_new_int_from_uint(d->offset),
        mp_obj_new_int_from_uint(d->expected),
        mp_obj_new_int_from_uint(d->actual),
        mp_obj_new_str_from_cstr(d->label),
    };
    nlr_raise(mp_obj_exception_make_new(&mpota_error_type, 6, 0, args));
}

MP_NORETURN void mpota_raise(int err)
{
    struct mpota_diag d = {0};
    mpota_diag_set(&d, err, 0, 0, 0);
    mpota_raise_diag(&d);
}

void mpota_check(int rc, const struct mpota_diag *d)
{
    if (rc == MPOTA_OK) {
        return;
    }
    if (d && d->err == rc) {
        mpota_raise_diag(d);
    }
    mpota_raise(rc);
}

#if MPOTA_DIAG_TEXT
static mp_obj_t err_name(mp_obj_t code)
{
    return mp_obj_new_str_from_cstr(mpota_err_name(mp_obj_get_int(code)));
}
MP_DEFINE_CONST_FUN_OBJ_1(mpota_err_name_obj, err_name);
#endif

MP_DEFINE_CONST_OBJ_TYPE(
    mpota_error_type,
    MP_QSTR_Error,
    MP_TYPE_FLAG_NONE,
    make_new, mp_obj_exception_make_new,
    print, mp_obj_exception_print,
    attr, mp_obj_exception_attr,
    parent, &mp_type_OSError
    );
