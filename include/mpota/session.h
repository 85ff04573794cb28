// The update session: stream an app image into the next OTA slot (or, from
// an OTA slot, into the factory app partition: begin()), checking
// everything it can before erasing, hashing while it writes, verifying what is
// on flash, then switching the boot slot.
//
//   mpota_session_begin()     choose and check the target; writes nothing
//   mpota_session_write()     next bytes, any size (1 byte .. megabytes)
//   mpota_session_write_at()  bytes at an offset: resume, out-of-order data
//   mpota_session_end()       finish hashes, compare expectations, check the
//                             image is complete and valid (each program was
//                             read back and compared as it was written)
//   mpota_session_set_boot()  otadata: boot the new app next (state NEW)
//   mpota_session_abort()     at any point; the target slot is left empty
//
// Guarantees:
// * The running slot is never written: the target area is checked against
//   the running partition at begin and every write goes through an area that
//   cannot reach anything else.
// * otadata is written only by mpota_session_set_boot(). (ESP-IDF 5.5 also
//   erases the inactive otadata record at begin; we do not: a refused or
//   aborted update leaves otadata byte-identical. The bootloader verifies an
//   image before it boots it, so a half-written slot is never started.)
// * Nothing is erased until the pre-flight checks pass on the first
//   MPOTA_SESSION_HEAD_LEN bytes: magic, chip, segment count, app description,
//   policies, and the declared size against the slot. A full firmware.bin, a
//   bootloader, a partition table or a foreign chip is refused with a message
//   that says what the file is and what to do.
// * Erase is done just ahead of the data, only as far as the image needs:
//   64 KiB block erases where aligned, 4 KiB sectors at the edges, and regions
//   already blank are skipped after a read check.
// * A failed session stays failed (every call returns the same error) until
//   mpota_session_abort() or a new begin.
// * The hashes run only while the session is receiving (HEAD, WRITING): end,
//   a failure, restart and abort release them (the SHA engine, on an ESP32).
//   So begin() must not be called on a receiving session: abort it first.
//
// The session is a caller-owned struct: no heap, no static state, no pointer
// into the caller's data buffers is kept between calls. `ctx` and `opts`
// passed to begin must stay valid until the session ends (like littlefs'
// config). Progress and cancellation stay in the caller's loop: write()
// returns after each chunk.
#ifndef MPOTA_SESSION_H
#define MPOTA_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "mpota/boot.h"
#include "mpota/err.h"
#include "mpota/flash.h"
#include "mpota/hash.h"
#include "mpota/image.h"
#include "mpota/part.h"
#include "mpota/sig.h"

// Bytes the pre-flight needs before anything is erased: image header (24),
// first segment header (8) and the esp_app_desc_t (256) = 0x120.
#define MPOTA_SESSION_HEAD_LEN 0x120u

// Policies, off by default (SPEC §5.4 for secure_version).
#define MPOTA_POLICY_SAME_PROJECT 0x1u     // project_name must equal the running app's
#define MPOTA_POLICY_NO_DOWNGRADE 0x2u     // version must not be older than the running app's
#define MPOTA_POLICY_SECURE_VERSION 0x4u   // secure_version must not be lower

// What the caller knows and wants. A zeroed struct means: any size, no
// expected hashes, verify on, no policies.
struct mpota_update_opts {
    uint32_t expected_size;      // bytes of the whole download; 0 = unknown
    bool has_sha256;             // compare the SHA-256 of all bytes with ...
    uint8_t sha256[32];          // ... this
    bool has_md5;                // likewise MD5 (loboris' .md5 side files)
    uint8_t md5[16];
    bool no_verify;              // skip reading back each program to compare it
    uint32_t policy;             // MPOTA_POLICY_* bits
    // The running app's description, for the policies; NULL = unknown (the
    // policies then pass: there is nothing to compare with).
    const struct mpota_app_desc *running_desc;
    // The MicroPython versions ("1.23.0", mpver.h) of the running app and,
    // if the caller knows it before the first byte (a local file), of the
    // new image. NULL = unknown. MPOTA_POLICY_NO_DOWNGRADE compares them when
    // the app descriptions carry no version (official builds): at pre-flight
    // if both are given, else at end() from what is on flash.
    const char *running_micropython_version;
    const char *image_micropython_version;
    // What a manifest says the image is, checked against its app description
    // at pre-flight (MPOTA_ERR_EXPECT_APP). NULL / false = not said.
    const char *expect_version;
    const char *expect_project;
    bool has_expect_secure_version;
    uint32_t expect_secure_version;
    // Which Secure Boot V2 keys the image must be signed by (sig.h); NULL or
    // a trust that asks for nothing: signatures are not checked. end()
    // checks it once the image is on flash, so before set_boot: the
    // signature sector comes last, after everything has been erased and
    // written (abort() then clears the slot).
    const struct mpota_sig_trust *trust;
};

// What the policies compare with, read once from the running app's slot
// (`running`, a read-only area is fine): o->running_desc points at *desc when
// the app has a description (256 bytes read at 0x20, nothing verified), and,
// with MPOTA_POLICY_NO_DOWNGRADE, o->running_micropython_version at mpver
// when its MicroPython version string is found. What cannot be read stays
// NULL. The one reader of these facts for every front end; mpver holds
// MPOTA_MPVER_MAX + 1 bytes (mpver.h).
void mpota_update_opts_read_running(struct mpota_update_opts *o, const struct mpota_area *running,
                                    struct mpota_app_desc *desc, char *mpver);

enum mpota_session_state {
    MPOTA_SESSION_IDLE = 0,   // zeroed, aborted, or not begun
    MPOTA_SESSION_HEAD,       // collecting the first bytes; nothing erased yet
    MPOTA_SESSION_WRITING,    // pre-flight passed; erasing ahead and writing
    MPOTA_SESSION_DONE,       // end() verified the image in the target slot
    MPOTA_SESSION_SWITCHED,   // set_boot() wrote otadata
    MPOTA_SESSION_FAILED,     // sticky error; abort() to leave
};

// Caller-allocated state. Callers never touch the fields.
typedef struct {
    // Hash contexts (counted apart from the state budget, as ESP-IDF's
    // hardware SHA contexts would be). The parser's SHA-256 runs over every
    // byte once and yields both the image's hash and the download's.
    mpota_md5_t md5;         // only when opts->has_md5
    mpota_image_parser_t parser;
    const struct mpota_boot_ctx *ctx;
    const struct mpota_update_opts *opts;
    const struct mpota_partition *target;  // the slot written (its area is built per call)
    uint32_t contig;         // bytes 0..contig-1 received in order and hashed
    uint32_t max_end;        // highest byte offset written + 1
    uint32_t erased_end;     // [0, erased_end) of the slot is erased or written
    uint32_t declared;       // the download's size as declared (opts, declare_size); 0 = unknown
    uint16_t head_len;       // bytes in head[] (state HEAD)
    uint8_t state;           // enum mpota_session_state
    bool out_of_order;       // write_at() left a gap: re-hash from flash at end
    bool slot_touched;       // the slot was erased or written since begin (or resume found data)
    struct mpota_diag diag;  // the sticky error (diag.err) and its details
    union {
        uint8_t head[MPOTA_SESSION_HEAD_LEN];  // the first bytes, until they are written
        struct {
            struct mpota_image_head image;  // then what they said (header, app description)
            uint8_t sha256[32];             // SHA-256 of every byte, once end() succeeded
        };
    };
} mpota_session_t;

// Starts an update. target: the slot to write, or NULL for the next update
// slot after `running` (esp_ota_get_next_update_partition). running: the
// partition the device runs, or NULL if unknown (then the boot partition is
// taken as running). Checks: target is an OTA app slot (MPOTA_ERR_NOT_OTA_SLOT)
// and not the running one (MPOTA_ERR_SLOT_IS_RUNNING); the running app is not
// still PENDING_VERIFY (MPOTA_ERR_PENDING_VERIFY: confirm or roll back first,
// as esp_ota_begin requires); the target is not the app the next reset
// starts (MPOTA_ERR_TARGET_BOOTS_NEXT). Writes nothing to flash.
// opts->expected_size is checked against the slot at pre-flight
// (MPOTA_ERR_SLOT_TOO_SMALL with the numbers), once the first bytes have said
// what the file is.
// The factory app as target (loboris' forceFactory): allowed only when
// `running` is given (not NULL) and is an ota_N slot, and target is the
// table's factory partition (the first, the one the bootloader boots); a
// running factory app gets MPOTA_ERR_SLOT_IS_RUNNING, anything else
// MPOTA_ERR_NOT_OTA_SLOT. The other checks apply unchanged: otadata must
// select an OTA app (else the factory app is what the next reset starts:
// MPOTA_ERR_TARGET_BOOTS_NEXT), so a power cut while factory is written
// boots the app that boots now. set_boot() then erases otadata, the running
// app's record last (mpota_boot_set_boot), and the factory app boots next;
// abort() leaves the factory partition empty (the running app still boots).
// d (optional) gets the details; mpota_session_diag() keeps them too.
int mpota_session_begin(mpota_session_t *s, const struct mpota_boot_ctx *ctx,
                        const struct mpota_partition *running,
                        const struct mpota_partition *target,
                        const struct mpota_update_opts *opts, struct mpota_diag *d);

// Continues an update after a reboot: like begin(), then the first `written`
// bytes already in the target slot (from an earlier session on the same
// download) are read back, checked and hashed as if they had just arrived, and
// writing continues at `written` without erasing what is there. The bytes
// after `written` in that last sector are either still erased or already hold
// the same data (programming equal bytes again changes nothing); the end()
// read-back catches anything else.
int mpota_session_resume(mpota_session_t *s, const struct mpota_boot_ctx *ctx,
                         const struct mpota_partition *running,
                         const struct mpota_partition *target,
                         const struct mpota_update_opts *opts, uint32_t written,
                         struct mpota_diag *d);

// Takes the next len bytes (at offset mpota_session_offset()). Until
// MPOTA_SESSION_HEAD_LEN bytes are in, they are held and checked; then the
// slot is erased ahead of the data as needed and the data programmed.
// Returns 0 or the (sticky) error.
int mpota_session_write(mpota_session_t *s, const void *data, uint32_t len);

// Takes len bytes at byte offset off. off == mpota_session_offset() is the
// same as write(). off beyond it writes out of order (the gap stays erased
// and must be filled before end(), which then re-reads the slot to hash it);
// off below it must not rewrite bytes already written differently (NOR
// cannot set bits): end()'s read-back catches that. The first bytes
// (pre-flight) must come in order.
int mpota_session_write_at(mpota_session_t *s, uint32_t off, const void *data, uint32_t len);

// Where the next in-order byte goes: the count of bytes received contiguously
// from 0. A dropped download resumes here (HTTP Range: bytes=N-).
uint32_t mpota_session_offset(const mpota_session_t *s);

// Restarts from byte 0 with the same target and options (a server that
// ignored Range is sending the file again). Slot regions already written are
// erased again as the new data reaches them.
int mpota_session_restart(mpota_session_t *s);

// Finishes: the image must be complete and valid (header, segments,
// checksum, appended SHA-256, app description, chip) and the byte count,
// SHA-256 and MD5 must match the expectations, and the signature the trust
// (opts->trust) asks for must be there and verify (mpota_sig_check_area:
// the digest of the image padded to 4 KiB comes from the same hash pass, the
// blocks are read back from the slot). (Unless opts->no_verify, every
// program was read back and compared as it was written, so what is on flash
// is what was received; set_boot then verifies the image on flash as the
// bootloader will.) On success the state is DONE and info (if not NULL) gets
// the image's header, app description and length.
int mpota_session_end(mpota_session_t *s, struct mpota_image_info *info);

// After a successful end(): make the new app boot next, in state NEW (with
// rollback enabled: it must confirm itself, or the next reset rolls back).
// One otadata write, to the record that is not active (SPEC §3.9). A factory
// target: otadata is erased instead (no rollback state: the factory app
// boots whenever otadata selects nothing).
int mpota_session_set_boot(mpota_session_t *s);

// Declares the download's size once it is known, before its first byte (an
// HTTP Content-Length): checked against the slot at pre-flight, after what
// the file is, and against the bytes received at end. Sizes beyond 4 GiB
// count as 0xFFFFFFFF. A size that differs from opts->expected_size fails
// with MPOTA_ERR_EXPECT_LENGTH; after the first byte, MPOTA_ERR_BAD_STATE.
int mpota_session_declare_size(mpota_session_t *s, uint64_t total);

// Leaves the session at any point and releases its hashes. If the slot was
// erased or written since begin (through any restart, resume or failure),
// its first sector is erased so the slot reads as empty (status shows it as
// such and nothing can select a half-written image). A session refused
// before its first erase leaves the slot as it was. otadata untouched.
// Returns 0 or a flash error from that erase.
int mpota_session_abort(mpota_session_t *s);

// SHA-256 of all bytes received (the whole download, trailing bytes
// included), after a successful end(). MPOTA_ERR_BAD_STATE before.
int mpota_session_sha256(const mpota_session_t *s, uint8_t out[32]);

// Current state, sticky error and its details.
enum mpota_session_state mpota_session_state(const mpota_session_t *s);
const struct mpota_diag *mpota_session_diag(const mpota_session_t *s);

// The slot being written (NULL before begin).
const struct mpota_partition *mpota_session_target(const mpota_session_t *s);

// Version order used by MPOTA_POLICY_NO_DOWNGRADE: compares two version
// strings as dotted numbers after an optional leading 'v' ("v1.10.0" >
// "v1.9.2"); a suffix after the numbers ("-rc1", "-ota") sorts before the
// same version without it. Returns <0, 0 or >0.
int mpota_version_compare(const char *a, const char *b);

#endif
