// The factory app as a session target (loboris' forceFactory): on a factory +
// ota_0 + ota_1 layout (the boot rig's RIG_FACTORY), with app v1 running in
// ota_0, a new app is written into the factory partition and set_boot erases
// otadata, so the factory app boots next.
//
// * Refusals write nothing: the factory app running, what runs unknown, a
//   test app running, the running app unconfirmed, the factory app already
//   the next boot, no otadata, a factory partition the bootloader would not
//   boot.
// * The switch erases the record of the running app last (with what runs
//   unknown: the active one last, as before).
// * Power cuts: for four otadata histories, every erase and program of the
//   whole forced update (write, end, set_boot), each torn three ways (half
//   done, not started, done): the reset that follows boots, without falling
//   back, the app otadata selected before the call, or (from the first
//   otadata erase on) the running app, or (from the last erase on) the new
//   factory app, which then verifies and is byte-identical to the update.
//   ota_0 and ota_1 stay byte-identical throughout, and when the running app
//   boots, the forced update done again completes.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot_rig.h"
#include "flash_emu.h"
#include "image_build.h"
#include "mpota/err.h"
#include "mpota/hash.h"
#include "mpota/image.h"
#include "mpota/session.h"
#include "table_build.h"

#define NEW_IMAGE 200000u  // ~50 programs and a few erases per forced update
#define CHUNK 4096u

#define VALID MPOTA_OTA_STATE_VALID
#define NEW MPOTA_OTA_STATE_NEW
#define PENDING MPOTA_OTA_STATE_PENDING_VERIFY
#define INVALID MPOTA_OTA_STATE_INVALID

struct fx {
    struct boot_rig *b;
    const struct mpota_partition *factory, *ota0, *ota1;
    uint8_t *v2;
    size_t v2_len;
    uint8_t *initial;    // the flash before a run
    mpota_session_t s;
    jmp_buf cut_jb;
};

static struct fx *fx_new(void **state)
{
    struct boot_rig *b = rig_get(state);
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->b = b;
    rig_layout(b, RIG_FACTORY);
    f->factory = rig_part(b, "factory");
    f->ota0 = rig_part(b, "ota_0");
    f->ota1 = rig_part(b, "ota_1");
    struct mpota_app_spec spec = {.chip_id = MPOTA_CHIP_ESP32, .total_size = NEW_IMAGE,
                                  .version = "v2.0.0", .project_name = "micropython",
                                  .seed = 2};
    assert_int_equal(mpota_image_build_app(&spec, &f->v2, &f->v2_len, NULL), 0);
    f->initial = malloc(RIG_FLASH_SIZE);
    assert_non_null(f->initial);
    return f;
}

static void fx_free(struct fx *f)
{
    mpota_image_parser_release(&f->s.parser);  // a session cut mid-way
    (void)mpota_session_abort(&f->s);
#ifdef MPOTA_HASH_CHECKED
    assert_int_equal(mpota_hash_checked_live(), 0);
#endif
    free(f->v2);
    free(f->initial);
    free(f);
}

static void snapshot(struct fx *f)
{
    memcpy(f->initial, f->b->emu.mem, RIG_FLASH_SIZE);
    mpota_flash_emu_reset_counters(&f->b->emu);
}

static void assert_unchanged(struct fx *f, const struct mpota_partition *p)
{
    assert_memory_equal(f->b->emu.mem + p->offset, f->initial + p->offset, p->size);
}

static void assert_nothing_written(struct fx *f)
{
    assert_int_equal(f->b->emu.count.ops, 0);
    assert_memory_equal(f->b->emu.mem, f->initial, RIG_FLASH_SIZE);
}

// begin (running given), the image in 4 KiB chunks, end.
static int write_factory(struct fx *f, const struct mpota_partition *running)
{
    int rc = mpota_session_begin(&f->s, &f->b->ctx, running, f->factory, NULL, NULL);
    for (size_t off = 0; !rc && off < f->v2_len; off += CHUNK) {
        uint32_t n = (uint32_t)(f->v2_len - off < CHUNK ? f->v2_len - off : CHUNK);
        rc = mpota_session_write(&f->s, f->v2 + off, n);
    }
    return rc ? rc : mpota_session_end(&f->s, NULL);
}

static void assert_factory_holds_v2(struct fx *f)
{
    assert_memory_equal(f->b->emu.mem + f->factory->offset, f->v2, f->v2_len);
    struct mpota_area a;
    assert_int_equal(mpota_area_init(&a, &f->b->emu.flash, f->factory->offset, f->factory->size,
                                     true),
                     0);
    assert_int_equal(mpota_image_verify_area(&a, MPOTA_CHIP_ESP32, NULL, NULL), 0);
}

// v1 runs in ota_0 with otadata {1, VALID}: the first OTA boot of a device
// that came with a factory app.
static void running_ota0(struct fx *f)
{
    rig_set_entry(f->b, 0, 1, VALID);
    f->b->ctx.running = f->ota0;
}

static void test_forced_update_from_ota_slot(void **state)
{
    struct fx *f = fx_new(state);
    struct boot_rig *b = f->b;
    running_ota0(f);
    snapshot(f);
    assert_int_equal(write_factory(f, f->ota0), 0);
    assert_int_equal(mpota_session_state(&f->s), MPOTA_SESSION_DONE);
    assert_ptr_equal(mpota_session_target(&f->s), f->factory);
    // Until set_boot only the factory partition was written.
    assert_unchanged(f, f->ota0);
    assert_unchanged(f, f->ota1);
    assert_memory_equal(b->emu.mem + RIG_OTADATA, f->initial + RIG_OTADATA, MPOTA_OTADATA_SIZE);
    assert_factory_holds_v2(f);
    struct mpota_boot_report rep;
    assert_string_equal(rig_boot(b, &rep), "ota_0");  // not switched yet

    uint64_t before = b->emu.count.ops;
    assert_int_equal(mpota_session_set_boot(&f->s), 0);
    assert_int_equal(mpota_session_state(&f->s), MPOTA_SESSION_SWITCHED);
    // esp_ota_set_boot_partition(factory): otadata erased, two sector erases.
    assert_int_equal(b->emu.count.ops - before, 2);
    rig_assert_blank(b, 0);
    rig_assert_blank(b, 1);
    const struct mpota_partition *next = NULL;
    assert_int_equal(mpota_boot_get_boot_partition(&b->ctx, &next), 0);
    assert_ptr_equal(next, f->factory);
    assert_string_equal(rig_boot(b, &rep), "factory");
    assert_int_equal(rep.selected_index, MPOTA_BOOT_INDEX_FACTORY);
    assert_int_equal(rep.n_writes, 0);
    assert_factory_holds_v2(f);
    assert_unchanged(f, f->ota0);
    // The factory app has no record to confirm.
    b->ctx.running = f->factory;
    assert_int_equal(mpota_boot_mark_valid(&b->ctx), MPOTA_ERR_OTADATA_NO_ACTIVE);
    fx_free(f);
}

// begin refuses with `err` and diag label `label`; nothing is written, and
// abort leaves the flash as it was.
static void refused(struct fx *f, const struct mpota_partition *running,
                    const struct mpota_partition *target, int err, const char *label)
{
    snapshot(f);
    struct mpota_diag d = {0};
    assert_int_equal(mpota_session_begin(&f->s, &f->b->ctx, running, target, NULL, &d), err);
    assert_int_equal(d.err, err);
    if (label) {
        assert_string_equal(d.label, label);
    }
    assert_int_equal(mpota_session_state(&f->s), MPOTA_SESSION_FAILED);
    assert_int_equal(mpota_session_write(&f->s, f->v2, CHUNK), err);
    assert_int_equal(mpota_session_abort(&f->s), 0);
    assert_nothing_written(f);
}

static void test_refusals_write_nothing(void **state)
{
    struct fx *f = fx_new(state);
    struct boot_rig *b = f->b;
    // The factory app runs (otadata blank): loboris' "cannot update Factory
    // partition from itself".
    b->ctx.running = f->factory;
    refused(f, f->factory, f->factory, MPOTA_ERR_SLOT_IS_RUNNING, "factory");
    // What runs is not known: not guessed from otadata (unchanged rule).
    running_ota0(f);
    b->ctx.running = NULL;
    refused(f, NULL, f->factory, MPOTA_ERR_NOT_OTA_SLOT, "factory");
    b->ctx.running = f->ota0;
    // Other partitions stay refused.
    refused(f, f->ota0, rig_part(b, "nvs"), MPOTA_ERR_NOT_OTA_SLOT, "nvs");
    refused(f, f->ota0, rig_part(b, "otadata"), MPOTA_ERR_NOT_OTA_SLOT, "otadata");
    // The running app is unconfirmed (a reset would roll it back).
    rig_set_entry(b, 0, 1, PENDING);
    refused(f, f->ota0, f->factory, MPOTA_ERR_PENDING_VERIFY, "ota_0");
    // The factory app is what the next reset starts: set_boot(factory) ran
    // already, or the running app was marked invalid.
    rig_set_entry(b, 0, 1, VALID);
    assert_int_equal(mpota_boot_set_boot(&b->ctx, f->factory, NULL), 0);
    refused(f, f->ota0, f->factory, MPOTA_ERR_TARGET_BOOTS_NEXT, "factory");
    rig_set_entry(b, 0, 1, INVALID);
    refused(f, f->ota0, f->factory, MPOTA_ERR_TARGET_BOOTS_NEXT, "factory");
    rig_set_entry(b, 0, 1, VALID);
    assert_int_equal(write_factory(f, f->ota0), 0);  // the same device, allowed
    assert_int_equal(mpota_session_abort(&f->s), 0);
    fx_free(f);
}

static void test_refusals_other_tables(void **state)
{
    struct fx *f = fx_new(state);
    struct boot_rig *b = f->b;
    // A test app runs: only an OTA slot may rewrite the factory app.
    rig_layout(b, RIG_MANY);
    rig_set_entry(b, 0, 1, VALID);
    const struct mpota_partition *test = rig_part(b, "test");
    b->ctx.running = test;
    refused(f, test, rig_part(b, "factory"), MPOTA_ERR_NOT_OTA_SLOT, "factory");
    // From ota_0 on the same table it is allowed.
    b->ctx.running = rig_part(b, "ota_0");
    f->factory = rig_part(b, "factory");
    f->ota0 = b->ctx.running;
    struct mpota_app_spec spec = {.chip_id = MPOTA_CHIP_ESP32, .total_size = 100000,
                                  .version = "v2.0.0", .seed = 3};
    free(f->v2);
    assert_int_equal(mpota_image_build_app(&spec, &f->v2, &f->v2_len, NULL), 0);
    assert_int_equal(write_factory(f, f->ota0), 0);
    assert_int_equal(mpota_session_set_boot(&f->s), 0);
    assert_string_equal(rig_boot(b, NULL), "factory");

    // No otadata: the bootloader starts the factory app anyway, and there is
    // nothing to switch.
    struct mpota_table *t = &b->table;
    memset(t, 0, sizeof(*t));
    table_add(t, "nvs", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_NVS, 0x9000, 0x4000);
    table_add(t, "factory", MPOTA_PART_TYPE_APP, 0x00, 0x10000, 0x100000);
    table_add(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x110000, 0x100000);
    b->ctx.running = rig_part(b, "ota_0");
    refused(f, rig_part(b, "ota_0"), rig_part(b, "factory"), MPOTA_ERR_OTADATA_MISSING, NULL);

    // A second factory partition: not the one the bootloader boots.
    memset(t, 0, sizeof(*t));
    table_add(t, "otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, RIG_OTADATA,
              MPOTA_OTADATA_SIZE);
    table_add(t, "factory", MPOTA_PART_TYPE_APP, 0x00, 0x10000, 0x100000);
    table_add(t, "factory2", MPOTA_PART_TYPE_APP, 0x00, 0x110000, 0x100000);
    table_add(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x210000, 0x100000);
    rig_put_app(b, "ota_0");
    rig_set_entry(b, 0, 1, VALID);
    b->ctx.running = rig_part(b, "ota_0");
    refused(f, rig_part(b, "ota_0"), rig_part(b, "factory2"), MPOTA_ERR_NOT_OTA_SLOT, "factory2");
    fx_free(f);
}

static void test_abort_keeps_running_app(void **state)
{
    struct fx *f = fx_new(state);
    struct boot_rig *b = f->b;
    running_ota0(f);
    snapshot(f);
    assert_int_equal(mpota_session_begin(&f->s, &b->ctx, f->ota0, f->factory, NULL, NULL), 0);
    assert_int_equal(mpota_session_write(&f->s, f->v2, (uint32_t)f->v2_len / 2), 0);
    assert_int_equal(mpota_session_abort(&f->s), 0);
    // The factory partition reads as empty; otadata and the OTA apps as before.
    for (uint32_t i = 0; i < 0x1000; i++) {
        assert_int_equal(b->emu.mem[f->factory->offset + i], 0xFF);
    }
    assert_unchanged(f, f->ota0);
    assert_unchanged(f, f->ota1);
    assert_memory_equal(b->emu.mem + RIG_OTADATA, f->initial + RIG_OTADATA, MPOTA_OTADATA_SIZE);
    assert_string_equal(rig_boot(b, NULL), "ota_0");
    fx_free(f);
}

static void on_cut(void *arg)
{
    struct fx *f = arg;
    longjmp(f->cut_jb, 1);
}

// set_boot(factory) cut after its first erase (done): which sector went first.
static unsigned first_erased(struct fx *f, const struct mpota_partition *running)
{
    struct boot_rig *b = f->b;
    b->ctx.running = running;
    memcpy(b->emu.mem, f->initial, RIG_FLASH_SIZE);
    mpota_flash_emu_reset_counters(&b->emu);
    b->emu.fail_after = 1;
    b->emu.tear = MPOTA_FLASH_EMU_TEAR_ALL;
    b->emu.on_cut = on_cut;
    b->emu.on_cut_arg = f;
    if (setjmp(f->cut_jb) == 0) {
        (void)mpota_boot_set_boot(&b->ctx, f->factory, NULL);
        fail_msg("set_boot(factory) made no flash operation");
    }
    mpota_flash_emu_power_on(&b->emu);
    b->emu.on_cut = NULL;
    const uint8_t *s0 = b->emu.mem + RIG_OTADATA;
    const uint8_t *s1 = s0 + MPOTA_OTADATA_SECTOR_SIZE;
    bool blank0 = s0[0] == 0xFF && s0[31] == 0xFF, blank1 = s1[0] == 0xFF && s1[31] == 0xFF;
    assert_true(blank0 != blank1);
    return blank0 ? 0u : 1u;
}

static void test_switch_erases_running_record_last(void **state)
{
    struct fx *f = fx_new(state);
    struct boot_rig *b = f->b;
    rig_put_app(b, "factory");
    // The running app's record is active, in sector 0 (ESP-IDF, erasing in
    // address order, would leave ota_1's record to boot after a cut).
    rig_set_entry(b, 0, 3, VALID);
    rig_set_entry(b, 1, 2, VALID);
    snapshot(f);
    assert_int_equal(first_erased(f, f->ota0), 1u);
    assert_int_equal(first_erased(f, NULL), 1u);  // the inactive one first
    // ... in sector 1.
    rig_set_entry(b, 0, 2, VALID);
    rig_set_entry(b, 1, 3, VALID);
    snapshot(f);
    assert_int_equal(first_erased(f, f->ota0), 0u);
    assert_int_equal(first_erased(f, NULL), 0u);
    // A pending update (ota_1, NEW, active) and the running app's record:
    // the pending one goes first, so a cut in between boots the running app.
    rig_set_entry(b, 0, 1, VALID);
    rig_set_entry(b, 1, 2, NEW);
    snapshot(f);
    assert_int_equal(first_erased(f, f->ota0), 1u);
    assert_string_equal(rig_boot(b, NULL), "ota_0");
    // What runs unknown: the inactive one first, as before.
    assert_int_equal(first_erased(f, NULL), 0u);
    fx_free(f);
}

/// Power cuts ///

struct history {
    const char *name;
    uint32_t seq0, state0, seq1, state1;  // seq 0: the sector stays blank
    const char *before;                   // what boots before the switch starts
};

static const struct history histories[] = {
    {"ota_0 {1 VALID} in sector 0, sector 1 blank", 1, VALID, 0, 0, "ota_0"},
    {"ota_0 {3 VALID} in sector 0, ota_1 {2 VALID} in sector 1", 3, VALID, 2, VALID, "ota_0"},
    {"ota_1 {2 VALID} in sector 0, ota_0 {3 VALID} in sector 1", 2, VALID, 3, VALID, "ota_0"},
    // An update to ota_1 selected and not booted: until the switch starts,
    // that choice stands (it is a complete, verified app).
    {"ota_0 {1 VALID} in sector 0, pending ota_1 {2 NEW} in sector 1", 1, VALID, 2, NEW, "ota_1"},
};

static const enum mpota_flash_emu_tear tears[] = {MPOTA_FLASH_EMU_TEAR_HALF,
                                                  MPOTA_FLASH_EMU_TEAR_NONE,
                                                  MPOTA_FLASH_EMU_TEAR_ALL};
static const char *const tear_names[] = {"half", "none", "all"};

static void set_history(struct fx *f, const struct history *h)
{
    rig_layout(f->b, RIG_FACTORY);
    if (h->seq0) {
        rig_set_entry(f->b, 0, h->seq0, h->state0);
    }
    if (h->seq1) {
        rig_set_entry(f->b, 1, h->seq1, h->state1);
    }
    f->b->ctx.running = f->ota0;
}

// The whole forced update: write, end, set_boot.
static void forced_update(struct fx *f)
{
    assert_int_equal(write_factory(f, f->ota0), 0);
    assert_int_equal(mpota_session_set_boot(&f->s), 0);
}

static void test_power_cut_at_every_op(void **state)
{
    struct fx *f = fx_new(state);
    struct boot_rig *b = f->b;
    unsigned runs = 0;
    for (size_t hi = 0; hi < sizeof(histories) / sizeof(histories[0]); hi++) {
        const struct history *h = &histories[hi];
        // The clean run: its op count, and that the switch is the last 2 ops.
        set_history(f, h);
        snapshot(f);
        assert_string_equal(rig_boot(b, NULL), h->before);
        memcpy(b->emu.mem, f->initial, RIG_FLASH_SIZE);
        mpota_flash_emu_reset_counters(&b->emu);
        assert_int_equal(write_factory(f, f->ota0), 0);
        uint64_t write_ops = b->emu.count.ops;
        assert_int_equal(mpota_session_set_boot(&f->s), 0);
        uint64_t total = b->emu.count.ops;
        assert_int_equal(total, write_ops + 2);
        assert_true(write_ops > 40);

        for (uint64_t k = 1; k <= total; k++) {
            for (size_t ti = 0; ti < 3; ti++) {
                char where[200];
                snprintf(where, sizeof(where), "history \"%s\", op %llu of %llu, tear %s",
                         h->name, (unsigned long long)k, (unsigned long long)total,
                         tear_names[ti]);
                memcpy(b->emu.mem, f->initial, RIG_FLASH_SIZE);
                mpota_flash_emu_reset_counters(&b->emu);
                b->ctx.running = f->ota0;
                memset(&f->s, 0, sizeof(f->s));
                b->emu.fail_after = k;
                b->emu.tear = tears[ti];
                b->emu.on_cut = on_cut;
                b->emu.on_cut_arg = f;
                if (setjmp(f->cut_jb) == 0) {
                    forced_update(f);
                    fail_msg("%s: no cut", where);
                }
                // A reset: the session's RAM is gone, power comes back.
                mpota_image_parser_release(&f->s.parser);
                memset(&f->s, 0, sizeof(f->s));
                mpota_flash_emu_power_on(&b->emu);
                b->emu.on_cut = NULL;
                assert_memory_equal(b->emu.mem + f->ota0->offset, f->initial + f->ota0->offset,
                                    f->ota0->size);
                assert_memory_equal(b->emu.mem + f->ota1->offset, f->initial + f->ota1->offset,
                                    f->ota1->size);

                const char *want = h->before;
                bool torn = tears[ti] != MPOTA_FLASH_EMU_TEAR_NONE;
                if (k == write_ops + 1) {
                    want = torn ? "ota_0" : h->before;  // the first record is gone
                } else if (k == write_ops + 2) {
                    want = torn ? "factory" : "ota_0";  // the running app's record
                }
                struct mpota_boot_report rep;
                const char *got = rig_boot(b, &rep);
                if (strcmp(got, want) != 0 || rep.selected_index != rep.booted_index) {
                    fail_msg("%s: booted %s (selected index %d), expected %s", where, got,
                             rep.selected_index, want);
                }
                if (strcmp(got, "factory") == 0) {
                    assert_factory_holds_v2(f);
                }
                if (strcmp(got, "ota_0") == 0) {
                    // The running app boots again: the forced update, redone
                    // from scratch, completes.
                    b->ctx.running = f->ota0;
                    forced_update(f);
                    assert_string_equal(rig_boot(b, NULL), "factory");
                    assert_factory_holds_v2(f);
                }
                runs++;
            }
        }
    }
    print_message("power cuts: %u cut runs, each followed by a boot of the expected app\n", runs);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_forced_update_from_ota_slot, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_refusals_write_nothing, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_refusals_other_tables, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_abort_keeps_running_app, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_switch_erases_running_record_last, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_power_cut_at_every_op, rig_setup, rig_teardown),
    };
    return cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown);
}
