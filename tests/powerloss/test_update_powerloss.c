// Power loss over whole update cycles (issue 3; STYLE §6, MCUboot's
// run_perm_with_fails): each cycle is run clean once and its erase/program
// operations are counted and traced; then for every operation index k and
// three ways of tearing it (half done, not started, done) the flash is reset
// to its initial contents, the cycle runs until power fails at op k, power
// comes back, and a reset (mpota_boot_select) must
//   1. boot an intact app (its slot verifies), and exactly the app (and
//      otadata state) that docs/DESIGN.md's power-cut table gives for the
//      step and the op hit;
//   2. leave the running slot (ota_0, v1) byte-identical -- at every point,
//      so in particular whenever v1 is what boots -- and v1's otadata record;
//   3. let the cycle be completed -- the remaining steps, or the update redone
//      from scratch where the cut lost it -- reaching the cycle's goal.
//
// The device: a 4 MiB ESP32 with MicroPython's OTA layout (layout maker,
// slots grown to hold a 1.6 MB image), v1 running in ota_0 after its first
// boot (otadata sector 0 = {1, VALID}), ota_1 holding a stale older build, so
// the update has to erase before it programs (the stale build covers 23 of
// the 25 blocks a 1.6 MB v2 needs, so the planner's skipping of blank blocks
// runs too). v2 is installed into ota_1.
//
// Cycles:
//   a  update, set_boot, reset (v2 PENDING_VERIFY), confirm, reset      -> v2 VALID
//   b  update, set_boot, reset (v2 PENDING_VERIFY), reset (ABORTED: v1),
//      reset                                                            -> v1
//   c  update cut part-way by a real power cut, reset (v1), the update
//      redone by a new session, set_boot, reset, confirm, reset          -> v2 VALID
//
// Phases are told apart by the op index ranges measured per step in the
// clean run (and the clean run's op trace checks that each otadata step is
// exactly "erase sector 1, program 32 bytes there" and that the update writes
// nothing outside ota_1), not by guessing.
//
// Two image sizes: ~270 KB with every op cut in each of the three tear modes
// (the full matrix, ~75 ops per update), and 1.6 MB (the size of a
// MicroPython firmware, ~415 ops per update) with a sample of cut points,
// torn half-way; see sample_point() for why that is sound. Run time is
// almost all SHA-256 over the images (the bootloader, set_boot and the
// session's read-back each verify the whole image), so it grows with
// cut points x image size.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flash_emu.h"
#include "image_build.h"
#include "mpota/boot.h"
#include "mpota/err.h"
#include "mpota/hash.h"
#include "mpota/image.h"
#include "mpota/otadata.h"
#include "mpota/part.h"
#include "mpota/session.h"
#include "part_layout.h"

#define FLASH_SIZE (4u << 20)
#define CHUNK 4096u          // bytes per session_write, as a download loop feeds them
#define LARGE_IMAGE 1600000u // a MicroPython firmware
// ~264 KiB: 67 programs, 4 block and 2 sector erases per update. Past
// 256 KiB the builder gives the app its IROM segment in its own 64 KiB page,
// as real apps have; the end 2 sectors into a block makes the erase plan use
// both erase sizes.
#define SMALL_IMAGE 270000u
#define MAX_STEPS 8
#define SAMPLE_EVERY 50u

enum app { V1, V2 };
static const char *const app_names[] = {"v1", "v2"};

enum step_kind { ST_END = 0, ST_UPDATE, ST_UPDATE_CUT, ST_SET_BOOT, ST_BOOT, ST_CONFIRM };
static const char *const step_names[] = {"end", "update", "update (cut part-way)", "set_boot",
                                         "reset", "confirm"};

struct step {
    enum step_kind kind;
    // ST_BOOT: what the clean run boots, its otadata state afterwards, and
    // whether the bootloader writes otadata on the way (one entry = 2 ops).
    enum app boots;
    uint32_t state;
    bool writes;
};

struct cycle {
    const char *name;
    struct step steps[MAX_STEPS];  // up to ST_END
    unsigned redo_from;            // the full update: where a lost update starts again
    enum app goal;                 // what runs, VALID, at the end
};

#define PENDING MPOTA_OTA_STATE_PENDING_VERIFY
#define VALID MPOTA_OTA_STATE_VALID

static const struct cycle cycles[] = {
    {"a (update, reset, confirm, reset)",
     {{ST_UPDATE, V1, 0, false},
      {ST_SET_BOOT, V1, 0, false},
      {ST_BOOT, V2, PENDING, true},  // bootloader: NEW -> PENDING_VERIFY
      {ST_CONFIRM, V1, 0, false},
      {ST_BOOT, V2, VALID, false}},
     0, V2},
    {"b (update, reset, no confirm, reset: rollback, reset)",
     {{ST_UPDATE, V1, 0, false},
      {ST_SET_BOOT, V1, 0, false},
      {ST_BOOT, V2, PENDING, true},  // NEW -> PENDING_VERIFY
      {ST_BOOT, V1, VALID, true},    // PENDING_VERIFY -> ABORTED: rollback
      {ST_BOOT, V1, VALID, false}},
     0, V1},
    {"c (update cut part-way, reset, update again, reset, confirm, reset)",
     {{ST_UPDATE_CUT, V1, 0, false},
      {ST_BOOT, V1, VALID, false},
      {ST_UPDATE, V1, 0, false},
      {ST_SET_BOOT, V1, 0, false},
      {ST_BOOT, V2, PENDING, true},
      {ST_CONFIRM, V1, 0, false},
      {ST_BOOT, V2, VALID, false}},
     2, V2},
};
#define N_CYCLES (sizeof(cycles) / sizeof(cycles[0]))

static const enum mpota_flash_emu_tear tears[] = {MPOTA_FLASH_EMU_TEAR_HALF,
                                                  MPOTA_FLASH_EMU_TEAR_NONE,
                                                  MPOTA_FLASH_EMU_TEAR_ALL};
static const char *const tear_names[] = {"half", "none", "all"};  // indexed by the enum
#define N_TEARS 3

struct op_rec {
    bool erase;
    uint32_t addr, len;
};

struct world {
    struct mpota_flash_emu emu;
    struct mpota_flash traced;  // forwards to emu.flash, recording ops in the clean run
    struct mpota_table table;
    struct mpota_boot_ctx ctx;  // over `traced`
    const struct mpota_partition *ota0, *ota1, *otadata;
    uint8_t *v1, *v2, *stale;
    size_t v1_len, v2_len, stale_len;
    uint8_t *initial;  // the flash before every run
    struct mpota_update_opts opts;
    mpota_session_t s;
    const struct mpota_partition *running;

    // Clean run of the current cycle.
    uint64_t ops_before[MAX_STEPS], ops_after[MAX_STEPS];
    struct op_rec *trace;
    size_t trace_len, trace_cap;
    bool tracing;
    uint64_t update_ops;   // ops of one clean update into the initial flash
    uint64_t planned_cut;  // cycle c's own cut: an op index inside its first update

    // The run in progress, for the cut handler and messages.
    jmp_buf cut_jb, planned_jb;
    volatile bool planned_armed;
    volatile unsigned at_step;
    char where[256];
};

/// Tracing flash: the core sees this one; it forwards to the emulator. ///

static int tr_read(const struct mpota_flash *f, uint32_t addr, void *buf, uint32_t len)
{
    struct world *w = f->ctx;
    return w->emu.flash.read(&w->emu.flash, addr, buf, len);
}

static void record(struct world *w, bool erase, uint32_t addr, uint32_t len)
{
    if (!w->tracing) {
        return;
    }
    if (w->trace_len == w->trace_cap) {
        w->trace_cap = w->trace_cap ? w->trace_cap * 2 : 1024;
        w->trace = realloc(w->trace, w->trace_cap * sizeof(*w->trace));
        assert_non_null(w->trace);
    }
    w->trace[w->trace_len++] = (struct op_rec){erase, addr, len};
}

// Recorded before the call: a cut inside it does not come back.
static int tr_prog(const struct mpota_flash *f, uint32_t addr, const void *buf, uint32_t len)
{
    struct world *w = f->ctx;
    record(w, false, addr, len);
    return w->emu.flash.prog(&w->emu.flash, addr, buf, len);
}

static int tr_erase(const struct mpota_flash *f, uint32_t addr, uint32_t len)
{
    struct world *w = f->ctx;
    record(w, true, addr, len);
    return w->emu.flash.erase(&w->emu.flash, addr, len);
}

/// The rig ///

static uint8_t *make_app(uint32_t size, const char *version, uint64_t seed, size_t *len)
{
    struct mpota_app_spec spec = {.chip_id = MPOTA_CHIP_ESP32, .total_size = size,
                                  .version = version, .project_name = "micropython",
                                  .seed = seed};
    uint8_t *img = NULL;
    assert_int_equal(mpota_image_build_app(&spec, &img, len, NULL), 0);
    assert_int_equal(*len, size);
    return img;
}

static const struct mpota_partition *reset(struct world *w, struct mpota_boot_report *rep,
                                           bool verify);

static struct world *build(uint32_t image_size)
{
    struct world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    assert_int_equal(mpota_flash_emu_open_ram(&w->emu, FLASH_SIZE), 0);
    // Programs must land on erased flash: a write the update did not erase
    // for fails at once instead of being caught (or not) by a read-back.
    w->emu.strict = true;
    w->traced = w->emu.flash;
    w->traced.ctx = w;
    w->traced.read = tr_read;
    w->traced.prog = tr_prog;
    w->traced.erase = tr_erase;

    // MicroPython's OTA table on 4 MiB, slots grown to hold 1.6 MB
    // (`mpota part make --layout ota --flash-size 4M --fit 1600000`).
    struct mpota_part_layout_opts lo = {.kind = MPOTA_PART_LAYOUT_OTA, .flash_size = FLASH_SIZE,
                                        .fit = LARGE_IMAGE};
    assert_int_equal(mpota_part_layout_make(&lo, &w->table, NULL), 0);
    w->ota0 = mpota_part_find_label(&w->table, "ota_0");
    w->ota1 = mpota_part_find_label(&w->table, "ota_1");
    w->otadata = mpota_part_find(&w->table, MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA);
    assert_non_null(w->ota0);
    assert_non_null(w->ota1);
    assert_non_null(w->otadata);
    assert_true(w->ota1->size >= LARGE_IMAGE);
    w->ctx = (struct mpota_boot_ctx){.flash = &w->traced, .table = &w->table,
                                     .chip = MPOTA_CHIP_ESP32, .rollback_enabled = true};

    w->v1 = make_app(image_size - 20000, "v1.0.0", 1, &w->v1_len);
    w->v2 = make_app(image_size, "v2.0.0", 2, &w->v2_len);
    // The stale build in ota_1 covers all the small v2 needs and 23 of the 25
    // blocks of the large one: erases first, and blank blocks skipped.
    w->stale = make_app(LARGE_IMAGE - 100000, "v0.9.0", 3, &w->stale_len);

    // The table at 0x8000, v1 in ota_0 and the stale build in ota_1, as a
    // programmer leaves them; otadata blank.
    uint8_t bin[MPOTA_PART_TABLE_MAX_LEN];
    assert_int_equal(mpota_part_table_write(&w->table, true, bin), 0);
    assert_int_equal(mpota_flash_emu_load(&w->emu, MPOTA_PART_TABLE_OFFSET, bin, sizeof(bin)), 0);
    assert_int_equal(mpota_flash_emu_load(&w->emu, w->ota0->offset, w->v1, (uint32_t)w->v1_len), 0);
    assert_int_equal(
        mpota_flash_emu_load(&w->emu, w->ota1->offset, w->stale, (uint32_t)w->stale_len), 0);
    // First boot: ota_0 and otadata sector 0 = {1, VALID}.
    struct mpota_boot_report rep;
    assert_ptr_equal(reset(w, &rep, true), w->ota0);
    assert_int_equal(rep.n_writes, 1);
    assert_int_equal(rep.writes[0].kind, MPOTA_BOOT_WROTE_INITIAL);
    uint32_t st = 0;
    assert_int_equal(mpota_boot_get_state(&w->ctx, w->ota0, &st), 0);
    assert_int_equal(st, VALID);

    w->initial = malloc(FLASH_SIZE);
    assert_non_null(w->initial);
    memcpy(w->initial, w->emu.mem, FLASH_SIZE);

    // What a manifest gives the updater.
    w->opts.expected_size = (uint32_t)w->v2_len;
    w->opts.has_sha256 = true;
    mpota_sha256_t h;
    mpota_sha256_start(&h);
    mpota_sha256_update(&h, w->v2, w->v2_len);
    mpota_sha256_finish(&h, w->opts.sha256);
    return w;
}

static void destroy(struct world *w)
{
    mpota_flash_emu_close(&w->emu);
    free(w->v1);
    free(w->v2);
    free(w->stale);
    free(w->initial);
    free(w->trace);
    free(w);
}

static void on_cut(void *arg)
{
    struct world *w = arg;
    if (w->planned_armed) {
        w->planned_armed = false;
        longjmp(w->planned_jb, 1);
    }
    longjmp(w->cut_jb, 1);
}

// Power on, flash as it was before the cycle.
static void restore(struct world *w)
{
    mpota_flash_emu_power_on(&w->emu);
    memcpy(w->emu.mem, w->initial, FLASH_SIZE);
    mpota_flash_emu_reset_counters(&w->emu);
    w->emu.fail_after = 0;
    w->emu.tear = MPOTA_FLASH_EMU_TEAR_HALF;
    w->emu.on_cut = on_cut;
    w->emu.on_cut_arg = w;
    w->planned_armed = false;
    w->running = w->ota0;
    memset(&w->s, 0, sizeof(w->s));
}

/// Describing what went wrong ///

static const char *region(const struct world *w, uint32_t addr, uint32_t *rel)
{
    const struct mpota_partition *p = mpota_part_find_at(&w->table, addr);
    *rel = p ? addr - p->offset : addr;
    return p ? p->label : "?";
}

static void describe_op(const struct world *w, uint64_t k, char *out, size_t size)
{
    if (k == 0 || k > w->trace_len) {
        snprintf(out, size, "op %llu (not in the clean trace)", (unsigned long long)k);
        return;
    }
    const struct op_rec *o = &w->trace[k - 1];
    uint32_t rel;
    const char *label = region(w, o->addr, &rel);
    snprintf(out, size, "op %llu = %s of %u B at 0x%X (%s+0x%X)", (unsigned long long)k,
             o->erase ? "erase" : "program", (unsigned)o->len, (unsigned)o->addr, label,
             (unsigned)rel);
}

static void describe_otadata(const struct world *w, char *out, size_t size)
{
    struct mpota_otadata_entry e[2];
    for (unsigned i = 0; i < 2; i++) {
        mpota_otadata_decode(w->emu.mem + w->otadata->offset + i * MPOTA_OTADATA_SECTOR_SIZE,
                             &e[i]);
    }
    snprintf(out, size, "otadata {seq 0x%X, state 0x%X, crc %s} {seq 0x%X, state 0x%X, crc %s}",
             (unsigned)e[0].ota_seq, (unsigned)e[0].ota_state,
             mpota_otadata_crc_ok(&e[0]) ? "ok" : "bad", (unsigned)e[1].ota_seq,
             (unsigned)e[1].ota_state, mpota_otadata_crc_ok(&e[1]) ? "ok" : "bad");
}

#define FAIL(w, ...)                                                     \
    do {                                                                 \
        char msg_[512], ota_[160];                                       \
        snprintf(msg_, sizeof(msg_), __VA_ARGS__);                       \
        describe_otadata((w), ota_, sizeof(ota_));                       \
        fail_msg("%s: %s; %s", (w)->where, msg_, ota_);                  \
    } while (0)

/// Steps ///

static enum app app_of(const struct world *w, const struct mpota_partition *p)
{
    return p == w->ota1 ? V2 : V1;
}

static const struct mpota_partition *slot_of(const struct world *w, enum app a)
{
    return a == V2 ? w->ota1 : w->ota0;
}

// A reset. The bootloader only returns a slot that verified; `verify` checks
// that once more from outside (after a cut; skipped elsewhere for run time:
// hashing images is most of this test's work).
static const struct mpota_partition *reset(struct world *w, struct mpota_boot_report *rep,
                                           bool verify)
{
    int rc = mpota_boot_select(&w->ctx, rep);
    if (rc != 0 || !rep->booted) {
        FAIL(w, "nothing boots (%s)", mpota_err_name(rc));
    }
    for (unsigned i = 0; i < rep->n_writes; i++) {
        if (rep->writes[i].err) {
            FAIL(w, "the bootloader's otadata write %u failed (%s)", i,
                 mpota_err_name(rep->writes[i].err));
        }
    }
    if (verify) {
        struct mpota_area a;
        assert_int_equal(
            mpota_area_init(&a, &w->traced, rep->booted->offset, rep->booted->size, true), 0);
        rc = mpota_image_verify_area(&a, MPOTA_CHIP_ESP32, NULL, NULL);
        if (rc) {
            FAIL(w, "%s booted but does not verify (%s)", rep->booted->label,
                 mpota_err_name(rc));
        }
    }
    w->running = rep->booted;
    return rep->booted;
}

// The otadata state of p's record, or NO_STATE if none names it.
#define NO_STATE 0xDEADu
static uint32_t state_of(struct world *w, const struct mpota_partition *p)
{
    uint32_t st = 0;
    return mpota_boot_get_state(&w->ctx, p, &st) == 0 ? st : NO_STATE;
}

static const char *state_name(uint32_t st)
{
    const char *n = mpota_otadata_state_name(st);
    return n ? n : st == NO_STATE ? "no record" : "?";
}

// The app that runs and its state are as expected; the slot holds exactly
// that app; v1's slot (the running one when the cycle began) holds exactly
// what it held before, whatever runs now: nothing ever writes it.
static void check_running(struct world *w, enum app want, uint32_t want_state, const char *when)
{
    enum app got = app_of(w, w->running);
    uint32_t st = state_of(w, w->running);
    if (got != want || st != want_state) {
        FAIL(w, "%s: %s (%s) runs in %s, expected %s (%s)", when, app_names[got],
             state_name(st), w->running->label, app_names[want], state_name(want_state));
    }
    if (memcmp(w->emu.mem + w->ota0->offset, w->initial + w->ota0->offset, w->ota0->size) != 0) {
        FAIL(w, "%s: ota_0 (v1's slot) is not byte-identical to before", when);
    }
    if (want == V2 && memcmp(w->emu.mem + w->ota1->offset, w->v2, w->v2_len) != 0) {
        FAIL(w, "%s: v2 runs but ota_1 does not hold v2", when);
    }
    // Every otadata write of these cycles goes to sector 1: set_boot writes
    // the inactive sector, and the bootloader and confirm rewrite the active
    // one, which is then sector 1. v1's record stays as it was.
    uint32_t s0 = w->otadata->offset;
    if (memcmp(w->emu.mem + s0, w->initial + s0, MPOTA_OTADATA_SECTOR_SIZE) != 0) {
        FAIL(w, "%s: otadata sector 0 (v1's record) changed", when);
    }
}

static void do_update(struct world *w)
{
    int rc = mpota_session_begin(&w->s, &w->ctx, w->running, NULL, &w->opts, NULL);
    for (size_t off = 0; !rc && off < w->v2_len; off += CHUNK) {
        uint32_t n = (uint32_t)(w->v2_len - off < CHUNK ? w->v2_len - off : CHUNK);
        rc = mpota_session_write(&w->s, w->v2 + off, n);
    }
    if (!rc) {
        rc = mpota_session_end(&w->s, NULL);
    }
    if (rc) {
        char text[256];
        mpota_diag_format(mpota_session_diag(&w->s), text, sizeof(text));
        FAIL(w, "update failed: %s (%s)", mpota_err_name(rc), text);
    }
    if (mpota_session_target(&w->s) != w->ota1) {
        FAIL(w, "the update wrote %s, not ota_1", mpota_session_target(&w->s)->label);
    }
}

// Cycle c's own power cut, part-way through its first update. If the cut
// under test comes first (k <= planned), that one ends the run instead.
static void update_with_planned_cut(struct world *w)
{
    uint64_t matrix_k = w->emu.fail_after;
    enum mpota_flash_emu_tear matrix_tear = w->emu.tear;
    if (matrix_k != 0 && matrix_k <= w->planned_cut) {
        do_update(w);
        FAIL(w, "the update completed although power fails at op %llu",
             (unsigned long long)matrix_k);
    }
    w->emu.fail_after = w->planned_cut;
    w->emu.tear = MPOTA_FLASH_EMU_TEAR_HALF;
    w->planned_armed = true;
    if (setjmp(w->planned_jb) == 0) {
        do_update(w);
        FAIL(w, "the update completed although power fails at op %llu",
             (unsigned long long)w->planned_cut);
    }
    if (w->emu.count.ops != w->planned_cut) {
        FAIL(w, "planned cut at op %llu came at %llu", (unsigned long long)w->planned_cut,
             (unsigned long long)w->emu.count.ops);
    }
    // Power is back (the counters go on); the cut under test, if later, is
    // still to come.
    mpota_flash_emu_power_on(&w->emu);
    w->emu.fail_after = matrix_k;
    w->emu.tear = matrix_tear;
}

static void do_step(struct world *w, const struct step *st)
{
    struct mpota_boot_report rep;
    int rc;
    switch (st->kind) {
    case ST_UPDATE:
        do_update(w);
        break;
    case ST_UPDATE_CUT:
        update_with_planned_cut(w);
        break;
    case ST_SET_BOOT:
        rc = mpota_session_set_boot(&w->s);
        if (rc) {
            FAIL(w, "set_boot failed (%s)", mpota_err_name(rc));
        }
        break;
    case ST_BOOT:
        reset(w, &rep, false);
        if ((rep.n_writes > 0) != st->writes) {
            FAIL(w, "reset wrote otadata %u times, expected %s", rep.n_writes,
                 st->writes ? "a write" : "none");
        }
        check_running(w, st->boots, st->state, "reset");
        break;
    case ST_CONFIRM:
        rc = mpota_boot_mark_valid(&w->ctx);
        if (rc) {
            FAIL(w, "confirm failed (%s)", mpota_err_name(rc));
        }
        break;
    case ST_END:
        break;
    }
}

static unsigned step_count(const struct cycle *c)
{
    unsigned n = 0;
    while (n < MAX_STEPS && c->steps[n].kind != ST_END) {
        n++;
    }
    return n;
}

static void run_steps(struct world *w, const struct cycle *c, unsigned from, bool clean)
{
    for (unsigned i = from; i < step_count(c); i++) {
        w->at_step = i;
        if (clean) {
            w->ops_before[i] = w->emu.count.ops;
        }
        do_step(w, &c->steps[i]);
        if (clean) {
            w->ops_after[i] = w->emu.count.ops;
        }
    }
}

// Every cycle ends with a reset that writes nothing (checked by its step);
// the goal is what runs then.
static void check_goal(struct world *w, const struct cycle *c)
{
    check_running(w, c->goal, VALID, "end of the cycle");
    if (w->running != slot_of(w, c->goal)) {
        FAIL(w, "%s runs at the end of the cycle", w->running->label);
    }
}

/// Clean run: op ranges per step, checked against the trace ///

static bool is_otadata_sector1_write(const struct world *w, uint64_t first)
{
    uint32_t s1 = w->otadata->offset + MPOTA_OTADATA_SECTOR_SIZE;
    const struct op_rec *e = &w->trace[first], *p = &w->trace[first + 1];
    return e->erase && e->addr == s1 && e->len == MPOTA_OTADATA_SECTOR_SIZE && !p->erase &&
           p->addr == s1 && p->len == MPOTA_OTADATA_ENTRY_SIZE;
}

static void clean_run(struct world *w, const struct cycle *c)
{
    restore(w);
    w->trace_len = 0;
    w->tracing = true;
    snprintf(w->where, sizeof(w->where), "cycle %s, clean run", c->name);
    run_steps(w, c, 0, true);
    check_goal(w, c);
    // (After a cut this follows from otadata sector 0 and ota_0 being
    // unchanged, which check_running asserts.)
    if (c->goal == V2 && mpota_boot_rollback_possible(&w->ctx) != 1) {
        FAIL(w, "v1 is no longer a rollback target after the update");
    }
    w->tracing = false;
    assert_int_equal(w->trace_len, w->emu.count.ops);

    for (unsigned i = 0; i < step_count(c); i++) {
        const struct step *st = &c->steps[i];
        uint64_t a = w->ops_before[i], n = w->ops_after[i] - a;
        bool otadata_step = st->kind == ST_SET_BOOT || st->kind == ST_CONFIRM ||
                            (st->kind == ST_BOOT && st->writes);
        if (otadata_step) {
            // One otadata write: erase sector 1, program the 32-byte entry.
            if (n != 2 || !is_otadata_sector1_write(w, a)) {
                FAIL(w, "step %u (%s): %llu ops, not one otadata sector 1 write", i,
                     step_names[st->kind], (unsigned long long)n);
            }
        } else if (st->kind == ST_BOOT || st->kind == ST_END) {
            if (n != 0) {
                FAIL(w, "step %u (reset) did %llu flash ops", i, (unsigned long long)n);
            }
        } else {
            // Updates: erases and programs, all inside ota_1, some of each.
            uint64_t erases = 0;
            for (uint64_t k = a; k < a + n; k++) {
                const struct op_rec *o = &w->trace[k];
                erases += o->erase;
                if (o->addr < w->ota1->offset ||
                    o->addr + o->len > w->ota1->offset + w->ota1->size) {
                    char d[160];
                    describe_op(w, k + 1, d, sizeof(d));
                    FAIL(w, "step %u (%s): %s is outside ota_1", i, step_names[st->kind], d);
                }
            }
            if (erases == 0 || erases == n) {
                FAIL(w, "step %u (%s): %llu erases of %llu ops", i, step_names[st->kind],
                     (unsigned long long)erases, (unsigned long long)n);
            }
        }
    }
}

/// One cut ///

// What a reset right after power failed at op k of step i boots (docs/DESIGN.md,
// "What boots when power fails during an otadata write"). first/last: the
// step's first and last op. Entries other than sector 1 are never written, so
// "the other entry" is always v1's {1, VALID}.
static void expected_after_cut(const struct step *st, uint64_t k, uint64_t first, uint64_t last,
                               enum mpota_flash_emu_tear tear, enum app *app, uint32_t *state)
{
    *app = V1;
    *state = VALID;
    switch (st->kind) {
    case ST_UPDATE:
    case ST_UPDATE_CUT:
        // Only ota_1 is written and no record names it yet.
        break;
    case ST_SET_BOOT:
        // {2, NEW} into sector 1 counts only once its program has completed;
        // then this reset is v2's first boot.
        if (k == last && tear == MPOTA_FLASH_EMU_TEAR_ALL) {
            *app = V2;
            *state = PENDING;
        }
        break;
    case ST_CONFIRM:
        // In-place rewrite of v2's entry as VALID. Cut before its erase
        // started: v2 is still PENDING_VERIFY and this reset rolls it back;
        // erased or torn: v2's entry is gone, v1 boots (the unwanted rollback
        // ESP-IDF has too); only a completed program keeps v2.
        if (k == last && tear == MPOTA_FLASH_EMU_TEAR_ALL) {
            *app = V2;
            *state = VALID;
        }
        break;
    case ST_BOOT:
        if (st->boots == V2) {
            // NEW -> PENDING_VERIFY in place. Untouched (cut before the erase
            // began): this reset does the same again. Erased or torn: the
            // update is lost, v1 boots. Completed: v2 "ran" once without
            // confirming, so this reset aborts it.
            if (k == first && tear == MPOTA_FLASH_EMU_TEAR_NONE) {
                *app = V2;
                *state = PENDING;
            }
        }
        // PENDING_VERIFY -> ABORTED: every outcome is the rollback to v1.
        break;
    case ST_END:
        break;
    }
}

// Runs the cycle with power failing at op k. Returns the step it failed in.
static unsigned run_until_cut(struct world *w, const struct cycle *c, uint64_t k,
                              enum mpota_flash_emu_tear tear)
{
    restore(w);
    w->emu.fail_after = k;
    w->emu.tear = tear;
    if (setjmp(w->cut_jb) == 0) {
        run_steps(w, c, 0, false);
        FAIL(w, "the cycle completed without the cut");
    }
    return w->at_step;
}

static void cut_at(struct world *w, const struct cycle *c, uint64_t k,
                   enum mpota_flash_emu_tear tear)
{
    char op[160];
    describe_op(w, k, op, sizeof(op));
    snprintf(w->where, sizeof(w->where), "cycle %s, tear %s, %s", c->name, tear_names[tear], op);
    unsigned s = run_until_cut(w, c, k, tear);
    const struct step *st = &c->steps[s];
    snprintf(w->where, sizeof(w->where), "cycle %s, tear %s, %s, step %u (%s)", c->name,
             tear_names[tear], op, s, step_names[st->kind]);
    // The cut is the k-th op, inside the step the clean run measured.
    if (w->emu.count.ops != k || !(w->ops_before[s] < k && k <= w->ops_after[s])) {
        FAIL(w, "the cut came at op %llu, clean run: step %u has ops %llu..%llu",
             (unsigned long long)w->emu.count.ops, s, (unsigned long long)w->ops_before[s] + 1,
             (unsigned long long)w->ops_after[s]);
    }

    // Power comes back; the device resets.
    mpota_flash_emu_power_on(&w->emu);
    w->emu.on_cut = NULL;
    struct mpota_boot_report rep;
    reset(w, &rep, true);
    enum app want;
    uint32_t want_state;
    expected_after_cut(st, k, w->ops_before[s] + 1, w->ops_after[s], tear, &want, &want_state);
    check_running(w, want, want_state, "reset after the cut");

    // Complete the cycle from where it stands.
    unsigned from;
    if (want == V2 && want_state == PENDING) {
        // v2 is on its first boot: continue after the reset that started it.
        from = 0;
        for (unsigned i = c->redo_from; i < step_count(c); i++) {
            if (c->steps[i].kind == ST_BOOT && c->steps[i].boots == V2 &&
                c->steps[i].state == PENDING) {
                from = i + 1;
                break;
            }
        }
        assert_true(from > 0);
    } else if (want == V2) {
        // Confirmed: what is left after the confirm.
        from = 0;
        for (unsigned i = c->redo_from; i < step_count(c); i++) {
            if (c->steps[i].kind == ST_CONFIRM) {
                from = i + 1;
            }
        }
        assert_true(from > 0);
    } else if (st->kind == ST_BOOT && st->boots == V1) {
        // The rollback was under way and is done: the steps after it.
        from = s + 1;
    } else {
        // The update was lost (or never finished): redo it from scratch.
        from = c->redo_from;
    }
    run_steps(w, c, from, false);
    check_goal(w, c);
}

/// Matrices ///

// Cut points for the 1.6 MB image: every SAMPLE_EVERY-th op, every op
// outside the updates (all otadata ops), and the first and last op of every
// step.
// Sampling the programs is sound because the write path's state at op k
// does not depend on k beyond the data offset: every program is the same
// "erase ahead if the region is not yet erased, then program CHUNK bytes at
// the next offset" with otadata and ota_0 untouched and no record naming
// ota_1, so a cut there leaves ota_1 partly written with no reference to it,
// and the redone update (a fresh session) finds the same kind of flash
// whatever the offset. The small image's full matrix covers every op of the
// same code paths (block erases, the first programs with the pre-flight
// head, the last program, end()'s read-back) at every position.
static bool sample_point(const struct world *w, const struct cycle *c, uint64_t k)
{
    if (k % SAMPLE_EVERY == 0) {
        return true;
    }
    for (unsigned i = 0; i < step_count(c); i++) {
        uint64_t a = w->ops_before[i], b = w->ops_after[i];
        if (k > a && k <= b) {
            bool update = c->steps[i].kind == ST_UPDATE || c->steps[i].kind == ST_UPDATE_CUT;
            return !update || k == a + 1 || k == b;
        }
    }
    return false;
}

struct tally {
    unsigned points[N_CYCLES][N_TEARS];
    uint64_t ops[N_CYCLES];
    unsigned total;
};

static void run_matrix(uint32_t image_size, bool sampled, unsigned n_tears, struct tally *t)
{
    struct world *w = build(image_size);

    // One clean update on the initial flash: its op count places cycle c's
    // own cut half-way through its first update.
    restore(w);
    snprintf(w->where, sizeof(w->where), "%u B image, probe update", (unsigned)image_size);
    do_update(w);
    w->update_ops = w->emu.count.ops;
    w->planned_cut = w->update_ops / 2;
    assert_true(w->planned_cut > 2);

    memset(t, 0, sizeof(*t));
    for (unsigned ci = 0; ci < N_CYCLES; ci++) {
        const struct cycle *c = &cycles[ci];
        clean_run(w, c);
        uint64_t total = w->emu.count.ops;
        t->ops[ci] = total;
        for (unsigned ti = 0; ti < n_tears; ti++) {
            unsigned n = 0;
            for (uint64_t k = 1; k <= total; k++) {
                if (sampled && !sample_point(w, c, k)) {
                    continue;
                }
                cut_at(w, c, k, tears[ti]);
                n++;
            }
            t->points[ci][ti] = n;
            t->total += n;
            print_message("%u B image, cycle %s, tear %s: %llu ops in the clean run, "
                          "cut points checked: %u\n",
                          (unsigned)image_size, c->name, tear_names[tears[ti]],
                          (unsigned long long)total, n);
        }
    }
    print_message("%u B image: cut points checked: %u\n", (unsigned)image_size, t->total);
    destroy(w);
    for (unsigned ci = 0; ci < N_CYCLES; ci++) {
        for (unsigned ti = 0; ti < n_tears; ti++) {
            if (t->points[ci][ti] == 0) {
                fail_msg("cycle %s, tear %s: no cut point checked", cycles[ci].name,
                         tear_names[tears[ti]]);
            }
        }
    }
}

static void test_every_op_small_image(void **state)
{
    (void)state;
    struct tally t;
    run_matrix(SMALL_IMAGE, false, N_TEARS, &t);
    // Every op of every cycle, three times.
    for (unsigned ci = 0; ci < N_CYCLES; ci++) {
        assert_int_equal(t.points[ci][0], t.ops[ci]);
    }
}

static void test_sampled_ops_firmware_size(void **state)
{
    (void)state;
    struct tally t;
    // Torn half-way only: what the other tear modes change is which otadata
    // entry survives, and the otadata writes are the same ops whatever the
    // image size -- the small image's matrix covers each in every mode.
    run_matrix(LARGE_IMAGE, true, 1, &t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_small_image),
        cmocka_unit_test(test_sampled_ops_firmware_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
