#include "boot_rig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host_file.h"
#include "mpota/image.h"
#include "table_build.h"
#include "testutil.h"

#define SECTOR MPOTA_OTADATA_SECTOR_SIZE  // entry i alone in sector i (SPEC §3.2)

int rig_group_setup(void **state)
{
    *state = NULL;
    if (!testdata_present()) {
        return 0;
    }
    struct rig_app *app = calloc(1, sizeof(*app));
    if (!app) {
        return -1;
    }
    app->data = mpota_host_read_file(testdata_path("images/app-v1.0.1.bin"), &app->len);
    if (!app->data) {
        free(app);  // every test then skips, as without shared/testdata
        return 0;
    }
    *state = app;
    return 0;
}

int rig_group_teardown(void **state)
{
    struct rig_app *app = *state;
    if (app) {
        free(app->data);
        free(app);
    }
    return 0;
}

// cmocka starts each test's *state from the group state: the image.
int rig_setup(void **state)
{
    const struct rig_app *app = *state;
    if (!app) {
        *state = NULL;  // rig_get() skips the test
        return 0;
    }
    struct boot_rig *b = calloc(1, sizeof(*b));
    if (!b || mpota_flash_emu_open_ram(&b->emu, RIG_FLASH_SIZE) != 0) {
        free(b);
        return -1;
    }
    b->ctx.flash = &b->emu.flash;
    b->ctx.table = &b->table;
    b->ctx.chip = MPOTA_CHIP_ESP32;
    b->ctx.rollback_enabled = true;
    b->app = app;
    *state = b;
    return 0;
}

int rig_teardown(void **state)
{
    struct boot_rig *b = *state;
    if (b) {
        mpota_flash_emu_close(&b->emu);
        free(b);
    }
    return 0;
}

struct boot_rig *rig_get(void **state)
{
    if (!*state) {
        skip_for_missing_testdata();
    }
    return *state;
}

const struct mpota_partition *rig_find(const struct mpota_table *t, const char *label)
{
    const struct mpota_partition *p = mpota_part_find_label(t, label);
    if (!p) {
        fail_msg("no partition %s", label);
    }
    return p;
}

const struct mpota_partition *rig_part(struct boot_rig *b, const char *label)
{
    return rig_find(&b->table, label);
}

void rig_put_app(struct boot_rig *b, const char *label)
{
    assert_int_equal(mpota_flash_emu_load(&b->emu, rig_part(b, label)->offset, b->app->data,
                                          (uint32_t)b->app->len),
                     0);
}

void rig_break_app(struct boot_rig *b, const char *label)
{
    b->emu.mem[rig_part(b, label)->offset + 0x200] ^= 0x5A;
}

void rig_layout(struct boot_rig *b, enum rig_layout l)
{
    struct mpota_table *t = &b->table;
    memset(t, 0, sizeof(*t));
    memset(b->emu.mem, 0xFF, b->emu.size);  // a freshly erased chip
    table_add(t, "nvs", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_NVS, 0x9000, 0x4000);
    table_add(t, "otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, RIG_OTADATA,
              MPOTA_OTADATA_SIZE);
    switch (l) {
    case RIG_OTA2:
        table_add(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x10000, 0x180000);
        table_add(t, "ota_1", MPOTA_PART_TYPE_APP, 0x11, 0x190000, 0x180000);
        break;
    case RIG_FACTORY:
        table_add(t, "factory", MPOTA_PART_TYPE_APP, 0x00, 0x10000, 0x100000);
        table_add(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x110000, 0x100000);
        table_add(t, "ota_1", MPOTA_PART_TYPE_APP, 0x11, 0x210000, 0x100000);
        break;
    case RIG_MANY:
        table_add(t, "factory", MPOTA_PART_TYPE_APP, 0x00, 0x10000, 0x20000);
        table_add(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x30000, 0x20000);
        table_add(t, "ota_1", MPOTA_PART_TYPE_APP, 0x11, 0x50000, 0x20000);
        table_add(t, "ota_2", MPOTA_PART_TYPE_APP, 0x12, 0x70000, 0x20000);
        table_add(t, "test", MPOTA_PART_TYPE_APP, 0x20, 0x90000, 0x20000);
        break;
    case RIG_EIGHT:
        for (uint8_t i = 0; i < 8; i++) {
            char name[16];
            snprintf(name, sizeof(name), "ota_%u", (unsigned)i);
            table_add(t, name, MPOTA_PART_TYPE_APP, (uint8_t)(0x10 + i), 0x10000 + i * 0x20000u,
                      0x20000);
        }
        break;
    }
    for (uint32_t i = 0; i < t->count; i++) {
        if (t->parts[i].type == MPOTA_PART_TYPE_APP) {
            rig_put_app(b, t->parts[i].label);
        }
    }
    mpota_flash_emu_reset_counters(&b->emu);
}

void rig_set_raw(struct boot_rig *b, unsigned sector, uint32_t seq, uint32_t state, uint32_t crc)
{
    uint8_t *s = b->emu.mem + RIG_OTADATA + sector * SECTOR;
    memset(s, 0xFF, SECTOR);
    struct mpota_otadata_entry e;
    mpota_otadata_entry_init(&e, seq, state);
    e.crc = crc;
    mpota_otadata_encode(&e, s);
}

void rig_set_entry(struct boot_rig *b, unsigned sector, uint32_t seq, uint32_t state)
{
    rig_set_raw(b, sector, seq, state, mpota_otadata_crc(seq));
}

void rig_get_entry(struct boot_rig *b, unsigned sector, struct mpota_otadata_entry *e)
{
    const uint8_t *s = b->emu.mem + RIG_OTADATA + sector * SECTOR;
    mpota_otadata_decode(s, e);
    for (uint32_t i = MPOTA_OTADATA_ENTRY_SIZE; i < SECTOR; i++) {
        assert_int_equal(s[i], 0xFF);
    }
}

void rig_assert_entry(struct boot_rig *b, unsigned sector, uint32_t seq, uint32_t state)
{
    struct mpota_otadata_entry e;
    rig_get_entry(b, sector, &e);
    assert_int_equal(e.ota_seq, seq);
    assert_int_equal(e.ota_state, state);
    assert_int_equal(e.crc, mpota_otadata_crc(seq));
    for (uint32_t i = 0; i < MPOTA_OTADATA_LABEL_LEN; i++) {
        assert_int_equal(e.seq_label[i], 0xFF);
    }
}

void rig_assert_blank(struct boot_rig *b, unsigned sector)
{
    const uint8_t *s = b->emu.mem + RIG_OTADATA + sector * SECTOR;
    for (uint32_t i = 0; i < SECTOR; i++) {
        assert_int_equal(s[i], 0xFF);
    }
}

const char *rig_boot(struct boot_rig *b, struct mpota_boot_report *r)
{
    struct mpota_boot_report own;
    if (!r) {
        r = &own;
    }
    assert_int_equal(mpota_boot_select(&b->ctx, r), 0);
    assert_non_null(r->booted);
    for (unsigned i = 0; i < r->n_writes; i++) {
        assert_int_equal(r->writes[i].err, 0);
    }
    return r->booted->label;  // points into b->table, not into *r
}
