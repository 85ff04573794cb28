// Declarations shared by the binding files of the `mpota` MicroPython module:
// modmpota.c (the module table), one file per Python type, and the port.
#ifndef MPOTA_MICROPYTHON_MOD_H
#define MPOTA_MICROPYTHON_MOD_H

#include "py/obj.h"

#include "mpota/err.h"
#include "mpota/part.h"
#include "mpota/session.h"
#include "port.h"

/// mpota.Error (mpota_error_obj.c) ///

// Subclass of OSError: args = (code, text, offset, expected, actual, label).
// code is the negative enum mpota_err (also e.errno); text is
// mpota_diag_format()'s sentence, never reworded here, or None where the
// firmware has no text (MPOTA_DIAG_TEXT=0).
extern const mp_obj_type_t mpota_error_type;

// Raises mpota.Error for d.
MP_NORETURN void mpota_raise_diag(const struct mpota_diag *d);

// Raises mpota.Error for a bare code (no details).
MP_NORETURN void mpota_raise(int err);

// Returns if rc == 0; else raises with d's details when d describes rc.
void mpota_check(int rc, const struct mpota_diag *d);

// mpota.err_name(code) -> "MPOTA_ERR_...", where the firmware has the names
#if MPOTA_DIAG_TEXT
MP_DECLARE_CONST_FUN_OBJ_1(mpota_err_name_obj);
#endif

/// mpota.Device (mpota_device_obj.c) ///

typedef struct {
    mp_obj_base_t base;
    struct mpota_port port;  // open while port.impl != NULL
} mpota_device_obj_t;

extern const mp_obj_type_t mpota_device_type;

// The open port of a Device object; raises if o is not a Device or closed.
struct mpota_port *mpota_device_port(mp_obj_t o);

// The partition labelled `label` (a str) in the port's table; raises
// mpota.Error(MPOTA_ERR_NOT_FOUND) naming it.
const struct mpota_partition *mpota_device_find(const struct mpota_port *port, mp_obj_t label);

// mpota.restart(): resets the device (port).
MP_DECLARE_CONST_FUN_OBJ_0(mpota_restart_obj);

/// mpota.Session (mpota_session_obj.c) ///

extern const mp_obj_type_t mpota_session_type;

// The core session of a Session object o, and its Device in *device; raises
// if o is not a Session or its device is closed.
mpota_session_t *mpota_session_core(mp_obj_t o, mp_obj_t *device);

/// mpota.Patch (mpota_patch_obj.c) ///

extern const mp_obj_type_t mpota_patch_type;
extern const mp_obj_type_t mpota_inflate_type;  // MICROPY_PY_DEFLATE only

#endif
