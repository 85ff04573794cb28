// The emulated device of the benchmarks (bench_rig.h).
#include "bench_rig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_build.h"
#include "mpota/err.h"
#include "mpota/image.h"
#include "part_layout.h"

static void print_diag(const char *what, int rc, const struct mpota_diag *d)
{
    char text[256] = "";
    if (d) {
        mpota_diag_format(d, text, sizeof(text));
    }
    fprintf(stderr, "bench: %s failed: %s (%d) %s\n", what, mpota_err_name(rc), rc, text);
}

uint8_t *bench_app_image(uint32_t size, uint64_t seed, const char *version)
{
    struct mpota_app_spec spec = {.chip_id = MPOTA_CHIP_ESP32, .total_size = size,
                                  .version = version, .seed = seed};
    uint8_t *img = NULL;
    size_t len = 0;
    struct mpota_diag d = {0};
    int rc = mpota_image_build_app(&spec, &img, &len, &d);
    if (rc || len != size) {
        print_diag("mpota_image_build_app", rc, &d);
        exit(1);
    }
    return img;
}

void bench_rig_fill_used(struct bench_rig *r, uint32_t addr, uint32_t len)
{
    // xorshift64: deterministic old data; a 0xFF byte here and there, never a
    // blank 128-byte run, so "old data" is never mistaken for erased flash.
    uint64_t x = 0x9E3779B97F4A7C15ull ^ addr;
    for (uint32_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r->emu.mem[addr + i] = (uint8_t)(x >> 24);
    }
}

int bench_rig_open(struct bench_rig *r, enum bench_slot_state state)
{
    memset(r, 0, sizeof(*r));
    int rc = mpota_flash_emu_open_ram(&r->emu, BENCH_FLASH_SIZE);
    if (rc) {
        print_diag("mpota_flash_emu_open_ram", rc, NULL);
        return -1;
    }
    struct mpota_part_layout_opts lo = {.kind = MPOTA_PART_LAYOUT_OTA,
                                        .flash_size = BENCH_FLASH_SIZE};
    struct mpota_diag d = {0};
    rc = mpota_part_layout_make(&lo, &r->table, &d);
    if (rc) {
        print_diag("mpota_part_layout_make", rc, &d);
        return -1;
    }
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    rc = mpota_part_table_write(&r->table, true, bin);
    if (!rc) {
        rc = mpota_flash_emu_load(&r->emu, MPOTA_PART_TABLE_OFFSET, bin, sizeof(bin));
    }
    r->running = mpota_part_ota_slot(&r->table, 0);
    r->target = mpota_part_ota_slot(&r->table, 1);
    if (rc || !r->running || !r->target) {
        print_diag("table", rc ? rc : MPOTA_ERR_NOT_FOUND, NULL);
        return -1;
    }
    // The running app, built once per process (the builder hashes 1.5 MB).
    static uint8_t *v1;
    if (!v1) {
        v1 = bench_app_image(BENCH_RUNNING_APP_SIZE, 1, "v1.0.0");
    }
    rc = mpota_flash_emu_load(&r->emu, r->running->offset, v1, BENCH_RUNNING_APP_SIZE);
    if (rc) {
        print_diag("load v1", rc, NULL);
        return -1;
    }
    r->ctx = (struct mpota_boot_ctx){.flash = &r->emu.flash, .table = &r->table,
                                     .chip = MPOTA_CHIP_ESP32, .rollback_enabled = true};
    // First boot on blank otadata: the bootloader writes {seq 1, VALID}.
    struct mpota_boot_report rep;
    rc = mpota_boot_select(&r->ctx, &rep);
    if (rc || rep.booted != r->running) {
        print_diag("first boot", rc ? rc : MPOTA_ERR_NO_BOOTABLE_APP, NULL);
        return -1;
    }
    if (state == BENCH_SLOT_USED) {
        bench_rig_fill_used(r, r->target->offset, r->target->size);
    }
    mpota_flash_emu_reset_counters(&r->emu);
    return 0;
}

void bench_rig_close(struct bench_rig *r)
{
    mpota_flash_emu_close(&r->emu);
}

int bench_rig_boots_target(struct bench_rig *r)
{
    struct mpota_boot_report rep;
    int rc = mpota_boot_select(&r->ctx, &rep);
    if (rc || rep.booted != r->target) {
        fprintf(stderr, "bench: after the update the device boots %s, not %s (%d)\n",
                rep.booted ? rep.booted->label : "nothing", r->target->label, rc);
        return -1;
    }
    return 0;
}

struct mpota_flash_emu_counters bench_counters_since(const struct bench_rig *r,
                                                     const struct mpota_flash_emu_counters *since)
{
    const struct mpota_flash_emu_counters *c = &r->emu.count;
    struct mpota_flash_emu_counters out = {
        .reads = c->reads - since->reads,
        .read_bytes = c->read_bytes - since->read_bytes,
        .progs = c->progs - since->progs,
        .prog_bytes = c->prog_bytes - since->prog_bytes,
        .prog_pages = c->prog_pages - since->prog_pages,
        .sector_erases = c->sector_erases - since->sector_erases,
        .block_erases = c->block_erases - since->block_erases,
        .ops = c->ops - since->ops,
    };
    return out;
}

const char *bench_slot_state_name(enum bench_slot_state state)
{
    return state == BENCH_SLOT_USED ? "used" : "blank";
}
