// mpota error codes and diagnostics.
//
// Every function that can fail returns 0 (MPOTA_OK) or a negative enum mpota_err;
// a positive return, where a function documents one, carries a size. Codes are
// grouped in ranges by domain so a code alone tells where it came from. The
// details of a failure (offset, the numbers involved, a label) go in a
// struct mpota_diag; mpota_diag_format() is the one place that turns it into
// text, and every front end prints that text unchanged.
#ifndef MPOTA_ERR_H
#define MPOTA_ERR_H

#include <stddef.h>
#include <stdint.h>

// 0 builds the core without its sentences and names (src/core/diag.c): a
// device firmware whose front end words errors itself.
#ifndef MPOTA_DIAG_TEXT
#define MPOTA_DIAG_TEXT 1
#endif

enum mpota_err {
    MPOTA_OK = 0,

    // Arguments and state: -1 .. -19
    MPOTA_ERR_INVALID_ARG = -1,     // a caller passed something out of range
    MPOTA_ERR_BAD_STATE = -2,       // call not allowed in the object's current state
    MPOTA_ERR_NOT_FOUND = -3,       // no such partition / entry
    MPOTA_ERR_NO_SPACE = -4,        // an output buffer is too small

    // Flash access: -20 .. -39
    MPOTA_ERR_FLASH_IO = -20,        // the backend reported a failure
    MPOTA_ERR_FLASH_BOUNDS = -21,    // access outside the area or the chip
    MPOTA_ERR_FLASH_ALIGN = -22,     // erase not sector-aligned, program not prog_align-aligned
    MPOTA_ERR_FLASH_PROTECTED = -23, // write to a read-only area (e.g. the running slot)
    MPOTA_ERR_FLASH_VERIFY = -24,    // what was read back differs from what was written
    MPOTA_ERR_FLASH_NOT_ERASED = -25, // strict emulation: a program needs a 0->1 bit change

    // Partition table: -40 .. -69
    MPOTA_ERR_TABLE_MAGIC = -40,       // a row is neither an entry, the MD5 row nor the end marker
    MPOTA_ERR_TABLE_MD5 = -41,         // MD5 row does not match the entries
    MPOTA_ERR_TABLE_NO_END = -42,      // no end marker within 0xC00 bytes
    MPOTA_ERR_TABLE_EMPTY = -43,       // end marker on the first row
    MPOTA_ERR_TABLE_OVERLAP = -44,     // two partitions overlap
    MPOTA_ERR_TABLE_ALIGN = -45,       // offset/size not aligned for its type
    MPOTA_ERR_TABLE_BEYOND_FLASH = -46, // partition ends past the flash size
    MPOTA_ERR_TABLE_DUPLICATE = -47,   // two partitions share a name
    MPOTA_ERR_TABLE_TOO_MANY = -48,    // more rows than fit in 0xC00 bytes
    MPOTA_ERR_TABLE_OTADATA = -49,     // otadata missing where needed, duplicated, or not 0x2000
    MPOTA_ERR_TABLE_TWO_MD5 = -50,     // more than one MD5 row
    MPOTA_ERR_TABLE_LENGTH = -51,      // binary input not a multiple of 32 bytes / too short
    MPOTA_ERR_TABLE_BELOW_START = -52, // partition below table offset + 0x1000
    MPOTA_ERR_TABLE_READONLY = -61,    // readonly flag not allowed on this partition / nvs too small
    MPOTA_ERR_TABLE_AFTER_MD5 = -62,   // an entry follows the MD5 row (the app's loader stops there)

    // otadata and boot selection: -70 .. -89
    MPOTA_ERR_OTADATA_MISSING = -70,    // the table has no otadata partition
    MPOTA_ERR_OTADATA_SIZE = -71,       // otadata smaller than two sectors
    MPOTA_ERR_OTADATA_NO_ACTIVE = -72,  // no valid entry: the device runs factory or ota_0 by default
    MPOTA_ERR_ROLLBACK_IMPOSSIBLE = -73, // no other valid app to roll back to
    MPOTA_ERR_NOT_OTA_SLOT = -74,       // the partition is not an ota_N app partition
    MPOTA_ERR_NO_OTA_SLOTS = -75,       // the table has no ota_N partitions
    MPOTA_ERR_NO_BOOTABLE_APP = -76,    // bootloader found no app that loads
    MPOTA_ERR_PENDING_VERIFY = -77,     // running app not confirmed yet: confirm or roll back first
    MPOTA_ERR_SLOT_IS_RUNNING = -78,    // the target slot is the running one
    MPOTA_ERR_OTADATA_SEQ_WRAP = -79,   // no next otadata seq selects the slot (0xFFFFFFFF / wrap / corrupt 0)
    MPOTA_ERR_UPDATE_PENDING = -80,     // an update is selected and not booted yet (label = its slot)
    MPOTA_ERR_TARGET_BOOTS_NEXT = -81,  // the target holds the confirmed app the next reset starts (label)

    // App images: -90 .. -119
    MPOTA_ERR_IMAGE_MAGIC = -90,          // first byte not 0xE9
    MPOTA_ERR_IMAGE_IS_COMBINED = -91,    // bootloader + table + app: a full flash image
    MPOTA_ERR_IMAGE_IS_BOOTLOADER = -92,  // a 2nd-stage bootloader image
    MPOTA_ERR_IMAGE_IS_TABLE = -93,       // a partition table
    MPOTA_ERR_IMAGE_CHIP = -94,           // chip id differs (expected, actual)
    MPOTA_ERR_IMAGE_SEGMENT_COUNT = -95,  // 0 or more than 16 segments
    MPOTA_ERR_IMAGE_SEGMENT_LEN = -96,    // length not a multiple of 4 or >= 16 MiB
    MPOTA_ERR_IMAGE_SEGMENT_MAP = -97,    // mapped segment misaligned vs its load address (SPEC 4.9)
    MPOTA_ERR_IMAGE_CHECKSUM = -98,       // checksum byte mismatch (expected, actual)
    MPOTA_ERR_IMAGE_HASH = -99,           // appended SHA-256 mismatch
    MPOTA_ERR_IMAGE_HASH_FLAG = -100,     // hash_appended byte not 0 or 1
    MPOTA_ERR_IMAGE_TRUNCATED = -101,     // image ends before its segments/checksum/hash
    MPOTA_ERR_IMAGE_NO_APP_DESC = -102,   // required app description missing
    MPOTA_ERR_IMAGE_TOO_BIG = -104,       // image larger than the slot (expected = slot, actual)
    MPOTA_ERR_IMAGE_IS_OTADATA = -105,    // an otadata dump
    MPOTA_ERR_IMAGE_UNKNOWN = -106,       // not any recognised kind
    MPOTA_ERR_IMAGE_WRAP = -108,          // segment end address wraps

    // Update policy: -120 .. -139
    MPOTA_ERR_POLICY_PROJECT = -120,   // project name differs from the running app's
    MPOTA_ERR_POLICY_DOWNGRADE = -121, // older version than the running app
    MPOTA_ERR_POLICY_SECURE_VERSION = -122, // secure_version lower than the running app's
    MPOTA_ERR_POLICY_VERSION_UNKNOWN = -123, // no-downgrade, but a version cannot be known (label = whose)

    // Expectations supplied by the caller: -140 .. -159
    MPOTA_ERR_EXPECT_SHA256 = -140,   // SHA-256 of the data differs from the expected one
    MPOTA_ERR_EXPECT_MD5 = -141,      // MD5 differs
    MPOTA_ERR_EXPECT_LENGTH = -142,   // byte count differs (expected, actual)
    MPOTA_ERR_SLOT_TOO_SMALL = -143,  // declared size larger than the slot (expected = slot, actual)
    MPOTA_ERR_EXPECT_APP = -144,      // app description differs from what a manifest says (label = field)
    // Signatures (Secure Boot V2): -180 .. -199
    MPOTA_ERR_SIG_MISSING = -180, // no signature block where the image's signature sector is
    MPOTA_ERR_SIG_CORRUPT = -181, // a block's magic without its version, scheme or CRC
    MPOTA_ERR_SIG_SCHEME = -182,  // a scheme this build cannot verify (label = scheme)
    MPOTA_ERR_SIG_DIGEST = -183,  // the block's image digest is not this image's
    MPOTA_ERR_SIG_INVALID = -184, // the signature does not verify with the block's key
    MPOTA_ERR_SIG_UNTRUSTED = -185, // signed, but by no trusted key (label = its key digest, short)
    MPOTA_ERR_SIG_REVOKED = -186,   // signed by a trusted key whose slot is revoked (label, expected = slot)
    MPOTA_ERR_SIG_TRUST_FULL = -187, // more trusted keys than the list holds (expected = the limit)

    // Anti-rollback (eFuse security version): -190 .. -199
    MPOTA_ERR_SECURE_VERSION_LOW = -190,     // secure_version below the chip's counter (expected = counter, actual)
    MPOTA_ERR_SECURE_VERSION_TOO_BIG = -191, // secure_version above what the field counts (expected = width, actual)
    MPOTA_ERR_EFUSE_BURN = -192,             // the port could not burn the counter up to expected

    // Compressed images (gzip, zlib): -220 .. -229. offset counts compressed bytes.
    MPOTA_ERR_INFLATE_HEADER = -220,   // not a gzip/zlib header this build reads (label = what)
    MPOTA_ERR_INFLATE_CORRUPT = -221,  // the compressed data is invalid (offset)
    MPOTA_ERR_INFLATE_TRUNCATED = -222, // the stream ends before its end marker (offset = actual = bytes read)
    MPOTA_ERR_INFLATE_CHECKSUM = -223, // CRC-32 / Adler-32 / length trailer differs (expected, actual, label = which)
    MPOTA_ERR_INFLATE_TRAILING = -224, // bytes after the end of the compressed stream (offset)
    MPOTA_ERR_INFLATE_WINDOW = -225,   // the stream's window is larger than this build holds (expected, actual)
    MPOTA_ERR_INFLATE_TOO_BIG = -226,  // it unpacks to more than the slot holds (expected = slot, label; offset)

    // Delta patches (detools sequential): -230 .. -249. offset counts patch bytes.
    MPOTA_ERR_DELTA_HEADER = -230,      // not a detools sequential patch (actual = first byte)
    MPOTA_ERR_DELTA_COMPRESSION = -231, // a compression this build cannot apply (label = its name)
    MPOTA_ERR_DELTA_WINDOW = -232,      // heatshrink window larger than this build holds (expected, actual)
    MPOTA_ERR_DELTA_CORRUPT = -233,     // malformed patch data (offset)
    MPOTA_ERR_DELTA_FROM_RANGE = -234,  // reads the base beyond the running image (expected = its length, actual = the end)
    MPOTA_ERR_DELTA_TO_RANGE = -235,    // writes beyond the new image's size or the slot (expected, actual)
    MPOTA_ERR_DELTA_TRUNCATED = -236,   // the patch ends before the image is complete (expected = image size, actual = made)
    MPOTA_ERR_DELTA_TRAILING = -237,    // patch data left after the image is complete (offset)
    MPOTA_ERR_DELTA_DATA_FORMAT = -238, // a detools data-format patch (label = format), not supported
    MPOTA_ERR_DELTA_BASE = -239,        // the patch is for another base image (label = its SHA-256, short)

    // -54 .. -66 (CSV, layout) and -160 .. -179 (transport) belong to the host
    // front ends: src/host/host_err.h.
};

// Why something failed, with the numbers a person needs to act on it.
// Fields that a code does not use stay 0 / empty.
// Room for the longest name a diag carries: a project name or version of an
// app description (32 chars, esp_app_desc_t).
#define MPOTA_DIAG_LABEL_MAX 32u

struct mpota_diag {
    int err;             // enum mpota_err
    uint32_t offset;     // byte offset in the input (image, table, file) where it was found
    uint32_t expected;   // the number that was required (size, checksum, chip id, ...)
    uint32_t actual;     // the number that was found
    char label[MPOTA_DIAG_LABEL_MAX + 1];  // a label, name or version involved, NUL-terminated
};

// Records err/offset/expected/actual in d (if d is not NULL) and returns err,
// so callers can write `return mpota_diag_set(d, MPOTA_ERR_X, off, exp, act);`.
int mpota_diag_set(struct mpota_diag *d, int err, uint32_t offset, uint32_t expected,
                   uint32_t actual);

// Copies a label (at most max_len bytes, cut at MPOTA_DIAG_LABEL_MAX; need not
// be NUL-terminated) into d->label.
void mpota_diag_label(struct mpota_diag *d, const char *label, size_t max_len);

// Writes a one-paragraph explanation of d into buf (always NUL-terminated when
// buf_len > 0): what is wrong, with its numbers, and what to do next.
// Returns the length of the full text (like snprintf), which may exceed buf_len - 1.
size_t mpota_diag_format(const struct mpota_diag *d, char *buf, size_t buf_len);

// The short symbolic name of a code, e.g. "MPOTA_ERR_IMAGE_CHECKSUM".
const char *mpota_err_name(int err);

// Fills a template's {placeholders} from d, as mpota_diag_format() does with
// the core's own sentences; front ends format their codes with it.
size_t mpota_diag_expand(const char *tmpl, const struct mpota_diag *d, char *buf,
                         size_t buf_len);

#endif
