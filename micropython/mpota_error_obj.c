// mpota.Error: the exception every mpota call raises, carrying the core's
// code and the catalogue text (src/core/diag.c) unchanged.
#include "py/objexcept.h"
#include "py/objstr.h"
#include "py/runtime.h"

#include "mpota_mod.h"

MP_NORETURN void mpota_raise_diag(const struct mpota_diag *d)
{
    // The text is sized first, then formatted straight into the string's
    // heap buffer: no static or stack buffer of a guessed size.
    size_t len = mpota_diag_format(d, NULL, 0);
    vstr_t vstr;
    vstr_init_len(&vstr, len);
    mpota_diag_format(d, vstr.buf, len + 1);
    mp_obj_t args[2] = {
        MP_OBJ_NEW_SMALL_INT(d->err),
        mp_obj_new_str_from_vstr(&vstr),
    };
    nlr_raise(mp_obj_exception_make_new(&mpota_error_type, 2, 0, args));
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

static mp_obj_t err_name(mp_obj_t code)
{
    const char *name = mpota_err_name(mp_obj_get_int(code));
    return name ? mp_obj_new_str_from_cstr(name) : mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_1(mpota_err_name_obj, err_name);

MP_DEFINE_CONST_OBJ_TYPE(
    mpota_error_type,
    MP_QSTR_Error,
    MP_TYPE_FLAG_NONE,
    make_new, mp_obj_exception_make_new,
    print, mp_obj_exception_print,
    attr, mp_obj_exception_attr,
    parent, &mp_type_OSError
    );
