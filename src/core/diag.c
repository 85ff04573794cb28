// The core's catalogue: its codes' sentences, facts and what to do, in no
// front end's words (the CLI adds its commands, the host its own codes:
// src/host/host_diag.c).
//
// Each entry is a template with placeholders filled from the diag:
//   {off}   offset, hex            {label}  the label
//   {exp}   expected, decimal with thousands separators ("1,572,864")
//   {act}   actual, likewise       {exph} {acth}  the same numbers in hex
//   {expchip} {actchip}  expected/actual as chip names ("ESP32-S3 (chip id 9)")
// The text says what is wrong and then what to do. No stdio: the core formats
// its own numbers so it runs where printf does not.
//
// MPOTA_DIAG_TEXT=0 (a build flag, like littlefs' LFS_NO_DEBUG) drops the
// sentences from a device build -- they are about 11 KB of the core's text on
// xtensa -- and formats "NAME: offset, expected, actual, label" instead. The
// MicroPython module calls neither formatter then: the ota package words its
// errors from the numbers (python/ota/_errors.py), so none of this is linked.
#include <string.h>

#include "mpota/err.h"
#include "mpota/image.h"

struct diag_entry {
    int err;
    const char *name;
    const char *text;
};

#if MPOTA_DIAG_TEXT
#define E(code, text) {code, #code, text}
#else
#define E(code, text) {code, #code, NULL}
#endif

static const struct diag_entry catalogue[] = {
    E(MPOTA_OK, "no error"),
    E(MPOTA_ERR_INVALID_ARG, "invalid argument"),
    E(MPOTA_ERR_BAD_STATE, "this call is not allowed now: the operation already failed or finished; abort and start again"),
    E(MPOTA_ERR_NOT_FOUND, "not found: {label}"),
    E(MPOTA_ERR_NO_SPACE, "output buffer too small: {act} B needed, {exp} B available"),

    E(MPOTA_ERR_FLASH_IO, "flash operation failed at {offh}"),
    E(MPOTA_ERR_FLASH_BOUNDS, "flash access at {off} is outside its partition or past the end of the {exp} B flash; check the partition table against the flash size"),
    E(MPOTA_ERR_FLASH_ALIGN, "flash access at {off} is not aligned"),
    E(MPOTA_ERR_FLASH_PROTECTED, "refused to write {label}: it is read-only (the running app is never written)"),
    E(MPOTA_ERR_FLASH_VERIFY, "flash read-back differs from what was written at {off}; the flash may be worn or the power unstable, retry the update"),
    E(MPOTA_ERR_FLASH_NOT_ERASED, "flash program at {off} needs bits set to 1 but the area was not erased"),

    E(MPOTA_ERR_TABLE_MAGIC, "partition table row at {off} has an invalid magic {acth} (expected 0x50AA entry, 0xEBEB MD5 row or an all-0xFF end marker); this is not a partition table or it is corrupt"),
    E(MPOTA_ERR_TABLE_MD5, "partition table MD5 row at {off} is damaged or does not match the entries before it; the table is corrupt: regenerate it"),
    E(MPOTA_ERR_TABLE_NO_END, "partition table has no end marker within 0xC00 bytes"),
    E(MPOTA_ERR_TABLE_EMPTY, "partition table is empty (no partition before the end marker)"),
    E(MPOTA_ERR_TABLE_OVERLAP, "partition {label} at {acth} overlaps the previous partition, which ends at {exph}; move it to {exph} or later"),
    E(MPOTA_ERR_TABLE_ALIGN, "partition {label}: {acth} is not a multiple of {exph} (app partitions start on 0x10000 and are whole 0x1000 sectors, 0x10000 with secure boot v1; others start on 0x1000)"),
    E(MPOTA_ERR_TABLE_BEYOND_FLASH, "partition {label} ends at {acth} ({act} B), beyond the flash size of {exp} B; use a larger flash or a smaller table"),
    E(MPOTA_ERR_TABLE_DUPLICATE, "partition name {label} is used twice"),
    E(MPOTA_ERR_TABLE_TOO_MANY, "partition table has {act} entries; at most {exp} fit in 0xC00 bytes"),
    E(MPOTA_ERR_TABLE_OTADATA, "otadata partition {label} is invalid: a table has at most one data/ota (and one data/tee_ota) partition, of exactly 0x2000 bytes; this one is {acth} B"),
    E(MPOTA_ERR_TABLE_TWO_MD5, "partition table has a second MD5 row at {off}"),
    E(MPOTA_ERR_TABLE_LENGTH, "partition table input is {act} B; a binary table is a whole number of 32-byte rows"),
    E(MPOTA_ERR_TABLE_BELOW_START, "partition {label} at {acth} is below the first usable offset {exph} (table offset + 0x1000)"),
    E(MPOTA_ERR_TABLE_READONLY, "partition {label} cannot have the readonly flag, or is nvs smaller than 0x3000 without it"),
    E(MPOTA_ERR_TABLE_AFTER_MD5, "partition table row at {off} follows the MD5 row; ESP-IDF's app loader stops at the MD5 row and would not see it: regenerate the table"),

    E(MPOTA_ERR_OTADATA_MISSING, "the partition table has no otadata partition, so OTA boot selection is not available; flash a table with otadata and OTA app slots"),
    E(MPOTA_ERR_OTADATA_SIZE, "otadata partition is {act} B; it must be at least 8,192 B (two sectors)"),
    E(MPOTA_ERR_OTADATA_NO_ACTIVE, "otadata has no valid entry: the device runs its default app (factory or ota_0), which has no rollback state"),
    E(MPOTA_ERR_ROLLBACK_IMPOSSIBLE, "no rollback possible: no other valid app to return to"),
    E(MPOTA_ERR_NOT_OTA_SLOT, "partition {label} is not an OTA app slot (ota_0..ota_15)"),
    E(MPOTA_ERR_UPDATE_PENDING, "an update to {label} is selected and has not booted yet, so the running app cannot be rolled back now (the next reset would start {label}); reset into it first, or select the running app again to cancel it"),
    E(MPOTA_ERR_TARGET_BOOTS_NEXT, "slot {label} holds the confirmed app the next reset starts (the running app was marked invalid), and it may be the only valid one; reset first, then update"),
    E(MPOTA_ERR_NO_OTA_SLOTS, "the partition table has no OTA app slots (ota_0..ota_15): this firmware cannot be updated over the air; install once, over serial, a firmware with an OTA partition table (MicroPython's OTA variant, e.g. ESP32_GENERIC-OTA), after backing up the filesystem"),
    E(MPOTA_ERR_NO_BOOTABLE_APP, "no bootable app: every app partition failed to load; the device would reset forever; write a valid app over serial"),
    E(MPOTA_ERR_PENDING_VERIFY, "the running app is still pending verification; confirm it (mark valid) or roll back before starting an update"),
    E(MPOTA_ERR_SLOT_IS_RUNNING, "refused to write {label}: it is the running app"),
    E(MPOTA_ERR_OTADATA_SEQ_WRAP, "otadata sequence number {acth} leaves no next number that selects {label} (too close to 0xFFFFFFFF, or a corrupt 0); erase otadata (`set_boot` to factory, or erase the otadata partition) and select the app again"),

    E(MPOTA_ERR_IMAGE_MAGIC, "not an ESP app image: byte {off} is {acth}, expected 0xE9"),
    E(MPOTA_ERR_IMAGE_IS_COMBINED, "this is a full flash image (bootloader + partition table + app), not an app image; use the app image inside it at offset {exph} or the build's app .bin (e.g. micropython.bin)"),
    E(MPOTA_ERR_IMAGE_IS_BOOTLOADER, "this is a bootloader image, not an app; OTA updates replace the app only: use the application .bin (e.g. micropython.bin)"),
    E(MPOTA_ERR_IMAGE_IS_TABLE, "this is a partition table, not an app image"),
    E(MPOTA_ERR_IMAGE_CHIP, "image is built for {actchip}, not for {expchip}; use firmware built for {expchip}"),
    E(MPOTA_ERR_IMAGE_SEGMENT_COUNT, "image header declares {act} segments; an app has 1 to 16"),
    E(MPOTA_ERR_IMAGE_SEGMENT_LEN, "segment at {off} has length {acth}: not a multiple of 4, or 16 MiB or more; the image is corrupt"),
    E(MPOTA_ERR_IMAGE_SEGMENT_MAP, "mapped segment at {off} loads at {acth} but its data sits at {exph} modulo 64 KiB on flash; the image was not laid out by elf2image, or it is not at a 64 KiB-aligned flash address"),
    E(MPOTA_ERR_IMAGE_CHECKSUM, "image checksum at {off} is {acth} but the segments give {exph}; the image is corrupt: download it again"),
    E(MPOTA_ERR_IMAGE_HASH, "appended SHA-256 at {off} does not match the image; the image is corrupt: download it again"),
    E(MPOTA_ERR_IMAGE_HASH_FLAG, "image header hash_appended byte is {act}; it must be 0 or 1"),
    E(MPOTA_ERR_IMAGE_TRUNCATED, "image is truncated: it ends at {act} B, but the headers read so far need at least {exp} B; download it again"),
    E(MPOTA_ERR_IMAGE_NO_APP_DESC, "image has no app description at offset 0x20 (magic 0xABCD5432)"),
    E(MPOTA_ERR_IMAGE_TOO_BIG, "image needs {act} B but {label} holds {exp} B; use a partition table with larger app slots"),
    E(MPOTA_ERR_IMAGE_IS_OTADATA, "this is an otadata dump, not an app image"),
    E(MPOTA_ERR_IMAGE_UNKNOWN, "not an app image, bootloader, partition table or flash image"),
    E(MPOTA_ERR_IMAGE_WRAP, "segment at {off} wraps past the end of the address space"),

    E(MPOTA_ERR_POLICY_PROJECT, "image project is {label}, not the running app's project; pass the matching firmware or turn the same-project policy off"),
    E(MPOTA_ERR_POLICY_DOWNGRADE, "image version is older than the running app's ({label}); downgrades are refused by policy"),
    E(MPOTA_ERR_POLICY_VERSION_UNKNOWN, "the {label}'s version cannot be known (no version in its app description and no MicroPython version string), so the no-downgrade policy cannot be applied; use a build that carries its version, or turn the policy off"),
    E(MPOTA_ERR_POLICY_SECURE_VERSION, "image secure_version {act} is lower than the running app's {exp}; the bootloader would refuse it"),

    E(MPOTA_ERR_SIG_MISSING, "image has no signature block in its signature sector at {offh} (the image end rounded up to 4 KiB); it is not signed: sign it with a Secure Boot V2 key"),
    E(MPOTA_ERR_SIG_CORRUPT, "signature block at {offh} is damaged: its CRC or version is {acth}, it should be {exph}; the file was cut or altered: download it again"),
    E(MPOTA_ERR_SIG_SCHEME, "signature block at {offh} uses {label}, which this build cannot verify"),
    E(MPOTA_ERR_SIG_DIGEST, "signature block at {offh} signs other bytes: its image digest is not this image's, padding included; the image was changed after signing"),
    E(MPOTA_ERR_SIG_UNTRUSTED, "image is signed, but by no trusted key: the block at {offh} is by key {label} (keys trusted: {exp}); sign it with a trusted key, or trust that key"),
    E(MPOTA_ERR_SIG_REVOKED, "image is signed only by key {label}, whose trusted slot {exp} is revoked; sign it with a key that is not revoked"),
    E(MPOTA_ERR_SIG_TRUST_FULL, "too many trusted keys: at most {exp}"),
    E(MPOTA_ERR_SECURE_VERSION_LOW, "the app's secure_version is {act}, below the chip's security version {exp} (anti-rollback: a counter burnt in eFuse, it never goes down), so the bootloader would never start it; build the firmware with CONFIG_BOOTLOADER_APP_SECURE_VERSION={exp} or higher"),
    E(MPOTA_ERR_SECURE_VERSION_TOO_BIG, "the app's secure_version is {act}, but the chip's eFuse field counts at most {exp} (anti-rollback: one bit per version), so confirming it could never raise the counter; build the firmware with CONFIG_BOOTLOADER_APP_SECURE_VERSION at most {exp}"),
    E(MPOTA_ERR_EFUSE_BURN, "burning the chip's security version up to {exp} failed (anti-rollback eFuse); the app stays confirmed and the next boot raises it again; if this repeats, the eFuse field cannot be written"),
    E(MPOTA_ERR_SIG_INVALID, "signature in the block at {offh} does not verify with the key it carries; the signature or the image was altered"),

    E(MPOTA_ERR_INFLATE_HEADER, "the compressed file's header is not one this device reads ({label}); send a gzip (RFC 1952) or zlib (RFC 1950) file of the app image, or the image itself"),
    E(MPOTA_ERR_INFLATE_CORRUPT, "the compressed data is corrupt: decoding fails at compressed byte {off}; download it again, or recompress the image"),
    E(MPOTA_ERR_INFLATE_TRUNCATED, "the compressed file ends after {act} B, before its end marker; the download was cut short or the file is truncated: download it again"),
    E(MPOTA_ERR_INFLATE_CHECKSUM, "the compressed file's check value ({label}) is {exph} but its data gives {acth}; the file is corrupt: download it again"),
    E(MPOTA_ERR_INFLATE_TRAILING, "the compressed file has data after its end, at compressed byte {off}; send one gzip or zlib stream holding only the app image"),
    E(MPOTA_ERR_INFLATE_WINDOW, "the compressed stream needs a {act} B window; this build holds {exp} B: compress with a smaller window (gzip and zlib default to 32,768 B)"),
    E(MPOTA_ERR_INFLATE_TOO_BIG, "the compressed file unpacks to more than {exp} B, all that {label} holds (stopped at compressed byte {off}); it holds more than an app image for this slot, or it was made to fill the device: send the app image alone"),

    E(MPOTA_ERR_DELTA_HEADER, "this is not a detools sequential patch (first byte {acth}); make a sequential patch with detools or mpota"),
    E(MPOTA_ERR_DELTA_COMPRESSION, "the patch is compressed with {label}, which this build cannot apply; make it with heatshrink, crle or none"),
    E(MPOTA_ERR_DELTA_WINDOW, "the patch's heatshrink window is {act} B; this build holds {exp} B: make the patch with a smaller window (detools' default is 256 B, window_sz2 8)"),
    E(MPOTA_ERR_DELTA_CORRUPT, "the patch is corrupt at patch byte {off}; download it again, or use the full image"),
    E(MPOTA_ERR_DELTA_FROM_RANGE, "the patch reads the running image up to byte {act}, but it is {exp} B: the patch was made from another base image; use the full image"),
    E(MPOTA_ERR_DELTA_TO_RANGE, "the patch writes up to byte {act} of the new image, beyond its {exp} B; the patch is corrupt: use the full image"),
    E(MPOTA_ERR_DELTA_TRUNCATED, "the patch ends after {act} B of the {exp} B image; it was cut short: download it again"),
    E(MPOTA_ERR_DELTA_TRAILING, "the patch has data left at patch byte {off} after the image is complete; the patch is corrupt or has something appended"),
    E(MPOTA_ERR_DELTA_DATA_FORMAT, "the patch uses detools' {label} data format, which this build does not apply; make the patch without a data format"),
    E(MPOTA_ERR_DELTA_BASE, "the patch was made for another base image (SHA-256 {label}...); the running image differs: use the full image"),

    E(MPOTA_ERR_EXPECT_SHA256, "SHA-256 of the received data does not match the expected one; the download is corrupt or the hash is for another file"),
    E(MPOTA_ERR_EXPECT_MD5, "MD5 of the received data does not match the expected one; the download is corrupt or the hash is for another file"),
    E(MPOTA_ERR_EXPECT_LENGTH, "the download is {act} B (received or declared) but {exp} B were expected; it is incomplete, or the length given is wrong"),
    E(MPOTA_ERR_EXPECT_APP, "the image's {label} differs from what the manifest says; the manifest and the firmware do not belong together: publish them together"),
    E(MPOTA_ERR_SLOT_TOO_SMALL, "image is {act} B but {label} holds {exp} B; use a partition table with larger app slots"),

};

#undef E

static const struct diag_entry *lookup(int err)
{
    for (size_t i = 0; i < sizeof(catalogue) / sizeof(catalogue[0]); i++) {
        if (catalogue[i].err == err) {
            return &catalogue[i];
        }
    }
    return NULL;
}

int mpota_diag_set(struct mpota_diag *d, int err, uint32_t offset, uint32_t expected,
                   uint32_t actual)
{
    if (d) {
        d->err = err;
        d->offset = offset;
        d->expected = expected;
        d->actual = actual;
    }
    return err;
}

void mpota_diag_label(struct mpota_diag *d, const char *label, size_t max_len)
{
    if (!d) {
        return;
    }
    size_t n = 0;
    if (max_len > sizeof(d->label) - 1) {
        max_len = sizeof(d->label) - 1;
    }
    while (label && n < max_len && label[n]) {
        d->label[n] = label[n];
        n++;
    }
    d->label[n] = '\0';
}

const char *mpota_err_name(int err)
{
    const struct diag_entry *e = lookup(err);
    return e ? e->name : "MPOTA_ERR_UNKNOWN";
}

// An append-only text sink that counts what would have been written.
struct sink {
    char *buf;
    size_t cap;
    size_t len;
};

static void put_char(struct sink *s, char c)
{
    if (s->len + 1 < s->cap) {
        s->buf[s->len] = c;
    }
    s->len++;
}

// NUL-terminates what fitted; returns the full length, as snprintf does.
static size_t finish(struct sink *s)
{
    if (s->cap) {
        s->buf[s->len < s->cap ? s->len : s->cap - 1] = '\0';
    }
    return s->len;
}

static void put_str(struct sink *s, const char *str)
{
    while (*str) {
        put_char(s, *str++);
    }
}

// Decimal; grouped in thousands ("1,572,864") for sizes people read.
static void put_num(struct sink *s, uint32_t v, bool grouped)
{
    char digits[16];
    int n = 0;
    do {
        if (grouped && (n == 3 || n == 7 || n == 11)) {
            digits[n++] = ',';
        }
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) {
        put_char(s, digits[--n]);
    }
}

static void put_dec(struct sink *s, uint32_t v)
{
    put_num(s, v, true);
}

static void put_hex(struct sink *s, uint32_t v)
{
    static const char hex[] = "0123456789ABCDEF";
    put_str(s, "0x");
    int shift = 28;
    while (shift > 0 && ((v >> shift) & 0xF) == 0) {
        shift -= 4;
    }
    for (; shift >= 0; shift -= 4) {
        put_char(s, hex[(v >> shift) & 0xF]);
    }
}

static void put_chip(struct sink *s, uint32_t id)
{
    const char *name = mpota_chip_name((uint16_t)id);
    put_str(s, name ? name : "an unknown chip");
    put_str(s, " (chip id ");
    put_num(s, id, false);
    put_char(s, ')');
}

// Expands one {name} placeholder; returns false if the name is unknown.
static bool put_field(struct sink *s, const struct mpota_diag *d, const char *name, size_t n)
{
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(name, lit, n) == 0)
    if (IS("off") || IS("offh")) {
        put_hex(s, d->offset);
    } else if (IS("exp")) {
        put_dec(s, d->expected);
    } else if (IS("act")) {
        put_dec(s, d->actual);
    } else if (IS("exph")) {
        put_hex(s, d->expected);
    } else if (IS("acth")) {
        put_hex(s, d->actual);
    } else if (IS("label")) {
        put_str(s, d->label[0] ? d->label : "(unnamed)");
    } else if (IS("expchip")) {
        put_chip(s, d->expected);
    } else if (IS("actchip")) {
        put_chip(s, d->actual);
    } else {
        return false;
    }
    return true;
#undef IS
}

size_t mpota_diag_expand(const char *tmpl, const struct mpota_diag *d, char *buf,
                         size_t buf_len)
{
    struct sink s = {buf, buf_len, 0};
    for (const char *t = tmpl; *t; t++) {
        const char *close = *t == '{' ? strchr(t, '}') : NULL;
        if (close && put_field(&s, d, t + 1, (size_t)(close - t - 1))) {
            t = close;
        } else {
            put_char(&s, *t);
        }
    }
    return finish(&s);
}

size_t mpota_diag_format(const struct mpota_diag *d, char *buf, size_t buf_len)
{
    const struct diag_entry *e = lookup(d->err);
    if (e && e->text) {
        return mpota_diag_expand(e->text, d, buf, buf_len);
    }
    struct sink s = {buf, buf_len, 0};
    if (!e) {
        put_str(&s, "error ");
        put_char(&s, '-');
        put_num(&s, (uint32_t)(-(int64_t)d->err), false);
    } else {
        // No sentences in this build: the name and every number.
        put_str(&s, e->name);
        put_str(&s, ": offset ");
        put_hex(&s, d->offset);
        put_str(&s, ", expected ");
        put_dec(&s, d->expected);
        put_str(&s, ", actual ");
        put_dec(&s, d->actual);
        if (d->label[0]) {
            put_str(&s, ", ");
            put_str(&s, d->label);
        }
    }
    return finish(&s);
}
