// Bootloader boot selection (SPEC §3.7): blank otadata with and without a
// factory app, rollback state changes, the tie rule, bad CRCs, skipped
// states, the load-fallback order, the initial record, the seq-0 quirk.
// Apps are the real ESP32 image shared/testdata/images/app-v1.0.1.bin.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot_rig.h"
#include "flash_emu.h"
#include "host_file.h"
#include "mpota/boot.h"
#include "mpota/err.h"
#include "mpota/image.h"
#include "mpota/otadata.h"
#include "mpota/part.h"
#include "table_build.h"
#include "testutil.h"

static void test_blank_no_factory_boots_ota0_and_writes_seq1(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    struct mpota_boot_report r;
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, 0);
    assert_int_equal(r.booted_index, 0);
    assert_int_equal(r.n_writes, 1);
    assert_int_equal(r.writes[0].kind, MPOTA_BOOT_WROTE_INITIAL);
    assert_int_equal(r.writes[0].sector, 0);
    rig_assert_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_assert_blank(b, 1);
    assert_int_equal(b->emu.count.sector_erases, 1);
    assert_int_equal(b->emu.count.progs, 1);
    // The next reset boots the same app and writes nothing.
    mpota_flash_emu_reset_counters(&b->emu);
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 0);
    assert_int_equal(b->emu.count.ops, 0);
}

static void test_blank_with_factory_boots_factory(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_FACTORY);
    struct mpota_boot_report r;
    assert_string_equal(rig_boot(b, &r), "factory");
    assert_int_equal(r.selected_index, MPOTA_BOOT_INDEX_FACTORY);
    assert_int_equal(r.booted_index, MPOTA_BOOT_INDEX_FACTORY);
    assert_int_equal(r.n_writes, 0);
    assert_int_equal(b->emu.count.ops, 0);
    rig_assert_blank(b, 0);
    rig_assert_blank(b, 1);
}

// testdata/otadata/blank-initial.bin, as an ESP-IDF build writes it.
static void test_blank_initial_file(void **state)
{
    struct boot_rig *b = rig_get(state);
    size_t len = 0;
    uint8_t *blank = mpota_host_read_file(testdata_path("otadata/blank-initial.bin"), &len);
    assert_non_null(blank);
    assert_int_equal(len, 0x2000);
    struct mpota_boot_report r;
    rig_layout(b, RIG_FACTORY);
    memset(b->emu.mem + RIG_OTADATA, 0x00, 0x2000);
    assert_int_equal(mpota_flash_emu_load(&b->emu, RIG_OTADATA, blank, 0x2000), 0);
    assert_string_equal(rig_boot(b, &r), "factory");
    assert_int_equal(r.n_writes, 0);
    rig_layout(b, RIG_OTA2);
    assert_int_equal(mpota_flash_emu_load(&b->emu, RIG_OTADATA, blank, 0x2000), 0);
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 1);
    rig_assert_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    free(blank);
}

// testdata/otadata/entry-seq1-badcrc.bin in sector 0, sector 1 blank: not
// "both invalid" (seq 1 is set, state UNDEFINED), yet no valid entry: the
// bootloader starts at factory ("try all partitions") and writes nothing.
static void test_badcrc_file_no_initial_write(void **state)
{
    struct boot_rig *b = rig_get(state);
    size_t len = 0;
    uint8_t *e = mpota_host_read_file(testdata_path("otadata/entry-seq1-badcrc.bin"), &len);
    assert_non_null(e);
    rig_layout(b, RIG_OTA2);
    assert_int_equal(mpota_flash_emu_load(&b->emu, RIG_OTADATA, e, (uint32_t)len), 0);
    struct mpota_boot_report r;
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, MPOTA_BOOT_INDEX_FACTORY);
    assert_int_equal(r.booted_index, 0);
    assert_int_equal(r.n_writes, 0);
    assert_int_equal(b->emu.count.ops, 0);
    free(e);
}

static void test_new_becomes_pending_then_aborted(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
    struct mpota_boot_report r;
    assert_string_equal(rig_boot(b, &r), "ota_1");
    assert_int_equal(r.n_writes, 1);
    assert_int_equal(r.writes[0].kind, MPOTA_BOOT_WROTE_PENDING);
    assert_int_equal(r.writes[0].sector, 1);
    rig_assert_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_PENDING_VERIFY);
    // Not confirmed: the next reset gives it up and rolls back.
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 1);
    assert_int_equal(r.writes[0].kind, MPOTA_BOOT_WROTE_ABORTED);
    assert_int_equal(r.writes[0].sector, 1);
    rig_assert_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);
    // Stable afterwards.
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 0);
}

static void test_rollback_disabled_writes_nothing(void **state)
{
    struct boot_rig *b = rig_get(state);
    b->ctx.rollback_enabled = false;
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_PENDING_VERIFY);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
    struct mpota_boot_report r;
    for (int i = 0; i < 3; i++) {
        assert_string_equal(rig_boot(b, &r), "ota_1");
        assert_int_equal(r.n_writes, 0);
    }
    assert_int_equal(b->emu.count.ops, 0);
    rig_assert_entry(b, 0, 1, MPOTA_OTA_STATE_PENDING_VERIFY);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
}

// PENDING_VERIFY becomes ABORTED whatever its CRC, and the bad CRC is
// written back as it was.
static void test_pending_with_bad_crc_aborted_as_is(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_raw(b, 1, 2, MPOTA_OTA_STATE_PENDING_VERIFY, 0x12345678u);
    struct mpota_boot_report r;
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 1);
    struct mpota_otadata_entry e;
    rig_get_entry(b, 1, &e);
    assert_int_equal(e.ota_seq, 2);
    assert_int_equal(e.ota_state, MPOTA_OTA_STATE_ABORTED);
    assert_int_equal(e.crc, 0x12345678u);
}

// Both PENDING: both aborted; both now invalid with good CRCs, so no factory
// -> ota_0 without an initial record; with factory -> factory.
static void test_both_pending(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_PENDING_VERIFY);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_PENDING_VERIFY);
    struct mpota_boot_report r;
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 2);
    assert_int_equal(r.writes[0].sector, 0);
    assert_int_equal(r.writes[1].sector, 1);
    rig_assert_entry(b, 0, 1, MPOTA_OTA_STATE_ABORTED);
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);

    rig_layout(b, RIG_FACTORY);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_PENDING_VERIFY);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_PENDING_VERIFY);
    assert_string_equal(rig_boot(b, &r), "factory");
    assert_int_equal(r.n_writes, 2);
}

// Two bad-CRC entries in PENDING_VERIFY: both aborted (CRCs kept), then
// both are given up and blank-or-bad-CRC: ota_0 gets the initial record.
static void test_three_writes(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    rig_set_raw(b, 0, 5, MPOTA_OTA_STATE_PENDING_VERIFY, 0);
    rig_set_raw(b, 1, 6, MPOTA_OTA_STATE_PENDING_VERIFY, 0);
    struct mpota_boot_report r;
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 3);
    assert_int_equal(r.writes[0].kind, MPOTA_BOOT_WROTE_ABORTED);
    assert_int_equal(r.writes[1].kind, MPOTA_BOOT_WROTE_ABORTED);
    assert_int_equal(r.writes[2].kind, MPOTA_BOOT_WROTE_INITIAL);
    rig_assert_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    struct mpota_otadata_entry e;
    rig_get_entry(b, 1, &e);
    assert_int_equal(e.ota_state, MPOTA_OTA_STATE_ABORTED);
    assert_int_equal(e.crc, 0);
}

static void test_tie_goes_to_sector0(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_MANY);
    // seq 3 in both: sector 0 wins; its NEW becomes PENDING; sector 1 stays.
    rig_set_entry(b, 0, 3, MPOTA_OTA_STATE_NEW);
    rig_set_entry(b, 1, 3, MPOTA_OTA_STATE_NEW);
    struct mpota_boot_report r;
    assert_string_equal(rig_boot(b, &r), "ota_2");
    assert_int_equal(r.n_writes, 1);
    assert_int_equal(r.writes[0].sector, 0);
    rig_assert_entry(b, 0, 3, MPOTA_OTA_STATE_PENDING_VERIFY);
    rig_assert_entry(b, 1, 3, MPOTA_OTA_STATE_NEW);
    // Next reset: sector 0 aborted, now sector 1 (same seq) is taken.
    assert_string_equal(rig_boot(b, &r), "ota_2");
    assert_int_equal(r.n_writes, 2);
    rig_assert_entry(b, 0, 3, MPOTA_OTA_STATE_ABORTED);
    rig_assert_entry(b, 1, 3, MPOTA_OTA_STATE_PENDING_VERIFY);

    // Different slots with equal seq cannot happen, but equal seq with
    // VALID in sector 0 means no write at all.
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
    assert_string_equal(rig_boot(b, &r), "ota_1");
    assert_int_equal(r.n_writes, 0);
}

static void test_bad_crc_one_and_both(void **state)
{
    struct boot_rig *b = rig_get(state);
    struct mpota_boot_report r;
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_raw(b, 1, 2, MPOTA_OTA_STATE_VALID, mpota_otadata_crc(2) ^ 0x100);
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 0);

    rig_layout(b, RIG_OTA2);
    rig_set_raw(b, 0, 3, MPOTA_OTA_STATE_VALID, 0xFFFFFFFFu);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    assert_string_equal(rig_boot(b, &r), "ota_1");

    // Both bad: no valid entry, not "both invalid": start at factory (absent
    // here), then forward from ota_0; no initial record.
    rig_layout(b, RIG_OTA2);
    rig_set_raw(b, 0, 2, MPOTA_OTA_STATE_VALID, 1);
    rig_set_raw(b, 1, 3, MPOTA_OTA_STATE_VALID, 2);
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, MPOTA_BOOT_INDEX_FACTORY);
    assert_int_equal(r.n_writes, 0);

    rig_layout(b, RIG_FACTORY);
    rig_set_raw(b, 0, 2, MPOTA_OTA_STATE_VALID, 1);
    rig_set_raw(b, 1, 3, MPOTA_OTA_STATE_VALID, 2);
    assert_string_equal(rig_boot(b, &r), "factory");

    // Both blank seq but with a bad crc pattern: "initial" again.
    rig_layout(b, RIG_OTA2);
    rig_set_raw(b, 0, 0xFFFFFFFFu, MPOTA_OTA_STATE_VALID, 0);
    rig_set_raw(b, 1, 4, MPOTA_OTA_STATE_INVALID, 0);
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, 0);
    assert_int_equal(r.n_writes, 1);
    assert_int_equal(r.writes[0].kind, MPOTA_BOOT_WROTE_INITIAL);
}

static void test_invalid_and_aborted_are_skipped(void **state)
{
    struct boot_rig *b = rig_get(state);
    struct mpota_boot_report r;
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_INVALID);
    assert_string_equal(rig_boot(b, &r), "ota_0");
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 0);

    // Both given up, good CRCs, no factory: ota_0, no record written.
    rig_set_entry(b, 0, 3, MPOTA_OTA_STATE_ABORTED);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_INVALID);
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, 0);
    assert_int_equal(r.n_writes, 0);
    rig_assert_entry(b, 0, 3, MPOTA_OTA_STATE_ABORTED);

    // One blank, one given up with a good CRC: not "initial" either.
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 0);
    rig_assert_blank(b, 0);

    rig_layout(b, RIG_FACTORY);
    rig_set_entry(b, 0, 3, MPOTA_OTA_STATE_ABORTED);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_INVALID);
    assert_string_equal(rig_boot(b, &r), "factory");

    // Unknown state values are bootable.
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 1, 2, 0x77u);
    assert_string_equal(rig_boot(b, &r), "ota_1");
}

// SPEC §3.7 load order: chosen index, lower ones down to factory, then
// higher ones, then test.
static void test_fallback_order(void **state)
{
    struct boot_rig *b = rig_get(state);
    struct mpota_boot_report r;
    rig_layout(b, RIG_MANY);
    rig_set_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);  // slot 1
    assert_string_equal(rig_boot(b, &r), "ota_1");
    rig_break_app(b, "ota_1");
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, 1);
    assert_int_equal(r.booted_index, 0);
    rig_break_app(b, "ota_0");
    assert_string_equal(rig_boot(b, &r), "factory");  // before ota_2
    rig_break_app(b, "factory");
    assert_string_equal(rig_boot(b, &r), "ota_2");
    assert_int_equal(r.booted_index, 2);
    rig_break_app(b, "ota_2");
    assert_string_equal(rig_boot(b, &r), "test");
    assert_int_equal(r.booted_index, MPOTA_BOOT_INDEX_TEST);
    rig_break_app(b, "test");
    assert_int_equal(mpota_boot_select(&b->ctx, &r), MPOTA_ERR_NO_BOOTABLE_APP);
    assert_null(r.booted);
    assert_int_equal(r.booted_index, MPOTA_BOOT_INDEX_NONE);
    assert_int_equal(r.selected_index, 1);
    // No fallback ever touched otadata.
    assert_int_equal(b->emu.count.ops, 0);
    rig_assert_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);
}

// Initial contents and ota_0 does not load: ota_1 boots and the record
// names it (seq 2).
static void test_initial_record_follows_the_fallback(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    rig_break_app(b, "ota_0");
    struct mpota_boot_report r;
    assert_string_equal(rig_boot(b, &r), "ota_1");
    assert_int_equal(r.n_writes, 1);
    rig_assert_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);
    rig_assert_blank(b, 1);
}

// A slot with a bad image and rollback: the new slot was marked PENDING,
// the old one booted; the next reset aborts the new one.
static void test_new_slot_that_does_not_load(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    rig_set_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
    rig_break_app(b, "ota_1");
    struct mpota_boot_report r;
    assert_string_equal(rig_boot(b, &r), "ota_0");
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_PENDING_VERIFY);
    assert_string_equal(rig_boot(b, &r), "ota_0");
    rig_assert_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);
}

// SPEC §3.3: seq 0 with an erased crc passes the CRC; slot 0xFFFFFFFF % n.
static void test_seq0_quirk(void **state)
{
    struct boot_rig *b = rig_get(state);
    struct mpota_boot_report r;
    rig_layout(b, RIG_OTA2);
    uint8_t *s0 = b->emu.mem + RIG_OTADATA;
    memset(s0, 0x00, 4);  // only seq programmed to 0, the rest erased
    assert_string_equal(rig_boot(b, &r), "ota_1");  // 0xFFFFFFFF % 2 = 1
    assert_int_equal(r.selected_index, 1);
    assert_int_equal(r.n_writes, 0);

    rig_layout(b, RIG_MANY);  // three OTA slots: 0xFFFFFFFF % 3 = 0
    memset(b->emu.mem + RIG_OTADATA, 0xFF, 0x2000);
    memset(b->emu.mem + RIG_OTADATA, 0x00, 4);
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, 0);
}

static void test_seq_maps_modulo_app_count(void **state)
{
    struct boot_rig *b = rig_get(state);
    struct mpota_boot_report r;
    rig_layout(b, RIG_MANY);
    rig_set_entry(b, 1, 7, MPOTA_OTA_STATE_VALID);  // (7-1) % 3 = 0
    assert_string_equal(rig_boot(b, &r), "ota_0");
    rig_set_entry(b, 0, 9, MPOTA_OTA_STATE_UNDEFINED);  // 8 % 3 = 2
    assert_string_equal(rig_boot(b, &r), "ota_2");
}

// The bootloader counts every ota_N row (ota_0 + ota_2 -> 2) and indexes
// bounded by that count: seq 2 -> slot 1 is absent -> ota_0; ota_2 is
// unreachable.
static void test_non_contiguous_slots(void **state)
{
    struct boot_rig *b = rig_get(state);
    struct mpota_table *t = &b->table;
    memset(t, 0, sizeof(*t));
    table_add(t, "otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, RIG_OTADATA, 0x2000);
    table_add(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x10000, 0x100000);
    table_add(t, "ota_2", MPOTA_PART_TYPE_APP, 0x12, 0x110000, 0x100000);
    rig_put_app(b, "ota_0");
    rig_put_app(b, "ota_2");
    rig_set_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);
    struct mpota_boot_report r;
    assert_string_equal(rig_boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, 1);
    rig_break_app(b, "ota_0");
    assert_int_equal(mpota_boot_select(&b->ctx, &r), MPOTA_ERR_NO_BOOTABLE_APP);
}

static void test_no_otadata_and_small_otadata(void **state)
{
    struct boot_rig *b = rig_get(state);
    struct mpota_table *t = &b->table;
    struct mpota_boot_report r;
    rig_layout(b, RIG_FACTORY);
    t->parts[1].type = MPOTA_PART_TYPE_DATA;
    t->parts[1].subtype = MPOTA_PART_SUBTYPE_PHY;  // no otadata any more
    rig_set_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);
    assert_string_equal(rig_boot(b, &r), "factory");
    assert_int_equal(r.selected_index, MPOTA_BOOT_INDEX_FACTORY);

    rig_layout(b, RIG_OTA2);
    t->parts[1].size = 0x1000;
    assert_int_equal(mpota_boot_select(&b->ctx, &r), MPOTA_ERR_OTADATA_SIZE);
    assert_null(r.booted);
    assert_int_equal(r.selected_index, MPOTA_BOOT_INDEX_NONE);
    assert_int_equal(b->emu.count.ops, 0);

    // No OTA slots but otadata: factory.
    memset(t, 0, sizeof(*t));
    table_add(t, "otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, RIG_OTADATA, 0x2000);
    table_add(t, "factory", MPOTA_PART_TYPE_APP, 0x00, 0x10000, 0x100000);
    rig_put_app(b, "factory");
    rig_set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    assert_string_equal(rig_boot(b, &r), "factory");
}

// Power cut while the bootloader programs the initial record, after the seq
// bytes: {seq 1, crc 0xFFFFFFFF}. Not blank (seq set), not valid (CRC): the
// bootloader never takes the "initial" branch again and boots ota_0 through
// "no valid entry, try all partitions", writing nothing. ESP-IDF does this.
static void test_torn_initial_record_is_never_repaired_by_boot(void **state)
{
    struct boot_rig *b = rig_get(state);
    rig_layout(b, RIG_OTA2);
    uint8_t *s0 = b->emu.mem + RIG_OTADATA;
    s0[0] = 0x01;
    s0[1] = s0[2] = s0[3] = 0x00;
    struct mpota_boot_report r;
    for (int i = 0; i < 3; i++) {
        assert_string_equal(rig_boot(b, &r), "ota_0");
        assert_int_equal(r.selected_index, MPOTA_BOOT_INDEX_FACTORY);
        assert_int_equal(r.n_writes, 0);
    }
    assert_int_equal(b->emu.count.ops, 0);
}

static void test_chip_mismatch_loads_nothing(void **state)
{
    struct boot_rig *b = rig_get(state);
    struct mpota_boot_report r;
    rig_layout(b, RIG_OTA2);
    b->ctx.chip = MPOTA_CHIP_ESP32S3;
    assert_int_equal(mpota_boot_select(&b->ctx, &r), MPOTA_ERR_NO_BOOTABLE_APP);
    assert_int_equal(b->emu.count.ops, 0);  // no app loaded: no initial record
    b->ctx.chip = MPOTA_CHIP_ANY;
    assert_string_equal(rig_boot(b, &r), "ota_0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, rig_setup, rig_teardown)
        T(test_blank_no_factory_boots_ota0_and_writes_seq1),
        T(test_blank_with_factory_boots_factory),
        T(test_blank_initial_file),
        T(test_badcrc_file_no_initial_write),
        T(test_new_becomes_pending_then_aborted),
        T(test_rollback_disabled_writes_nothing),
        T(test_pending_with_bad_crc_aborted_as_is),
        T(test_both_pending),
        T(test_three_writes),
        T(test_tie_goes_to_sector0),
        T(test_bad_crc_one_and_both),
        T(test_invalid_and_aborted_are_skipped),
        T(test_fallback_order),
        T(test_initial_record_follows_the_fallback),
        T(test_new_slot_that_does_not_load),
        T(test_seq0_quirk),
        T(test_seq_maps_modulo_app_count),
        T(test_non_contiguous_slots),
        T(test_no_otadata_and_small_otadata),
        T(test_torn_initial_record_is_never_repaired_by_boot),
        T(test_chip_mismatch_loads_nothing),
#undef T
    };
    return cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown);
}
