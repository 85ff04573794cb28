// The `_twin` module: what the twin's frozen Python modules (esp32.py,
// _twin_boot.py) need from the emulated device beyond what a firmware shows
// scripts. Not part of any device firmware.
//
//   _twin.stock()  True in stock mode (mpota-twin --stock)
//   _twin.mpota()  the mpota module, even in stock mode, where `import mpota`
//                  fails: esp32.Partition is written over its Device
//
// Also the VM's side of mpota-twin --stats (twin.h): the boot's slot in the
// run's accumulator, and taps on the flashes port_unix.c opens. This file,
// unlike the module's, may hold static RAM: it is never on a device.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "py/gc.h"
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

/// --stats ///

static struct mpota_twin_stats *stats_slot;  // NULL: no --stats (or unusable)
static bool stats_looked;

// This boot's slot, mapped at the first call. A malformed variable or a
// failed map is said on the console: the run's counts would be wrong.
static struct mpota_twin_stats *stats(void)
{
    if (stats_looked) {
        return stats_slot;
    }
    stats_looked = true;
    const char *v = getenv(MPOTA_TWIN_STATS_ENV);
    if (!v || !*v) {
        return NULL;
    }
    int fd;
    unsigned long index;
    char end;
    if (sscanf(v, "%d:%lu%c", &fd, &index, &end) != 2 || fd < 0) {
        fprintf(stderr, "mpota-twin-vm: bad %s=%s: no stats for this boot\n", MPOTA_TWIN_STATS_ENV,
                v);
        return NULL;
    }
    size_t len = (index + 1) * sizeof(struct mpota_twin_stats);
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        perror("mpota-twin-vm: --stats accumulator");
        return NULL;
    }
    close(fd);  // the mapping stays; nothing this boot starts inherits it
    stats_slot = (struct mpota_twin_stats *)map + index;
    return stats_slot;
}

#if !MICROPY_GC_SPLIT_HEAP
// The heap's allocation table after the last sample (malloc, not the GC heap).
static byte *heap_seen;
#endif

// The GC heap in use right after a full collection: live objects (found
// conservatively, as the collector finds them), not garbage. Collecting here
// only does earlier what the next allocation may do anyway. Skipped while
// the heap is locked (inside a collection, e.g. a finaliser closing a Device).
static void sample_heap(struct mpota_twin_stats *s)
{
    if (gc_is_locked()) {
        return;
    }
    s->heap_samples++;
#if !MICROPY_GC_SPLIT_HEAP
    // Not one block allocated, freed or grown since the last sample (the
    // core's many reads inside one call): the heap is what it was then, so
    // the collection (~0.1 ms on the twin's 2 MiB heap) is skipped.
    const mp_state_mem_area_t *a = &MP_STATE_MEM(area);
    if (heap_seen && memcmp(heap_seen, a->gc_alloc_table_start, a->gc_alloc_table_byte_len) == 0) {
        return;
    }
#endif
    gc_collect();
    gc_info_t info;
    gc_info(&info);
    if (info.used > s->peak_heap) {
        s->peak_heap = info.used;
    }
#if !MICROPY_GC_SPLIT_HEAP
    if (!heap_seen) {
        heap_seen = malloc(a->gc_alloc_table_byte_len);
    }
    if (heap_seen) {
        memcpy(heap_seen, a->gc_alloc_table_start, a->gc_alloc_table_byte_len);
    }
#endif
}

void mpota_twin_stats_sample(void)
{
    struct mpota_twin_stats *s = stats();
    if (s) {
        sample_heap(s);
    }
}

// Adds what the tapped flash counted since the last time.
static void flush(struct mpota_twin_tap *tap)
{
    mpota_twin_counters_add(&stats_slot->count, &tap->emu->count, &tap->seen);
    tap->seen = tap->emu->count;
}

// The emulator passes the tap as on_cut_arg; it is also how an operation
// finds its tap (flash.ctx stays the emulator's).
static struct mpota_twin_tap *tap_of(const struct mpota_flash *f)
{
    return ((struct mpota_flash_emu *)f->ctx)->on_cut_arg;
}

// Each operation: a heap sample before it (its buffers are live), the
// counts after it.
static int tap_read(const struct mpota_flash *f, uint32_t addr, void *buf, uint32_t len)
{
    struct mpota_twin_tap *tap = tap_of(f);
    sample_heap(stats_slot);
    int rc = tap->flash.read(f, addr, buf, len);
    flush(tap);
    return rc;
}

static int tap_prog(const struct mpota_flash *f, uint32_t addr, const void *buf, uint32_t len)
{
    struct mpota_twin_tap *tap = tap_of(f);
    sample_heap(stats_slot);
    int rc = tap->flash.prog(f, addr, buf, len);
    flush(tap);
    return rc;
}

static int tap_erase(const struct mpota_flash *f, uint32_t addr, uint32_t len)
{
    struct mpota_twin_tap *tap = tap_of(f);
    sample_heap(stats_slot);
    int rc = tap->flash.erase(f, addr, len);
    flush(tap);
    return rc;
}

// A power cut: the torn operation is already counted; the process ends
// here, as it would without the tap.
static void tap_cut(void *arg)
{
    struct mpota_twin_tap *tap = arg;
    flush(tap);
    mpota_flash_emu_cut_exit(tap->emu);
}

void mpota_twin_stats_tap(struct mpota_twin_tap *tap, struct mpota_flash_emu *emu)
{
    memset(tap, 0, sizeof(*tap));
    struct mpota_twin_stats *s = stats();
    if (!s) {
        return;
    }
    tap->emu = emu;
    tap->flash = emu->flash;
    emu->flash.read = tap_read;
    emu->flash.prog = tap_prog;
    emu->flash.erase = tap_erase;
    emu->on_cut = tap_cut;
    emu->on_cut_arg = tap;
    s->flash_opens++;
    flush(tap);  // what opening read (the partition table)
    sample_heap(s);
}

void mpota_twin_stats_untap(struct mpota_twin_tap *tap)
{
    if (tap->emu) {
        flush(tap);
        tap->emu->flash = tap->flash;
        tap->emu->on_cut = NULL;
        tap->emu = NULL;
    }
}

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
