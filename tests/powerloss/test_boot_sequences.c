// The whole boot-selection state machine, as a property test: every sequence
// of up to 4 of {update, set-boot the other slot, set-boot the running slot,
// boot, confirm, rollback} from each starting state, on the emulated flash,
// against a reference model written from ESP-IDF's documented rules (SPEC
// §3.5-3.10) plus mpota's documented deviations (boot.h, session.h). After
// every step the model's two otadata records and the running slot must equal
// the device's, and these invariants must hold:
//   I1  the device boots a valid image;
//   I2  the last confirmed app is reachable by rollback (reset an unconfirmed
//       app, roll back a confirmed one) until another is confirmed;
//   I3  no two valid records share a seq.
// Then each sequence again with a power cut at every flash operation, torn
// half-way: after power returns, I1, I2 (for the app confirmed before or
// after the interrupted step) and I3 must hold. POWERLOSS_STRIDE=K cuts
// every K-th of those points only (the sanitizer build).
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
#include "mpota/otadata.h"
#include "mpota/session.h"
#include "table_build.h"

#define FLASH_SIZE 0x50000u
#define OTADATA 0xD000u
#define SLOT_SIZE 0x20000u
#define APP_SIZE 0x5000u  // 20 KiB apps: the machine, not the data, is under test
#define N_APPS 6          // A, B (the starting apps), then the update images
#define MAX_STEPS 4

enum op { OP_UPDATE, OP_SET_OTHER, OP_SET_RUNNING, OP_BOOT, OP_CONFIRM, OP_ROLLBACK, N_OPS };
static const char *const op_name[N_OPS] = {"update", "set-boot other", "set-boot running",
                                           "boot", "confirm", "rollback"};
enum start { ST_FRESH, ST_D1, ST_PENDING_VERIFY, ST_UPDATE_PENDING, N_STARTS };
// The last confirmed app of each start: A = 0, B = 1.
static const int start_confirmed[N_STARTS] = {0, 1, 0, 0};
static const char *const start_name[N_STARTS] = {
    "A runs, confirmed (first boot)", "B runs confirmed, A before it (d1)",
    "B runs unconfirmed (PENDING_VERIFY)", "A runs, B selected, not booted"};

/// The reference model ///

struct rec {
    uint32_t seq, state;
    bool crc_ok;
};

struct model {
    struct rec r[2];
    int app[2];   // which app each slot holds
    int running;  // slot, or -1
};

static struct rec blank_rec(void)
{
    return (struct rec){MPOTA_OTADATA_SEQ_EMPTY, MPOTA_OTA_STATE_UNDEFINED, false};
}

static uint32_t slot_of(uint32_t seq)
{
    return (seq - 1u) % 2u;
}

// SPEC §3.5: invalid = empty seq, INVALID or ABORTED; valid = not invalid and CRC ok.
static bool rec_invalid(const struct rec *r)
{
    return r->seq == MPOTA_OTADATA_SEQ_EMPTY || r->state == MPOTA_OTA_STATE_INVALID ||
           r->state == MPOTA_OTA_STATE_ABORTED;
}

static bool rec_valid(const struct rec *r)
{
    return !rec_invalid(r) && r->crc_ok;
}

static int pick(const struct model *m, const bool ok[2])
{
    if (ok[0] && ok[1]) {
        return m->r[0].seq == (m->r[0].seq > m->r[1].seq ? m->r[0].seq : m->r[1].seq) ? 0 : 1;
    }
    return ok[0] ? 0 : ok[1] ? 1 : -1;
}

static int active(const struct model *m)
{
    bool ok[2] = {rec_valid(&m->r[0]), rec_valid(&m->r[1])};
    return pick(m, ok);
}

// The valid record naming the running slot (mpota's rule, boot.h).
static int running_rec(const struct model *m)
{
    if (m->running < 0) {
        return -1;
    }
    bool ok[2];
    for (int i = 0; i < 2; i++) {
        ok[i] = rec_valid(&m->r[i]) && slot_of(m->r[i].seq) == (uint32_t)m->running;
    }
    return pick(m, ok);
}

// esp_ota_get_state_partition: the first record with a good CRC naming the slot.
static int state_of(const struct model *m, int slot, uint32_t *state)
{
    for (int i = 0; i < 2; i++) {
        if (m->r[i].crc_ok && slot_of(m->r[i].seq) == (uint32_t)slot) {
            *state = m->r[i].state;
            return 0;
        }
    }
    return -1;
}

static uint32_t next_seq(uint32_t from, int slot)
{
    uint32_t seq = from;
    while (slot_of(seq) != (uint32_t)slot || seq == 0) {
        seq++;
    }
    return seq;
}

static struct rec new_rec(uint32_t seq)
{
    return (struct rec){seq, MPOTA_OTA_STATE_NEW, true};
}

// Where the bootloader goes now (esp_ota_get_boot_partition).
static int boot_slot(const struct model *m)
{
    int a = (rec_invalid(&m->r[0]) && rec_invalid(&m->r[1])) ? -1 : active(m);
    return a >= 0 ? (int)slot_of(m->r[a].seq) : 0;
}

// SPEC §3.7, rollback enabled, no factory: PENDING_VERIFY -> ABORTED first;
// both invalid -> ota_0 (initial contents: sector 0 = {1, VALID}); else the
// active record, NEW -> PENDING_VERIFY; no active (CRC errors) -> ota_0.
static void model_boot(struct model *m)
{
    for (int i = 0; i < 2; i++) {
        if (m->r[i].state == MPOTA_OTA_STATE_PENDING_VERIFY) {
            m->r[i].state = MPOTA_OTA_STATE_ABORTED;
        }
    }
    int idx = 0;
    if (rec_invalid(&m->r[0]) && rec_invalid(&m->r[1])) {
        bool initial = (m->r[0].seq == MPOTA_OTADATA_SEQ_EMPTY || !m->r[0].crc_ok) &&
                       (m->r[1].seq == MPOTA_OTADATA_SEQ_EMPTY || !m->r[1].crc_ok);
        if (initial) {
            m->r[0] = (struct rec){1, MPOTA_OTA_STATE_VALID, true};
        }
    } else {
        int a = active(m);
        if (a >= 0) {
            idx = (int)slot_of(m->r[a].seq);
            if (m->r[a].state == MPOTA_OTA_STATE_NEW) {
                m->r[a].state = MPOTA_OTA_STATE_PENDING_VERIFY;
            }
        }
    }
    m->running = idx;
}

// set_boot with the running app known (boot.h's deviations from ESP-IDF).
static int model_set_boot(struct model *m, int slot)
{
    int a = active(m), keep = running_rec(m);
    if (keep >= 0 && m->r[keep].state == MPOTA_OTA_STATE_PENDING_VERIFY && slot != m->running) {
        return 1;  // the other record is the rollback target
    }
    if (keep >= 0 && a >= 0 && keep != a) {
        if (slot == m->running) {
            m->r[a] = blank_rec();
        } else {
            m->r[a] = new_rec(next_seq(m->r[keep].seq, slot));
        }
    } else if (keep >= 0 && keep == a && slot == m->running) {
        // already selected and running: nothing written
    } else if (a >= 0) {
        m->r[a ^ 1] = new_rec(next_seq(m->r[a].seq, slot));
    } else {
        m->r[0] = new_rec((uint32_t)slot + 1u);
    }
    return 0;
}

// Returns 0, or nonzero when the operation is refused (the model is unchanged).
static int model_step(struct model *m, enum op op, int next_app)
{
    int r = m->running;
    int a = active(m), keep = running_rec(m);
    uint32_t st;
    switch (op) {
    case OP_UPDATE: {
        int target = r < 0 ? 1 : r ^ 1;
        if (r >= 0 && state_of(m, r, &st) == 0 && st == MPOTA_OTA_STATE_PENDING_VERIFY) {
            return 1;  // esp_ota_begin's rule
        }
        if (boot_slot(m) == target && (state_of(m, target, &st) != 0 || st != MPOTA_OTA_STATE_NEW)) {
            return 1;  // the confirmed app the next reset starts
        }
        m->app[target] = next_app;
        return model_set_boot(m, target) ? 2 : 0;  // 2: written, but not selected
    }
    case OP_SET_OTHER:
        return model_set_boot(m, r < 0 ? 1 : r ^ 1);
    case OP_SET_RUNNING:
        return model_set_boot(m, r < 0 ? 0 : r);
    case OP_BOOT:
        model_boot(m);
        return 0;
    case OP_CONFIRM:
        if (a < 0) {
            return 1;
        }
        if (keep >= 0 && keep != a) {
            if (m->r[keep].state != MPOTA_OTA_STATE_VALID &&
                m->r[keep].state != MPOTA_OTA_STATE_UNDEFINED) {
                m->r[keep].state = MPOTA_OTA_STATE_VALID;
            }
        } else if (m->r[a].state != MPOTA_OTA_STATE_VALID) {
            m->r[a].state = MPOTA_OTA_STATE_VALID;
        }
        return 0;
    case OP_ROLLBACK:
        if (a < 0 || (keep >= 0 && keep != a) || !rec_valid(&m->r[a ^ 1])) {
            return 1;  // nothing to roll back to, or an update is pending
        }
        m->r[a].state = MPOTA_OTA_STATE_INVALID;
        model_boot(m);
        return 0;
    default:
        return 1;
    }
}

/// The device ///

struct world {
    struct mpota_flash_emu emu;
    struct mpota_table table;
    const struct mpota_partition *slot[2];
    const struct mpota_partition *running;
    uint8_t *img[N_APPS];
    size_t img_len[N_APPS];
    uint8_t *start_mem[N_STARTS];
    // reaches()'s copy of the flash, kept: under ASan a large malloc is an mmap.
    uint8_t *scratch;
    int start_running[N_STARTS];
    struct model start_model[N_STARTS];
    unsigned long sequences, steps, cuts;
    unsigned long cut_points, stride;  // cut points met; cut every stride-th
};

static struct mpota_boot_ctx ctx_of(struct world *w)
{
    return (struct mpota_boot_ctx){.flash = &w->emu.flash, .table = &w->table, .chip = MPOTA_CHIP_ESP32,
                                    .rollback_enabled = true, .running = w->running};
}

static int dev_boot(struct world *w)
{
    struct mpota_boot_ctx ctx = ctx_of(w);
    struct mpota_boot_report rep;
    int rc = mpota_boot_select(&ctx, &rep);
    w->running = rc ? NULL : rep.booted;
    return rc;
}

// An update as the CLI does it: begin, write in 4 KiB pieces, end, set_boot;
// abort on any failure.
static int dev_update(struct world *w, int app)
{
    struct mpota_boot_ctx ctx = ctx_of(w);
    static const struct mpota_update_opts opts;
    mpota_session_t s;
    int rc = mpota_session_begin(&s, &ctx, w->running, NULL, &opts, NULL);
    for (size_t off = 0; !rc && off < w->img_len[app]; off += 4096) {
        size_t n = w->img_len[app] - off < 4096 ? w->img_len[app] - off : 4096;
        rc = mpota_session_write(&s, w->img[app] + off, (uint32_t)n);
    }
    if (!rc) {
        rc = mpota_session_end(&s, NULL);
    }
    if (!rc) {
        rc = mpota_session_set_boot(&s);
    }
    if (rc) {
        (void)mpota_session_abort(&s);
    }
    return rc;
}

static int dev_step(struct world *w, enum op op, int app)
{
    struct mpota_boot_ctx ctx = ctx_of(w);
    int r = w->running ? (int)(w->running->subtype & 0xF) : -1;
    int rc;
    switch (op) {
    case OP_UPDATE:
        return dev_update(w, app);
    case OP_SET_OTHER:
        return mpota_boot_set_boot(&ctx, w->slot[r < 0 ? 1 : r ^ 1], NULL);
    case OP_SET_RUNNING:
        return mpota_boot_set_boot(&ctx, w->slot[r < 0 ? 0 : r], NULL);
    case OP_BOOT:
        return dev_boot(w);
    case OP_CONFIRM:
        return mpota_boot_mark_valid(&ctx);
    case OP_ROLLBACK:  // as esp_ota_mark_app_invalid_rollback_and_reboot
        rc = mpota_boot_mark_invalid(&ctx);
        return rc ? rc : dev_boot(w);
    default:
        return -1;
    }
}

static void read_records(struct world *w, struct rec out[2])
{
    struct mpota_area a;
    assert_int_equal(mpota_area_init(&a, &w->emu.flash, OTADATA, 0x2000, true), 0);
    struct mpota_otadata_entry two[2];
    assert_int_equal(mpota_otadata_read(&a, two), 0);
    for (int i = 0; i < 2; i++) {
        out[i] = (struct rec){two[i].ota_seq, two[i].ota_state, mpota_otadata_crc_ok(&two[i])};
        if (!out[i].crc_ok && two[i].ota_seq == MPOTA_OTADATA_SEQ_EMPTY) {
            out[i] = blank_rec();
        }
    }
}

// Which app a slot holds (-1: none that verifies).
static int app_in(struct world *w, int slot)
{
    struct mpota_area a;
    assert_int_equal(mpota_area_init(&a, &w->emu.flash, w->slot[slot]->offset, SLOT_SIZE, true), 0);
    struct mpota_image_info info;
    if (mpota_image_verify_area(&a, MPOTA_CHIP_ESP32, &info, NULL) != 0) {
        return -1;
    }
    return info.app_desc.version[0] - 'A';
}

static void fail_here(const char *what, enum start st, const enum op *ops, int n, int cut)
{
    char seq[200] = "";
    for (int i = 0; i < n; i++) {
        strcat(seq, op_name[ops[i]]);
        strcat(seq, i + 1 < n ? ", " : "");
    }
    fail_msg("%s\n  start: %s\n  steps: %s\n  power cut at operation %d (0 = none)", what,
             start_name[st], seq, cut);
}

// I3: no two valid records share a seq.
static bool seqs_distinct(const struct rec r[2])
{
    return !(rec_valid(&r[0]) && rec_valid(&r[1]) && r[0].seq == r[1].seq);
}

// I1 and I2 on a scratch copy of the flash: boot; while what runs is not the
// confirmed app, leave it as a user would (reset an unconfirmed app, roll back
// a confirmed other one). True if app `confirmed` is reached.
static bool reaches(struct world *w, int confirmed, int *boots_valid)
{
    uint8_t *saved = w->scratch;
    memcpy(saved, w->emu.mem, FLASH_SIZE);
    const struct mpota_partition *saved_running = w->running;
    bool found = false;
    *boots_valid = 1;
    for (int round = 0; round < 4 && !found; round++) {
        if (dev_boot(w) != 0 || !w->running) {
            *boots_valid = 0;
            break;
        }
        int r = (int)(w->running->subtype & 0xF);
        if (app_in(w, r) == confirmed) {
            found = true;
            break;
        }
        uint32_t st = 0;
        struct mpota_boot_ctx ctx = ctx_of(w);
        if (mpota_boot_get_state(&ctx, w->running, &st) == 0 &&
            st == MPOTA_OTA_STATE_PENDING_VERIFY) {
            continue;  // unconfirmed: the next reset rolls back
        }
        if (mpota_boot_mark_invalid(&ctx) != 0) {
            break;  // nothing to roll back to
        }
    }
    memcpy(w->emu.mem, saved, FLASH_SIZE);
    w->running = saved_running;
    return found;
}

// The cut: the flash stays off (every later operation fails) until power_on.
static void stay_off(void *arg)
{
    (void)arg;
}

static void restore(struct world *w, enum start st)
{
    memcpy(w->emu.mem, w->start_mem[st], FLASH_SIZE);
    w->running = w->start_running[st] < 0 ? NULL : w->slot[w->start_running[st]];
    mpota_flash_emu_reset_counters(&w->emu);
}

// The app a step confirms, if it does: confirm marks the running app VALID;
// rollback leaves the previous (confirmed) app running.
static int confirmed_after(struct world *w, const struct model *m, int before)
{
    (void)w;
    if (m->running < 0) {
        return before;
    }
    int k = running_rec(m);
    if (k >= 0 && m->r[k].state == MPOTA_OTA_STATE_VALID) {
        return m->app[m->running];
    }
    return before;
}

// Runs one sequence without cuts, against the model. Returns the number of
// flash operations it made.
static uint64_t run_model(struct world *w, enum start st, const enum op *ops, int n)
{
    restore(w, st);
    struct model m = w->start_model[st];
    int confirmed = start_confirmed[st];
    int next_app = 2;
    for (int i = 0; i < n; i++) {
        int want_refused = model_step(&m, ops[i], next_app);
        int rc = dev_step(w, ops[i], next_app);
        if (ops[i] == OP_UPDATE && !want_refused) {
            next_app = next_app + 1 < N_APPS ? next_app + 1 : 2;
        }
        if ((rc != 0) != (want_refused != 0)) {
            char what[120];
            snprintf(what, sizeof(what), "step %d (%s): device %s (rc %d), model %s", i + 1,
                     op_name[ops[i]], rc ? "refused" : "did it", rc,
                     want_refused ? "refuses" : "does it");
            fail_here(what, st, ops, i + 1, 0);
        }
        struct rec got[2];
        read_records(w, got);
        int running = w->running ? (int)(w->running->subtype & 0xF) : -1;
        for (int k = 0; k < 2; k++) {
            const struct rec *a = &got[k], *b = &m.r[k];
            bool same = a->crc_ok == b->crc_ok && a->seq == b->seq &&
                        (a->state == b->state || (!a->crc_ok && !b->crc_ok));
            if (!same || running != m.running) {
                char what[200];
                snprintf(what, sizeof(what),
                         "after step %d: record %d is {seq %u, state %u, crc %d}, model "
                         "{seq %u, state %u, crc %d}; running %d, model %d",
                         i + 1, k, a->seq, a->state, a->crc_ok, b->seq, b->state, b->crc_ok,
                         running, m.running);
                fail_here(what, st, ops, i + 1, 0);
            }
        }
        if (!seqs_distinct(got)) {
            fail_here("I3: two valid records share a seq", st, ops, i + 1, 0);
        }
        confirmed = confirmed_after(w, &m, confirmed);
        int valid = 0;
        if (!reaches(w, confirmed, &valid) || !valid) {
            fail_here(valid ? "I2: the last confirmed app is not reachable by rollback"
                            : "I1: the device does not boot a valid image",
                      st, ops, i + 1, 0);
        }
        w->steps++;
    }
    return w->emu.count.ops;
}

// The same sequence with a power cut at operation `cut`: I1, I2 (the app
// confirmed before or after the interrupted step), I3.
static void run_cut(struct world *w, enum start st, const enum op *ops, int n, uint64_t cut)
{
    restore(w, st);
    struct model m = w->start_model[st];
    int confirmed = start_confirmed[st], before = confirmed;
    int next_app = 2;
    w->emu.fail_after = cut;
    w->emu.tear = MPOTA_FLASH_EMU_TEAR_HALF;
    w->emu.on_cut = stay_off;
    for (int i = 0; i < n && !w->emu.powered_off; i++) {
        before = confirmed;
        int refused = model_step(&m, ops[i], next_app);
        (void)dev_step(w, ops[i], next_app);
        if (ops[i] == OP_UPDATE && !refused) {
            next_app = next_app + 1 < N_APPS ? next_app + 1 : 2;
        }
        confirmed = confirmed_after(w, &m, confirmed);
    }
    mpota_flash_emu_power_on(&w->emu);
    w->running = NULL;  // a reset follows
    struct rec got[2];
    read_records(w, got);
    if (!seqs_distinct(got)) {
        fail_here("I3 after a power cut: two valid records share a seq", st, ops, n, (int)cut);
    }
    int valid = 0;
    bool ok = reaches(w, confirmed, &valid) || reaches(w, before, &valid);
    if (!valid || !ok) {
        fail_here(valid ? "I2 after a power cut: the last confirmed app is not reachable"
                        : "I1 after a power cut: the device does not boot a valid image",
                  st, ops, n, (int)cut);
    }
    w->cuts++;
}

static void for_each_sequence(struct world *w, bool cuts)
{
    enum op ops[MAX_STEPS];
    for (int st = 0; st < N_STARTS; st++) {
        for (int n = 1; n <= MAX_STEPS; n++) {
            long total = 1;
            for (int i = 0; i < n; i++) {
                total *= N_OPS;
            }
            for (long code = 0; code < total; code++) {
                long c = code;
                for (int i = 0; i < n; i++) {
                    ops[i] = (enum op)(c % N_OPS);
                    c /= N_OPS;
                }
                uint64_t n_ops = run_model(w, (enum start)st, ops, n);
                w->sequences++;
                // Cuts only at the operations of the last step: the shorter
                // prefixes were cut as sequences of their own.
                uint64_t first = 1;
                if (cuts && n > 1) {
                    first = run_model(w, (enum start)st, ops, n - 1) + 1;
                }
                for (uint64_t cut = first; cuts && cut <= n_ops; cut++) {
                    if (w->cut_points++ % w->stride == 0) {
                        run_cut(w, (enum start)st, ops, n, cut);
                    }
                }
            }
        }
    }
}

/// Setup ///

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    assert_int_equal(mpota_flash_emu_open_ram(&w->emu, FLASH_SIZE), 0);
    w->scratch = malloc(FLASH_SIZE);
    assert_non_null(w->scratch);
    table_add(&w->table, "nvs", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_NVS, 0x9000, 0x4000);
    table_add(&w->table, "otadata", MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA, OTADATA,
              0x2000);
    table_add(&w->table, "ota_0", MPOTA_PART_TYPE_APP, 0x10, 0x10000, SLOT_SIZE);
    table_add(&w->table, "ota_1", MPOTA_PART_TYPE_APP, 0x11, 0x30000, SLOT_SIZE);
    w->slot[0] = mpota_part_find_label(&w->table, "ota_0");
    w->slot[1] = mpota_part_find_label(&w->table, "ota_1");
    for (int i = 0; i < N_APPS; i++) {
        char version[2] = {(char)('A' + i), 0};
        struct mpota_app_spec spec = {.chip_id = MPOTA_CHIP_ESP32, .total_size = APP_SIZE,
                                      .version = version, .seed = (uint64_t)i + 1};
        assert_int_equal(mpota_image_build_app(&spec, &w->img[i], &w->img_len[i], NULL), 0);
    }
    // Every start: A in ota_0, B in ota_1, otadata blank, then a few steps.
    static const enum op prefix[N_STARTS][3] = {
        [ST_FRESH] = {OP_BOOT},
        [ST_D1] = {OP_BOOT, OP_SET_OTHER, OP_BOOT},  // + confirm below
        [ST_PENDING_VERIFY] = {OP_BOOT, OP_SET_OTHER, OP_BOOT},
        [ST_UPDATE_PENDING] = {OP_BOOT, OP_SET_OTHER},
    };
    static const int prefix_len[N_STARTS] = {1, 3, 3, 2};
    for (int st = 0; st < N_STARTS; st++) {
        memset(w->emu.mem, 0xFF, FLASH_SIZE);
        mpota_flash_emu_load(&w->emu, w->slot[0]->offset, w->img[0], (uint32_t)w->img_len[0]);
        mpota_flash_emu_load(&w->emu, w->slot[1]->offset, w->img[1], (uint32_t)w->img_len[1]);
        w->running = NULL;
        struct model m = {{blank_rec(), blank_rec()}, {0, 1}, -1};
        for (int i = 0; i < prefix_len[st]; i++) {
            assert_int_equal(model_step(&m, prefix[st][i], 0), 0);
            assert_int_equal(dev_step(w, prefix[st][i], 0), 0);
        }
        if (st == ST_D1) {
            assert_int_equal(model_step(&m, OP_CONFIRM, 0), 0);
            assert_int_equal(dev_step(w, OP_CONFIRM, 0), 0);
        }
        w->start_mem[st] = malloc(FLASH_SIZE);
        memcpy(w->start_mem[st], w->emu.mem, FLASH_SIZE);
        w->start_running[st] = w->running ? (int)(w->running->subtype & 0xF) : -1;
        w->start_model[st] = m;
        assert_int_equal(w->start_running[st], m.running);
    }
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    for (int i = 0; i < N_APPS; i++) {
        free(w->img[i]);
    }
    for (int st = 0; st < N_STARTS; st++) {
        free(w->start_mem[st]);
    }
    mpota_flash_emu_close(&w->emu);
    free(w->scratch);
    free(w);
    return 0;
}

static void test_every_sequence_matches_the_model(void **state)
{
    struct world *w = *state;
    for_each_sequence(w, false);
    print_message("%lu sequences (%lu steps) from %d starting states: device == model, "
                  "I1-I3 hold\n", w->sequences, w->steps, N_STARTS);
}

static void test_every_sequence_survives_a_cut_at_every_operation(void **state)
{
    struct world *w = *state;
    w->sequences = w->cuts = 0;
    const char *stride = getenv("POWERLOSS_STRIDE");
    w->stride = stride && atol(stride) > 0 ? (unsigned long)atol(stride) : 1;
    for_each_sequence(w, true);
    print_message("%lu sequences, %lu power cuts (one every %lu of %lu operations): I1-I3 "
                  "hold after each\n", w->sequences, w->cuts, w->stride, w->cut_points);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_sequence_matches_the_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_sequence_survives_a_cut_at_every_operation,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
