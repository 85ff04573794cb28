// Power loss over every otadata write (STYLE §6, MCUboot-style): run a clean
// sequence of update cycles and count its erase/program operations; then for
// EVERY operation index and three ways of tearing it (half done, not started,
// done) cut the power there, reset, and check
//   1. a valid app boots, and it is the app a reset would have booted just
//      before or just after the interrupted step;
//   2. redoing the interrupted cycle from its start reaches that cycle's goal;
//   3. the remaining cycles then run and reach their goals too.
// Two layouts: MicroPython's (ota_0/ota_1, no factory) and factory + 2 OTA.
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
#include "host_file.h"
#include "mpota/boot.h"
#include "mpota/err.h"
#include "mpota/image.h"
#include "mpota/otadata.h"
#include "mpota/part.h"
#include "table_build.h"
#include "testutil.h"

#define MAX_STEPS 64

enum op { BOOT, SET_BOOT, MARK_VALID, MARK_INVALID, INVALIDATE, END };

struct step {
    enum op op;
    const char *target;  // SET_BOOT
};

struct cycle {
    const char *name;
    struct step steps[6];     // up to END
    const char *goal;         // what runs after the cycle
    bool goal_valid;          // ... and its otadata state is VALID
};

struct scenario {
    const char *name;
    bool factory;
    struct cycle cycles[10];  // up to name == NULL
};

static const struct scenario micropython = {
    "MicroPython 4 MiB OTA (no factory)",
    false,
    {
        // Not "VALID" as a goal: a program torn after the seq bytes leaves
        // {seq 1, crc 0xFFFFFFFF}, which the bootloader never rewrites (see
        // boot_select.c); ota_0 still boots every time.
        {"first boot", {{BOOT, NULL}, {END, NULL}}, "ota_0", false},
        {"update to ota_1, confirm",
         {{SET_BOOT, "ota_1"}, {BOOT, NULL}, {MARK_VALID, NULL}, {BOOT, NULL}, {END, NULL}},
         "ota_1", true},
        {"update to ota_0, no confirm: rollback",
         {{SET_BOOT, "ota_0"}, {BOOT, NULL}, {BOOT, NULL}, {END, NULL}}, "ota_1", true},
        {"update to ota_0, confirm",
         {{SET_BOOT, "ota_0"}, {BOOT, NULL}, {MARK_VALID, NULL}, {BOOT, NULL}, {END, NULL}},
         "ota_0", true},
        {"update to ota_1, mark invalid: rollback",
         {{SET_BOOT, "ota_1"}, {BOOT, NULL}, {MARK_INVALID, NULL}, {BOOT, NULL}, {END, NULL}},
         "ota_0", true},
        {"update to ota_1, confirm, invalidate the old slot",
         {{SET_BOOT, "ota_1"}, {BOOT, NULL}, {MARK_VALID, NULL}, {INVALIDATE, NULL}, {BOOT, NULL},
          {END, NULL}},
         "ota_1", true},
        {NULL, {{END, NULL}}, NULL, false},
    },
};

static const struct scenario with_factory = {
    "factory + ota_0 + ota_1",
    true,
    {
        {"first boot", {{BOOT, NULL}, {END, NULL}}, "factory", false},
        {"update to ota_0, confirm",
         {{SET_BOOT, "ota_0"}, {BOOT, NULL}, {MARK_VALID, NULL}, {BOOT, NULL}, {END, NULL}},
         "ota_0", true},
        {"update to ota_1, mark invalid: rollback",
         {{SET_BOOT, "ota_1"}, {BOOT, NULL}, {MARK_INVALID, NULL}, {BOOT, NULL}, {END, NULL}},
         "ota_0", true},
        {"update to ota_1, confirm",
         {{SET_BOOT, "ota_1"}, {BOOT, NULL}, {MARK_VALID, NULL}, {BOOT, NULL}, {END, NULL}},
         "ota_1", true},
        {"update to ota_0, confirm (ota_1's VALID entry stays behind)",
         {{SET_BOOT, "ota_0"}, {BOOT, NULL}, {MARK_VALID, NULL}, {BOOT, NULL}, {END, NULL}},
         "ota_0", true},
        // Erasing otadata in address order would, when cut between the two
        // erases, boot the stale ota_1 here: neither before nor after.
        {"back to factory", {{SET_BOOT, "factory"}, {BOOT, NULL}, {END, NULL}}, "factory", false},
        {"update to ota_1, no confirm: rollback to factory",
         {{SET_BOOT, "ota_1"}, {BOOT, NULL}, {BOOT, NULL}, {END, NULL}}, "factory", false},
        {"update to ota_1, confirm",
         {{SET_BOOT, "ota_1"}, {BOOT, NULL}, {MARK_VALID, NULL}, {BOOT, NULL}, {END, NULL}},
         "ota_1", true},
        {NULL, {{END, NULL}}, NULL, false},
    },
};

struct world {
    struct mpota_flash_emu emu;      // the device
    struct mpota_flash_emu scratch;  // same apps, for "what would a reset boot now"
    uint8_t *initial;                // the device's flash before the scenario
    struct mpota_table table;
    struct mpota_boot_ctx ctx;
    struct mpota_boot_ctx scratch_ctx;
    const struct mpota_partition *running;
    bool redo;  // lenient where a redo legitimately finds the work done
    char where[160];  // the cut being checked, for failure messages

    // Clean run, per step in scenario order.
    unsigned n_steps;
    uint64_t ops_before[MAX_STEPS], ops_after[MAX_STEPS];
    const char *boot_before[MAX_STEPS], *boot_after[MAX_STEPS];

    // Where the run is, for the cut handler.
    volatile unsigned at_step;
    jmp_buf jb;
};

static uint8_t *g_image;
static size_t g_image_len;

static void build(struct world *w, bool factory)
{
    memset(w, 0, sizeof(*w));
    assert_int_equal(mpota_flash_emu_open_ram(&w->emu, RIG_FLASH_SIZE), 0);
    assert_int_equal(mpota_flash_emu_open_ram(&w->scratch, RIG_FLASH_SIZE), 0);
    struct mpota_table *t = &w->table;
    table_add(t, "nvs", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_NVS, 0x9000, 0x4000);
    table_add(t, "otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, RIG_OTADATA, 0x2000);
    table_add(t, "phy_init", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_PHY, 0xF000, 0x1000);
    if (factory) {
        table_add(t, "factory", MPOTA_PART_TYPE_APP, 0x00, 0x10000, 0x100000);
        table_add(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x110000, 0x100000);
        table_add(t, "ota_1", MPOTA_PART_TYPE_APP, 0x11, 0x210000, 0x100000);
    } else {
        table_add(t, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x10000, 0x180000);
        table_add(t, "ota_1", MPOTA_PART_TYPE_APP, 0x11, 0x190000, 0x180000);
    }
    for (uint32_t i = 0; i < t->count; i++) {
        if (t->parts[i].type == MPOTA_PART_TYPE_APP) {
            uint32_t off = t->parts[i].offset;
            assert_int_equal(mpota_flash_emu_load(&w->emu, off, g_image, (uint32_t)g_image_len), 0);
            assert_int_equal(
                mpota_flash_emu_load(&w->scratch, off, g_image, (uint32_t)g_image_len), 0);
        }
    }
    w->initial = malloc(RIG_FLASH_SIZE);
    assert_non_null(w->initial);
    memcpy(w->initial, w->emu.mem, RIG_FLASH_SIZE);
    w->ctx = (struct mpota_boot_ctx){.flash = &w->emu.flash, .table = &w->table,
                                     .chip = MPOTA_CHIP_ESP32, .rollback_enabled = true};
    w->scratch_ctx = (struct mpota_boot_ctx){.flash = &w->scratch.flash, .table = &w->table,
                                             .chip = MPOTA_CHIP_ESP32, .rollback_enabled = true};
}

static void destroy(struct world *w)
{
    mpota_flash_emu_close(&w->emu);
    mpota_flash_emu_close(&w->scratch);
    free(w->initial);
}

// What a reset would boot with the device's otadata as it is now (on a copy,
// so the bootloader's own writes do not disturb the device).
static const char *boot_now(struct world *w)
{
    memcpy(w->scratch.mem + RIG_OTADATA, w->emu.mem + RIG_OTADATA, 0x2000);
    struct mpota_boot_report r;
    int rc = mpota_boot_select(&w->scratch_ctx, &r);
    assert_int_equal(rc, 0);
    return r.booted->label;
}

static void do_step(struct world *w, const struct step *s)
{
    int rc = 0;
    struct mpota_boot_report r;
    switch (s->op) {
    case BOOT:
        rc = mpota_boot_select(&w->ctx, &r);
        assert_int_equal(rc, 0);
        for (unsigned i = 0; i < r.n_writes; i++) {
            assert_int_equal(r.writes[i].err, 0);
        }
        w->running = r.booted;
        break;
    case SET_BOOT:
        rc = mpota_boot_set_boot(&w->ctx, rig_find(&w->table, s->target), NULL);
        assert_int_equal(rc, 0);
        break;
    case MARK_VALID:
        assert_int_equal(mpota_boot_mark_valid(&w->ctx), 0);
        break;
    case MARK_INVALID:
        assert_int_equal(mpota_boot_mark_invalid(&w->ctx), 0);
        break;
    case INVALIDATE:
        rc = mpota_boot_invalidate_inactive(&w->ctx, w->running);
        if (!(w->redo && rc == MPOTA_ERR_NOT_FOUND)) {  // a torn erase may have done it
            assert_int_equal(rc, 0);
        }
        assert_int_equal(mpota_boot_rollback_possible(&w->ctx), 0);
        break;
    case END:
        break;
    }
}

static void check_goal(struct world *w, const struct cycle *c)
{
    assert_non_null(w->running);
    if (strcmp(w->running->label, c->goal) != 0) {
        struct mpota_otadata_entry e0, e1;
        mpota_otadata_decode(w->emu.mem + RIG_OTADATA, &e0);
        mpota_otadata_decode(w->emu.mem + RIG_OTADATA + 0x1000, &e1);
        fail_msg("%s: cycle \"%s\"%s: %s runs, expected %s; otadata {%x %u %x} {%x %u %x}",
                 w->where, c->name, w->redo ? " (redo)" : "", w->running->label, c->goal,
                 (unsigned)e0.ota_seq, (unsigned)e0.ota_state, (unsigned)e0.crc,
                 (unsigned)e1.ota_seq, (unsigned)e1.ota_state, (unsigned)e1.crc);
    }
    assert_string_equal(boot_now(w), c->goal);
    if (c->goal_valid) {
        uint32_t st = 0;
        int rc = mpota_boot_get_state(&w->ctx, w->running, &st);
        if (rc != 0 || st != MPOTA_OTA_STATE_VALID) {
            struct mpota_otadata_entry e0, e1;
            mpota_otadata_decode(w->emu.mem + RIG_OTADATA, &e0);
            mpota_otadata_decode(w->emu.mem + RIG_OTADATA + 0x1000, &e1);
            fail_msg("%s: cycle \"%s\"%s: %s state %d/%u; otadata {%x %u %x} {%x %u %x}",
                     w->where, c->name,
                     w->redo ? " (redo)" : "", w->running->label, rc, (unsigned)st,
                     (unsigned)e0.ota_seq, (unsigned)e0.ota_state, (unsigned)e0.crc,
                     (unsigned)e1.ota_seq, (unsigned)e1.ota_state, (unsigned)e1.crc);
        }
    }
}

static unsigned step_count(const struct cycle *c)
{
    unsigned n = 0;
    while (c->steps[n].op != END) {
        n++;
    }
    return n;
}

// Runs cycles [from, end) normally, numbering steps from *step_no.
static void run_cycles(struct world *w, const struct scenario *sc, unsigned from,
                       unsigned *step_no, bool record)
{
    for (unsigned ci = from; sc->cycles[ci].name; ci++) {
        const struct cycle *c = &sc->cycles[ci];
        for (unsigned si = 0; si < step_count(c); si++) {
            unsigned n = (*step_no)++;
            assert_true(n < MAX_STEPS);
            w->at_step = n;
            if (record) {
                w->ops_before[n] = w->emu.count.ops;
                w->boot_before[n] = boot_now(w);
            }
            do_step(w, &c->steps[si]);
            if (record) {
                w->ops_after[n] = w->emu.count.ops;
                w->boot_after[n] = boot_now(w);
            }
        }
        check_goal(w, c);
    }
    if (record) {
        w->n_steps = *step_no;
    }
}

// Step number -> (cycle index, first step number of that cycle).
static unsigned cycle_of(const struct scenario *sc, unsigned step, unsigned *first)
{
    unsigned n = 0;
    for (unsigned ci = 0; sc->cycles[ci].name; ci++) {
        unsigned k = step_count(&sc->cycles[ci]);
        if (step < n + k) {
            *first = n;
            return ci;
        }
        n += k;
    }
    fail_msg("step %u outside the scenario", step);
    return 0;
}

static void on_cut(void *arg)
{
    struct world *w = arg;
    longjmp(w->jb, 1);
}

static const char *const tear_names[] = {"half", "none", "all"};

static unsigned run_scenario(const struct scenario *sc)
{
    struct world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    build(w, sc->factory);

    // Clean run: count the operations of every step.
    unsigned step_no = 0;
    snprintf(w->where, sizeof(w->where), "%s, clean run", sc->name);
    run_cycles(w, sc, 0, &step_no, true);
    uint64_t total = w->emu.count.ops;
    assert_true(total > 0);
    const char *clean_final = w->running->label;

    unsigned checked = 0;
    for (uint64_t k = 1; k <= total; k++) {
        for (int tear = 0; tear < 3; tear++) {
            memcpy(w->emu.mem, w->initial, RIG_FLASH_SIZE);
            mpota_flash_emu_power_on(&w->emu);
            mpota_flash_emu_reset_counters(&w->emu);
            w->running = NULL;
            w->redo = false;
            w->emu.fail_after = k;
            w->emu.tear = (enum mpota_flash_emu_tear)tear;
            w->emu.on_cut = on_cut;
            w->emu.on_cut_arg = w;
            if (setjmp(w->jb) == 0) {
                unsigned n = 0;
                run_cycles(w, sc, 0, &n, false);
                fail_msg("%s: no cut at op %llu", sc->name, (unsigned long long)k);
            }
            // Power is back; the cut op is the k-th and lies in the step the
            // clean run says.
            unsigned s = w->at_step;
            snprintf(w->where, sizeof(w->where), "%s, cut at op %llu (%s) in step %u", sc->name,
                     (unsigned long long)k, tear_names[tear], s);
            assert_int_equal(w->emu.count.ops, k);
            assert_true(w->ops_before[s] < k && k <= w->ops_after[s]);
            mpota_flash_emu_power_on(&w->emu);
            w->emu.on_cut = NULL;

            // 1. The reset after the cut boots a valid app: the one from
            // just before or just after the interrupted step.
            struct mpota_boot_report r;
            int rc = mpota_boot_select(&w->ctx, &r);
            if (rc != 0 || !r.booted) {
                fail_msg("%s: cut at op %llu (%s, step %u): nothing boots (%d)", sc->name,
                         (unsigned long long)k, tear_names[tear], s, rc);
            }
            const char *got = r.booted->label;
            if (strcmp(got, w->boot_before[s]) != 0 && strcmp(got, w->boot_after[s]) != 0) {
                fail_msg("%s: cut at op %llu (%s, step %u): %s boots, expected %s or %s",
                         sc->name, (unsigned long long)k, tear_names[tear], s, got,
                         w->boot_before[s], w->boot_after[s]);
            }
            w->running = r.booted;

            // 2. Redo the interrupted cycle, as an update engine would: from
            // its start, except that if the reset after the cut already
            // started the cycle's target, "set_boot + reset" is done. (Doing
            // set_boot again on a slot that runs PENDING_VERIFY would throw
            // away the rollback entry on ESP-IDF <= v5.5; see test_ota_ops.)
            unsigned first = 0;
            unsigned ci = cycle_of(sc, s, &first);
            const struct cycle *c = &sc->cycles[ci];
            unsigned from = 0;
            if (c->steps[0].op == SET_BOOT && c->steps[1].op == BOOT &&
                strcmp(w->running->label, c->steps[0].target) == 0) {
                from = 2;
            }
            w->redo = true;
            for (unsigned si = from; si < step_count(c); si++) {
                do_step(w, &c->steps[si]);
            }
            check_goal(w, c);
            w->redo = false;

            // 3. The rest of the scenario.
            unsigned n = first + step_count(c);
            run_cycles(w, sc, ci + 1, &n, false);
            assert_string_equal(w->running->label, clean_final);
            checked++;
        }
    }
    print_message("%s: %llu operations in the clean run\n", sc->name, (unsigned long long)total);
    destroy(w);
    free(w);
    return checked;
}

static void test_powerloss_every_op(void **state)
{
    (void)state;
    skip_without_testdata();
    g_image = mpota_host_read_file(testdata_path("images/app-v1.0.1.bin"), &g_image_len);
    assert_non_null(g_image);
    unsigned checked = run_scenario(&micropython);
    checked += run_scenario(&with_factory);
    free(g_image);
    g_image = NULL;
    print_message("cut points checked: %u\n", checked);
    assert_true(checked > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_powerloss_every_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
