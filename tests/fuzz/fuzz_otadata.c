// libFuzzer target: the otadata decoder, the predicates and the bootloader's
// selection on random otadata (up to 8 KiB) with random tables and random
// sets of loadable apps. Properties checked (abort on violation):
// * decode/encode gives back the 32 bytes; the predicates agree;
// * the active entry is valid and holds the larger seq (tie -> entry 0);
// * boot: an app boots exactly when some app in the table loads, and the
//   booted one does; every bootloader write succeeds; repeated resets reach
//   a fixed point (no more writes, same app) within 5 resets;
// * get_boot_partition predicts the reset's choice; mark_valid does not
//   change it;
// * set_boot(ota_N) of a loadable slot, when it succeeds, makes the next
//   reset choose and boot ota_N.
// Input: byte 0 = flags (bit 0 rollback, bits 1-5 which apps load: factory,
// ota_0..2, test; bit 6 factory row, bit 7 test row), byte 1 = shape (bits
// 0-1 OTA slot count, bits 3-4 otadata absent/too small, bits 5-7 the
// set_boot target), then the otadata bytes.
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flash_emu.h"
#include "host_file.h"
#include "mpota/boot.h"
#include "mpota/err.h"
#include "mpota/image.h"
#include "mpota/otadata.h"
#include "mpota/part.h"
#include "table_build.h"

#define OTADATA 0xD000u
#define SLOT_SIZE 0x20000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mpota_flash_emu g_emu;
static bool g_ready;
static bool g_have_image;

// Slots: factory, ota_0..ota_2, test; each 128 KiB from 0x10000.
static const uint32_t slot_off[5] = {0x10000, 0x30000, 0x50000, 0x70000, 0x90000};

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                            \
        }                                                                       \
    } while (0)

static void init(void)
{
    if (mpota_flash_emu_open_ram(&g_emu, 0x100000) != 0) {
        abort();
    }
    // The image: $MPOTA_TESTDATA_DIR, else shared/testdata beside the checkout.
    char path[1024];
    const char *dir = getenv("MPOTA_TESTDATA_DIR");
    if (dir) {
        snprintf(path, sizeof(path), "%s/images/app-v1.0.1.bin", dir);
    } else {
        snprintf(path, sizeof(path), "%s", __FILE__);
        char *cut = strstr(path, "/tests/fuzz/");
        if (cut) {
            snprintf(cut, sizeof(path) - (size_t)(cut - path),
                     "/../shared/testdata/images/app-v1.0.1.bin");
        }
    }
    size_t len = 0;
    uint8_t *img = mpota_host_read_file(path, &len);
    if (img && len < SLOT_SIZE) {
        for (int i = 0; i < 5; i++) {
            mpota_flash_emu_load(&g_emu, slot_off[i], img, (uint32_t)len);
        }
        g_have_image = true;
    } else {
        fprintf(stderr, "fuzz_otadata: no app image at %s: boots will find no app\n", path);
    }
    free(img);
    g_ready = true;
}

static bool loads(const struct mpota_partition *p)
{
    for (int i = 0; i < 5; i++) {
        if (p->offset == slot_off[i]) {
            return g_have_image && g_emu.mem[slot_off[i]] == 0xE9;
        }
    }
    return false;
}

static void check_entries(const uint8_t *raw0, const uint8_t *raw1)
{
    struct mpota_otadata_entry two[2];
    const uint8_t *raw[2] = {raw0, raw1};
    for (int i = 0; i < 2; i++) {
        uint8_t back[32];
        mpota_otadata_decode(raw[i], &two[i]);
        mpota_otadata_encode(&two[i], back);
        CHECK(memcmp(back, raw[i], 32) == 0);
        const struct mpota_otadata_entry *e = &two[i];
        bool crc_ok = mpota_otadata_crc_ok(e);
        CHECK(crc_ok == (e->crc == mpota_otadata_crc(e->ota_seq)));
        CHECK(mpota_otadata_is_valid(e) == (!mpota_otadata_is_invalid(e) && crc_ok));
        CHECK(mpota_otadata_is_blank_or_bad_crc(e) ==
              (e->ota_seq == MPOTA_OTADATA_SEQ_EMPTY || !crc_ok));
    }
    int a = mpota_otadata_active(two);
    bool v0 = mpota_otadata_is_valid(&two[0]), v1 = mpota_otadata_is_valid(&two[1]);
    if (a < 0) {
        CHECK(!v0 && !v1);
    } else {
        CHECK(a == 0 ? v0 : v1);
        if (v0 && v1) {
            uint32_t s0 = two[0].ota_seq, s1 = two[1].ota_seq;
            CHECK(a == (s0 >= s1 ? 0 : 1));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready) {
        init();
    }
    if (size < 2) {
        return 0;
    }
    uint8_t flags = data[0], shape = data[1];
    data += 2;
    size -= 2;
    if (size > 0x2000) {
        size = 0x2000;
    }

    // Table: otadata (maybe too small, maybe absent), factory?, 1-3 OTA
    // slots, test?
    struct mpota_table table;
    memset(&table, 0, sizeof(table));
    bool no_otadata = (shape & 0x08) && (shape & 0x10);
    bool small_otadata = (shape & 0x08) && !(shape & 0x10);
    if (!no_otadata) {
        table_add(&table, "otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, OTADATA,
                  small_otadata ? 0x1000 : 0x2000);
    }
    if (flags & 0x40) {
        table_add(&table, "factory", MPOTA_PART_TYPE_APP, 0x00, slot_off[0], SLOT_SIZE);
    }
    uint32_t n_ota = 1 + (shape & 3) % 3;
    static const char *const names[3] = {"ota_0", "ota_1", "ota_2"};
    for (uint32_t i = 0; i < n_ota; i++) {
        table_add(&table, names[i], MPOTA_PART_TYPE_APP, (uint8_t)(0x10 + i), slot_off[1 + i],
                  SLOT_SIZE);
    }
    if (flags & 0x80) {
        table_add(&table, "test", MPOTA_PART_TYPE_APP, 0x20, slot_off[4], SLOT_SIZE);
    }
    // Which apps load: flags bits 1..5 (factory, ota_0..2, test).
    for (int i = 0; i < 5; i++) {
        g_emu.mem[slot_off[i]] = (flags >> (1 + i)) & 1 ? 0xE9 : 0x00;
    }
    memset(g_emu.mem + OTADATA, 0xFF, 0x2000);
    memcpy(g_emu.mem + OTADATA, data, size);
    check_entries(g_emu.mem + OTADATA, g_emu.mem + OTADATA + 0x1000);

    bool any_loads = false;
    for (uint32_t i = 0; i < table.count; i++) {
        if (table.parts[i].type == MPOTA_PART_TYPE_APP && loads(&table.parts[i])) {
            any_loads = true;
        }
    }

    struct mpota_boot_ctx ctx = {.flash = &g_emu.flash, .table = &table, .chip = MPOTA_CHIP_ESP32,
                                 .rollback_enabled = (flags & 1) != 0};
    // Resets until one writes nothing (from then on nothing changes): within
    // 5 resets with rollback (PENDING/ABORTED/initial writes), 2 without.
    struct mpota_boot_report r;
    int n = 0;
    for (;; n++) {
        int rc = mpota_boot_select(&ctx, &r);
        if (small_otadata) {
            CHECK(rc == MPOTA_ERR_OTADATA_SIZE && r.booted == NULL);
            return 0;
        }
        CHECK(r.n_writes <= MPOTA_BOOT_MAX_WRITES);
        for (unsigned i = 0; i < r.n_writes; i++) {
            CHECK(r.writes[i].err == 0);
        }
        if (!any_loads) {
            CHECK(rc == MPOTA_ERR_NO_BOOTABLE_APP && r.booted == NULL);
            return 0;
        }
        CHECK(rc == 0 && r.booted && loads(r.booted));
        check_entries(g_emu.mem + OTADATA, g_emu.mem + OTADATA + 0x1000);
        if (r.n_writes == 0) {
            break;
        }
        CHECK(n < 4);
    }
    CHECK(ctx.rollback_enabled || n <= 1);
    const struct mpota_partition *fixed = r.booted;
    CHECK(mpota_boot_select(&ctx, &r) == 0 && r.n_writes == 0 && r.booted == fixed);
    int selected = r.selected_index;

    // The app side predicts the bootloader's choice (the bootloader starts at
    // "factory" even without one when no entry is valid: not comparable).
    const struct mpota_partition *predicted = NULL;
    if (!no_otadata && (selected >= 0 || (flags & 0x40))) {
        CHECK(mpota_boot_get_boot_partition(&ctx, &predicted) == 0);
        const struct mpota_partition *chosen =
            selected >= 0 ? mpota_part_find_label(&table, names[selected])
                          : mpota_part_find_label(&table, "factory");
        CHECK(predicted == chosen);
    }

    // mark_valid changes nothing a reset chooses.
    if (!no_otadata && mpota_boot_mark_valid(&ctx) == 0) {
        CHECK(mpota_boot_select(&ctx, &r) == 0 && r.n_writes == 0 && r.booted == fixed &&
              r.selected_index == selected);
    }

    // set_boot(ota_N) then a reset selects ota_N (and boots it: it loads).
    if (no_otadata) {
        return 0;
    }
    uint32_t slot = (uint32_t)(shape >> 5) % n_ota;
    const struct mpota_partition *target = mpota_part_find_label(&table, names[slot]);
    CHECK(target != NULL);
    int rc = mpota_boot_set_boot(&ctx, target, NULL);
    if (!loads(target)) {
        CHECK(rc != 0);
        return 0;
    }
    if (rc == MPOTA_ERR_OTADATA_SEQ_WRAP) {
        return 0;
    }
    CHECK(rc == 0);
    rc = mpota_boot_select(&ctx, &r);
    CHECK(rc == 0);
    CHECK(r.selected_index == (int)slot);
    CHECK(r.booted == target);
    return 0;
}
