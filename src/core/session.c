// The update session (session.h). All state transitions are in this file;
// the erase strategy is in erase_plan.c.
#include <string.h>

#include "erase_plan.h"
#include "mpota/mpver.h"
#include "mpota/session.h"

// Ends the running hashes (on an ESP32, the SHA engine is released). Safe
// when they never started or already ended.
static void release_hashes(mpota_session_t *s)
{
    mpota_image_parser_release(&s->parser);
    mpota_md5_free(&s->md5);
}

// Fails with no details: none of an earlier error's numbers or label stay
// behind (the same code may come back with other details, or none).
static int fail(mpota_session_t *s, int err)
{
    mpota_diag_set(&s->diag, err, 0, 0, 0);
    s->diag.label[0] = '\0';
    s->state = MPOTA_SESSION_FAILED;
    release_hashes(s);
    return err;
}

// Fails with details already in s->diag (filled by a callee).
static int fail_diag(mpota_session_t *s, int err)
{
    s->diag.err = err;
    s->state = MPOTA_SESSION_FAILED;
    release_hashes(s);
    return err;
}

// The target slot as a writable area. Built per call rather than stored: the
// session state stays within its budget.
static struct mpota_area slot(const mpota_session_t *s)
{
    struct mpota_area a = {s->ctx->flash, s->target->offset, s->target->size, false};
    return a;
}

static int fail_numbers(mpota_session_t *s, int err, uint32_t off, uint32_t exp, uint32_t act)
{
    mpota_diag_set(&s->diag, err, off, exp, act);
    return fail_diag(s, err);
}

// A flash error at addr; the flash size goes with it (FLASH_BOUNDS says it).
static int flash_failed(mpota_session_t *s, int err, uint32_t addr)
{
    return fail_numbers(s, err, addr, s->ctx->flash->size, 0);
}

static int slot_too_small(mpota_session_t *s, uint32_t need)
{
    mpota_diag_set(&s->diag, MPOTA_ERR_SLOT_TOO_SMALL, 0, s->target->size, need);
    mpota_diag_label(&s->diag, s->target->label, MPOTA_PART_LABEL_LEN);
    return fail_diag(s, MPOTA_ERR_SLOT_TOO_SMALL);
}

// Enters HEAD with nothing received: hashes and parser fresh, erase plan from
// the start of the slot. Used by begin and restart.
static void start_receiving(mpota_session_t *s)
{
    s->state = MPOTA_SESSION_HEAD;
    if (s->opts->has_md5) {
        mpota_md5_start(&s->md5);
    }
    mpota_image_parser_init(&s->parser, s->ctx->chip, s->target->offset, NULL);
}

static void copy_diag_out(const mpota_session_t *s, struct mpota_diag *d)
{
    if (d) {
        *d = s->diag;
    }
}

// The target holds the app the next reset starts, and that app is not a
// pending, never-booted update (which may be replaced): after the running
// app was marked invalid, it is the only valid app left.
static bool target_boots_next(const struct mpota_boot_ctx *ctx,
                              const struct mpota_partition *running,
                              const struct mpota_partition *target)
{
    const struct mpota_partition *boot = NULL;
    if (mpota_boot_get_boot_partition(ctx, &boot) != 0 || !boot ||
        boot->offset != target->offset || (running && running->offset == target->offset)) {
        return false;
    }
    uint32_t state;
    if (mpota_boot_get_state(ctx, target, &state) != 0) {
        return true;  // no record: it boots by default
    }
    return state != MPOTA_OTA_STATE_NEW;
}

// The factory app as a target (session.h): the factory partition the
// bootloader boots (the table's first), while a known OTA slot runs. What
// runs must be known, not guessed from otadata: the factory app may be the
// one running.
static bool factory_target_ok(const struct mpota_boot_ctx *ctx,
                              const struct mpota_partition *running,
                              const struct mpota_partition *target)
{
    const struct mpota_partition *factory =
        mpota_part_find(ctx->table, MPOTA_PART_TYPE_APP, MPOTA_PART_SUBTYPE_FACTORY);
    return running && factory && factory->offset == target->offset &&
           target->type == MPOTA_PART_TYPE_APP && target->subtype == MPOTA_PART_SUBTYPE_FACTORY &&
           (mpota_part_is_ota_app(running) || running->offset == target->offset);
}

void mpota_update_opts_read_running(struct mpota_update_opts *o, const struct mpota_area *running,
                                    struct mpota_app_desc *desc, char *mpver)
{
    o->running_desc = mpota_app_desc_read_area(running, desc) == MPOTA_OK ? desc : NULL;
    o->running_micropython_version = NULL;
    // Official builds carry their version only in the banner strings:
    // no-downgrade compares those when the descriptions have none.
    if ((o->policy & MPOTA_POLICY_NO_DOWNGRADE) &&
        mpota_mpver_read_area(running, running->size, mpver) == MPOTA_OK) {
        o->running_micropython_version = mpver;
    }
}

int mpota_session_begin(mpota_session_t *s, const struct mpota_boot_ctx *ctx,
                        const struct mpota_partition *running,
                        const struct mpota_partition *target,
                        const struct mpota_update_opts *opts, struct mpota_diag *d)
{
    static const struct mpota_update_opts defaults;
    memset(s, 0, sizeof(*s));
    s->ctx = ctx;
    s->opts = opts ? opts : &defaults;
    bool to_factory = target && factory_target_ok(ctx, running, target);
    if (!running) {
        // Nothing known about what runs: take what the bootloader would boot.
        (void)mpota_boot_get_boot_partition(ctx, &running);
    }
    if (!target) {
        int rc = mpota_boot_get_next_update(ctx, running, &target);
        if (rc) {
            fail(s, rc);
            copy_diag_out(s, d);
            return rc;
        }
    }
    s->target = target;
    mpota_diag_label(&s->diag, target->label, MPOTA_PART_LABEL_LEN);
    if (!mpota_part_is_ota_app(target) && !to_factory) {
        fail_diag(s, MPOTA_ERR_NOT_OTA_SLOT);
    } else if (running && running->offset == target->offset) {
        fail_diag(s, MPOTA_ERR_SLOT_IS_RUNNING);
    } else if (target->offset > ctx->flash->size ||
               target->size > ctx->flash->size - target->offset) {
        mpota_diag_set(&s->diag, MPOTA_ERR_FLASH_BOUNDS, target->offset, ctx->flash->size, 0);
        fail_diag(s, MPOTA_ERR_FLASH_BOUNDS);
    } else if (ctx->rollback_enabled && running && mpota_part_is_ota_app(running)) {
        // esp_ota_begin refuses while the running app is unconfirmed: if it
        // is rolled back later, the slot we are about to fill is the one the
        // bootloader would return to.
        uint32_t state;
        if (mpota_boot_get_state(ctx, running, &state) == 0 &&
            state == MPOTA_OTA_STATE_PENDING_VERIFY) {
            mpota_diag_label(&s->diag, running->label, MPOTA_PART_LABEL_LEN);
            fail_diag(s, MPOTA_ERR_PENDING_VERIFY);
        }
    }
    if (s->state != MPOTA_SESSION_FAILED && to_factory &&
        !mpota_part_find(ctx->table, MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA)) {
        // Without otadata the bootloader starts the factory app first, and
        // set_boot() would have nothing to switch.
        mpota_diag_set(&s->diag, MPOTA_ERR_OTADATA_MISSING, 0, 0, 0);
        fail_diag(s, MPOTA_ERR_OTADATA_MISSING);
    }
    if (s->state != MPOTA_SESSION_FAILED && target_boots_next(ctx, running, target)) {
        fail_diag(s, MPOTA_ERR_TARGET_BOOTS_NEXT);
    }
    if (s->state == MPOTA_SESSION_FAILED) {
        copy_diag_out(s, d);
        return s->diag.err;
    }
    // The declared size is checked against the slot at pre-flight, after
    // what the file is: a full firmware.bin must hear "extract the app", not
    // "use bigger slots".
    s->declared = s->opts->expected_size;
    start_receiving(s);
    mpota_diag_set(&s->diag, MPOTA_OK, 0, 0, 0);
    return MPOTA_OK;
}

int mpota_session_declare_size(mpota_session_t *s, uint64_t total)
{
    if (s->state == MPOTA_SESSION_FAILED) {
        return s->diag.err;
    }
    if (s->state != MPOTA_SESSION_HEAD || s->head_len != 0) {
        return fail(s, MPOTA_ERR_BAD_STATE);
    }
    uint32_t n = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
    if (s->declared && s->declared != n) {
        // Two sources disagree (a manifest and the server): trust neither.
        return fail_numbers(s, MPOTA_ERR_EXPECT_LENGTH, 0, s->declared, n);
    }
    s->declared = n;
    return MPOTA_OK;
}

// Feeds in-order bytes to the parser (which hashes them) and the MD5; fails
// on the first image problem so no more garbage is written after it.
static int absorb(mpota_session_t *s, const uint8_t *data, uint32_t len)
{
    if (s->opts->has_md5) {
        mpota_md5_update(&s->md5, data, len);
    }
    int rc = mpota_image_parser_push(&s->parser, data, len, &s->diag);
    if (rc) {
        return fail_diag(s, rc);
    }
    s->contig += len;
    // Once the segment headers tell the image length, an image bigger than
    // the slot is refused before more of it is written.
    uint32_t need = mpota_image_parser_min_len(&s->parser);
    if (need > s->target->size) {
        return slot_too_small(s, need);
    }
    return MPOTA_OK;
}

static int app_mismatch(mpota_session_t *s, const char *field)
{
    mpota_diag_set(&s->diag, MPOTA_ERR_EXPECT_APP, 0x20, 0, 0);
    mpota_diag_label(&s->diag, field, MPOTA_DIAG_LABEL_MAX);
    return fail_diag(s, MPOTA_ERR_EXPECT_APP);
}

// What a manifest said the image is, against its app description.
static int check_expected_app(mpota_session_t *s, const struct mpota_app_desc *desc, bool present)
{
    const struct mpota_update_opts *o = s->opts;
    if (o->expect_version && (!present || strcmp(desc->version, o->expect_version) != 0)) {
        return app_mismatch(s, "version");
    }
    if (o->expect_project && (!present || strcmp(desc->project_name, o->expect_project) != 0)) {
        return app_mismatch(s, "project name");
    }
    if (o->has_expect_secure_version &&
        (!present || desc->secure_version != o->expect_secure_version)) {
        return app_mismatch(s, "secure_version");
    }
    return MPOTA_OK;
}

static bool has_version(const struct mpota_app_desc *d, bool present)
{
    return d && present && d->version[0];
}

// No downgrade: by the app descriptions' versions when both have one, else
// by the MicroPython versions the images carry (official builds leave the
// description's version empty). new_mpver: the new image's MicroPython
// version, or NULL while it is not known yet (end() reads it from flash).
// A version that cannot be known is refused, never guessed.
static int check_downgrade(mpota_session_t *s, const struct mpota_app_desc *new_desc, bool present,
                           const char *new_mpver)
{
    const struct mpota_update_opts *o = s->opts;
    const struct mpota_app_desc *run = o->running_desc;
    const char *older_than;
    if (has_version(new_desc, present) && has_version(run, true)) {
        if (mpota_version_compare(new_desc->version, run->version) >= 0) {
            return MPOTA_OK;
        }
        older_than = run->version;
    } else {
        const char *run_mpver = o->running_micropython_version;
        if (!run_mpver || !run_mpver[0] || (new_mpver && !new_mpver[0])) {
            mpota_diag_set(&s->diag, MPOTA_ERR_POLICY_VERSION_UNKNOWN, 0, 0, 0);
            mpota_diag_label(&s->diag, !run_mpver || !run_mpver[0] ? "running app" : "new image",
                             MPOTA_DIAG_LABEL_MAX);
            return fail_diag(s, MPOTA_ERR_POLICY_VERSION_UNKNOWN);
        }
        if (!new_mpver || mpota_version_compare(new_mpver, run_mpver) >= 0) {
            return MPOTA_OK;
        }
        older_than = run_mpver;
    }
    mpota_diag_set(&s->diag, MPOTA_ERR_POLICY_DOWNGRADE, 0x30, 0, 0);
    mpota_diag_label(&s->diag, older_than, MPOTA_DIAG_LABEL_MAX);
    return fail_diag(s, MPOTA_ERR_POLICY_DOWNGRADE);
}

// Policies on the new app's description against the running one.
static int check_policies(mpota_session_t *s, const struct mpota_app_desc *new_desc,
                          bool present)
{
    const struct mpota_update_opts *o = s->opts;
    const struct mpota_app_desc *run = o->running_desc;
    if (o->policy & MPOTA_POLICY_NO_DOWNGRADE) {
        int rc = check_downgrade(s, new_desc, present, o->image_micropython_version);
        if (rc) {
            return rc;
        }
    }
    if (!(o->policy & ~MPOTA_POLICY_NO_DOWNGRADE) || !run) {
        return MPOTA_OK;
    }
    if (!present) {
        // Nothing to compare: refuse rather than guess, saying what is missing
        // (not a project name or version the image does not have).
        return fail_numbers(s, MPOTA_ERR_IMAGE_NO_APP_DESC, MPOTA_APP_DESC_OFFSET,
                            MPOTA_APP_DESC_MAGIC, 0);
    }
    if ((o->policy & MPOTA_POLICY_SAME_PROJECT) &&
        strcmp(new_desc->project_name, run->project_name) != 0) {
        mpota_diag_set(&s->diag, MPOTA_ERR_POLICY_PROJECT, 0x50, 0, 0);
        mpota_diag_label(&s->diag, new_desc->project_name, MPOTA_DIAG_LABEL_MAX);
        return fail_diag(s, MPOTA_ERR_POLICY_PROJECT);
    }
    if ((o->policy & MPOTA_POLICY_SECURE_VERSION) &&
        new_desc->secure_version < run->secure_version) {
        return fail_numbers(s, MPOTA_ERR_POLICY_SECURE_VERSION, 0x24, run->secure_version,
                            new_desc->secure_version);
    }
    return MPOTA_OK;
}

// The chip's eFuse counter (anti-rollback): an app below it would never
// boot, one above the field's width could never be confirmed. Refused here,
// before the first erase, so the slot keeps what it held.
static int check_anti_rollback(mpota_session_t *s, const struct mpota_app_desc *new_desc,
                               bool present)
{
    if (!s->ctx->anti_rollback) {
        return MPOTA_OK;
    }
    if (!present) {
        return fail_numbers(s, MPOTA_ERR_IMAGE_NO_APP_DESC, MPOTA_APP_DESC_OFFSET,
                            MPOTA_APP_DESC_MAGIC, 0);
    }
    int rc = mpota_boot_check_secure_version(s->ctx, new_desc->secure_version, &s->diag);
    return rc ? fail_diag(s, rc) : MPOTA_OK;
}

// How far the image reaches, for the erase plan: the declared size, else the
// exact length once the last segment header is in. Before that the end is
// unknown and more data is likely: plan as if the slot will be filled, so
// aligned regions get block erases (at most one block past the image end).
static uint32_t image_reach(const mpota_session_t *s, const struct mpota_area *slot)
{
    if (s->declared) {
        return s->declared;
    }
    return mpota_image_parser_len_known(&s->parser) ? mpota_image_parser_min_len(&s->parser)
                                                     : slot->size;
}

// Not inlined where the compiler allows: the read-back buffer then is on the
// stack only while it is used, not under every flash call program() makes.
#if defined(__GNUC__)
#define MPOTA_NOINLINE __attribute__((noinline))
#else
#define MPOTA_NOINLINE
#endif

// Reads len bytes at off back while the data is at hand: a compare needs no
// second hash pass, and catches a program over bytes that were not erased.
static MPOTA_NOINLINE int read_back(mpota_session_t *s, const struct mpota_area *a, uint32_t off,
                                    const uint8_t *data, uint32_t len)
{
    uint8_t back[256];
    for (uint32_t done = 0; done < len;) {
        uint32_t n = len - done < sizeof(back) ? len - done : (uint32_t)sizeof(back);
        int rc = mpota_area_read(a, off + done, back, n);
        if (rc) {
            return flash_failed(s, rc, a->off + off + done);
        }
        if (memcmp(back, data + done, n) != 0) {
            return fail_numbers(s, MPOTA_ERR_FLASH_VERIFY, a->off + off + done, 0, 0);
        }
        done += n;
    }
    return MPOTA_OK;
}

// Programs in-order bytes at s->contig after erasing ahead of them.
static int program(mpota_session_t *s, uint32_t off, const uint8_t *data, uint32_t len)
{
    struct mpota_area a = slot(s);
    if (off > a.size || len > a.size - off) {
        uint32_t need = off + len;
        uint32_t min = mpota_image_parser_min_len(&s->parser);
        return slot_too_small(s, need > min ? need : min);
    }
    s->slot_touched = true;  // from the first erase on, abort() must clear the slot
    int rc = mpota_erase_ahead(&a, &s->erased_end, image_reach(s, &a), off + len);
    if (!rc) {
        rc = mpota_area_prog(&a, off, data, len);
    }
    if (rc) {
        return flash_failed(s, rc, a.off + off);
    }
    if (!s->opts->no_verify && (rc = read_back(s, &a, off, data, len)) != 0) {
        return rc;
    }
    if (off + len > s->max_end) {
        s->max_end = off + len;
    }
    return MPOTA_OK;
}

// The pre-flight on the first bytes in head[]: the one check (what the file
// is, the chip, the header, the declared size against the slot), then a
// manifest's facts and the policies. rec gets what the bytes say.
static int preflight(mpota_session_t *s, struct mpota_image_head *rec)
{
    const struct mpota_update_check q = {.size = s->declared, .slot_size = s->target->size};
    int rc = mpota_image_check_update(&s->parser, s->head, s->head_len, &q, rec, &s->diag);
    if (rc == MPOTA_ERR_SLOT_TOO_SMALL) {
        mpota_diag_label(&s->diag, s->target->label, MPOTA_PART_LABEL_LEN);
    }
    if (rc) {
        return fail_diag(s, rc);
    }
    if (s->opts->has_md5) {
        mpota_md5_update(&s->md5, s->head, s->head_len);
    }
    s->contig = s->head_len;
    rc = check_expected_app(s, &rec->app_desc, rec->app_desc_present);
    if (!rc) {
        rc = check_policies(s, &rec->app_desc, rec->app_desc_present);
    }
    if (!rc) {
        rc = check_anti_rollback(s, &rec->app_desc, rec->app_desc_present);
    }
    if (rc) {
        return rc;
    }
    uint32_t declared = s->declared;
    if (declared && mpota_image_parser_min_len(&s->parser) > declared) {
        // The image says it is longer than the declared download: it would
        // end truncated. Refused now, before anything is erased.
        return fail_numbers(s, MPOTA_ERR_IMAGE_TRUNCATED, declared,
                            mpota_image_parser_min_len(&s->parser), declared);
    }
    return MPOTA_OK;
}

// Where head[] came from: the first bytes of more, all there is (end()
// before the window filled: it must be a whole image), or the slot (resume).
enum head_source { HEAD_FIRST, HEAD_ALL, HEAD_ON_FLASH };

// The pre-flight, then the first erase and write (unless the bytes are on
// flash already); from then on the session keeps what the first bytes said
// instead of the bytes.
static int preflight_and_flush_head(mpota_session_t *s, enum head_source src)
{
    struct mpota_image_head rec;
    int rc = preflight(s, &rec);
    if (!rc && src == HEAD_ALL && !mpota_image_parser_complete(&s->parser)) {
        // All there is, and not a whole image: refused before any erase.
        rc = fail_diag(s, mpota_image_parser_finish(&s->parser, &s->diag));
    }
    if (rc) {
        return rc;
    }
    s->state = MPOTA_SESSION_WRITING;
    if (src != HEAD_ON_FLASH) {
        rc = program(s, 0, s->head, s->head_len);
    }
    s->image = rec;
    return rc;
}

// Hashes and parses bytes already on flash: [from, to) of the slot.
static int absorb_from_flash(mpota_session_t *s, uint32_t from, uint32_t to)
{
    struct mpota_area a = slot(s);
    uint8_t buf[256];
    while (from < to) {
        uint32_t n = to - from < sizeof(buf) ? to - from : (uint32_t)sizeof(buf);
        int rc = mpota_area_read(&a, from, buf, n);
        if (rc) {
            return flash_failed(s, rc, a.off + from);
        }
        rc = absorb(s, buf, n);
        if (rc) {
            return rc;
        }
        from += n;
    }
    return MPOTA_OK;
}

int mpota_session_resume(mpota_session_t *s, const struct mpota_boot_ctx *ctx,
                         const struct mpota_partition *running,
                         const struct mpota_partition *target,
                         const struct mpota_update_opts *opts, uint32_t written,
                         struct mpota_diag *d)
{
    int rc = mpota_session_begin(s, ctx, running, target, opts, d);
    // The slot holds bytes of an earlier session: abort() must clear them.
    s->slot_touched = written > 0;
    if (rc || written < sizeof(s->head)) {
        // Less than the pre-flight window: simply start again from 0.
        return rc;
    }
    struct mpota_area a = slot(s);
    if (written > a.size) {
        rc = slot_too_small(s, written);
    }
    uint32_t head = (uint32_t)sizeof(s->head);
    if (!rc && (rc = mpota_area_read(&a, 0, s->head, head)) != 0) {
        rc = flash_failed(s, rc, a.off);
    }
    if (!rc) {
        s->head_len = (uint16_t)head;
        rc = preflight_and_flush_head(s, HEAD_ON_FLASH);
    }
    if (!rc) {
        // Everything up to the end of the sector holding `written` was erased
        // before those bytes were programmed.
        uint32_t sector = a.flash->sector_size;
        s->erased_end = (written + sector - 1) / sector * sector;
        s->max_end = written;
        rc = absorb_from_flash(s, head, written);
    }
    copy_diag_out(s, d);
    return rc;
}

int mpota_session_write_at(mpota_session_t *s, uint32_t off, const void *data, uint32_t len)
{
    const uint8_t *p = data;
    if (s->state == MPOTA_SESSION_FAILED) {
        return s->diag.err;
    }
    if (s->state != MPOTA_SESSION_HEAD && s->state != MPOTA_SESSION_WRITING) {
        return fail(s, MPOTA_ERR_BAD_STATE);
    }
    if (len == 0) {
        return MPOTA_OK;
    }
    if (s->state == MPOTA_SESSION_HEAD) {
        // The first bytes are held until the pre-flight has seen them.
        if (off != s->head_len) {
            return fail(s, MPOTA_ERR_BAD_STATE);
        }
        uint32_t take = (uint32_t)sizeof(s->head) - s->head_len;
        take = take < len ? take : len;
        memcpy(s->head + s->head_len, p, take);
        s->head_len = (uint16_t)(s->head_len + take);
        p += take;
        len -= take;
        off += take;
        if (s->head_len < sizeof(s->head)) {
            return MPOTA_OK;
        }
        int rc = preflight_and_flush_head(s, HEAD_FIRST);
        if (rc || len == 0) {
            return rc;
        }
    }
    int rc = program(s, off, p, len);
    if (rc) {
        return rc;
    }
    if (off == s->contig && !s->out_of_order) {
        return absorb(s, p, len);
    }
    if (off > s->contig) {
        s->out_of_order = true;
    }
    return MPOTA_OK;
}

int mpota_session_write(mpota_session_t *s, const void *data, uint32_t len)
{
    return mpota_session_write_at(s, mpota_session_offset(s), data, len);
}

uint32_t mpota_session_offset(const mpota_session_t *s)
{
    if (s->state == MPOTA_SESSION_HEAD) {
        return s->head_len;
    }
    return s->out_of_order ? s->max_end : s->contig;
}

int mpota_session_restart(mpota_session_t *s)
{
    if (s->state != MPOTA_SESSION_HEAD && s->state != MPOTA_SESSION_WRITING) {
        return s->state == MPOTA_SESSION_FAILED ? s->diag.err : fail(s, MPOTA_ERR_BAD_STATE);
    }
    const struct mpota_boot_ctx *ctx = s->ctx;
    const struct mpota_update_opts *opts = s->opts;
    const struct mpota_partition *target = s->target;
    bool touched = s->slot_touched;
    uint32_t declared = s->declared;  // the same download, sent again
    release_hashes(s);
    // What was written must be erased again before new data lands on it:
    // erased_end = 0 makes the erase planner start over (blank regions are
    // still skipped by its read check). What was written also stays until
    // then, so slot_touched survives: abort() must still clear the slot.
    memset(s, 0, sizeof(*s));
    s->ctx = ctx;
    s->opts = opts;
    s->target = target;
    s->slot_touched = touched;
    s->declared = declared;
    start_receiving(s);
    return MPOTA_OK;
}

// The no-downgrade rule when it needs the new image's MicroPython version
// and the caller could not give it up front (a download): read it from the
// slot, before set_boot. It sits in the first segment, so the scan stops
// after some tens of KiB.
static int check_downgrade_on_flash(mpota_session_t *s)
{
    const struct mpota_update_opts *o = s->opts;
    if (!(o->policy & MPOTA_POLICY_NO_DOWNGRADE) || o->image_micropython_version) {
        return MPOTA_OK;  // decided at pre-flight
    }
    const struct mpota_app_desc *desc = &s->image.app_desc;
    bool present = s->image.app_desc_present;
    if (has_version(desc, present) && has_version(o->running_desc, true)) {
        return MPOTA_OK;  // decided at pre-flight
    }
    struct mpota_area a = slot(s);
    char mpver[MPOTA_MPVER_MAX + 1];
    int rc = mpota_mpver_read_area(&a, s->contig, mpver);
    if (rc) {
        return flash_failed(s, rc, a.off);
    }
    return check_downgrade(s, desc, present, mpver);
}

// The signature the trust asks for, read back from the slot (sig.h).
static int check_signature(mpota_session_t *s)
{
    const struct mpota_sig_trust *t = s->opts->trust;
    if (!t) {
        return MPOTA_OK;
    }
    uint8_t padded[MPOTA_IMAGE_HASH_LEN];
    bool have = mpota_image_parser_padded_digest(&s->parser, padded);
    struct mpota_area a = slot(s);
    int rc = mpota_sig_check_area(&a, mpota_image_parser_min_len(&s->parser), s->contig,
                                  have ? padded : NULL, t, &s->diag);
    return rc ? fail_diag(s, rc) : MPOTA_OK;
}

int mpota_session_end(mpota_session_t *s, struct mpota_image_info *info)
{
    if (s->state == MPOTA_SESSION_FAILED) {
        return s->diag.err;
    }
    if (s->state == MPOTA_SESSION_HEAD) {
        // Shorter than the pre-flight window: check what there is (a tiny
        // ESP32 image without an app description can be complete).
        if (s->head_len == 0) {
            return fail_numbers(s, MPOTA_ERR_IMAGE_TRUNCATED, 0, MPOTA_IMAGE_HEADER_LEN, 0);
        }
        int rc = preflight_and_flush_head(s, HEAD_ALL);
        if (rc) {
            return rc;
        }
    }
    if (s->state != MPOTA_SESSION_WRITING) {
        return fail(s, MPOTA_ERR_BAD_STATE);
    }
    if (s->out_of_order) {
        // Data came out of order: hash the rest from flash, in order.
        s->out_of_order = false;
        int rc = absorb_from_flash(s, s->contig, s->max_end);
        if (rc) {
            return rc;
        }
    }
    int rc = mpota_image_parser_finish(&s->parser, &s->diag);
    if (rc) {
        return fail_diag(s, rc);
    }
    const struct mpota_update_opts *o = s->opts;
    if (s->declared && s->contig != s->declared) {
        return fail_numbers(s, MPOTA_ERR_EXPECT_LENGTH, 0, s->declared, s->contig);
    }
    uint8_t digest[32];
    mpota_image_parser_stream_digest(&s->parser, digest);
    if (o->has_sha256 && memcmp(digest, o->sha256, sizeof(digest)) != 0) {
        return fail(s, MPOTA_ERR_EXPECT_SHA256);
    }
    if (o->has_md5) {
        uint8_t md5[16];
        mpota_md5_finish(&s->md5, md5);
        if (memcmp(md5, o->md5, sizeof(md5)) != 0) {
            return fail(s, MPOTA_ERR_EXPECT_MD5);
        }
    }
    rc = check_downgrade_on_flash(s);
    if (!rc) {
        rc = check_signature(s);
    }
    if (rc) {
        return rc;
    }
    if (info) {
        // What the first bytes said, kept since the pre-flight.
        memset(info, 0, sizeof(*info));
        info->header = s->image.header;
        info->app_desc_present = s->image.app_desc_present;
        info->app_desc = s->image.app_desc;
        info->image_len = mpota_image_parser_min_len(&s->parser);
        info->total_len = s->contig;
        info->complete = true;
    }
    memcpy(s->sha256, digest, sizeof(s->sha256));
    s->state = MPOTA_SESSION_DONE;
    return MPOTA_OK;
}

int mpota_session_set_boot(mpota_session_t *s)
{
    if (s->state == MPOTA_SESSION_FAILED) {
        return s->diag.err;
    }
    if (s->state != MPOTA_SESSION_DONE) {
        return fail(s, MPOTA_ERR_BAD_STATE);
    }
    int rc = mpota_boot_set_boot(s->ctx, s->target, &s->diag);
    if (rc) {
        return fail_diag(s, rc);
    }
    s->state = MPOTA_SESSION_SWITCHED;
    return MPOTA_OK;
}

int mpota_session_abort(mpota_session_t *s)
{
    int rc = MPOTA_OK;
    bool wrote = s->slot_touched && s->state != MPOTA_SESSION_SWITCHED &&
                 s->state != MPOTA_SESSION_IDLE && s->target;
    if (s->state != MPOTA_SESSION_IDLE) {
        release_hashes(s);
    }
    if (wrote) {
        // Erasing the first sector makes the slot read as empty: its header
        // is gone, so nothing (status, set_boot, the bootloader) can take the
        // partial image for an app.
        struct mpota_area a = slot(s);
        rc = mpota_area_erase(&a, 0, a.flash->sector_size);
    }
    s->state = MPOTA_SESSION_IDLE;
    s->diag.err = 0;
    return rc;
}

int mpota_session_sha256(const mpota_session_t *s, uint8_t out[32])
{
    if (s->state != MPOTA_SESSION_DONE && s->state != MPOTA_SESSION_SWITCHED) {
        return MPOTA_ERR_BAD_STATE;
    }
    memcpy(out, s->sha256, sizeof(s->sha256));
    return MPOTA_OK;
}

enum mpota_session_state mpota_session_state(const mpota_session_t *s)
{
    return (enum mpota_session_state)s->state;
}

const struct mpota_diag *mpota_session_diag(const mpota_session_t *s)
{
    return &s->diag;
}

const struct mpota_partition *mpota_session_target(const mpota_session_t *s)
{
    return s->target;
}
