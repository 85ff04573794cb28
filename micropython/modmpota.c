// The `mpota` MicroPython module: its table only. The types live one per
// file (mpota_error_obj.c, mpota_device_obj.c, mpota_session_obj.c,
// mpota_patch_obj.c, mpota_inflate_obj.c), the
// device access in port_<platform>.c.
#include "py/runtime.h"

#include "mpota/otadata.h"
#include "mpota/part.h"
#include "mpota/session.h"
#include "mpota_mod.h"
#include "port.h"

static const mp_rom_map_elem_t mpota_module_globals_table[] = {
    {MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_mpota)},
#ifdef MPOTA_PORT_MODULE_INIT
    {MP_ROM_QSTR(MP_QSTR___init__), MP_ROM_PTR(&mpota_port_module_init_obj)},
#endif
    {MP_ROM_QSTR(MP_QSTR_Error), MP_ROM_PTR(&mpota_error_type)},
    {MP_ROM_QSTR(MP_QSTR_Device), MP_ROM_PTR(&mpota_device_type)},
    {MP_ROM_QSTR(MP_QSTR_Session), MP_ROM_PTR(&mpota_session_type)},
    {MP_ROM_QSTR(MP_QSTR_Patch), MP_ROM_PTR(&mpota_patch_type)},
#if MICROPY_PY_DEFLATE
    {MP_ROM_QSTR(MP_QSTR_Inflate), MP_ROM_PTR(&mpota_inflate_type)},
#endif
    {MP_ROM_QSTR(MP_QSTR_restart), MP_ROM_PTR(&mpota_restart_obj)},
#if MPOTA_DIAG_TEXT
    {MP_ROM_QSTR(MP_QSTR_err_name), MP_ROM_PTR(&mpota_err_name_obj)},
#endif

    // otadata states (esp_ota_img_states_t), as Device.state() returns them
    {MP_ROM_QSTR(MP_QSTR_STATE_NEW), MP_ROM_INT(MPOTA_OTA_STATE_NEW)},
    {MP_ROM_QSTR(MP_QSTR_STATE_PENDING_VERIFY), MP_ROM_INT(MPOTA_OTA_STATE_PENDING_VERIFY)},
    {MP_ROM_QSTR(MP_QSTR_STATE_VALID), MP_ROM_INT(MPOTA_OTA_STATE_VALID)},
    {MP_ROM_QSTR(MP_QSTR_STATE_INVALID), MP_ROM_INT(MPOTA_OTA_STATE_INVALID)},
    {MP_ROM_QSTR(MP_QSTR_STATE_ABORTED), MP_ROM_INT(MPOTA_OTA_STATE_ABORTED)},
    // UNDEFINED is 0xFFFFFFFF on flash, which is not a small int on a 32-bit
    // port: the bindings report it as -1.
    {MP_ROM_QSTR(MP_QSTR_STATE_UNDEFINED), MP_ROM_INT(-1)},

    // Session.begin(policy=...)
    {MP_ROM_QSTR(MP_QSTR_POLICY_SAME_PROJECT), MP_ROM_INT(MPOTA_POLICY_SAME_PROJECT)},
    {MP_ROM_QSTR(MP_QSTR_POLICY_NO_DOWNGRADE), MP_ROM_INT(MPOTA_POLICY_NO_DOWNGRADE)},
    {MP_ROM_QSTR(MP_QSTR_POLICY_SECURE_VERSION), MP_ROM_INT(MPOTA_POLICY_SECURE_VERSION)},

    // partition types, as Device.partitions() reports them
    {MP_ROM_QSTR(MP_QSTR_TYPE_APP), MP_ROM_INT(MPOTA_PART_TYPE_APP)},
    {MP_ROM_QSTR(MP_QSTR_TYPE_DATA), MP_ROM_INT(MPOTA_PART_TYPE_DATA)},
};
static MP_DEFINE_CONST_DICT(mpota_module_globals, mpota_module_globals_table);

const mp_obj_module_t mpota_user_cmodule = {
    .base = {&mp_type_module},
    .globals = (mp_obj_dict_t *)&mpota_module_globals,
};

#ifdef MPOTA_PORT_MODULE_INIT
// The twin: extensible, so that in stock mode (where __init__ refuses the
// import) a /lib/mpota.py is found first, as on firmware without the module.
MP_REGISTER_EXTENSIBLE_MODULE(MP_QSTR_mpota, mpota_user_cmodule);
#else
MP_REGISTER_MODULE(MP_QSTR_mpota, mpota_user_cmodule);
#endif
