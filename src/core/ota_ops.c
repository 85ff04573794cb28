// App-side OTA operations on otadata, as ESP-IDF <= v5.5 esp_ota_ops.c does
// them (boot.h, SPEC §3.8-3.10).
//
// Write discipline. "Relied on" = the active entry (max valid seq) that the
// bootloader would pick now.
// * set_boot writes only the sector that is NOT active (or sector 0 when no
//   entry is valid, so nothing is relied on). A cut after its erase or during
//   its program (torn: seq without a good CRC) leaves the active entry alone:
//   the same app boots as before; set_boot again finishes the job.
// * set_boot(factory) erases the inactive sector first, the active one last
//   -- with ctx->running known, the sector whose record names the running
//   app last (when a pending update's record is active, that one goes
//   first): a cut in between still boots the current app (the running one);
//   a cut during the second erase boots it (nothing erased yet) or factory
//   (the entry gone or torn), which is where the call was going.
//   (ESP-IDF erases both in address order: with the active record in sector
//   0, a cut in between boots the OTHER record's app, neither the current
//   one nor factory. The final bytes are the same.) This is the switch of a
//   session that rewrote the factory app from an OTA slot (session.h).
// * invalidate_inactive erases only the inactive sector: a cut changes
//   nothing that boots.
// * mark_valid and mark_invalid rewrite the ACTIVE sector in place (erase,
//   then program with the same seq), because that is what ESP-IDF does and
//   the bytes must match. Between the erase and the program no copy holds the
//   active record:
//     mark_valid   -> the other entry boots if valid (normally the previous
//                     app: an unwanted rollback of a working update), else
//                     factory / ota_0. Redo the update.
//     mark_invalid -> the other entry or factory boots, which is the
//                     rollback target a completed write would give
//                     (mark_invalid requires one to exist).
#include "mpota/boot.h"

#include "mpota/err.h"
#include "mpota/flash.h"
#include "mpota/image.h"
#include "mpota/part.h"
#include "mpota/sig.h"

#define SUBTYPE_SLOT(subtype) ((uint32_t)(subtype) & 0x0Fu)

// esp_partition_find_first(APP, ota_N). NULL for N >= 16.
static const struct mpota_partition *find_ota(const struct mpota_table *t, uint32_t slot)
{
    return mpota_part_ota_slot(t, slot);
}

// esp_ota_get_app_partition_count: ota_0, ota_1, ... up to the first gap
// (the bootloader counts all of them instead; SPEC §3.6).
static uint32_t ota_count(const struct mpota_table *t)
{
    return mpota_part_ota_count(t);
}

static bool same_partition(const struct mpota_partition *a, const struct mpota_partition *b)
{
    return a == b || (a && b && a->offset == b->offset && a->size == b->size &&
                      a->type == b->type && a->subtype == b->subtype);
}

static int verify_app(const struct mpota_boot_ctx *ctx, const struct mpota_partition *p,
                      struct mpota_diag *d)
{
    struct mpota_area slot;
    int rc = mpota_area_init(&slot, ctx->flash, p->offset, p->size, true);
    if (rc) {
        return rc;
    }
    rc = mpota_image_verify_area(&slot, ctx->chip, NULL, d);
    if (!rc && ctx->secure_boot) {
        rc = mpota_sig_check_slot(&slot, ctx->secure_boot, d);  // what the bootloader will check
    }
    return rc;
}

// read_otadata: finds the otadata partition and reads both entries.
static int open_otadata(const struct mpota_boot_ctx *ctx, struct mpota_area *area,
                        struct mpota_otadata_entry two[2])
{
    const struct mpota_partition *p =
        mpota_part_find(ctx->table, MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA);
    if (!p) {
        return MPOTA_ERR_OTADATA_MISSING;
    }
    int rc = mpota_area_init(area, ctx->flash, p->offset, p->size, false);
    if (rc) {
        return rc;
    }
    return two ? mpota_otadata_read(area, two) : MPOTA_OK;
}

// The otadata as the app functions see it: the area, both entries as read and
// the number of ota slots in the table (ota_count).
struct otadata_view {
    struct mpota_area area;
    struct mpota_otadata_entry two[2];
    uint32_t count;
};

static int read_view(const struct mpota_boot_ctx *ctx, struct otadata_view *v)
{
    int rc = open_otadata(ctx, &v->area, v->two);
    if (rc) {
        return rc;
    }
    v->count = ota_count(ctx->table);
    return MPOTA_OK;
}

// The ota_N partition that entry e's seq selects among `count` slots.
static const struct mpota_partition *entry_slot(const struct mpota_table *t,
                                                const struct mpota_otadata_entry *e,
                                                uint32_t count)
{
    return find_ota(t, mpota_otadata_seq_to_slot(e->ota_seq, count));
}

// The sector whose record names the running app (the larger seq if both
// do), or -1: running unknown, not an ota_N slot, or no valid record names
// it. That record is what a rollback returns to; no app-side write replaces it.
static int running_record(const struct mpota_boot_ctx *ctx, const struct otadata_view *v)
{
    const struct mpota_partition *r = ctx->running;
    if (!r || !mpota_part_is_ota_app(r) || v->count == 0) {
        return -1;
    }
    bool names[2];
    for (unsigned i = 0; i < 2; i++) {
        names[i] = mpota_otadata_is_valid(&v->two[i]) &&
                   mpota_otadata_seq_to_slot(v->two[i].ota_seq, v->count) == SUBTYPE_SLOT(r->subtype);
    }
    return mpota_otadata_select(v->two, names, true);
}

static bool ctx_ok(const struct mpota_boot_ctx *ctx)
{
    return ctx && ctx->flash && ctx->table;
}

// esp_ota_set_boot_partition(factory): erase all of otadata.
static int select_factory(const struct mpota_boot_ctx *ctx)
{
    struct otadata_view v;
    int rc = open_otadata(ctx, &v.area, NULL);
    if (rc) {
        return rc;
    }
    if (v.area.size < 2 * MPOTA_OTADATA_SECTOR_SIZE ||
        mpota_otadata_read(&v.area, v.two) != MPOTA_OK) {
        return mpota_area_erase(&v.area, 0, v.area.size);
    }
    v.count = ota_count(ctx->table);
    // The record of the running app last, else the active one (see the top
    // of the file).
    int keep = running_record(ctx, &v);
    unsigned last = (unsigned)(keep >= 0 ? keep : mpota_otadata_active(v.two) == 1 ? 1 : 0);
    rc = mpota_area_erase(&v.area, (last ^ 1u) * MPOTA_OTADATA_SECTOR_SIZE,
                          MPOTA_OTADATA_SECTOR_SIZE);
    if (!rc && v.area.size > 2 * MPOTA_OTADATA_SECTOR_SIZE) {
        rc = mpota_area_erase(&v.area, 2 * MPOTA_OTADATA_SECTOR_SIZE,
                              v.area.size - 2 * MPOTA_OTADATA_SECTOR_SIZE);
    }
    if (!rc) {
        rc = mpota_area_erase(&v.area, last * MPOTA_OTADATA_SECTOR_SIZE,
                              MPOTA_OTADATA_SECTOR_SIZE);
    }
    return rc;
}

// The smallest seq >= active_seq that maps to `slot`: ESP-IDF's loop
// "while (seq > (slot+1)%count + i*count) i++", in closed form. Returns false
// where ESP-IDF's record would not select `slot`: 0xFFFFFFFF (an empty
// record), a wrap past it, or seq 0 (only after a corrupt active seq 0; it
// maps to 0xFFFFFFFF % count, which is slot only when count divides 2^32).
static bool next_seq(uint32_t active_seq, uint32_t slot, uint32_t count, uint32_t *out)
{
    uint64_t base = (slot + 1u) % count;
    uint64_t seq = base;
    if (active_seq > base) {
        seq += ((active_seq - base + count - 1u) / count) * (uint64_t)count;
    }
    if (seq >= MPOTA_OTADATA_SEQ_EMPTY ||
        mpota_otadata_seq_to_slot((uint32_t)seq, count) != slot) {
        return false;
    }
    *out = (uint32_t)seq;
    return true;
}

// What set_boot checks of p before it writes: a valid app image of a type
// the bootloader starts, and not below the chip's security version.
static int check_bootable(const struct mpota_boot_ctx *ctx, const struct mpota_partition *p,
                          struct mpota_diag *d)
{
    // ESP-IDF verifies before looking at the type: a data partition fails here.
    int rc = verify_app(ctx, p, d);
    if (rc) {
        if (d) {
            d->err = rc;  // keep the image checker's offset and numbers
        }
        return rc;
    }
    if (p->type != MPOTA_PART_TYPE_APP) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, p->type);
    }
    if (ctx->anti_rollback) {
        // ESP-IDF erases such a slot; we refuse and write nothing. Factory
        // too: the bootloader would skip it and start some other app.
        uint32_t sv;
        (void)mpota_boot_app_allowed(ctx, p, 0, &sv, NULL);
        return mpota_boot_check_secure_version(ctx, sv, d);
    }
    return MPOTA_OK;
}

int mpota_boot_set_boot(const struct mpota_boot_ctx *ctx, const struct mpota_partition *p,
                        struct mpota_diag *d)
{
    if (!ctx_ok(ctx) || !p) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
    }
    if (d) {
        mpota_diag_label(d, p->label, MPOTA_PART_LABEL_LEN);
    }
    int rc = check_bootable(ctx, p, d);
    if (rc) {
        return rc;
    }
    if (p->subtype == MPOTA_PART_SUBTYPE_FACTORY) {
        return mpota_diag_set(d, select_factory(ctx), 0, 0, 0);
    }
    if (!mpota_part_is_ota_app(p)) {
        return mpota_diag_set(d, MPOTA_ERR_NOT_OTA_SLOT, 0, 0, p->subtype);
    }

    // esp_rewrite_ota_data
    struct otadata_view v = {0};
    rc = read_view(ctx, &v);
    if (rc) {
        return mpota_diag_set(d, rc, v.area.off, ctx->flash->size, 0);
    }
    uint32_t slot = SUBTYPE_SLOT(p->subtype);
    if (slot >= v.count) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, v.count, slot);
    }
    unsigned sector;
    uint32_t seq;
    int active = mpota_otadata_active(v.two);
    int keep = running_record(ctx, &v);
    if (keep >= 0 && v.two[keep].ota_state == MPOTA_OTA_STATE_PENDING_VERIFY &&
        slot != SUBTYPE_SLOT(ctx->running->subtype)) {
        // The other record is the rollback target, the last confirmed app:
        // ESP-IDF would write over it. Confirm or roll back first.
        return mpota_diag_set(d, MPOTA_ERR_PENDING_VERIFY, 0, 0, 0);
    }
    if (keep >= 0 && active >= 0 && keep != active) {
        // A pending update's record is active and the running app's record
        // is the other one: replace the pending record, in place.
        if (slot == SUBTYPE_SLOT(ctx->running->subtype)) {
            // Back to the running app: its own record becomes active again.
            return mpota_diag_set(d,
                                  mpota_area_erase(&v.area, (unsigned)active * MPOTA_OTADATA_SECTOR_SIZE,
                                                   MPOTA_OTADATA_SECTOR_SIZE),
                                  0, 0, 0);
        }
        sector = (unsigned)active;
        if (!next_seq(v.two[keep].ota_seq, slot, v.count, &seq)) {
            return mpota_diag_set(d, MPOTA_ERR_OTADATA_SEQ_WRAP, 0, 0, v.two[keep].ota_seq);
        }
    } else if (keep >= 0 && keep == active && slot == SUBTYPE_SLOT(ctx->running->subtype)) {
        return mpota_diag_set(d, MPOTA_OK, 0, 0, 0);  // already selected and running
    } else if (active >= 0) {
        // <= v5.5: always the other sector, even when `slot` is already the
        // active one (then seq == the active seq and the tie goes to sector 0).
        sector = (unsigned)active ^ 1u;
        if (!next_seq(v.two[active].ota_seq, slot, v.count, &seq)) {
            return mpota_diag_set(d, MPOTA_ERR_OTADATA_SEQ_WRAP, 0, 0, v.two[active].ota_seq);
        }
    } else {
        // Nothing valid (blank after flashing, or both given up): sector 0.
        sector = 0;
        seq = slot + 1u;
    }
    // The record keeps that sector's seq_label as read, as ESP-IDF does.
    struct mpota_otadata_entry *e = &v.two[sector];
    e->ota_seq = seq;
    e->ota_state = ctx->rollback_enabled ? MPOTA_OTA_STATE_NEW : MPOTA_OTA_STATE_UNDEFINED;
    e->crc = mpota_otadata_crc(seq);
    return mpota_diag_set(d, mpota_otadata_write(&v.area, sector, e), 0, 0, 0);
}

// esp_ota_current_ota_is_workable(valid)
static int mark_active(const struct mpota_boot_ctx *ctx, uint32_t state)
{
    if (!ctx_ok(ctx)) {
        return MPOTA_ERR_INVALID_ARG;
    }
    struct otadata_view v;
    int rc = read_view(ctx, &v);
    if (rc) {
        return rc;
    }
    int active = mpota_otadata_active(v.two);
    if (active < 0 || v.count == 0) {
        return MPOTA_ERR_OTADATA_NO_ACTIVE;
    }
    int keep = running_record(ctx, &v);
    if (keep >= 0 && keep != active) {
        // A pending update's record is active: act on the running app's own
        // record (ESP-IDF would act on the pending one).
        if (state != MPOTA_OTA_STATE_VALID) {
            return MPOTA_ERR_UPDATE_PENDING;
        }
        if (v.two[keep].ota_state == MPOTA_OTA_STATE_VALID ||
            v.two[keep].ota_state == MPOTA_OTA_STATE_UNDEFINED) {
            return MPOTA_OK;  // already confirmed
        }
        active = keep;
    }
    if (state == MPOTA_OTA_STATE_VALID) {
        if (v.two[active].ota_state == MPOTA_OTA_STATE_VALID) {
            return MPOTA_OK;  // calling it at every boot costs no flash wear
        }
    } else {
        rc = mpota_boot_rollback_possible(ctx);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            return MPOTA_ERR_ROLLBACK_IMPOSSIBLE;
        }
    }
    // In place, same seq: see the top of the file for a cut between the
    // erase and the program.
    v.two[active].ota_state = state;
    v.two[active].crc = mpota_otadata_crc(v.two[active].ota_seq);
    return mpota_otadata_write(&v.area, (unsigned)active, &v.two[active]);
}

// esp_ota_set_anti_rollback: the counter up to the confirmed app's
// secure_version -- the running app's, else the active entry's.
static int raise_for_confirmed(const struct mpota_boot_ctx *ctx)
{
    const struct mpota_partition *p = ctx->running;
    if (!p && mpota_boot_get_boot_partition(ctx, &p) != MPOTA_OK) {
        return MPOTA_OK;
    }
    uint32_t sv, counter = ctx->security_version;
    bool has_desc;
    (void)mpota_boot_app_allowed(ctx, p, 0, &sv, &has_desc);
    return has_desc ? mpota_boot_raise(ctx, sv, &counter) : MPOTA_OK;
}

int mpota_boot_mark_valid(const struct mpota_boot_ctx *ctx)
{
    int rc = mark_active(ctx, MPOTA_OTA_STATE_VALID);
    if (rc == MPOTA_OK && ctx->anti_rollback) {
        rc = raise_for_confirmed(ctx);
    }
    return rc;
}

int mpota_boot_mark_invalid(const struct mpota_boot_ctx *ctx)
{
    return mark_active(ctx, MPOTA_OTA_STATE_INVALID);
}

int mpota_boot_rollback_possible(const struct mpota_boot_ctx *ctx)
{
    if (!ctx_ok(ctx)) {
        return MPOTA_ERR_INVALID_ARG;
    }
    struct otadata_view v;
    int rc = read_view(ctx, &v);
    if (rc == MPOTA_ERR_OTADATA_MISSING) {
        return 0;
    }
    if (rc) {
        return rc;
    }
    if (v.count == 0) {
        return 0;
    }
    bool valid[2] = {mpota_otadata_is_valid(&v.two[0]), mpota_otadata_is_valid(&v.two[1])};
    int active = mpota_otadata_select(v.two, valid, true);
    if (active < 0) {
        return 0;
    }
    unsigned other = (unsigned)active ^ 1u;
    if (!valid[other] && ctx->anti_rollback) {
        return 0;  // with anti-rollback ESP-IDF never falls back to factory here
    }
    if (!valid[other]) {
        const struct mpota_partition *factory =
            mpota_part_find(ctx->table, MPOTA_PART_TYPE_APP, MPOTA_PART_SUBTYPE_FACTORY);
        if (factory && verify_app(ctx, factory, NULL) == MPOTA_OK) {
            return 1;
        }
        return 0;
    }
    const struct mpota_partition *p = entry_slot(ctx->table, &v.two[other], v.count);
    return p && verify_app(ctx, p, NULL) == MPOTA_OK &&
                   mpota_boot_app_allowed(ctx, p, ctx->security_version, NULL, NULL)
               ? 1
               : 0;
}

int mpota_boot_last_invalid(const struct mpota_boot_ctx *ctx, const struct mpota_partition **out)
{
    if (!ctx_ok(ctx) || !out) {
        return MPOTA_ERR_INVALID_ARG;
    }
    *out = NULL;
    struct otadata_view v;
    int rc = read_view(ctx, &v);
    if (rc) {
        return rc;
    }
    bool given_up[2];
    for (unsigned i = 0; i < 2; i++) {
        const struct mpota_otadata_entry *e = &v.two[i];
        given_up[i] = e->ota_seq != MPOTA_OTADATA_SEQ_EMPTY && mpota_otadata_crc_ok(e) &&
                      (e->ota_state == MPOTA_OTA_STATE_INVALID ||
                       e->ota_state == MPOTA_OTA_STATE_ABORTED);
    }
    int idx = mpota_otadata_select(v.two, given_up, false);  // the older one
    if (idx < 0 || v.count == 0) {
        return MPOTA_OK;
    }
    const struct mpota_partition *p = entry_slot(ctx->table, &v.two[idx], v.count);
    if (p && verify_app(ctx, p, NULL) == MPOTA_OK) {
        *out = p;
    }
    return MPOTA_OK;
}

// find_default_boot_partition: factory, else the lowest ota_N, else test.
static const struct mpota_partition *default_boot(const struct mpota_table *t)
{
    const struct mpota_partition *p =
        mpota_part_find(t, MPOTA_PART_TYPE_APP, MPOTA_PART_SUBTYPE_FACTORY);
    for (uint32_t slot = 0; !p && slot < MPOTA_BOOT_MAX_OTA_SLOTS; slot++) {
        p = find_ota(t, slot);
    }
    if (!p) {
        p = mpota_part_find(t, MPOTA_PART_TYPE_APP, MPOTA_PART_SUBTYPE_TEST);
    }
    return p;
}

int mpota_boot_get_boot_partition(const struct mpota_boot_ctx *ctx,
                                  const struct mpota_partition **out)
{
    if (!ctx_ok(ctx) || !out) {
        return MPOTA_ERR_INVALID_ARG;
    }
    *out = NULL;
    struct otadata_view v;
    int rc = read_view(ctx, &v);
    if (rc) {
        return rc;
    }
    int active = -1;
    if (!(mpota_otadata_is_invalid(&v.two[0]) && mpota_otadata_is_invalid(&v.two[1])) && v.count) {
        active = mpota_otadata_active(v.two);
    }
    *out = active >= 0 ? entry_slot(ctx->table, &v.two[active], v.count) : default_boot(ctx->table);
    return *out ? MPOTA_OK : MPOTA_ERR_NOT_FOUND;
}

int mpota_boot_get_next_update(const struct mpota_boot_ctx *ctx,
                               const struct mpota_partition *start,
                               const struct mpota_partition **out)
{
    if (!ctx || !ctx->table || !start || !out) {
        return MPOTA_ERR_INVALID_ARG;
    }
    *out = NULL;
    const struct mpota_partition *first = NULL;
    bool next_is_result = false;
    // Subtype order (slot order), not table order.
    for (uint32_t slot = 0; slot < MPOTA_BOOT_MAX_OTA_SLOTS; slot++) {
        const struct mpota_partition *p = find_ota(ctx->table, slot);
        if (!p) {
            continue;
        }
        if (!first) {
            first = p;
        }
        if (same_partition(p, start)) {
            next_is_result = true;
        } else if (next_is_result) {
            *out = p;
            return MPOTA_OK;
        }
    }
    *out = first;
    return first ? MPOTA_OK : MPOTA_ERR_NO_OTA_SLOTS;
}

int mpota_boot_get_state(const struct mpota_boot_ctx *ctx, const struct mpota_partition *p,
                         uint32_t *state)
{
    if (!ctx_ok(ctx) || !p || !state) {
        return MPOTA_ERR_INVALID_ARG;
    }
    if (!mpota_part_is_ota_app(p)) {
        return MPOTA_ERR_NOT_OTA_SLOT;
    }
    struct otadata_view v;
    int rc = read_view(ctx, &v);
    if (rc) {
        return rc;
    }
    if (v.count == 0) {
        return MPOTA_ERR_NO_OTA_SLOTS;
    }
    // No "empty seq" test here, as in ESP-IDF: a blank entry fails the CRC.
    for (unsigned i = 0; i < 2; i++) {
        if (mpota_otadata_seq_to_slot(v.two[i].ota_seq, v.count) == SUBTYPE_SLOT(p->subtype) &&
            mpota_otadata_crc_ok(&v.two[i])) {
            *state = v.two[i].ota_state;
            return MPOTA_OK;
        }
    }
    return MPOTA_ERR_NOT_FOUND;
}

int mpota_boot_invalidate_inactive(const struct mpota_boot_ctx *ctx,
                                   const struct mpota_partition *running)
{
    if (!ctx_ok(ctx) || !running) {
        return MPOTA_ERR_INVALID_ARG;
    }
    struct otadata_view v;
    int rc = read_view(ctx, &v);
    if (rc) {
        return rc;
    }
    int active = mpota_otadata_active(v.two);
    if (active < 0) {
        return MPOTA_ERR_OTADATA_NO_ACTIVE;
    }
    if (v.count == 0) {
        return MPOTA_ERR_NO_OTA_SLOTS;
    }
    unsigned inactive = (unsigned)active ^ 1u;
    if (mpota_otadata_is_blank_or_bad_crc(&v.two[inactive])) {
        return MPOTA_ERR_NOT_FOUND;
    }
    const struct mpota_partition *p = entry_slot(ctx->table, &v.two[inactive], v.count);
    if (!p) {
        return MPOTA_ERR_NOT_FOUND;
    }
    if (same_partition(p, running)) {
        return MPOTA_ERR_SLOT_IS_RUNNING;
    }
    // The inactive sector: nothing boots from it now, so a cut is harmless.
    return mpota_area_erase(&v.area, inactive * MPOTA_OTADATA_SECTOR_SIZE,
                            MPOTA_OTADATA_SECTOR_SIZE);
}
