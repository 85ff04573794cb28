// App-side OTA operations (SPEC §3.8-3.10, ESP-IDF <= v5.5): set_boot's seq
// formula and refusals, factory, mark valid/invalid, rollback-possible,
// last-invalid, boot partition, next update, state, invalidate-inactive.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "boot_rig.h"
#include "flash_emu.h"
#include "mpota/boot.h"
#include "mpota/err.h"
#include "mpota/image.h"
#include "mpota/otadata.h"
#include "mpota/part.h"
#include "table_build.h"

static int set_boot(struct boot_rig *b, const char *label)
{
    return mpota_boot_set_boot(&b->ctx, rig_part(b, label), NULL);
}

// SPEC §3.9 example: 2 slots from sector0 = {1}: seq 2, 3, 4.
static void test_set_boot_two_slots(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    assert_int_equal(set_boot(b, "ota_1"), 0);
    rig_assert_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
    assert_int_equal(b->emu.count.sector_erases, 1);
    assert_int_equal(b->emu.count.progs, 1);
    assert_int_equal(b->emu.count.prog_bytes, 32);
    assert_int_equal(set_boot(b, "ota_0"), 0);
    rig_assert_entry(b, 0, 3, MPOTA_OTA_STATE_NEW);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
    assert_int_equal(set_boot(b, "ota_1"), 0);
    rig_assert_entry(b, 0, 3, MPOTA_OTA_STATE_NEW);
    rig_assert_entry(b, 1, 4, MPOTA_OTA_STATE_NEW);
    assert_string_equal(rig_boot(b, NULL), "ota_1");
}

// SPEC §3.9: 8 slots, active seq 5 (slot 4), target ota_7 -> seq 8.
static void test_set_boot_eight_slots(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_EIGHT);
    rig_set_entry(b, 0, 4, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 5, MPOTA_OTA_STATE_VALID);
    assert_string_equal(rig_boot(b, NULL), "ota_4");
    assert_int_equal(set_boot(b, "ota_7"), 0);
    rig_assert_entry(b, 0, 8, MPOTA_OTA_STATE_NEW);
    rig_assert_entry(b, 1, 5, MPOTA_OTA_STATE_VALID);
    assert_string_equal(rig_boot(b, NULL), "ota_7");
}

// ESP-IDF's loop, kept literally as the reference (32-bit arithmetic).
static uint32_t idf_new_seq(uint32_t seq, uint32_t slot, uint32_t count)
{
    uint32_t i = 0;
    while (seq > (slot + 1) % count + i * count) {
        i++;
    }
    return (slot + 1) % count + i * count;
}

static void test_set_boot_formula_against_idf_loop(void **state)
{
    struct boot_rig *b = rig_get(state);
    static const enum rig_layout layouts[] = {RIG_OTA2, RIG_MANY, RIG_EIGHT};
    static const uint32_t counts[] = {2, 3, 8};
    unsigned checked = 0;
    for (unsigned l = 0; l < 3; l++) {
        rig_layout(b, layouts[l]);
        for (uint32_t seq = 1; seq <= 40; seq++) {
            for (uint32_t slot = 0; slot < counts[l]; slot++) {
                unsigned active = seq % 2;  // both sectors take the active role
                rig_set_entry(b, active, seq, MPOTA_OTA_STATE_VALID);
                memset(b->emu.mem + RIG_OTADATA + (active ^ 1) * 0x1000u, 0xFF, 0x1000);
                char name[16];
                snprintf(name, sizeof(name), "ota_%u", (unsigned)slot);
                assert_int_equal(set_boot(b, name), 0);
                rig_assert_entry(b, active ^ 1, idf_new_seq(seq, slot, counts[l]),
                                 MPOTA_OTA_STATE_NEW);
                rig_assert_entry(b, active, seq, MPOTA_OTA_STATE_VALID);
                checked++;
            }
        }
    }
    assert_int_equal(checked, 40 * (2 + 3 + 8));
}

// <= v5.5: the same slot again writes the OTHER sector with the same seq;
// the tie then picks sector 0.
static void test_set_boot_same_slot_v55(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    assert_int_equal(set_boot(b, "ota_1"), 0);
    rig_assert_entry(b, 0, 2, MPOTA_OTA_STATE_NEW);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    assert_string_equal(rig_boot(b, NULL), "ota_1");
    rig_assert_entry(b, 0, 2, MPOTA_OTA_STATE_PENDING_VERIFY);
    // Active in sector 0 this time: sector 1 gets the NEW copy, which the
    // tie rule never looks at while sector 0 stays valid.
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);
    assert_int_equal(set_boot(b, "ota_1"), 0);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
    assert_string_equal(rig_boot(b, NULL), "ota_1");
    rig_assert_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
    assert_int_equal(b->emu.count.ops, 2);  // only set_boot wrote
}

static void test_set_boot_without_active_entry(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    assert_int_equal(set_boot(b, "ota_1"), 0);
    rig_assert_entry(b, 0, 2, MPOTA_OTA_STATE_NEW);
    rig_assert_blank(b, 1);

    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 3, MPOTA_OTA_STATE_ABORTED);
    rig_set_entry(b, 1, 4, MPOTA_OTA_STATE_INVALID);
    assert_int_equal(set_boot(b, "ota_0"), 0);
    rig_assert_entry(b, 0, 1, MPOTA_OTA_STATE_NEW);
    rig_assert_entry(b, 1, 4, MPOTA_OTA_STATE_INVALID);
    assert_string_equal(rig_boot(b, NULL), "ota_0");
}

static void test_set_boot_rollback_disabled(void **state)
{
    struct boot_rig *b = rig_get(state);
    b->ctx.rollback_enabled = false;
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    assert_int_equal(set_boot(b, "ota_1"), 0);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_UNDEFINED);
}

static void test_set_boot_keeps_seq_label(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 1, MPOTA_OTA_STATE_INVALID);
    memcpy(b->emu.mem + RIG_OTADATA + 0x1000 + 4, "some label bytes :-)", 20);
    assert_int_equal(set_boot(b, "ota_1"), 0);
    const uint8_t *s1 = b->emu.mem + RIG_OTADATA + 0x1000;
    assert_memory_equal(s1 + 4, "some label bytes :-)", 20);
    struct mpota_otadata_entry e;
    mpota_otadata_decode(s1, &e);
    assert_int_equal(e.ota_seq, 2);
    assert_int_equal(e.ota_state, MPOTA_OTA_STATE_NEW);
    assert_int_equal(e.crc, 0x55F63774u);
}

struct cut {
    jmp_buf jb;
};

static void on_cut(void *arg)
{
    longjmp(((struct cut *)arg)->jb, 1);
}

static void test_set_boot_factory_erases_otadata(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_FACTORY);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    assert_string_equal(rig_boot(b, NULL), "ota_1");
    assert_int_equal(set_boot(b, "factory"), 0);
    rig_assert_blank(b, 0);
    rig_assert_blank(b, 1);
    assert_int_equal(b->emu.count.sector_erases, 2);
    assert_int_equal(b->emu.count.progs, 0);
    assert_string_equal(rig_boot(b, NULL), "factory");

    // The inactive sector goes first: a cut after it still boots ota_1.
    rig_layout(b, RIG_FACTORY);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    struct cut c;
    b->emu.on_cut = on_cut;
    b->emu.on_cut_arg = &c;
    b->emu.tear = MPOTA_FLASH_EMU_TEAR_ALL;
    b->emu.fail_after = 1;
    if (setjmp(c.jb) == 0) {
        set_boot(b, "factory");
        fail_msg("no cut");
    }
    mpota_flash_emu_power_on(&b->emu);
    rig_assert_blank(b, 0);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    assert_string_equal(rig_boot(b, NULL), "ota_1");
    // Active in sector 0, an older valid entry in sector 1: sector 1 first,
    // so the cut never brings the older app back.
    rig_layout(b, RIG_FACTORY);
    rig_set_entry(b, 0, 3, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    b->emu.fail_after = 1;
    if (setjmp(c.jb) == 0) {
        set_boot(b, "factory");
        fail_msg("no cut");
    }
    mpota_flash_emu_power_on(&b->emu);
    rig_assert_entry(b, 0, 3, MPOTA_OTA_STATE_VALID);
    rig_assert_blank(b, 1);
    assert_string_equal(rig_boot(b, NULL), "ota_0");
    b->emu.on_cut = NULL;

    // No otadata partition: NOT_FOUND, nothing erased.
    rig_layout(b, RIG_FACTORY);
    b->table.parts[1].subtype = MPOTA_PART_SUBTYPE_PHY;
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    assert_int_equal(set_boot(b, "factory"), MPOTA_ERR_OTADATA_MISSING);
    assert_int_equal(set_boot(b, "ota_0"), MPOTA_ERR_OTADATA_MISSING);
    assert_int_equal(b->emu.count.ops, 0);
}

// An image that does not verify: an error and not one byte of otadata changed.
static void test_set_boot_invalid_image_writes_nothing(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_MANY);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    uint8_t before[0x2000];
    memcpy(before, b->emu.mem + RIG_OTADATA, sizeof(before));
    struct mpota_diag d;

    rig_break_app(b, "ota_1");
    memset(&d, 0, sizeof(d));
    int rc = mpota_boot_set_boot(&b->ctx, rig_part(b, "ota_1"), &d);
    assert_true(rc <= MPOTA_ERR_IMAGE_MAGIC && rc >= -119);  // the image range
    assert_int_equal(d.err, rc);

    memset(b->emu.mem + rig_part(b, "ota_2")->offset, 0xFF, 0x20000);  // erased slot
    rc = set_boot(b, "ota_2");
    assert_true(rc <= MPOTA_ERR_IMAGE_MAGIC && rc >= -119);

    rc = set_boot(b, "nvs");  // a data partition fails verification first
    assert_true(rc < 0);
    assert_int_not_equal(rc, MPOTA_ERR_INVALID_ARG);

    b->ctx.chip = MPOTA_CHIP_ESP32S3;
    assert_int_equal(set_boot(b, "ota_0"), MPOTA_ERR_IMAGE_CHIP);
    assert_int_equal(set_boot(b, "factory"), MPOTA_ERR_IMAGE_CHIP);

    assert_int_equal(b->emu.count.ops, 0);
    assert_memory_equal(b->emu.mem + RIG_OTADATA, before, sizeof(before));
}

static void test_set_boot_refusals(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_MANY);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    struct mpota_diag d;
    memset(&d, 0, sizeof(d));
    assert_int_equal(mpota_boot_set_boot(&b->ctx, NULL, &d), MPOTA_ERR_INVALID_ARG);
    // The test app verifies, but is not an OTA slot (ESP-IDF would select
    // ota_0 for it): refused.
    assert_int_equal(mpota_boot_set_boot(&b->ctx, rig_part(b, "test"), &d), MPOTA_ERR_NOT_OTA_SLOT);
    assert_string_equal(d.label, "test");
    // Not an app, though its content is an image.
    struct mpota_partition fake = *rig_part(b, "ota_1");
    fake.type = MPOTA_PART_TYPE_DATA;
    assert_int_equal(mpota_boot_set_boot(&b->ctx, &fake, NULL), MPOTA_ERR_INVALID_ARG);
    assert_int_equal(b->emu.count.ops, 0);

    // ota_2 beyond the contiguous count (no ota_1 here): INVALID_ARG.
    struct mpota_table *t = &b->table;
    memset(t, 0, sizeof(*t));
    table_add(t, "otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, RIG_OTADATA, 0x2000);
    table_add(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x30000, 0x20000);
    table_add(t, "ota_2", MPOTA_PART_TYPE_APP, 0x12, 0x70000, 0x20000);
    memset(&d, 0, sizeof(d));
    assert_int_equal(mpota_boot_set_boot(&b->ctx, rig_part(b, "ota_2"), &d), MPOTA_ERR_INVALID_ARG);
    assert_string_equal(d.label, "ota_2");
    assert_int_equal(b->emu.count.ops, 0);
}

// Where ESP-IDF would write an empty record (seq 0xFFFFFFFF) we refuse.
static void test_set_boot_seq_wrap(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 0xFFFFFFFEu, MPOTA_OTA_STATE_VALID);  // slot 1
    struct mpota_diag d;
    memset(&d, 0, sizeof(d));
    assert_int_equal(mpota_boot_set_boot(&b->ctx, rig_part(b, "ota_0"), &d),
                     MPOTA_ERR_OTADATA_SEQ_WRAP);
    assert_int_equal(d.actual, 0xFFFFFFFEu);
    assert_int_equal(b->emu.count.ops, 0);
    assert_int_equal(set_boot(b, "ota_1"), 0);  // same slot: seq 0xFFFFFFFE again
    rig_assert_entry(b, 1, 0xFFFFFFFEu, MPOTA_OTA_STATE_NEW);

    // A corrupt active seq 0 (valid: crc(0) = 0xFFFFFFFF). Targeting the last
    // slot gives seq 0 again: on 2 slots it still selects ota_1 (ESP-IDF's
    // bytes, written); on 3 slots it would select ota_0: refused.
    rig_layout(b, RIG_OTA2);
    memset(b->emu.mem + RIG_OTADATA, 0x00, 4);
    assert_int_equal(set_boot(b, "ota_1"), 0);
    const uint8_t *s1 = b->emu.mem + RIG_OTADATA + 0x1000;
    static const uint8_t zero_new[32] = {0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                         0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                         0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF};
    assert_memory_equal(s1, zero_new, 32);
    assert_string_equal(rig_boot(b, NULL), "ota_1");
    rig_layout(b, RIG_MANY);
    memset(b->emu.mem + RIG_OTADATA, 0x00, 4);
    assert_int_equal(set_boot(b, "ota_2"), MPOTA_ERR_OTADATA_SEQ_WRAP);
    assert_int_equal(b->emu.count.ops, 0);
    assert_int_equal(set_boot(b, "ota_1"), 0);  // base 2 > 0: seq 2
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
}

// After a torn initial record (see test_boot_select.c) mark_valid has no
// active entry (ESP_FAIL in MicroPython); the next set_boot writes sector 0
// afresh since no entry is valid.
static void test_set_boot_repairs_torn_initial_record(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    uint8_t *s0 = b->emu.mem + RIG_OTADATA;
    s0[0] = 0x01;
    s0[1] = s0[2] = s0[3] = 0x00;
    assert_string_equal(rig_boot(b, NULL), "ota_0");
    assert_int_equal(mpota_boot_mark_valid(&b->ctx), MPOTA_ERR_OTADATA_NO_ACTIVE);
    assert_int_equal(set_boot(b, "ota_1"), 0);
    rig_assert_entry(b, 0, 2, MPOTA_OTA_STATE_NEW);
    assert_string_equal(rig_boot(b, NULL), "ota_1");
    assert_int_equal(mpota_boot_mark_valid(&b->ctx), 0);
    rig_assert_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);
}

// ESP-IDF <= v5.5 hazard: set_boot() of the slot that runs PENDING_VERIFY
// writes the other sector -- the one holding the rollback target -- with the
// same seq. Without confirmation both entries end ABORTED and the bootloader
// falls back to ota_0 (or factory), not to the previous app. An update engine
// must not call set_boot while the running app is unconfirmed (ESP-IDF's
// esp_ota_begin refuses then: ESP_ERR_OTA_ROLLBACK_INVALID_STATE).
static void test_set_boot_on_pending_slot_loses_rollback_target(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 3, MPOTA_OTA_STATE_NEW);    // ota_0, just selected
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);  // ota_1, the previous app
    assert_string_equal(rig_boot(b, NULL), "ota_0");
    rig_assert_entry(b, 0, 3, MPOTA_OTA_STATE_PENDING_VERIFY);
    uint32_t st = 0;
    assert_int_equal(mpota_boot_get_state(&b->ctx, rig_part(b, "ota_0"), &st), 0);
    assert_int_equal(st, MPOTA_OTA_STATE_PENDING_VERIFY);
    assert_int_equal(set_boot(b, "ota_0"), 0);
    rig_assert_entry(b, 1, 3, MPOTA_OTA_STATE_NEW);  // ota_1's VALID entry is gone
    assert_string_equal(rig_boot(b, NULL), "ota_0");
    assert_string_equal(rig_boot(b, NULL), "ota_0");  // both ABORTED now: default ota_0
    rig_assert_entry(b, 0, 3, MPOTA_OTA_STATE_ABORTED);
    rig_assert_entry(b, 1, 3, MPOTA_OTA_STATE_ABORTED);
}

static void test_mark_valid(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    assert_int_equal(mpota_boot_mark_valid(&b->ctx), MPOTA_ERR_OTADATA_NO_ACTIVE);  // blank
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_PENDING_VERIFY);
    assert_int_equal(mpota_boot_mark_valid(&b->ctx), 0);
    rig_assert_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    assert_int_equal(b->emu.count.sector_erases, 1);
    assert_int_equal(b->emu.count.progs, 1);
    // Already valid: no write at all.
    mpota_flash_emu_reset_counters(&b->emu);
    assert_int_equal(mpota_boot_mark_valid(&b->ctx), 0);
    assert_int_equal(b->emu.count.ops, 0);
    // It is the ACTIVE entry that changes (here sector 0, seq 3), whatever runs.
    rig_set_entry(b, 0, 3, MPOTA_OTA_STATE_NEW);
    assert_int_equal(mpota_boot_mark_valid(&b->ctx), 0);
    rig_assert_entry(b, 0, 3, MPOTA_OTA_STATE_VALID);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    // Given up entries only: no active one.
    rig_set_entry(b, 0, 3, MPOTA_OTA_STATE_ABORTED);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_INVALID);
    assert_int_equal(mpota_boot_mark_valid(&b->ctx), MPOTA_ERR_OTADATA_NO_ACTIVE);
    b->table.parts[1].subtype = MPOTA_PART_SUBTYPE_PHY;
    assert_int_equal(mpota_boot_mark_valid(&b->ctx), MPOTA_ERR_OTADATA_MISSING);
}

static void test_mark_invalid_and_rollback_possible(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_PENDING_VERIFY);
    assert_int_equal(mpota_boot_rollback_possible(&b->ctx), 1);
    assert_int_equal(mpota_boot_mark_invalid(&b->ctx), 0);
    rig_assert_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_INVALID);
    assert_string_equal(rig_boot(b, NULL), "ota_0");
    // Now ota_0 is active and the other entry is INVALID, no factory.
    assert_int_equal(mpota_boot_rollback_possible(&b->ctx), 0);
    mpota_flash_emu_reset_counters(&b->emu);
    assert_int_equal(mpota_boot_mark_invalid(&b->ctx), MPOTA_ERR_ROLLBACK_IMPOSSIBLE);
    assert_int_equal(b->emu.count.ops, 0);

    // The other entry is valid but its app is broken: impossible.
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    assert_int_equal(mpota_boot_rollback_possible(&b->ctx), 1);
    rig_break_app(b, "ota_0");
    assert_int_equal(mpota_boot_rollback_possible(&b->ctx), 0);

    // Factory: other entry blank -> factory counts if it verifies.
    rig_layout(b, RIG_FACTORY);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    assert_int_equal(mpota_boot_rollback_possible(&b->ctx), 1);
    assert_int_equal(mpota_boot_mark_invalid(&b->ctx), 0);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_INVALID);
    assert_string_equal(rig_boot(b, NULL), "factory");
    rig_layout(b, RIG_FACTORY);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    rig_break_app(b, "factory");
    assert_int_equal(mpota_boot_rollback_possible(&b->ctx), 0);

    // No active entry / no otadata.
    rig_layout(b, RIG_FACTORY);
    assert_int_equal(mpota_boot_rollback_possible(&b->ctx), 0);
    assert_int_equal(mpota_boot_mark_invalid(&b->ctx), MPOTA_ERR_OTADATA_NO_ACTIVE);
    b->table.parts[1].subtype = MPOTA_PART_SUBTYPE_PHY;
    assert_int_equal(mpota_boot_rollback_possible(&b->ctx), 0);
    assert_int_equal(mpota_boot_mark_invalid(&b->ctx), MPOTA_ERR_OTADATA_MISSING);
}

static void test_last_invalid(void **state)
{
    struct boot_rig *b = rig_get(state);
    const struct mpota_partition *p = (const void *)1;
    rig_layout(b, RIG_OTA2);
    assert_int_equal(mpota_boot_last_invalid(&b->ctx, &p), 0);
    assert_null(p);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);
    assert_int_equal(mpota_boot_last_invalid(&b->ctx, &p), 0);
    assert_ptr_equal(p, rig_part(b, "ota_1"));
    // Both given up: the smaller seq (seq 2 in sector 1 -> ota_1).
    rig_set_entry(b, 0, 3, MPOTA_OTA_STATE_INVALID);
    assert_int_equal(mpota_boot_last_invalid(&b->ctx, &p), 0);
    assert_ptr_equal(p, rig_part(b, "ota_1"));
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_INVALID);
    assert_int_equal(mpota_boot_last_invalid(&b->ctx, &p), 0);
    assert_ptr_equal(p, rig_part(b, "ota_0"));
    // A bad CRC is no candidate.
    rig_set_raw(b, 0, 1, MPOTA_OTA_STATE_INVALID, 0);
    assert_int_equal(mpota_boot_last_invalid(&b->ctx, &p), 0);
    assert_ptr_equal(p, rig_part(b, "ota_1"));
    // Its app broken: NULL.
    rig_break_app(b, "ota_1");
    assert_int_equal(mpota_boot_last_invalid(&b->ctx, &p), 0);
    assert_null(p);
    b->table.parts[1].subtype = MPOTA_PART_SUBTYPE_PHY;
    assert_int_equal(mpota_boot_last_invalid(&b->ctx, &p), MPOTA_ERR_OTADATA_MISSING);
}

static void test_get_boot_partition(void **state)
{
    struct boot_rig *b = rig_get(state);
    const struct mpota_partition *p = NULL;
    rig_layout(b, RIG_OTA2);
    assert_int_equal(mpota_boot_get_boot_partition(&b->ctx, &p), 0);
    assert_ptr_equal(p, rig_part(b, "ota_0"));
    rig_layout(b, RIG_FACTORY);
    assert_int_equal(mpota_boot_get_boot_partition(&b->ctx, &p), 0);
    assert_ptr_equal(p, rig_part(b, "factory"));
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
    assert_int_equal(mpota_boot_get_boot_partition(&b->ctx, &p), 0);
    assert_ptr_equal(p, rig_part(b, "ota_1"));
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);
    assert_int_equal(mpota_boot_get_boot_partition(&b->ctx, &p), 0);
    assert_ptr_equal(p, rig_part(b, "factory"));
    rig_set_raw(b, 1, 2, MPOTA_OTA_STATE_VALID, 0);  // bad CRC: "assuming factory"
    assert_int_equal(mpota_boot_get_boot_partition(&b->ctx, &p), 0);
    assert_ptr_equal(p, rig_part(b, "factory"));
    b->table.parts[1].subtype = MPOTA_PART_SUBTYPE_PHY;
    assert_int_equal(mpota_boot_get_boot_partition(&b->ctx, &p), MPOTA_ERR_OTADATA_MISSING);

    // Only a test app.
    struct mpota_table *t = &b->table;
    memset(t, 0, sizeof(*t));
    table_add(t, "otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, RIG_OTADATA, 0x2000);
    table_add(t, "test", MPOTA_PART_TYPE_APP, 0x20, 0x90000, 0x20000);
    assert_int_equal(mpota_boot_get_boot_partition(&b->ctx, &p), 0);
    assert_ptr_equal(p, rig_part(b, "test"));
    t->count = 1;
    assert_int_equal(mpota_boot_get_boot_partition(&b->ctx, &p), MPOTA_ERR_NOT_FOUND);
}

static void test_get_next_update(void **state)
{
    struct boot_rig *b = rig_get(state);
    struct mpota_table *t = &b->table;
    const struct mpota_partition *p = NULL;
    memset(t, 0, sizeof(*t));
    table_add(t, "factory", MPOTA_PART_TYPE_APP, 0x00, 0x10000, 0x20000);
    table_add(t, "ota_1", MPOTA_PART_TYPE_APP, 0x11, 0x30000, 0x20000);  // table order
    table_add(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x50000, 0x20000);  // differs
    table_add(t, "ota_3", MPOTA_PART_TYPE_APP, 0x13, 0x70000, 0x20000);
    assert_int_equal(mpota_boot_get_next_update(&b->ctx, rig_part(b, "ota_0"), &p), 0);
    assert_ptr_equal(p, rig_part(b, "ota_1"));
    assert_int_equal(mpota_boot_get_next_update(&b->ctx, rig_part(b, "ota_1"), &p), 0);
    assert_ptr_equal(p, rig_part(b, "ota_3"));  // subtype order, gaps skipped
    assert_int_equal(mpota_boot_get_next_update(&b->ctx, rig_part(b, "ota_3"), &p), 0);
    assert_ptr_equal(p, rig_part(b, "ota_0"));  // last -> first
    assert_int_equal(mpota_boot_get_next_update(&b->ctx, rig_part(b, "factory"), &p), 0);
    assert_ptr_equal(p, rig_part(b, "ota_0"));
    struct mpota_partition copy = *rig_part(b, "ota_0");  // a copy, not a table pointer
    assert_int_equal(mpota_boot_get_next_update(&b->ctx, &copy, &p), 0);
    assert_ptr_equal(p, rig_part(b, "ota_1"));
    assert_int_equal(mpota_boot_get_next_update(&b->ctx, NULL, &p), MPOTA_ERR_INVALID_ARG);
    t->count = 1;
    assert_int_equal(mpota_boot_get_next_update(&b->ctx, rig_part(b, "factory"), &p),
                     MPOTA_ERR_NO_OTA_SLOTS);
    assert_null(p);
}

static void test_get_state(void **state)
{
    struct boot_rig *b = rig_get(state);
    uint32_t st = 0x55;
    rig_layout(b, RIG_FACTORY);
    assert_int_equal(mpota_boot_get_state(&b->ctx, rig_part(b, "ota_0"), &st), MPOTA_ERR_NOT_FOUND);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_PENDING_VERIFY);
    assert_int_equal(mpota_boot_get_state(&b->ctx, rig_part(b, "ota_0"), &st), 0);
    assert_int_equal(st, MPOTA_OTA_STATE_VALID);
    assert_int_equal(mpota_boot_get_state(&b->ctx, rig_part(b, "ota_1"), &st), 0);
    assert_int_equal(st, MPOTA_OTA_STATE_PENDING_VERIFY);
    assert_int_equal(mpota_boot_get_state(&b->ctx, rig_part(b, "factory"), &st),
                     MPOTA_ERR_NOT_OTA_SLOT);
    // Given-up states are reported too; a bad CRC hides the entry.
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);
    assert_int_equal(mpota_boot_get_state(&b->ctx, rig_part(b, "ota_1"), &st), 0);
    assert_int_equal(st, MPOTA_OTA_STATE_ABORTED);
    rig_set_raw(b, 1, 2, MPOTA_OTA_STATE_VALID, 0);
    assert_int_equal(mpota_boot_get_state(&b->ctx, rig_part(b, "ota_1"), &st), MPOTA_ERR_NOT_FOUND);
    // Two entries for one slot: entry 0 answers.
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_INVALID);
    rig_set_entry(b, 1, 3, MPOTA_OTA_STATE_VALID);
    assert_int_equal(mpota_boot_get_state(&b->ctx, rig_part(b, "ota_0"), &st), 0);
    assert_int_equal(st, MPOTA_OTA_STATE_INVALID);
    b->table.parts[1].subtype = MPOTA_PART_SUBTYPE_PHY;
    assert_int_equal(mpota_boot_get_state(&b->ctx, rig_part(b, "ota_0"), &st),
                     MPOTA_ERR_OTADATA_MISSING);
}

static void test_invalidate_inactive(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    assert_int_equal(mpota_boot_invalidate_inactive(&b->ctx, rig_part(b, "ota_0")),
                     MPOTA_ERR_SLOT_IS_RUNNING);
    assert_int_equal(b->emu.count.ops, 0);
    assert_int_equal(mpota_boot_rollback_possible(&b->ctx), 1);
    assert_int_equal(mpota_boot_invalidate_inactive(&b->ctx, rig_part(b, "ota_1")), 0);
    rig_assert_blank(b, 0);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    assert_int_equal(b->emu.count.sector_erases, 1);
    assert_int_equal(b->emu.count.ops, 1);
    assert_int_equal(mpota_boot_rollback_possible(&b->ctx), 0);
    assert_string_equal(rig_boot(b, NULL), "ota_1");
    // Nothing left to invalidate.
    assert_int_equal(mpota_boot_invalidate_inactive(&b->ctx, rig_part(b, "ota_1")),
                     MPOTA_ERR_NOT_FOUND);
    rig_layout(b, RIG_OTA2);
    assert_int_equal(mpota_boot_invalidate_inactive(&b->ctx, rig_part(b, "ota_0")),
                     MPOTA_ERR_OTADATA_NO_ACTIVE);
    // The inactive entry given up but intact (good CRC): still erased.
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);
    assert_int_equal(mpota_boot_invalidate_inactive(&b->ctx, rig_part(b, "ota_0")), 0);
    rig_assert_blank(b, 1);
    assert_int_equal(mpota_boot_invalidate_inactive(&b->ctx, NULL), MPOTA_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, rig_setup, rig_teardown)
        T(test_set_boot_two_slots),
        T(test_set_boot_eight_slots),
        T(test_set_boot_formula_against_idf_loop),
        T(test_set_boot_same_slot_v55),
        T(test_set_boot_without_active_entry),
        T(test_set_boot_rollback_disabled),
        T(test_set_boot_keeps_seq_label),
        T(test_set_boot_factory_erases_otadata),
        T(test_set_boot_invalid_image_writes_nothing),
        T(test_set_boot_refusals),
        T(test_set_boot_seq_wrap),
        T(test_set_boot_repairs_torn_initial_record),
        T(test_set_boot_on_pending_slot_loses_rollback_target),
        T(test_mark_valid),
        T(test_mark_invalid_and_rollback_possible),
        T(test_last_invalid),
        T(test_get_boot_partition),
        T(test_get_next_update),
        T(test_get_state),
        T(test_invalidate_inactive),
#undef T
    };
    return cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown);
}
