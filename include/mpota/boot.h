// Boot selection and the app-side OTA operations (SPEC §3.7-3.11).
//
// Two halves, one context:
// * mpota_boot_select() is what the ESP-IDF 2nd-stage bootloader does at every
//   reset: rollback state changes in otadata, choice of the slot, load attempts
//   with fallback, the initial otadata write. The emulated device runs it on
//   "boot"; tests run it to check what a real chip would start.
// * mpota_boot_set_boot(), _mark_valid(), ... are esp_ota_ops.c as ESP-IDF
//   <= v5.5 defines them (what MicroPython builds use), byte for byte: the
//   otadata they write is what ESP-IDF writes in the same situation.
//
// Everything is caller-owned and explicit (littlefs/BearSSL style): the flash,
// the partition table and the build options come in a struct mpota_boot_ctx;
// where ESP-IDF calls esp_ota_get_running_partition(), the caller passes the
// running partition. Nothing here allocates or keeps state between calls.
// Partition pointers returned point into ctx->table.
//
// Return rule: 0 (MPOTA_OK) or a negative enum mpota_err; flash errors pass
// through unchanged. Each function lists its ESP-IDF error equivalent, which
// is what a MicroPython binding raises (SPEC §7.6).
//
// Power failure: every otadata write is "erase one 4 KiB sector, then program
// 32 bytes" (mpota_otadata_write). The comments in boot_select.c and
// ota_ops.c, and docs in the function comments below, say what boots when
// power fails between those two operations.
#ifndef MPOTA_BOOT_H
#define MPOTA_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "mpota/otadata.h"

struct mpota_flash;
struct mpota_table;
struct mpota_partition;
struct mpota_diag;
struct mpota_sig_trust;

// Boot indices as the bootloader numbers them (bootloader_config.h):
// 0..15 = ota_N, and these.
#define MPOTA_BOOT_INDEX_FACTORY (-1)
#define MPOTA_BOOT_INDEX_TEST (-2)
#define MPOTA_BOOT_INDEX_NONE (-99)  // INVALID_INDEX: nothing chosen / nothing loaded
#define MPOTA_BOOT_MAX_OTA_SLOTS 16

struct mpota_boot_ctx {
    // The whole chip. otadata and app slots are reached through areas over it.
    const struct mpota_flash *flash;
    // The partition table in effect (what the bootloader reads at 0x8000).
    const struct mpota_table *table;
    // Chip id every app image must be built for (MPOTA_CHIP_*), or
    // MPOTA_CHIP_ANY for no check. Used by every image verification.
    uint16_t chip;
    // CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE, for both the bootloader and the
    // app. MicroPython sets it (sdkconfig.base); ESP-IDF's default is off.
    // Off: set_boot writes state UNDEFINED and the bootloader never writes.
    bool rollback_enabled;
    // The app that runs (esp_ota_get_running_partition), for the app-side
    // calls: set_boot never replaces the record that names it, mark_valid and
    // mark_invalid act on its record. NULL = unknown: ESP-IDF's behaviour
    // (the active record), used by the bootloader and the byte-exact traces.
    const struct mpota_partition *running;

    // Anti-rollback (CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK, which ESP-IDF allows
    // only with rollback_enabled; docs/DESIGN.md §4, "Anti-rollback"). Off when zeroed.
    bool anti_rollback;
    // The chip's security version: the number of bits burnt in its eFuse
    // field (esp_efuse_read_secure_version). An app whose secure_version is
    // below it is neither selected nor started.
    uint32_t security_version;
    // CONFIG_BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD: the field's width in
    // bits, which is also the highest version it can count; 0 = the chip's
    // default (mpota_chip_security_version_bits).
    uint8_t security_version_bits;
    // How the port raises the counter (esp_efuse_update_secure_version):
    // burns bits [security_version, v) and returns 0, or an error with
    // nothing more burnt than a cut would leave. mark_valid and boot_select
    // call it with the confirmed app's secure_version when that is higher;
    // NULL = the port raises it itself (boot_select reports raise_to).
    int (*raise_security_version)(void *arg, uint32_t v);
    void *raise_arg;
    // Secure Boot V2 (CONFIG_SECURE_BOOT_V2_ENABLED): the key digests burnt in
    // eFuse, their revoke bits, and the one-block rule (sig.h). Every app
    // verification (the bootloader's, set_boot's) then also needs a block by
    // one of them that verifies (mpota_sig_check_slot). NULL = off.
    const struct mpota_sig_trust *secure_boot;
};

// What the bootloader wrote to otadata during one mpota_boot_select().
enum mpota_boot_write_kind {
    MPOTA_BOOT_WROTE_ABORTED = 1,  // an entry in PENDING_VERIFY became ABORTED (rollback)
    MPOTA_BOOT_WROTE_PENDING = 2,  // the active entry in NEW became PENDING_VERIFY
    MPOTA_BOOT_WROTE_INITIAL = 3,  // set_actual_ota_seq: {seq index+1, VALID} into sector 0
};

struct mpota_boot_write {
    uint8_t kind;    // enum mpota_boot_write_kind
    uint8_t sector;  // 0 or 1
    int err;         // result of the write; the bootloader logs a failure and goes on
    struct mpota_otadata_entry entry;  // the 32 bytes written
};

#define MPOTA_BOOT_MAX_WRITES 3  // two ABORTED + INITIAL, or ABORTED + PENDING

// An app the anti-rollback check kept out of this boot.
struct mpota_boot_skip {
    int index;                // boot index (0..15, _FACTORY, _TEST)
    const struct mpota_partition *part;  // its row in ctx->table
    bool has_desc;            // false: no app description, so no secure_version
    uint32_t secure_version;  // the app's, below the counter
};

#define MPOTA_BOOT_MAX_SKIPS (MPOTA_BOOT_MAX_OTA_SLOTS + 2)

struct mpota_boot_report {
    int selected_index;  // what selection chose: 0..15, _FACTORY, or _NONE on error
    int booted_index;    // the index that loaded: 0..15, _FACTORY, _TEST, or _NONE
    const struct mpota_partition *booted;  // that partition; NULL if none loaded
    unsigned n_writes;
    struct mpota_boot_write writes[MPOTA_BOOT_MAX_WRITES];  // in the order done
    // Anti-rollback: each app skipped because it is below the counter, once,
    // in the order met (otadata's check first, then the load attempts).
    unsigned n_skipped;
    struct mpota_boot_skip skipped[MPOTA_BOOT_MAX_SKIPS];
    // The counter raise this boot made (update_anti_rollback), after its
    // otadata writes: the secure_version asked for, 0 = none; raise_err is
    // what ctx->raise_security_version returned (the boot goes on anyway).
    uint32_t raise_to;
    int raise_err;
};

/// Bootloader ///

// One reset of an ESP32 (bootloader_utility.c, SPEC §3.7), without the GPIO
// options:
// 1. No otadata partition: start at factory.
// 2. Read both entries; otadata smaller than two sectors -> the bootloader
//    resets: MPOTA_ERR_OTADATA_SIZE.
// 3. rollback_enabled: every entry in PENDING_VERIFY (whatever its CRC) is
//    rewritten as ABORTED.
// 4. Both entries invalid (seq empty, INVALID, ABORTED), or no ota_N apps:
//    factory if present, else ota_0 -- and if both entries are blank or have
//    a bad CRC, remember to write the initial record. Otherwise the active
//    (max valid seq, tie -> entry 0) entry picks slot (seq-1) % app_count
//    (app_count = every app/ota_N partition); with rollback, state NEW there
//    is rewritten as PENDING_VERIFY. No valid entry: factory, and try all.
// 5. Load: the chosen index, then lower indices down to factory, then higher
//    ones, then the test app. An app "loads" when
//    mpota_image_verify_area(slot, ctx->chip, NULL, NULL) == 0. When an OTA
//    slot loads and step 4 asked for it, sector 0 = {seq index+1, VALID}.
// With ctx->anti_rollback (get_active_otadata_with_check_anti_rollback,
// check_anti_rollback): in step 4 an entry whose slot's app is below the
// counter (or has no app description) counts as not valid; when the active
// entry is VALID the counter is raised to its app's secure_version (also
// after the initial record); in step 5 every candidate below the counter is
// skipped (out->skipped), the raised counter counting.
// Fills *out (always) and returns 0 with out->booted set, or
// MPOTA_ERR_NO_BOOTABLE_APP (the chip would reset for ever), or an error.
// The table must hold at least the rows the bootloader uses.
int mpota_boot_select(const struct mpota_boot_ctx *ctx, struct mpota_boot_report *out);

/// App side (esp_ota_ops.c, ESP-IDF <= v5.5) ///

// esp_ota_set_boot_partition (SPEC §3.9). Order of checks as in ESP-IDF:
// p NULL -> MPOTA_ERR_INVALID_ARG; the image in p must verify (chip, hashes)
// -> else that image error (ESP_ERR_OTA_VALIDATE_FAILED), otadata untouched;
// p not an app -> MPOTA_ERR_INVALID_ARG; factory -> erase all of otadata
// (no otadata: MPOTA_ERR_OTADATA_MISSING = ESP_ERR_NOT_FOUND); ota_N with
// N >= the contiguous ota count -> MPOTA_ERR_INVALID_ARG (d->label = p's).
// Otherwise one otadata write: with an active entry, the OTHER sector gets
// seq = smallest (N+1)%count + i*count >= active seq (so the same seq again
// when N is already active), state NEW (rollback) or UNDEFINED, its seq_label
// kept as read; with no active entry, sector 0 gets seq N+1.
// Deviations from ESP-IDF, both refusals that write nothing:
// * the test app or an unknown app subtype -> MPOTA_ERR_NOT_OTA_SLOT (ESP-IDF
//   would select slot subtype & 0xF, an app that was never verified);
// * a new seq that would not select N -> MPOTA_ERR_OTADATA_SEQ_WRAP: one that
//   reaches 0xFFFFFFFF (= empty; ESP-IDF would write an empty record or loop),
//   or 0 after a corrupt active seq 0 when count does not divide 2^32.
// d (optional) gets the details of a failure.
// Hazard (ESP-IDF <= v5.5, reproduced only without ctx->running): set_boot
// of the slot that runs in PENDING_VERIFY writes the other sector -- the
// rollback target's -- with the same seq; unconfirmed, both entries then end
// ABORTED and the device falls back to factory / ota_0, not to the previous
// app. With ctx->running known this writes nothing, and set_boot of another
// slot while the running app is PENDING_VERIFY is refused
// (MPOTA_ERR_PENDING_VERIFY).
// With ctx->running known (a device always knows what runs), deviations that
// keep the running app's record (ESP-IDF issue #14688):
// * a pending update's record is active (set_boot ran, no reboot since):
//   set_boot rewrites THAT sector in place (seq = the smallest mapping to N
//   above the running app's), never the running app's record; set_boot of
//   the running slot drops the pending record (erases its sector), so the
//   running app's record is active again;
// * set_boot of the slot whose record is already active and running writes
//   nothing (ESP-IDF would write a second record with the same seq).
// With ctx->anti_rollback, an app whose secure_version is below the counter
// (MPOTA_ERR_SECURE_VERSION_LOW) or above what the field can count
// (MPOTA_ERR_SECURE_VERSION_TOO_BIG) is refused after the verification,
// otadata untouched (ESP-IDF erases the partition and fails).
// Power cut during the write: the active entry is untouched, so the app that
// boots now still boots (rewriting a pending record in place: while it is
// erased the running app's record is active, so the running app boots).
// Factory: the inactive sector is erased first, then the active one (with
// ctx->running known: the sector whose record names the running app last, so
// a pending update's record goes first); a cut in between boots the current
// app (the running one), a cut during the second erase leaves no valid entry
// -> factory.
int mpota_boot_set_boot(const struct mpota_boot_ctx *ctx, const struct mpota_partition *p,
                        struct mpota_diag *d);

// esp_ota_mark_app_valid_cancel_rollback (SPEC §3.10): the ACTIVE entry (not
// "the running partition") becomes VALID, rewritten in place with the same
// seq; already VALID -> 0 with no write. No otadata -> MPOTA_ERR_OTADATA_MISSING
// (ESP_ERR_NOT_FOUND); no valid entry or no ota_N apps ->
// MPOTA_ERR_OTADATA_NO_ACTIVE (ESP_FAIL: "running firmware is factory").
// Power cut between erase and program: the active entry is gone, the other
// entry (the previous app, normally VALID) boots -- an unwanted rollback,
// exactly as on ESP-IDF; redo the update.
// With ctx->running known, the record that names the running app, not the
// active one: when a pending update's record is active (set_boot without a
// reboot), the running app's own record is confirmed if it is not already
// (it normally is: begin refuses while PENDING_VERIFY); the pending record is
// left alone.
// With ctx->anti_rollback, after that (also when already VALID: the raise is
// idempotent) the counter is raised through ctx->raise_security_version to
// the confirmed app's secure_version, as esp_ota_mark_app_valid_cancel_rollback
// does; a cut between the two is finished by the next boot (the entry is
// VALID). Its error is returned.
int mpota_boot_mark_valid(const struct mpota_boot_ctx *ctx);

// esp_ota_mark_app_invalid_rollback (without the reboot): needs
// mpota_boot_rollback_possible() (else MPOTA_ERR_ROLLBACK_IMPOSSIBLE =
// ESP_ERR_OTA_ROLLBACK_FAILED), then the active entry becomes INVALID in
// place. Other errors as mark_valid. The caller reboots.
// Power cut between erase and program: the active entry is gone, which boots
// the same rollback target as a completed write.
// With ctx->running known and a pending update's record active (set_boot
// without a reboot): MPOTA_ERR_UPDATE_PENDING, nothing written (rolling back
// would start the pending update, not the previous app; reboot into it, or
// set_boot the running slot to cancel it, first).
int mpota_boot_mark_invalid(const struct mpota_boot_ctx *ctx);

// esp_ota_check_rollback_is_possible: 1 if the entry that is not active is
// valid and its slot holds an app that verifies, or (not valid) a factory app
// that verifies; 0 otherwise, including no otadata / no ota_N / no active
// entry. With ctx->anti_rollback the app must also pass the anti-rollback
// check, and factory is not considered. Negative only for a flash error.
int mpota_boot_rollback_possible(const struct mpota_boot_ctx *ctx);

// esp_ota_get_last_invalid_partition: among entries with seq not empty, good
// CRC and state INVALID or ABORTED, the one with the smaller seq (tie ->
// entry 0); *out = its slot's partition if that exists and verifies, else
// NULL. Returns 0 (also when *out is NULL), MPOTA_ERR_OTADATA_MISSING, or a
// flash error.
int mpota_boot_last_invalid(const struct mpota_boot_ctx *ctx,
                            const struct mpota_partition **out);

// esp_ota_get_boot_partition (SPEC §3.8): what the bootloader will choose
// (without trying to load it). Both entries invalid or no ota_N: factory,
// else the lowest ota_N, else test. Otherwise the active entry's slot
// (counted over contiguous ota_0, ota_1, ...). Returns 0 and *out, or
// MPOTA_ERR_OTADATA_MISSING, MPOTA_ERR_NOT_FOUND (the slot or any app
// missing; ESP-IDF returns NULL), or a flash error.
int mpota_boot_get_boot_partition(const struct mpota_boot_ctx *ctx,
                                  const struct mpota_partition **out);

// esp_ota_get_next_update_partition(start): over ota_0..ota_15 in subtype
// order, the first OTA partition after `start`; the first OTA partition if
// start is the last one or not an OTA partition. Pass the running partition
// as start for ESP-IDF's start = NULL. Needs no flash access. Returns 0 and
// *out, or MPOTA_ERR_NO_OTA_SLOTS.
int mpota_boot_get_next_update(const struct mpota_boot_ctx *ctx,
                               const struct mpota_partition *start,
                               const struct mpota_partition **out);

// esp_ota_get_state_partition: the state of the first entry (0, then 1) with a
// correct CRC whose (seq-1) % count is p's slot. p not ota_N ->
// MPOTA_ERR_NOT_OTA_SLOT (ESP_ERR_NOT_SUPPORTED); no otadata ->
// MPOTA_ERR_OTADATA_MISSING, no ota_N -> MPOTA_ERR_NO_OTA_SLOTS, no such
// entry -> MPOTA_ERR_NOT_FOUND (all three ESP_ERR_NOT_FOUND).
int mpota_boot_get_state(const struct mpota_boot_ctx *ctx, const struct mpota_partition *p,
                         uint32_t *state);

// esp_ota_invalidate_inactive_ota_data_slot (ESP-IDF 5.5+): erases the otadata
// sector that is not active, so its app can no longer be selected. Needs an
// active entry (MPOTA_ERR_OTADATA_NO_ACTIVE) and ota_N apps
// (MPOTA_ERR_NO_OTA_SLOTS); the inactive entry must have a seq and a good CRC
// and name an existing slot (else MPOTA_ERR_NOT_FOUND) that is not `running`
// (MPOTA_ERR_SLOT_IS_RUNNING). ESP-IDF returns ESP_FAIL for all of these.
// One erase, of a sector nothing relies on: a cut leaves the boot unchanged.
int mpota_boot_invalidate_inactive(const struct mpota_boot_ctx *ctx,
                                   const struct mpota_partition *running);

/// Anti-rollback (anti_rollback.c) ///

// The eFuse field's width in effect: ctx->security_version_bits, else the
// chip's default.
uint32_t mpota_boot_security_version_bits(const struct mpota_boot_ctx *ctx);

// Whether an app with this secure_version may be selected now: 0, or
// MPOTA_ERR_SECURE_VERSION_LOW (below the counter) or
// MPOTA_ERR_SECURE_VERSION_TOO_BIG (the field could never count it), with
// the numbers in d (optional): offset 0x24, expected = the counter or the
// width, actual = secure_version. Always 0 without ctx->anti_rollback.
int mpota_boot_check_secure_version(const struct mpota_boot_ctx *ctx, uint32_t secure_version,
                                    struct mpota_diag *d);

// check_anti_rollback: reads p's app description (nothing else verified);
// true if anti-rollback is off, or the description is there and its
// secure_version is >= counter. *sv (optional) gets the secure_version,
// *has_desc whether there is a description.
bool mpota_boot_app_allowed(const struct mpota_boot_ctx *ctx, const struct mpota_partition *p,
                            uint32_t counter, uint32_t *sv, bool *has_desc);

// Raises the counter to v through ctx->raise_security_version, as
// esp_efuse_update_secure_version: v at or below *counter does nothing; v
// above the width is MPOTA_ERR_SECURE_VERSION_TOO_BIG, nothing burnt. On
// success *counter = v. No callback: 0, *counter = v (the port raises it).
int mpota_boot_raise(const struct mpota_boot_ctx *ctx, uint32_t v, uint32_t *counter);

#endif
