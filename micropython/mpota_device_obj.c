// mpota.Device: the flash, partition table and running app of the device,
// with the boot-selection calls of boot.h and partition access through
// areas (so the running app and read-only partitions are never written).
//
//   d = mpota.Device()
//   d.partitions()            [(type, subtype, offset, size, label, flags), ...]
//   d.running()               label of the running app, or None
//   d.running_digest()        (SHA-256, length) of the running image as flashed:
//                             what a delta patch's "from" names
//   d.boot_partition()        label the bootloader would choose now
//   d.next_update([label])    next OTA slot after label (default: running)
//   d.read(label, off, buf)   read len(buf) bytes at off in the partition
//   d.write(label, off, buf)  program (no erase; NOR can only clear bits)
//   d.erase(label, off, len)  erase whole 4 KiB sectors
//   d.set_boot(label)         verify the image, then select it (state NEW)
//   d.mark_valid()            confirm the running app
//   d.mark_invalid()          reject it (the caller resets)
//   d.rollback_possible()     bool
//   d.last_invalid()          label of the last rejected app, or None
//   d.state(label)            otadata state of an OTA slot (mpota.STATE_*;
//                             UNDEFINED, 0xFFFFFFFF on flash, is -1)
//   d.app_desc(label)         (secure_version, version, project_name, time,
//                              date, idf_ver, app_elf_sha256)
//   d.micropython_version(label)  "1.23.0": the MicroPython version the app
//                             carries (banner strings; official builds leave
//                             app_desc's version empty), or None
//   d.verify(label)           image length if the slot holds a bootable image
//   d.otadata()               ((seq, state, crc_ok), (seq, state, crc_ok)) or None
//   d.close()
// Errors raise mpota.Error with the core's code and text.
//
// A firmware's module has what the ota package calls: partitions, running,
// boot_partition, set_boot, mark_valid, state, otadata, close. The rest
// (MPOTA_MODULE_TWIN_API, set by micropython.mk for the unix twin) serves
// the twin's stand-in for the esp32 module (twin/modules/esp32.py: on a
// device, ESP-IDF answers those calls) and the raw-module tests; the core
// functions behind them are unit-tested in C.
#include <string.h>

#include "py/runtime.h"

#include "mpota/boot.h"
#include "mpota/flash.h"
#include "mpota/image.h"
#include "mpota/mpver.h"
#include "mpota/otadata.h"
#include "mpota_mod.h"

struct mpota_port *mpota_device_port(mp_obj_t o)
{
    if (!mp_obj_is_type(o, &mpota_device_type)) {
        mp_raise_TypeError(MP_ERROR_TEXT("expected an mpota.Device"));
    }
    mpota_device_obj_t *self = MP_OBJ_TO_PTR(o);
    if (!self->port.impl) {
        mp_raise_ValueError(MP_ERROR_TEXT("device closed"));
    }
    return &self->port;
}

const struct mpota_partition *mpota_device_find(const struct mpota_port *port, mp_obj_t label)
{
    const char *name = mp_obj_str_get_str(label);
    const struct mpota_partition *p = mpota_part_find_label(port->ctx.table, name);
    if (!p) {
        struct mpota_diag d = {0};
        mpota_diag_set(&d, MPOTA_ERR_NOT_FOUND, 0, 0, 0);
        mpota_diag_label(&d, name, strlen(name));
        mpota_raise_diag(&d);
    }
    return p;
}

// Raises err with the partition's label (and numbers) in the details.
static MP_NORETURN void raise_for(int err, const struct mpota_partition *p, uint32_t off,
                                  uint32_t exp)
{
    struct mpota_diag d = {0};
    mpota_diag_set(&d, err, off, exp, 0);
    mpota_diag_label(&d, p->label, MPOTA_PART_LABEL_LEN);
    mpota_raise_diag(&d);
}

// The partition as an area; the running app and read-only partitions are
// read-only areas, so no binding can write them.
static struct mpota_area area_of(const struct mpota_port *port, const struct mpota_partition *p)
{
    struct mpota_area a;
    bool ro = p == port->running || (p->flags & MPOTA_PART_FLAG_READONLY);
    int rc = mpota_area_init(&a, port->ctx.flash, p->offset, p->size, ro);
    if (rc) {
        raise_for(rc, p, p->offset, port->ctx.flash->size);
    }
    return a;
}

#if MPOTA_MODULE_TWIN_API
static uint32_t get_u32(mp_obj_t o)
{
    mp_int_t v = mp_obj_get_int(o);
    if (v < 0 || (uint64_t)v > UINT32_MAX) {
        mp_raise_ValueError(MP_ERROR_TEXT("offset or length out of range"));
    }
    return (uint32_t)v;
}
#endif

// An otadata state as Python sees it: UNDEFINED (0xFFFFFFFF) is -1.
static mp_obj_t state_obj(uint32_t state)
{
    return state == MPOTA_OTA_STATE_UNDEFINED ? MP_OBJ_NEW_SMALL_INT(-1)
                                              : mp_obj_new_int_from_uint(state);
}

static mp_obj_t label_or_none(const struct mpota_partition *p)
{
    return p ? mp_obj_new_str_from_cstr(p->label) : mp_const_none;
}

static mp_obj_t device_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
                                const mp_obj_t *args)
{
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    // The finaliser closes a device the program forgot to close.
    mpota_device_obj_t *self = mp_obj_malloc_with_finaliser(mpota_device_obj_t, type);
    memset(&self->port, 0, sizeof(self->port));
    mpota_port_open(&self->port);
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t device_close(mp_obj_t self_in)
{
    mpota_device_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mpota_port_close(&self->port);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(device_close_obj, device_close);

static mp_obj_t device_partitions(mp_obj_t self_in)
{
    const struct mpota_table *t = mpota_device_port(self_in)->ctx.table;
    mp_obj_t list = mp_obj_new_list(0, NULL);
    for (uint32_t i = 0; i < t->count; i++) {
        const struct mpota_partition *p = &t->parts[i];
        mp_obj_t row[6] = {
            MP_OBJ_NEW_SMALL_INT(p->type),
            MP_OBJ_NEW_SMALL_INT(p->subtype),
            mp_obj_new_int_from_uint(p->offset),
            mp_obj_new_int_from_uint(p->size),
            mp_obj_new_str_from_cstr(p->label),
            mp_obj_new_int_from_uint(p->flags),
        };
        mp_obj_list_append(list, mp_obj_new_tuple(6, row));
    }
    return list;
}
static MP_DEFINE_CONST_FUN_OBJ_1(device_partitions_obj, device_partitions);

static mp_obj_t device_running(mp_obj_t self_in)
{
    return label_or_none(mpota_device_port(self_in)->running);
}
static MP_DEFINE_CONST_FUN_OBJ_1(device_running_obj, device_running);

static mp_obj_t device_boot_partition(mp_obj_t self_in)
{
    const struct mpota_partition *p = NULL;
    mpota_check(mpota_boot_get_boot_partition(&mpota_device_port(self_in)->ctx, &p), NULL);
    return label_or_none(p);
}
static MP_DEFINE_CONST_FUN_OBJ_1(device_boot_partition_obj, device_boot_partition);

#if MPOTA_MODULE_TWIN_API
static mp_obj_t device_next_update(size_t n_args, const mp_obj_t *args)
{
    struct mpota_port *port = mpota_device_port(args[0]);
    const struct mpota_partition *start = port->running, *next = NULL;
    if (n_args > 1 && args[1] != mp_const_none) {
        start = mpota_device_find(port, args[1]);
    }
    mpota_check(mpota_boot_get_next_update(&port->ctx, start, &next), NULL);
    return label_or_none(next);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(device_next_update_obj, 1, 2, device_next_update);

static mp_obj_t device_read(size_t n_args, const mp_obj_t *args)
{
    struct mpota_port *port = mpota_device_port(args[0]);
    const struct mpota_partition *p = mpota_device_find(port, args[1]);
    uint32_t off = get_u32(args[2]);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[3], &buf, MP_BUFFER_WRITE);
    struct mpota_area a = area_of(port, p);
    int rc = mpota_area_read(&a, off, buf.buf, (uint32_t)buf.len);
    if (rc) {
        raise_for(rc, p, off, p->size);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(device_read_obj, 4, 4, device_read);

static mp_obj_t device_write(size_t n_args, const mp_obj_t *args)
{
    struct mpota_port *port = mpota_device_port(args[0]);
    const struct mpota_partition *p = mpota_device_find(port, args[1]);
    uint32_t off = get_u32(args[2]);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[3], &buf, MP_BUFFER_READ);
    struct mpota_area a = area_of(port, p);
    int rc = mpota_area_prog(&a, off, buf.buf, (uint32_t)buf.len);
    if (rc) {
        raise_for(rc, p, off, p->size);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(device_write_obj, 4, 4, device_write);

static mp_obj_t device_erase(size_t n_args, const mp_obj_t *args)
{
    struct mpota_port *port = mpota_device_port(args[0]);
    const struct mpota_partition *p = mpota_device_find(port, args[1]);
    uint32_t off = get_u32(args[2]);
    uint32_t len = get_u32(args[3]);
    struct mpota_area a = area_of(port, p);
    int rc = mpota_area_erase(&a, off, len);
    if (rc) {
        raise_for(rc, p, off, p->size);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(device_erase_obj, 4, 4, device_erase);
#endif

static mp_obj_t device_set_boot(mp_obj_t self_in, mp_obj_t label)
{
    struct mpota_port *port = mpota_device_port(self_in);
    const struct mpota_partition *p = mpota_device_find(port, label);
    struct mpota_diag d = {0};
    mpota_check(mpota_boot_set_boot(&port->ctx, p, &d), &d);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(device_set_boot_obj, device_set_boot);

static mp_obj_t device_mark_valid(mp_obj_t self_in)
{
    mpota_check(mpota_boot_mark_valid(&mpota_device_port(self_in)->ctx), NULL);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(device_mark_valid_obj, device_mark_valid);

#if MPOTA_MODULE_TWIN_API
static mp_obj_t device_mark_invalid(mp_obj_t self_in)
{
    mpota_check(mpota_boot_mark_invalid(&mpota_device_port(self_in)->ctx), NULL);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(device_mark_invalid_obj, device_mark_invalid);

static mp_obj_t device_rollback_possible(mp_obj_t self_in)
{
    int rc = mpota_boot_rollback_possible(&mpota_device_port(self_in)->ctx);
    if (rc < 0) {
        mpota_raise(rc);
    }
    return mp_obj_new_bool(rc);
}
static MP_DEFINE_CONST_FUN_OBJ_1(device_rollback_possible_obj, device_rollback_possible);

static mp_obj_t device_last_invalid(mp_obj_t self_in)
{
    const struct mpota_partition *p = NULL;
    mpota_check(mpota_boot_last_invalid(&mpota_device_port(self_in)->ctx, &p), NULL);
    return label_or_none(p);
}
static MP_DEFINE_CONST_FUN_OBJ_1(device_last_invalid_obj, device_last_invalid);
#endif

static mp_obj_t device_state(mp_obj_t self_in, mp_obj_t label)
{
    struct mpota_port *port = mpota_device_port(self_in);
    const struct mpota_partition *p = mpota_device_find(port, label);
    uint32_t state = 0;
    int rc = mpota_boot_get_state(&port->ctx, p, &state);
    if (rc) {
        raise_for(rc, p, 0, 0);
    }
    return state_obj(state);
}
static MP_DEFINE_CONST_FUN_OBJ_2(device_state_obj, device_state);

#if MPOTA_MODULE_TWIN_API
static mp_obj_t str_field(const char *s)
{
    return mp_obj_new_str_from_cstr(s);
}

static mp_obj_t device_app_desc(mp_obj_t self_in, mp_obj_t label)
{
    struct mpota_port *port = mpota_device_port(self_in);
    const struct mpota_partition *p = mpota_device_find(port, label);
    if (p->type != MPOTA_PART_TYPE_APP) {
        raise_for(MPOTA_ERR_INVALID_ARG, p, 0, 0);
    }
    struct mpota_area a = area_of(port, p);
    struct mpota_app_desc *desc = m_new_obj(struct mpota_app_desc);
    int rc = mpota_app_desc_read_area(&a, desc);
    if (rc) {
        raise_for(rc, p, MPOTA_APP_DESC_OFFSET, 0);
    }
    mp_obj_t t[7] = {
        mp_obj_new_int_from_uint(desc->secure_version),
        str_field(desc->version),
        str_field(desc->project_name),
        str_field(desc->time),
        str_field(desc->date),
        str_field(desc->idf_ver),
        mp_obj_new_bytes(desc->app_elf_sha256, sizeof(desc->app_elf_sha256)),
    };
    m_del_obj(struct mpota_app_desc, desc);
    return mp_obj_new_tuple(7, t);
}
static MP_DEFINE_CONST_FUN_OBJ_2(device_app_desc_obj, device_app_desc);

// The MicroPython version the app in a slot carries ("1.23.0"), or None.
static mp_obj_t device_micropython_version(mp_obj_t self_in, mp_obj_t label)
{
    struct mpota_port *port = mpota_device_port(self_in);
    const struct mpota_partition *p = mpota_device_find(port, label);
    struct mpota_area a = area_of(port, p);
    char v[MPOTA_MPVER_MAX + 1];
    int rc = mpota_mpver_read_area(&a, a.size, v);
    if (rc) {
        raise_for(rc, p, 0, 0);
    }
    return v[0] ? str_field(v) : mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(device_micropython_version_obj, device_micropython_version);

static mp_obj_t device_verify(mp_obj_t self_in, mp_obj_t label)
{
    struct mpota_port *port = mpota_device_port(self_in);
    const struct mpota_partition *p = mpota_device_find(port, label);
    struct mpota_area a = area_of(port, p);
    struct mpota_image_info *info = m_new_obj(struct mpota_image_info);
    struct mpota_diag d = {0};
    // The bootloader's view of the slot, ending in the one check's app rules.
    int rc = mpota_image_verify_area(&a, port->ctx.chip, info, &d);
    uint32_t len = info->image_len;
    m_del_obj(struct mpota_image_info, info);
    if (rc) {
        mpota_diag_label(&d, p->label, MPOTA_PART_LABEL_LEN);
        mpota_check(rc, &d);
    }
    return mp_obj_new_int_from_uint(len);
}
static MP_DEFINE_CONST_FUN_OBJ_2(device_verify_obj, device_verify);
#endif

// The base a delta patch must be made from: the running image's SHA-256 and
// length as flashed. Verifies the image on the way (one read pass).
static mp_obj_t device_running_digest(mp_obj_t self_in)
{
    struct mpota_port *port = mpota_device_port(self_in);
    if (!port->running) {
        mpota_raise(MPOTA_ERR_NOT_FOUND);
    }
    struct mpota_area a = area_of(port, port->running);
    uint8_t sha[MPOTA_IMAGE_HASH_LEN];
    uint32_t len = 0;
    struct mpota_diag d = {0};
    int rc = mpota_image_digest_area(&a, port->ctx.chip, sha, &len, &d);
    if (rc) {
        mpota_diag_label(&d, port->running->label, MPOTA_PART_LABEL_LEN);
        mpota_check(rc, &d);
    }
    mp_obj_t t[2] = {mp_obj_new_bytes(sha, sizeof(sha)), mp_obj_new_int_from_uint(len)};
    return mp_obj_new_tuple(2, t);
}
static MP_DEFINE_CONST_FUN_OBJ_1(device_running_digest_obj, device_running_digest);

static mp_obj_t device_otadata(mp_obj_t self_in)
{
    struct mpota_port *port = mpota_device_port(self_in);
    const struct mpota_partition *p =
        mpota_part_find(port->ctx.table, MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA);
    if (!p) {
        return mp_const_none;
    }
    struct mpota_area a = area_of(port, p);
    struct mpota_otadata_entry two[2];
    int rc = mpota_otadata_read(&a, two);
    if (rc) {
        raise_for(rc, p, 0, 0);
    }
    mp_obj_t out[2];
    for (int i = 0; i < 2; i++) {
        mp_obj_t e[3] = {
            mp_obj_new_int_from_uint(two[i].ota_seq),
            state_obj(two[i].ota_state),
            mp_obj_new_bool(mpota_otadata_crc_ok(&two[i])),
        };
        out[i] = mp_obj_new_tuple(3, e);
    }
    return mp_obj_new_tuple(2, out);
}
static MP_DEFINE_CONST_FUN_OBJ_1(device_otadata_obj, device_otadata);

static mp_obj_t restart(void)
{
    mpota_port_restart();
}
MP_DEFINE_CONST_FUN_OBJ_0(mpota_restart_obj, restart);

static const mp_rom_map_elem_t device_locals_table[] = {
    {MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&device_close_obj)},
    {MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&device_close_obj)},
    {MP_ROM_QSTR(MP_QSTR_partitions), MP_ROM_PTR(&device_partitions_obj)},
    {MP_ROM_QSTR(MP_QSTR_running), MP_ROM_PTR(&device_running_obj)},
    {MP_ROM_QSTR(MP_QSTR_running_digest), MP_ROM_PTR(&device_running_digest_obj)},
    {MP_ROM_QSTR(MP_QSTR_boot_partition), MP_ROM_PTR(&device_boot_partition_obj)},
#if MPOTA_MODULE_TWIN_API
    {MP_ROM_QSTR(MP_QSTR_next_update), MP_ROM_PTR(&device_next_update_obj)},
    {MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&device_read_obj)},
    {MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&device_write_obj)},
    {MP_ROM_QSTR(MP_QSTR_erase), MP_ROM_PTR(&device_erase_obj)},
#endif
    {MP_ROM_QSTR(MP_QSTR_set_boot), MP_ROM_PTR(&device_set_boot_obj)},
    {MP_ROM_QSTR(MP_QSTR_mark_valid), MP_ROM_PTR(&device_mark_valid_obj)},
#if MPOTA_MODULE_TWIN_API
    {MP_ROM_QSTR(MP_QSTR_mark_invalid), MP_ROM_PTR(&device_mark_invalid_obj)},
    {MP_ROM_QSTR(MP_QSTR_rollback_possible), MP_ROM_PTR(&device_rollback_possible_obj)},
    {MP_ROM_QSTR(MP_QSTR_last_invalid), MP_ROM_PTR(&device_last_invalid_obj)},
#endif
    {MP_ROM_QSTR(MP_QSTR_state), MP_ROM_PTR(&device_state_obj)},
#if MPOTA_MODULE_TWIN_API
    {MP_ROM_QSTR(MP_QSTR_app_desc), MP_ROM_PTR(&device_app_desc_obj)},
    {MP_ROM_QSTR(MP_QSTR_micropython_version), MP_ROM_PTR(&device_micropython_version_obj)},
    {MP_ROM_QSTR(MP_QSTR_verify), MP_ROM_PTR(&device_verify_obj)},
#endif
    {MP_ROM_QSTR(MP_QSTR_otadata), MP_ROM_PTR(&device_otadata_obj)},
};
static MP_DEFINE_CONST_DICT(device_locals, device_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    mpota_device_type,
    MP_QSTR_Device,
    MP_TYPE_FLAG_NONE,
    make_new, device_make_new,
    locals_dict, &device_locals
    );
