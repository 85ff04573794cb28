// What the ESP-IDF 2nd-stage bootloader does with otadata at every reset
// (boot.h, SPEC §3.7), with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE taken from
// ctx->rollback_enabled, anti-rollback from ctx->anti_rollback, without the
// GPIO options.
//
// Anti-rollback (get_active_otadata_with_check_anti_rollback and the load
// loop's check_anti_rollback): an app below the counter is never selected
// nor started; the counter is raised, after this boot's otadata writes, when
// the active entry is VALID (and after the initial record). A cut during the
// raise leaves some of its bits burnt: the counter then lies between the
// old value and the confirmed app's secure_version, so that app still passes
// and the next reset finishes the raise (tests/cli/test_anti_rollback.sh
// cuts at every bit).
//
// Power failure. The bootloader writes otadata in three places, each one
// "erase the entry's sector, program 32 bytes" (mpota_otadata_write); the
// tables below say what the NEXT reset boots if power fails after the erase
// (entry blank) or during the program (entry torn: typically the seq bytes
// without a matching CRC, so not valid). Checked by
// tests/powerloss/test_otadata_powerloss.c at every operation.
//
// PENDING_VERIFY -> ABORTED, in place (ESP-IDF does it in place; we write its
// bytes):
//   entry blank/torn         | next reset
//   -------------------------+----------------------------------------------
//   other entry valid        | the other entry's slot: the rollback the write
//                            | was doing anyway; only "last invalid" is lost
//   other entry not valid    | factory, else ota_0 -- as a completed ABORTED
//                            | would give; a blank entry next to a blank or
//                            | bad-CRC one also gets ota_0 the initial record
//
// NEW -> PENDING_VERIFY, in place on the active entry:
//   other entry valid        | the other entry's slot: the previous app boots,
//                            | the new one is never tried (update lost, device
//                            | keeps working; redo set_boot)
//   other entry not valid    | factory, else ota_0, as above
//
// set_actual_ota_seq: {seq index+1, VALID} into sector 0. Only done when both
// entries are blank or bad-CRC, so sector 0 is relied on by nobody:
//   cut after the erase      | sector 0 blank: the next reset does it again
//   program torn after the   | {seq, crc 0xFFFFFFFF}: neither blank nor valid,
//   seq bytes                | so the "initial" branch is never taken again;
//                            | every reset boots ota_0 via "no valid entry,
//                            | try all" and writes nothing; mark_valid answers
//                            | NO_ACTIVE until the next set_boot rewrites
//                            | sector 0 (no entry valid). The device works.
#include "mpota/boot.h"

#include <string.h>

#include "mpota/err.h"
#include "mpota/flash.h"
#include "mpota/image.h"
#include "mpota/part.h"
#include "mpota/sig.h"

// bootloader_state_t: what the bootloader keeps of the table. Later rows
// overwrite earlier ones of the same kind, as in the bootloader's table scan.
struct bl_state {
    const struct mpota_partition *otadata;
    const struct mpota_partition *factory;
    const struct mpota_partition *test;
    const struct mpota_partition *ota[MPOTA_BOOT_MAX_OTA_SLOTS];
    uint32_t app_count;  // every app/ota_N row, contiguous or not (SPEC §3.6)
    uint32_t counter;    // the security version as this boot sees it (anti-rollback)
};

static void scan_table(const struct mpota_table *t, struct bl_state *bs)
{
    memset(bs, 0, sizeof(*bs));
    for (uint32_t i = 0; i < t->count && i < MPOTA_PART_MAX; i++) {
        const struct mpota_partition *p = &t->parts[i];
        if (p->type == MPOTA_PART_TYPE_APP) {
            if (p->subtype == MPOTA_PART_SUBTYPE_FACTORY) {
                bs->factory = p;
            } else if (p->subtype == MPOTA_PART_SUBTYPE_TEST) {
                bs->test = p;
            } else if ((p->subtype & 0xF0u) == MPOTA_PART_SUBTYPE_OTA_0) {
                bs->ota[p->subtype & 0x0Fu] = p;
                bs->app_count++;
            }
        } else if (p->type == MPOTA_PART_TYPE_DATA && p->subtype == MPOTA_PART_SUBTYPE_OTADATA) {
            // The bootloader's "no otadata" test is offset == 0.
            bs->otadata = p->offset ? p : NULL;
        }
    }
}

// index_to_partition: note the bound is app_count, so with non-contiguous
// ota_N subtypes a high slot can be unreachable, as on the chip.
static const struct mpota_partition *index_to_partition(const struct bl_state *bs, int index)
{
    if (index == MPOTA_BOOT_INDEX_FACTORY) {
        return bs->factory;
    }
    if (index == MPOTA_BOOT_INDEX_TEST) {
        return bs->test;
    }
    if (index >= 0 && index < MPOTA_BOOT_MAX_OTA_SLOTS && (uint32_t)index < bs->app_count) {
        return bs->ota[index];
    }
    return NULL;
}

// check_anti_rollback at this point of the boot; an app it keeps out is
// recorded once in out->skipped.
static bool passes_anti_rollback(const struct mpota_boot_ctx *ctx, const struct bl_state *bs,
                                 int index, struct mpota_boot_report *out)
{
    const struct mpota_partition *p = index_to_partition(bs, index);
    struct mpota_boot_skip skip = {.index = index, .part = p};
    if (!ctx->anti_rollback || !p ||
        mpota_boot_app_allowed(ctx, p, bs->counter, &skip.secure_version, &skip.has_desc)) {
        return true;
    }
    for (unsigned i = 0; i < out->n_skipped; i++) {
        if (out->skipped[i].index == index) {
            return false;
        }
    }
    if (out->n_skipped < MPOTA_BOOT_MAX_SKIPS) {
        out->skipped[out->n_skipped++] = skip;
    }
    return false;
}

// update_anti_rollback: raise the counter to the app's secure_version.
static void raise_counter(const struct mpota_boot_ctx *ctx, struct bl_state *bs,
                          const struct mpota_partition *p, struct mpota_boot_report *out)
{
    uint32_t sv;
    bool has_desc;
    (void)mpota_boot_app_allowed(ctx, p, 0, &sv, &has_desc);
    if (ctx->anti_rollback && has_desc && sv > bs->counter) {
        out->raise_to = sv;
        out->raise_err = mpota_boot_raise(ctx, sv, &bs->counter);
    }
}

static bool app_loads(const struct mpota_boot_ctx *ctx, const struct mpota_partition *p)
{
    struct mpota_area slot;
    // A zero-size row cannot hold an app ("can't boot from zero-length").
    if (!p || p->size == 0 || mpota_area_init(&slot, ctx->flash, p->offset, p->size, true) != MPOTA_OK) {
        return false;
    }
    return mpota_image_verify_area(&slot, ctx->chip, NULL, NULL) == MPOTA_OK &&
           (!ctx->secure_boot || mpota_sig_check_slot(&slot, ctx->secure_boot, NULL) == MPOTA_OK);
}

static void write_entry(const struct mpota_area *otadata, struct mpota_boot_report *out,
                        enum mpota_boot_write_kind kind, unsigned sector,
                        const struct mpota_otadata_entry *e)
{
    // Like the bootloader, a failed write is reported, not fatal: the boot
    // goes on with what is in RAM.
    int err = mpota_otadata_write(otadata, sector, e);
    if (out->n_writes < MPOTA_BOOT_MAX_WRITES) {
        struct mpota_boot_write *w = &out->writes[out->n_writes++];
        w->kind = (uint8_t)kind;
        w->sector = (uint8_t)sector;
        w->err = err;
        w->entry = *e;
    }
}

// The active entry: the highest valid seq, where with anti-rollback an entry
// whose app is below the counter does not count as valid.
static int active_entry(const struct mpota_boot_ctx *ctx, const struct bl_state *bs,
                        const struct mpota_otadata_entry two[2], struct mpota_boot_report *out)
{
    if (!ctx->anti_rollback) {
        return mpota_otadata_active(two);
    }
    bool valid[2];
    for (unsigned i = 0; i < 2; i++) {
        valid[i] = mpota_otadata_is_valid(&two[i]) &&
                   passes_anti_rollback(
                       ctx, bs, (int)mpota_otadata_seq_to_slot(two[i].ota_seq, bs->app_count), out);
    }
    return mpota_otadata_select(two, valid, true);
}

// bootloader_utility_get_selected_boot_partition, for a table with otadata.
// Returns the boot index; a read error (the bootloader resets) comes back
// through *err with MPOTA_BOOT_INDEX_NONE.
static int select_index(const struct mpota_boot_ctx *ctx, struct bl_state *bs,
                        const struct mpota_area *otadata, bool *initial,
                        struct mpota_boot_report *out, int *err)
{
    struct mpota_otadata_entry two[2];
    *err = mpota_otadata_read(otadata, two);
    if (*err) {
        return MPOTA_BOOT_INDEX_NONE;
    }

    if (ctx->rollback_enabled) {
        // An app that was started once (PENDING_VERIFY) and did not confirm
        // itself before this reset is given up, whatever its CRC says.
        for (unsigned i = 0; i < 2; i++) {
            if (two[i].ota_state == MPOTA_OTA_STATE_PENDING_VERIFY) {
                two[i].ota_state = MPOTA_OTA_STATE_ABORTED;
                write_entry(otadata, out, MPOTA_BOOT_WROTE_ABORTED, i, &two[i]);
            }
        }
    }

    if ((mpota_otadata_is_invalid(&two[0]) && mpota_otadata_is_invalid(&two[1])) ||
        bs->app_count == 0) {
        if (bs->factory) {
            return MPOTA_BOOT_INDEX_FACTORY;
        }
        // No factory: ota_0, and a record for it once it loads -- but only if
        // no entry has a good CRC (an INVALID/ABORTED one keeps otadata as is).
        *initial = mpota_otadata_is_blank_or_bad_crc(&two[0]) &&
                   mpota_otadata_is_blank_or_bad_crc(&two[1]);
        return 0;
    }

    int active = active_entry(ctx, bs, two, out);
    if (active < 0) {
        // Entries neither empty nor valid (bad CRC): factory if there is one,
        // else "try all partitions" starting below ota_0.
        return MPOTA_BOOT_INDEX_FACTORY;
    }
    int index = (int)mpota_otadata_seq_to_slot(two[active].ota_seq, bs->app_count);
    if (ctx->rollback_enabled && two[active].ota_state == MPOTA_OTA_STATE_NEW) {
        // First boot of a newly selected app: if it does not mark itself
        // valid before the next reset, that reset aborts it (above).
        two[active].ota_state = MPOTA_OTA_STATE_PENDING_VERIFY;
        write_entry(otadata, out, MPOTA_BOOT_WROTE_PENDING, (unsigned)active, &two[active]);
    }
    if (two[active].ota_state == MPOTA_OTA_STATE_VALID) {
        raise_counter(ctx, bs, index_to_partition(bs, index), out);
    }
    return index;
}

// One load attempt: the anti-rollback check, then the image verification.
static bool tries(const struct mpota_boot_ctx *ctx, const struct bl_state *bs, int index,
                  struct mpota_boot_report *out)
{
    return passes_anti_rollback(ctx, bs, index, out) && app_loads(ctx, index_to_partition(bs, index));
}

// The app at `index` loaded: set_actual_ota_seq, then "jump" to it.
static int booted(const struct mpota_boot_ctx *ctx, struct bl_state *bs,
                  const struct mpota_area *otadata, bool initial, int index,
                  struct mpota_boot_report *out)
{
    if (index >= 0 && initial) {
        struct mpota_otadata_entry e;
        mpota_otadata_entry_init(&e, (uint32_t)index + 1u, MPOTA_OTA_STATE_VALID);
        write_entry(otadata, out, MPOTA_BOOT_WROTE_INITIAL, 0, &e);
        raise_counter(ctx, bs, index_to_partition(bs, index), out);
    }
    out->booted_index = index;
    out->booted = index_to_partition(bs, index);
    return MPOTA_OK;
}

int mpota_boot_select(const struct mpota_boot_ctx *ctx, struct mpota_boot_report *out)
{
    memset(out, 0, sizeof(*out));
    out->selected_index = MPOTA_BOOT_INDEX_NONE;
    out->booted_index = MPOTA_BOOT_INDEX_NONE;
    if (!ctx || !ctx->flash || !ctx->table) {
        return MPOTA_ERR_INVALID_ARG;
    }

    struct bl_state bs;
    scan_table(ctx->table, &bs);
    bs.counter = ctx->security_version;

    struct mpota_area otadata = {0};
    bool initial = false;
    int index = MPOTA_BOOT_INDEX_FACTORY;
    if (bs.otadata) {
        int rc = mpota_area_init(&otadata, ctx->flash, bs.otadata->offset, bs.otadata->size,
                                 false);
        if (rc) {
            return rc;
        }
        index = select_index(ctx, &bs, &otadata, &initial, out, &rc);
        if (rc) {
            return rc;  // the bootloader resets here (INVALID_INDEX)
        }
    }
    out->selected_index = index;

    if (index == MPOTA_BOOT_INDEX_TEST) {
        return tries(ctx, &bs, index, out) ? booted(ctx, &bs, &otadata, false, index, out)
                                           : MPOTA_ERR_NO_BOOTABLE_APP;
    }
    // The chosen index, then down to factory...
    for (int i = index; i >= MPOTA_BOOT_INDEX_FACTORY; i--) {
        if (tries(ctx, &bs, i, out)) {
            return booted(ctx, &bs, &otadata, initial, i, out);
        }
    }
    // ...then the OTA slots above it...
    for (int i = index + 1; i < (int)bs.app_count; i++) {
        if (tries(ctx, &bs, i, out)) {
            return booted(ctx, &bs, &otadata, initial, i, out);
        }
    }
    // ...then the test app, never with an otadata write.
    if (tries(ctx, &bs, MPOTA_BOOT_INDEX_TEST, out)) {
        return booted(ctx, &bs, &otadata, false, MPOTA_BOOT_INDEX_TEST, out);
    }
    return MPOTA_ERR_NO_BOOTABLE_APP;
}
