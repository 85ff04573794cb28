// The `_twin` module: what the twin's frozen Python modules (esp32.py,
// _twin_boot.py) need from the emulated device beyond what a firmware shows
// scripts. Not part of any device firmware.
//
//   _twin.stock()  True in stock mode (mpota-twin --stock)
//   _twin.mpota()  the mpota module, even in stock mode, where `import mpota`
//                  fails: esp32.Partition is written over its Device
#include <stdlib.h>
#include <string.h>

#include "py/runtime.h"

#include "../mpota_mod.h"
#include "twin.h"

extern const mp_obj_module_t mpota_user_cmodule;

bool mpota_twin_stock(void)
{
    const char *v = getenv(MPOTA_TWIN_STOCK_ENV);
    return v && strcmp(v, "1") == 0;
}

// mpota.__init__, run at every `import mpota` (MICROPY_MODULE_BUILTIN_INIT):
// in stock mode the import fails as on a firmware without the module.
static mp_obj_t mpota_init(void)
{
    if (mpota_twin_stock()) {
        mp_raise_msg_varg(&mp_type_ImportError, MP_ERROR_TEXT("no module named '%q'"),
                          MP_QSTR_mpota);
    }
    return mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_0(mpota_port_module_init_obj, mpota_init);

static mp_obj_t twin_stock(void)
{
    return mp_obj_new_bool(mpota_twin_stock());
}
static MP_DEFINE_CONST_FUN_OBJ_0(twin_stock_obj, twin_stock);

static mp_obj_t twin_mpota(void)
{
    return MP_OBJ_FROM_PTR(&mpota_user_cmodule);
}
static MP_DEFINE_CONST_FUN_OBJ_0(twin_mpota_obj, twin_mpota);

static const mp_rom_map_elem_t twin_module_globals_table[] = {
    {MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__twin)},
    {MP_ROM_QSTR(MP_QSTR_stock), MP_ROM_PTR(&twin_stock_obj)},
    {MP_ROM_QSTR(MP_QSTR_mpota), MP_ROM_PTR(&twin_mpota_obj)},
};
static MP_DEFINE_CONST_DICT(twin_module_globals, twin_module_globals_table);

const mp_obj_module_t mpota_twin_module = {
    .base = {&mp_type_module},
    .globals = (mp_obj_dict_t *)&twin_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__twin, mpota_twin_module);
