// The boot rig for cmocka tests of boot selection and the app-side OTA
// operations: a 4 MiB emulated NOR flash in RAM, a partition table and a
// boot context over them (ESP32, rollback enabled), the real ESP32 app
// shared/testdata/images/app-v1.0.1.bin in every app slot, and otadata
// written and checked as raw sectors, as a programmer or a flash dump sees it.
//
// Use: cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown)
// with every test under cmocka_unit_test_setup_teardown(f, rig_setup,
// rig_teardown); a test starts with `struct boot_rig *b = rig_get(state);`.
#ifndef MPOTA_BOOT_RIG_H
#define MPOTA_BOOT_RIG_H

#include <stddef.h>
#include <stdint.h>

#include "flash_emu.h"
#include "mpota/boot.h"
#include "mpota/otadata.h"
#include "mpota/part.h"

#define RIG_FLASH_SIZE (4u << 20)
#define RIG_OTADATA 0xD000u  // the otadata partition's address in every rig layout

// The app image the group loaded once (the group state).
struct rig_app {
    uint8_t *data;
    size_t len;
};

struct boot_rig {
    struct mpota_flash_emu emu;  // RIG_FLASH_SIZE bytes, counters per test
    struct mpota_table table;    // what ctx.table points to
    struct mpota_boot_ctx ctx;   // &emu.flash, &table, MPOTA_CHIP_ESP32, rollback on
    const struct rig_app *app;   // the group's image, not owned
};

// Tables rig_layout() writes; every one starts with nvs at 0x9000 and
// otadata at RIG_OTADATA (rows 0 and 1).
enum rig_layout {
    RIG_OTA2,     // MicroPython 4 MiB OTA: ota_0, ota_1, no factory
    RIG_FACTORY,  // factory, ota_0, ota_1
    RIG_MANY,     // factory, ota_0..ota_2, test (0x20000 each)
    RIG_EIGHT,    // ota_0..ota_7 (0x20000 each)
};

// cmocka group fixtures: read the app image if shared/testdata is present
// (the group state is then a struct rig_app, else NULL); free it.
int rig_group_setup(void **state);
int rig_group_teardown(void **state);

// cmocka test fixtures. Without the image rig_setup leaves *state NULL;
// else *state is a new rig with an erased flash and an empty table. Return 0,
// or -1 if the rig cannot be allocated.
int rig_setup(void **state);
int rig_teardown(void **state);

// The test's rig. Without one (no image) prints "SKIPPED: shared/testdata not
// found at <dir>/" and skips the test.
struct boot_rig *rig_get(void **state);

// Row `label` of t; fails the test if there is none.
const struct mpota_partition *rig_find(const struct mpota_table *t, const char *label);
// rig_find(&b->table, label).
const struct mpota_partition *rig_part(struct boot_rig *b, const char *label);

// Erases the chip, writes layout l into b->table, loads the image into every
// app row and resets the flash counters.
void rig_layout(struct boot_rig *b, enum rig_layout l);
// Loads the image at row `label` (asserts the load succeeds).
void rig_put_app(struct boot_rig *b, const char *label);
// Corrupts one byte inside the image's segments at row `label`: the checksum
// and the SHA-256 no longer match, so the app does not load.
void rig_break_app(struct boot_rig *b, const char *label);

// Writes otadata sector 0 or 1 as a programmer would: the 32-byte entry
// {seq, 20 x 0xFF, state, crc}, the rest of the sector 0xFF. No flash ops.
void rig_set_raw(struct boot_rig *b, unsigned sector, uint32_t seq, uint32_t state, uint32_t crc);
// rig_set_raw() with the correct CRC of seq.
void rig_set_entry(struct boot_rig *b, unsigned sector, uint32_t seq, uint32_t state);
// Decodes the entry of a sector into *e; asserts the rest of the sector is 0xFF.
void rig_get_entry(struct boot_rig *b, unsigned sector, struct mpota_otadata_entry *e);
// Asserts the sector holds exactly what ESP-IDF writes for {seq, state}: the
// correct CRC, a seq_label of 20 x 0xFF, and 0xFF after the entry.
void rig_assert_entry(struct boot_rig *b, unsigned sector, uint32_t seq, uint32_t state);
// Asserts all 4 KiB of the sector are 0xFF.
void rig_assert_blank(struct boot_rig *b, unsigned sector);

// A reset: runs the bootloader's selection, asserts it returns 0, boots an app
// and every write it made succeeded; returns the booted label. The report
// goes to *r, if r is not NULL.
const char *rig_boot(struct boot_rig *b, struct mpota_boot_report *r);

#endif
