// Bootloader boot selection (SPEC §3.7): blank otadata with and without a
// factory app, rollback state changes, the tie rule, bad CRCs, skipped
// states, the load-fallback order, the initial record, the seq-0 quirk.
// Apps are the real ESP32 image shared/testdata/images/app-v1.0.1.bin.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flash_emu.h"
#include "host_file.h"
#include "mpota/boot.h"
#include "mpota/err.h"
#include "mpota/image.h"
#include "mpota/otadata.h"
#include "mpota/part.h"
#include "testutil.h"

#define FLASH_SIZE (4u << 20)
#define OTADATA 0xD000u

static uint8_t *g_image;
static size_t g_image_len;

struct bench {
    struct mpota_flash_emu emu;
    struct mpota_table table;
    struct mpota_boot_ctx ctx;
};

enum layout {
    L_OTA2,     // MicroPython 4 MiB OTA: ota_0, ota_1, no factory
    L_FACTORY,  // factory, ota_0, ota_1
    L_MANY,     // factory, ota_0..ota_2, test (0x20000 each)
};

static void add_part(struct mpota_table *t, const char *label, uint8_t type, uint8_t subtype,
                     uint32_t off, uint32_t size)
{
    struct mpota_partition *p = &t->parts[t->count++];
    memset(p, 0, sizeof(*p));
    p->type = type;
    p->subtype = subtype;
    p->offset = off;
    p->size = size;
    snprintf(p->label, sizeof(p->label), "%s", label);
}

static const struct mpota_partition *part(struct bench *b, const char *label)
{
    for (uint32_t i = 0; i < b->table.count; i++) {
        if (strcmp(b->table.parts[i].label, label) == 0) {
            return &b->table.parts[i];
        }
    }
    fail_msg("no partition %s", label);
    return NULL;
}

static void put_app(struct bench *b, const char *label)
{
    assert_int_equal(mpota_flash_emu_load(&b->emu, part(b, label)->offset, g_image,
                                          (uint32_t)g_image_len),
                     0);
}

// Corrupts one byte inside the image's segments: the checksum and the
// SHA-256 no longer match, so the app does not load.
static void break_app(struct bench *b, const char *label)
{
    b->emu.mem[part(b, label)->offset + 0x200] ^= 0x5A;
}

static void layout(struct bench *b, enum layout l)
{
    struct mpota_table *t = &b->table;
    memset(t, 0, sizeof(*t));
    memset(b->emu.mem, 0xFF, b->emu.size);  // a freshly erased chip
    add_part(t, "nvs", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_NVS, 0x9000, 0x4000);
    add_part(t, "otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, OTADATA, 0x2000);
    switch (l) {
    case L_OTA2:
        add_part(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x10000, 0x180000);
        add_part(t, "ota_1", MPOTA_PART_TYPE_APP, 0x11, 0x190000, 0x180000);
        put_app(b, "ota_0");
        put_app(b, "ota_1");
        break;
    case L_FACTORY:
        add_part(t, "factory", MPOTA_PART_TYPE_APP, 0x00, 0x10000, 0x100000);
        add_part(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x110000, 0x100000);
        add_part(t, "ota_1", MPOTA_PART_TYPE_APP, 0x11, 0x210000, 0x100000);
        put_app(b, "factory");
        put_app(b, "ota_0");
        put_app(b, "ota_1");
        break;
    case L_MANY:
        add_part(t, "factory", MPOTA_PART_TYPE_APP, 0x00, 0x10000, 0x20000);
        add_part(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x30000, 0x20000);
        add_part(t, "ota_1", MPOTA_PART_TYPE_APP, 0x11, 0x50000, 0x20000);
        add_part(t, "ota_2", MPOTA_PART_TYPE_APP, 0x12, 0x70000, 0x20000);
        add_part(t, "test", MPOTA_PART_TYPE_APP, 0x20, 0x90000, 0x20000);
        put_app(b, "factory");
        put_app(b, "ota_0");
        put_app(b, "ota_1");
        put_app(b, "ota_2");
        put_app(b, "test");
        break;
    }
    mpota_flash_emu_reset_counters(&b->emu);
}

// Writes a raw entry into a sector as a programmer would; rest of sector 0xFF.
static void set_raw(struct bench *b, unsigned sector, uint32_t seq, uint32_t state, uint32_t crc)
{
    uint8_t *s = b->emu.mem + OTADATA + sector * 0x1000u;
    memset(s, 0xFF, 0x1000);
    struct mpota_otadata_entry e;
    mpota_otadata_entry_init(&e, seq, state);
    e.crc = crc;
    mpota_otadata_encode(&e, s);
}

static void set_entry(struct bench *b, unsigned sector, uint32_t seq, uint32_t state)
{
    set_raw(b, sector, seq, state, mpota_otadata_crc(seq));
}

static void get_entry(struct bench *b, unsigned sector, struct mpota_otadata_entry *e)
{
    const uint8_t *s = b->emu.mem + OTADATA + sector * 0x1000u;
    mpota_otadata_decode(s, e);
    for (uint32_t i = 32; i < 0x1000; i++) {
        assert_int_equal(s[i], 0xFF);
    }
}

static void assert_entry(struct bench *b, unsigned sector, uint32_t seq, uint32_t state)
{
    struct mpota_otadata_entry e;
    get_entry(b, sector, &e);
    assert_int_equal(e.ota_seq, seq);
    assert_int_equal(e.ota_state, state);
    assert_int_equal(e.crc, mpota_otadata_crc(seq));
}

static void assert_blank(struct bench *b, unsigned sector)
{
    const uint8_t *s = b->emu.mem + OTADATA + sector * 0x1000u;
    for (uint32_t i = 0; i < 0x1000; i++) {
        assert_int_equal(s[i], 0xFF);
    }
}

static int group_setup(void **state)
{
    (void)state;
    if (testdata_present()) {
        g_image = mpota_host_read_file(testdata_path("images/app-v1.0.1.bin"), &g_image_len);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(g_image);
    return 0;
}

static int setup(void **state)
{
    if (!g_image) {
        print_message("SKIPPED: shared/testdata not found at %s\n", testdata_path(""));
        *state = NULL;
        return 0;
    }
    struct bench *b = calloc(1, sizeof(*b));
    if (!b || mpota_flash_emu_open_ram(&b->emu, FLASH_SIZE) != 0) {
        free(b);
        return -1;
    }
    b->ctx.flash = &b->emu.flash;
    b->ctx.table = &b->table;
    b->ctx.chip = MPOTA_CHIP_ESP32;
    b->ctx.rollback_enabled = true;
    *state = b;
    return 0;
}

static int teardown(void **state)
{
    struct bench *b = *state;
    if (b) {
        mpota_flash_emu_close(&b->emu);
        free(b);
    }
    return 0;
}

static struct bench *bench(void **state)
{
    if (!*state) {
        skip();
    }
    return *state;
}

static const char *boot(struct bench *b, struct mpota_boot_report *r)
{
    int rc = mpota_boot_select(&b->ctx, r);
    assert_int_equal(rc, 0);
    assert_non_null(r->booted);
    for (unsigned i = 0; i < r->n_writes; i++) {
        assert_int_equal(r->writes[i].err, 0);
    }
    return r->booted->label;
}

static void test_blank_no_factory_boots_ota0_and_writes_seq1(void **state)
{
    struct bench *b = bench(state);
    layout(b, L_OTA2);
    struct mpota_boot_report r;
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, 0);
    assert_int_equal(r.booted_index, 0);
    assert_int_equal(r.n_writes, 1);
    assert_int_equal(r.writes[0].kind, MPOTA_BOOT_WROTE_INITIAL);
    assert_int_equal(r.writes[0].sector, 0);
    assert_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    assert_blank(b, 1);
    assert_int_equal(b->emu.count.sector_erases, 1);
    assert_int_equal(b->emu.count.progs, 1);
    // The next reset boots the same app and writes nothing.
    mpota_flash_emu_reset_counters(&b->emu);
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 0);
    assert_int_equal(b->emu.count.ops, 0);
}

static void test_blank_with_factory_boots_factory(void **state)
{
    struct bench *b = bench(state);
    layout(b, L_FACTORY);
    struct mpota_boot_report r;
    assert_string_equal(boot(b, &r), "factory");
    assert_int_equal(r.selected_index, MPOTA_BOOT_INDEX_FACTORY);
    assert_int_equal(r.booted_index, MPOTA_BOOT_INDEX_FACTORY);
    assert_int_equal(r.n_writes, 0);
    assert_int_equal(b->emu.count.ops, 0);
    assert_blank(b, 0);
    assert_blank(b, 1);
}

// testdata/otadata/blank-initial.bin, as an ESP-IDF build writes it.
static void test_blank_initial_file(void **state)
{
    struct bench *b = bench(state);
    size_t len = 0;
    uint8_t *blank = mpota_host_read_file(testdata_path("otadata/blank-initial.bin"), &len);
    assert_non_null(blank);
    assert_int_equal(len, 0x2000);
    struct mpota_boot_report r;
    layout(b, L_FACTORY);
    memset(b->emu.mem + OTADATA, 0x00, 0x2000);
    assert_int_equal(mpota_flash_emu_load(&b->emu, OTADATA, blank, 0x2000), 0);
    assert_string_equal(boot(b, &r), "factory");
    assert_int_equal(r.n_writes, 0);
    layout(b, L_OTA2);
    assert_int_equal(mpota_flash_emu_load(&b->emu, OTADATA, blank, 0x2000), 0);
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 1);
    assert_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    free(blank);
}

// testdata/otadata/entry-seq1-badcrc.bin in sector 0, sector 1 blank: not
// "both invalid" (seq 1 is set, state UNDEFINED), yet no valid entry: the
// bootloader starts at factory ("try all partitions") and writes nothing.
static void test_badcrc_file_no_initial_write(void **state)
{
    struct bench *b = bench(state);
    size_t len = 0;
    uint8_t *e = mpota_host_read_file(testdata_path("otadata/entry-seq1-badcrc.bin"), &len);
    assert_non_null(e);
    layout(b, L_OTA2);
    assert_int_equal(mpota_flash_emu_load(&b->emu, OTADATA, e, (uint32_t)len), 0);
    struct mpota_boot_report r;
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, MPOTA_BOOT_INDEX_FACTORY);
    assert_int_equal(r.booted_index, 0);
    assert_int_equal(r.n_writes, 0);
    assert_int_equal(b->emu.count.ops, 0);
    free(e);
}

static void test_new_becomes_pending_then_aborted(void **state)
{
    struct bench *b = bench(state);
    layout(b, L_OTA2);
    set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    set_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
    struct mpota_boot_report r;
    assert_string_equal(boot(b, &r), "ota_1");
    assert_int_equal(r.n_writes, 1);
    assert_int_equal(r.writes[0].kind, MPOTA_BOOT_WROTE_PENDING);
    assert_int_equal(r.writes[0].sector, 1);
    assert_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    assert_entry(b, 1, 2, MPOTA_OTA_STATE_PENDING_VERIFY);
    // Not confirmed: the next reset gives it up and rolls back.
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 1);
    assert_int_equal(r.writes[0].kind, MPOTA_BOOT_WROTE_ABORTED);
    assert_int_equal(r.writes[0].sector, 1);
    assert_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    assert_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);
    // Stable afterwards.
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 0);
}

static void test_rollback_disabled_writes_nothing(void **state)
{
    struct bench *b = bench(state);
    b->ctx.rollback_enabled = false;
    layout(b, L_OTA2);
    set_entry(b, 0, 1, MPOTA_OTA_STATE_PENDING_VERIFY);
    set_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
    struct mpota_boot_report r;
    for (int i = 0; i < 3; i++) {
        assert_string_equal(boot(b, &r), "ota_1");
        assert_int_equal(r.n_writes, 0);
    }
    assert_int_equal(b->emu.count.ops, 0);
    assert_entry(b, 0, 1, MPOTA_OTA_STATE_PENDING_VERIFY);
    assert_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
}

// PENDING_VERIFY becomes ABORTED whatever its CRC, and the bad CRC is
// written back as it was.
static void test_pending_with_bad_crc_aborted_as_is(void **state)
{
    struct bench *b = bench(state);
    layout(b, L_OTA2);
    set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    set_raw(b, 1, 2, MPOTA_OTA_STATE_PENDING_VERIFY, 0x12345678u);
    struct mpota_boot_report r;
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 1);
    struct mpota_otadata_entry e;
    get_entry(b, 1, &e);
    assert_int_equal(e.ota_seq, 2);
    assert_int_equal(e.ota_state, MPOTA_OTA_STATE_ABORTED);
    assert_int_equal(e.crc, 0x12345678u);
}

// Both PENDING: both aborted; both now invalid with good CRCs, so no factory
// -> ota_0 without an initial record; with factory -> factory.
static void test_both_pending(void **state)
{
    struct bench *b = bench(state);
    layout(b, L_OTA2);
    set_entry(b, 0, 1, MPOTA_OTA_STATE_PENDING_VERIFY);
    set_entry(b, 1, 2, MPOTA_OTA_STATE_PENDING_VERIFY);
    struct mpota_boot_report r;
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 2);
    assert_int_equal(r.writes[0].sector, 0);
    assert_int_equal(r.writes[1].sector, 1);
    assert_entry(b, 0, 1, MPOTA_OTA_STATE_ABORTED);
    assert_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);

    layout(b, L_FACTORY);
    set_entry(b, 0, 1, MPOTA_OTA_STATE_PENDING_VERIFY);
    set_entry(b, 1, 2, MPOTA_OTA_STATE_PENDING_VERIFY);
    assert_string_equal(boot(b, &r), "factory");
    assert_int_equal(r.n_writes, 2);
}

// Two bad-CRC entries in PENDING_VERIFY: both aborted (CRCs kept), then
// both are given up and blank-or-bad-CRC: ota_0 gets the initial record.
static void test_three_writes(void **state)
{
    struct bench *b = bench(state);
    layout(b, L_OTA2);
    set_raw(b, 0, 5, MPOTA_OTA_STATE_PENDING_VERIFY, 0);
    set_raw(b, 1, 6, MPOTA_OTA_STATE_PENDING_VERIFY, 0);
    struct mpota_boot_report r;
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 3);
    assert_int_equal(r.writes[0].kind, MPOTA_BOOT_WROTE_ABORTED);
    assert_int_equal(r.writes[1].kind, MPOTA_BOOT_WROTE_ABORTED);
    assert_int_equal(r.writes[2].kind, MPOTA_BOOT_WROTE_INITIAL);
    assert_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    struct mpota_otadata_entry e;
    get_entry(b, 1, &e);
    assert_int_equal(e.ota_state, MPOTA_OTA_STATE_ABORTED);
    assert_int_equal(e.crc, 0);
}

static void test_tie_goes_to_sector0(void **state)
{
    struct bench *b = bench(state);
    layout(b, L_MANY);
    // seq 3 in both: sector 0 wins; its NEW becomes PENDING; sector 1 stays.
    set_entry(b, 0, 3, MPOTA_OTA_STATE_NEW);
    set_entry(b, 1, 3, MPOTA_OTA_STATE_NEW);
    struct mpota_boot_report r;
    assert_string_equal(boot(b, &r), "ota_2");
    assert_int_equal(r.n_writes, 1);
    assert_int_equal(r.writes[0].sector, 0);
    assert_entry(b, 0, 3, MPOTA_OTA_STATE_PENDING_VERIFY);
    assert_entry(b, 1, 3, MPOTA_OTA_STATE_NEW);
    // Next reset: sector 0 aborted, now sector 1 (same seq) is taken.
    assert_string_equal(boot(b, &r), "ota_2");
    assert_int_equal(r.n_writes, 2);
    assert_entry(b, 0, 3, MPOTA_OTA_STATE_ABORTED);
    assert_entry(b, 1, 3, MPOTA_OTA_STATE_PENDING_VERIFY);

    // Different slots with equal seq cannot happen, but equal seq with
    // VALID in sector 0 means no write at all.
    layout(b, L_OTA2);
    set_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);
    set_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
    assert_string_equal(boot(b, &r), "ota_1");
    assert_int_equal(r.n_writes, 0);
}

static void test_bad_crc_one_and_both(void **state)
{
    struct bench *b = bench(state);
    struct mpota_boot_report r;
    layout(b, L_OTA2);
    set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    set_raw(b, 1, 2, MPOTA_OTA_STATE_VALID, mpota_otadata_crc(2) ^ 0x100);
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 0);

    layout(b, L_OTA2);
    set_raw(b, 0, 3, MPOTA_OTA_STATE_VALID, 0xFFFFFFFFu);
    set_entry(b, 1, 2, MPOTA_OTA_STATE_VALID);
    assert_string_equal(boot(b, &r), "ota_1");

    // Both bad: no valid entry, not "both invalid": start at factory (absent
    // here), then forward from ota_0; no initial record.
    layout(b, L_OTA2);
    set_raw(b, 0, 2, MPOTA_OTA_STATE_VALID, 1);
    set_raw(b, 1, 3, MPOTA_OTA_STATE_VALID, 2);
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, MPOTA_BOOT_INDEX_FACTORY);
    assert_int_equal(r.n_writes, 0);

    layout(b, L_FACTORY);
    set_raw(b, 0, 2, MPOTA_OTA_STATE_VALID, 1);
    set_raw(b, 1, 3, MPOTA_OTA_STATE_VALID, 2);
    assert_string_equal(boot(b, &r), "factory");

    // Both blank seq but with a bad crc pattern: "initial" again.
    layout(b, L_OTA2);
    set_raw(b, 0, 0xFFFFFFFFu, MPOTA_OTA_STATE_VALID, 0);
    set_raw(b, 1, 4, MPOTA_OTA_STATE_INVALID, 0);
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, 0);
    assert_int_equal(r.n_writes, 1);
    assert_int_equal(r.writes[0].kind, MPOTA_BOOT_WROTE_INITIAL);
}

static void test_invalid_and_aborted_are_skipped(void **state)
{
    struct bench *b = bench(state);
    struct mpota_boot_report r;
    layout(b, L_OTA2);
    set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    set_entry(b, 1, 2, MPOTA_OTA_STATE_INVALID);
    assert_string_equal(boot(b, &r), "ota_0");
    set_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 0);

    // Both given up, good CRCs, no factory: ota_0, no record written.
    set_entry(b, 0, 3, MPOTA_OTA_STATE_ABORTED);
    set_entry(b, 1, 2, MPOTA_OTA_STATE_INVALID);
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, 0);
    assert_int_equal(r.n_writes, 0);
    assert_entry(b, 0, 3, MPOTA_OTA_STATE_ABORTED);

    // One blank, one given up with a good CRC: not "initial" either.
    layout(b, L_OTA2);
    set_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.n_writes, 0);
    assert_blank(b, 0);

    layout(b, L_FACTORY);
    set_entry(b, 0, 3, MPOTA_OTA_STATE_ABORTED);
    set_entry(b, 1, 2, MPOTA_OTA_STATE_INVALID);
    assert_string_equal(boot(b, &r), "factory");

    // Unknown state values are bootable.
    layout(b, L_OTA2);
    set_entry(b, 1, 2, 0x77u);
    assert_string_equal(boot(b, &r), "ota_1");
}

// SPEC §3.7 load order: chosen index, lower ones down to factory, then
// higher ones, then test.
static void test_fallback_order(void **state)
{
    struct bench *b = bench(state);
    struct mpota_boot_report r;
    layout(b, L_MANY);
    set_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);  // slot 1
    assert_string_equal(boot(b, &r), "ota_1");
    break_app(b, "ota_1");
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, 1);
    assert_int_equal(r.booted_index, 0);
    break_app(b, "ota_0");
    assert_string_equal(boot(b, &r), "factory");  // before ota_2
    break_app(b, "factory");
    assert_string_equal(boot(b, &r), "ota_2");
    assert_int_equal(r.booted_index, 2);
    break_app(b, "ota_2");
    assert_string_equal(boot(b, &r), "test");
    assert_int_equal(r.booted_index, MPOTA_BOOT_INDEX_TEST);
    break_app(b, "test");
    assert_int_equal(mpota_boot_select(&b->ctx, &r), MPOTA_ERR_NO_BOOTABLE_APP);
    assert_null(r.booted);
    assert_int_equal(r.booted_index, MPOTA_BOOT_INDEX_NONE);
    assert_int_equal(r.selected_index, 1);
    // No fallback ever touched otadata.
    assert_int_equal(b->emu.count.ops, 0);
    assert_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);
}

// Initial contents and ota_0 does not load: ota_1 boots and the record
// names it (seq 2).
static void test_initial_record_follows_the_fallback(void **state)
{
    struct bench *b = bench(state);
    layout(b, L_OTA2);
    break_app(b, "ota_0");
    struct mpota_boot_report r;
    assert_string_equal(boot(b, &r), "ota_1");
    assert_int_equal(r.n_writes, 1);
    assert_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);
    assert_blank(b, 1);
}

// A slot with a bad image and rollback: the new slot was marked PENDING,
// the old one booted; the next reset aborts the new one.
static void test_new_slot_that_does_not_load(void **state)
{
    struct bench *b = bench(state);
    layout(b, L_OTA2);
    set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    set_entry(b, 1, 2, MPOTA_OTA_STATE_NEW);
    break_app(b, "ota_1");
    struct mpota_boot_report r;
    assert_string_equal(boot(b, &r), "ota_0");
    assert_entry(b, 1, 2, MPOTA_OTA_STATE_PENDING_VERIFY);
    assert_string_equal(boot(b, &r), "ota_0");
    assert_entry(b, 1, 2, MPOTA_OTA_STATE_ABORTED);
}

// SPEC §3.3: seq 0 with an erased crc passes the CRC; slot 0xFFFFFFFF % n.
static void test_seq0_quirk(void **state)
{
    struct bench *b = bench(state);
    struct mpota_boot_report r;
    layout(b, L_OTA2);
    uint8_t *s0 = b->emu.mem + OTADATA;
    memset(s0, 0x00, 4);  // only seq programmed to 0, the rest erased
    assert_string_equal(boot(b, &r), "ota_1");  // 0xFFFFFFFF % 2 = 1
    assert_int_equal(r.selected_index, 1);
    assert_int_equal(r.n_writes, 0);

    layout(b, L_MANY);  // three OTA slots: 0xFFFFFFFF % 3 = 0
    memset(b->emu.mem + OTADATA, 0xFF, 0x2000);
    memset(b->emu.mem + OTADATA, 0x00, 4);
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, 0);
}

static void test_seq_maps_modulo_app_count(void **state)
{
    struct bench *b = bench(state);
    struct mpota_boot_report r;
    layout(b, L_MANY);
    set_entry(b, 1, 7, MPOTA_OTA_STATE_VALID);  // (7-1) % 3 = 0
    assert_string_equal(boot(b, &r), "ota_0");
    set_entry(b, 0, 9, MPOTA_OTA_STATE_UNDEFINED);  // 8 % 3 = 2
    assert_string_equal(boot(b, &r), "ota_2");
}

// The bootloader counts every ota_N row (ota_0 + ota_2 -> 2) and indexes
// bounded by that count: seq 2 -> slot 1 is absent -> ota_0; ota_2 is
// unreachable.
static void test_non_contiguous_slots(void **state)
{
    struct bench *b = bench(state);
    struct mpota_table *t = &b->table;
    memset(t, 0, sizeof(*t));
    add_part(t, "otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, OTADATA, 0x2000);
    add_part(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x10000, 0x100000);
    add_part(t, "ota_2", MPOTA_PART_TYPE_APP, 0x12, 0x110000, 0x100000);
    put_app(b, "ota_0");
    put_app(b, "ota_2");
    set_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);
    struct mpota_boot_report r;
    assert_string_equal(boot(b, &r), "ota_0");
    assert_int_equal(r.selected_index, 1);
    break_app(b, "ota_0");
    assert_int_equal(mpota_boot_select(&b->ctx, &r), MPOTA_ERR_NO_BOOTABLE_APP);
}

static void test_no_otadata_and_small_otadata(void **state)
{
    struct bench *b = bench(state);
    struct mpota_table *t = &b->table;
    struct mpota_boot_report r;
    layout(b, L_FACTORY);
    t->parts[1].type = MPOTA_PART_TYPE_DATA;
    t->parts[1].subtype = MPOTA_PART_SUBTYPE_PHY;  // no otadata any more
    set_entry(b, 0, 2, MPOTA_OTA_STATE_VALID);
    assert_string_equal(boot(b, &r), "factory");
    assert_int_equal(r.selected_index, MPOTA_BOOT_INDEX_FACTORY);

    layout(b, L_OTA2);
    t->parts[1].size = 0x1000;
    assert_int_equal(mpota_boot_select(&b->ctx, &r), MPOTA_ERR_OTADATA_SIZE);
    assert_null(r.booted);
    assert_int_equal(r.selected_index, MPOTA_BOOT_INDEX_NONE);
    assert_int_equal(b->emu.count.ops, 0);

    // No OTA slots but otadata: factory.
    memset(t, 0, sizeof(*t));
    add_part(t, "otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, OTADATA, 0x2000);
    add_part(t, "factory", MPOTA_PART_TYPE_APP, 0x00, 0x10000, 0x100000);
    put_app(b, "factory");
    set_entry(b, 0, 1, MPOTA_OTA_STATE_VALID);
    assert_string_equal(boot(b, &r), "factory");
}

// Power cut while the bootloader programs the initial record, after the seq
// bytes: {seq 1, crc 0xFFFFFFFF}. Not blank (seq set), not valid (CRC): the
// bootloader never takes the "initial" branch again and boots ota_0 through
// "no valid entry, try all partitions", writing nothing. ESP-IDF does this.
static void test_torn_initial_record_is_never_repaired_by_boot(void **state)
{
    struct bench *b = bench(state);
    layout(b, L_OTA2);
    uint8_t *s0 = b->emu.mem + OTADATA;
    s0[0] = 0x01;
    s0[1] = s0[2] = s0[3] = 0x00;
    struct mpota_boot_report r;
    for (int i = 0; i < 3; i++) {
        assert_string_equal(boot(b, &r), "ota_0");
        assert_int_equal(r.selected_index, MPOTA_BOOT_INDEX_FACTORY);
        assert_int_equal(r.n_writes, 0);
    }
    assert_int_equal(b->emu.count.ops, 0);
}

static void test_chip_mismatch_loads_nothing(void **state)
{
    struct bench *b = bench(state);
    struct mpota_boot_report r;
    layout(b, L_OTA2);
    b->ctx.chip = MPOTA_CHIP_ESP32S3;
    assert_int_equal(mpota_boot_select(&b->ctx, &r), MPOTA_ERR_NO_BOOTABLE_APP);
    assert_int_equal(b->emu.count.ops, 0);  // no app loaded: no initial record
    b->ctx.chip = MPOTA_CHIP_ANY;
    assert_string_equal(boot(b, &r), "ota_0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
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
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
