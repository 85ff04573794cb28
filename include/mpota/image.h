// ESP app images (SPEC §4): chip ids, the streaming validator, app descriptions,
// and recognising what a file is.
//
// Conventions (as in the rest of mpota): every function returning int returns 0
// or a negative enum mpota_err; a struct mpota_diag *d may be NULL everywhere;
// nothing here allocates, and every object is caller-owned. The parser keeps
// no pointer into data buffers between calls; the only pointer it keeps is to
// the caller's struct mpota_image_info, which it fills in as bytes arrive.
#ifndef MPOTA_IMAGE_H
#define MPOTA_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpota/err.h"
#include "mpota/hash.h"  // the parser embeds a SHA-256 context

// Chip ids (esp_chip_id_t, SPEC §4.3)
#define MPOTA_CHIP_ESP32 0u
#define MPOTA_CHIP_ESP32S2 2u
#define MPOTA_CHIP_ESP32C3 5u
#define MPOTA_CHIP_ESP32S3 9u
#define MPOTA_CHIP_ESP32C2 12u
#define MPOTA_CHIP_ESP32C6 13u
#define MPOTA_CHIP_ESP32H2 16u
#define MPOTA_CHIP_ESP32P4 18u
#define MPOTA_CHIP_ESP32C61 20u
#define MPOTA_CHIP_ESP32C5 23u
#define MPOTA_CHIP_ESP32H21 25u
#define MPOTA_CHIP_ESP32H4 28u
#define MPOTA_CHIP_ESP32S31 32u
#define MPOTA_CHIP_ANY 0xFFFFu  // "no expectation" where a chip id is asked for

// Image format constants (SPEC §4.1-4.8)
#define MPOTA_IMAGE_MAGIC 0xE9u                 // ESP_IMAGE_HEADER_MAGIC
#define MPOTA_IMAGE_HEADER_LEN 24u              // esp_image_header_t
#define MPOTA_IMAGE_SEG_HEADER_LEN 8u           // esp_image_segment_header_t
#define MPOTA_IMAGE_MAX_SEGMENTS 16u            // ESP_IMAGE_MAX_SEGMENTS
#define MPOTA_IMAGE_MAX_SEGMENT_LEN 0x1000000u  // a segment must be shorter than 16 MiB
#define MPOTA_IMAGE_CHECKSUM_SEED 0xEFu         // ESP_ROM_CHECKSUM_INITIAL
#define MPOTA_IMAGE_HASH_LEN 32u                // appended SHA-256
#define MPOTA_IMAGE_WP_PIN_DISABLED 0xEEu       // what elf2image writes
#define MPOTA_IMAGE_MMU_PAGE 0x10000u           // flash MMU page on ESP32/S2/S3/C3
#define MPOTA_IMAGE_MAX_PARTITION 0x1000000u    // SPEC §4.9 step 1: 16 MiB

#define MPOTA_APP_DESC_MAGIC 0xABCD5432u        // ESP_APP_DESC_MAGIC_WORD
#define MPOTA_APP_DESC_OFFSET 0x20u             // image offset of esp_app_desc_t
#define MPOTA_APP_DESC_LEN 256u
#define MPOTA_APP_DESC_ELF_SHA_OFFSET 0xB0u     // image offset of app_elf_sha256
#define MPOTA_BOOTLOADER_DESC_MAGIC 0x50u       // esp_bootloader_desc_t.magic_byte (80)
#define MPOTA_BOOTLOADER_DESC_LEN 80u

// SPEC §4.9 step 4: a segment's data length is a multiple of 4 and under
// 16 MiB. The one statement of the rule (parser, identify, image builder).
static inline bool mpota_image_seg_len_ok(uint32_t len)
{
    return len % 4u == 0 && len < MPOTA_IMAGE_MAX_SEGMENT_LEN;
}

// SPEC §4.5: zero padding after the last segment's data (ending at image
// offset data_end) so that the checksum byte is the last of a 16-byte block.
// Returns the offset just after the checksum byte.
static inline uint32_t mpota_image_checksum_end(uint32_t data_end)
{
    return (data_end + 16u) & ~15u;
}

/// Chips: names, flash-mapped windows, bootloader offset, app description ///

// Display name of a chip id, e.g. "ESP32-S3"; NULL if unknown.
const char *mpota_chip_name(uint16_t chip_id);

// Chip id for a name: "ESP32-S3", "esp32s3", "esp32-s3" (case-insensitive, '-'
// optional). Returns MPOTA_CHIP_ANY if unknown.
uint16_t mpota_chip_from_name(const char *name);

// True if addr lies in one of the chip's flash-mapped windows (IROM or DROM):
// the segments the bootloader maps instead of copying, which must obey the
// mapped-segment alignment rule (SPEC §4.9) and which elf2image aligns (§4.10).
// False for chips without a table.
bool mpota_chip_is_mapped_addr(uint16_t chip_id, uint32_t addr);

// True if this chip has flash-window and memory tables here.
bool mpota_chip_has_tables(uint16_t chip_id);

// Flash address of the 2nd-stage bootloader (SPEC §1): 0x1000 on ESP32 and
// ESP32-S2, 0x2000 on ESP32-P4/C5/S31, 0 on the others.
uint32_t mpota_chip_bootloader_offset(uint16_t chip_id);

// True where the bootloader requires segment 0 of an app to start with an
// esp_app_desc_t (chips with a configurable MMU page size, SPEC §4.9).
bool mpota_chip_requires_app_desc(uint16_t chip_id);

// Default width in bits of the chip's eFuse SECURE_VERSION field, which is
// also the highest security version it can count (ESP-IDF's
// BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD): ESP32 32, ESP32-C2 4, ESP32-C5 9,
// the others (and MPOTA_CHIP_ANY) 16.
uint32_t mpota_chip_security_version_bits(uint16_t chip_id);

/// Decoded structures ///

// esp_image_header_t, decoded (SPEC §4.2).
struct mpota_image_header {
    uint8_t magic;
    uint8_t segment_count;
    uint8_t spi_mode;
    uint8_t spi_speed;           // low nibble of byte 3
    uint8_t spi_size;            // high nibble of byte 3
    uint32_t entry_addr;
    uint8_t wp_pin;
    uint8_t spi_pin_drv[3];      // nibbles: clk/q, d/cs0, hd/wp (low/high)
    uint16_t chip_id;
    uint8_t min_chip_rev;        // legacy
    uint16_t min_chip_rev_full;  // major*100 + minor
    uint16_t max_chip_rev_full;
    uint8_t hash_appended;
};

// One segment as found in the image.
struct mpota_image_segment {
    uint32_t load_addr;
    uint32_t data_len;
    uint32_t file_off;  // image offset of the segment *header* (as esptool prints)
};

// esp_app_desc_t (SPEC §4.7). Strings are NUL-terminated copies of the
// fixed-size fields, cut at the first NUL (what C code on the device sees).
struct mpota_app_desc {
    uint32_t magic_word;
    uint32_t secure_version;
    char version[33];
    char project_name[33];
    char time[17];
    char date[17];
    char idf_ver[33];
    uint8_t app_elf_sha256[32];
    uint16_t min_efuse_blk_rev_full;
    uint16_t max_efuse_blk_rev_full;
    uint8_t mmu_page_size;   // log2; 0 in images older than IDF v5.4
    uint8_t spi_flash_mode;  // IDF master only; 0 elsewhere
};

// esp_bootloader_desc_t (SPEC §4.8).
struct mpota_bootloader_desc {
    uint8_t magic_byte;
    uint8_t secure_version;
    uint32_t version;
    char idf_ver[33];
    char date_time[25];
};

// Decodes the 24-byte esp_image_header_t at raw (SPEC §4.2).
void mpota_image_header_decode(const uint8_t raw[MPOTA_IMAGE_HEADER_LEN],
                               struct mpota_image_header *out);

// What the first bytes of an image say: the header (segment count, chip ...)
// and the app description (SPEC §4.2, §4.7). Read once, by
// mpota_image_head_read(), and shared: identify classifies with it, the
// update pre-flight checks it, and the session keeps it until the end. (The
// segment headers are the parser's: it checks them as they stream past.)
struct mpota_image_head {
    struct mpota_image_header header;  // zeroed unless 24 bytes were there
    bool app_desc_present;             // magic word right and all 256 bytes there
    struct mpota_app_desc app_desc;    // decoded from what bytes there are
};

// Fills out from the first len bytes of buf (any len; nothing is checked).
void mpota_image_head_read(const uint8_t *buf, size_t len, struct mpota_image_head *out);

// Decodes the 256-byte esp_app_desc_t at raw. Returns MPOTA_ERR_IMAGE_NO_APP_DESC
// if len < 256 or the magic word is wrong (out is still filled from what is
// there), else 0.
int mpota_app_desc_decode(const uint8_t *raw, size_t len, struct mpota_app_desc *out);

struct mpota_area;

// Reads the esp_app_desc_t of the app image at the start of area a (256
// bytes at 0x20, as esp_ota_get_partition_description does; nothing else is
// verified) and decodes it. Returns 0, a flash error, or
// MPOTA_ERR_IMAGE_NO_APP_DESC.
int mpota_app_desc_read_area(const struct mpota_area *a, struct mpota_app_desc *out);

// Streaming form of the above: stores byte b found at offset off (0..255) of
// the description. Start from a zeroed struct; bytes may come in any order.
void mpota_app_desc_put(struct mpota_app_desc *d, uint32_t off, uint8_t b);

// Encodes d into the 256-byte on-flash layout (reserved bytes zero; strings
// truncated to their field size, NUL-padded).
void mpota_app_desc_encode(const struct mpota_app_desc *d, uint8_t out[MPOTA_APP_DESC_LEN]);

// The same three for esp_bootloader_desc_t (80 bytes, magic byte 0x50);
// decode returns MPOTA_ERR_NOT_FOUND if len < 80 or the magic byte is wrong.
int mpota_bootloader_desc_decode(const uint8_t *raw, size_t len,
                                 struct mpota_bootloader_desc *out);
void mpota_bootloader_desc_put(struct mpota_bootloader_desc *d, uint32_t off, uint8_t b);
void mpota_bootloader_desc_encode(const struct mpota_bootloader_desc *d,
                                  uint8_t out[MPOTA_BOOTLOADER_DESC_LEN]);

/// The streaming (push) image parser ///

// What the parser learnt. Filled progressively; fields become meaningful at
// the event noted beside them (a zeroed struct before that).
struct mpota_image_info {
    struct mpota_image_header header;  // MPOTA_IMAGE_EV_HEADER
    uint8_t segments_seen;             // segment headers read so far
    struct mpota_image_segment segments[MPOTA_IMAGE_MAX_SEGMENTS];

    bool app_desc_present;             // MPOTA_IMAGE_EV_APP_DESC
    struct mpota_app_desc app_desc;
    bool bootloader_desc_present;      // first segment is RAM and starts with 0x50
    struct mpota_bootloader_desc bootloader_desc;

    uint32_t checksum_off;             // image offset of the checksum byte
    uint8_t checksum_stored;
    uint8_t checksum_calc;
    bool padding_nonzero;              // bytes before the checksum were not all zero
    uint8_t hash_stored[MPOTA_IMAGE_HASH_LEN];  // when header.hash_appended == 1
    uint8_t hash_calc[MPOTA_IMAGE_HASH_LEN];    // SHA-256 of bytes 0..checksum_off

    uint32_t image_len;     // header through checksum (+ hash); MPOTA_IMAGE_EV_COMPLETE
    uint32_t total_len;     // every byte pushed, trailing bytes included
    bool complete;          // all image_len bytes were seen
};

// Events, reported by mpota_image_parser_events() (read and clear).
#define MPOTA_IMAGE_EV_HEADER 0x01u    // 24-byte header in and checked (magic, chip, count, flag)
#define MPOTA_IMAGE_EV_APP_DESC 0x02u  // app description found or known to be absent
#define MPOTA_IMAGE_EV_COMPLETE 0x04u  // last byte of the image (checksum or hash) seen

// Parser state. Callers allocate it and never touch its fields.
typedef struct {
    mpota_sha256_t sha;             // every byte pushed; the image hash (SPEC §4.6) is a copy finished at the checksum byte
    struct mpota_image_info *info;  // optional; the one pointer kept
    uint32_t flash_addr;            // flash address of image byte 0 (mapped rule)
    uint32_t pos;                   // image offset of the next byte
    uint32_t total;                 // bytes pushed (saturating)
    uint32_t left;                  // bytes left in the current element
    uint32_t seg_end;               // end offset of the current segment's data
    uint32_t checksum_off;
    uint32_t desc_magic;            // bytes 0x20..0x23, little-endian
    int32_t err;                    // first problem (sticky), with its numbers:
    uint32_t err_off, err_exp, err_act;
    uint16_t expected_chip;
    uint16_t chip;
    uint8_t state;
    uint8_t seg_index;
    uint8_t seg_count;
    uint8_t hash_appended;
    uint8_t checksum;               // running XOR of segment data
    uint8_t stored_checksum;
    uint8_t events;                 // pending, not yet read
    uint8_t flags;                  // what has been decided (private bits)
    uint8_t seg0_ram;               // 1 if segment 0 is not flash-mapped
    union {  // never needed at once: headers come before the checksum byte
        uint8_t buf[MPOTA_IMAGE_HEADER_LEN];   // header / segment header being assembled
        uint8_t digest[MPOTA_IMAGE_HASH_LEN];  // calculated SHA-256 once the checksum is in; then the padded digest
    };
} mpota_image_parser_t;

// Starts a parse. expected_chip: the chip the image must be for, or
// MPOTA_CHIP_ANY. flash_addr: flash address where image byte 0 will live (the
// app partition's offset), used for the mapped-segment rule; 0 for a file
// (partitions are 64 KiB aligned, so file offsets give the same answer).
// info: optional, zeroed here and filled as bytes arrive.
void mpota_image_parser_init(mpota_image_parser_t *p, uint16_t expected_chip,
                             uint32_t flash_addr, struct mpota_image_info *info);

// Takes the next len bytes of the image, any length from 0 up. Always takes
// all of them: bytes after the end of the image are counted as trailing.
// Returns 0, or the first problem found so far (sticky: every later call
// returns it again and d gets the same details). Problems that leave the
// structure readable (chip, mapped alignment, checksum, hash) keep the parse
// going so info stays complete; the others stop it.
int mpota_image_parser_push(mpota_image_parser_t *p, const void *data, size_t len,
                            struct mpota_diag *d);

// Ends the input. Returns the sticky problem if any; else
// MPOTA_ERR_IMAGE_TRUNCATED (expected = the least length the image can have,
// actual = bytes seen) if the image is incomplete; else 0.
int mpota_image_parser_finish(mpota_image_parser_t *p, struct mpota_diag *d);

// Events since the last call (MPOTA_IMAGE_EV_* bits), then clears them.
unsigned mpota_image_parser_events(mpota_image_parser_t *p);

// Queries. They never change the state.
bool mpota_image_parser_header_known(const mpota_image_parser_t *p);
// True once the app description is known present or absent; *present (may be
// NULL) says which.
bool mpota_image_parser_app_desc_known(const mpota_image_parser_t *p, bool *present);
bool mpota_image_parser_complete(const mpota_image_parser_t *p);
// The least total length the image can have given what has been read (exact
// once every segment header is in). Never less than the bytes seen + 1 while
// incomplete.
uint32_t mpota_image_parser_min_len(const mpota_image_parser_t *p);
// True once min_len() is the exact image length: the last segment's header
// has been read (the update session plans its last erases with it).
bool mpota_image_parser_len_known(const mpota_image_parser_t *p);
// SHA-256 of every byte pushed (the image, its appended hash and any
// trailing bytes): the digest of the whole download, from the same pass that
// computes the image's own hash. Ends the running hash: call once, after the
// last push. Meaningless after a problem that stopped the parse.
void mpota_image_parser_stream_digest(mpota_image_parser_t *p, uint8_t out[MPOTA_IMAGE_HASH_LEN]);
// SHA-256 of the image padded to the next 4 KiB boundary (every byte before
// a Secure Boot V2 signature sector, sig.h), from the same pass: true and out
// filled once that many bytes were pushed; false before, or if the image
// never completed.
bool mpota_image_parser_padded_digest(const mpota_image_parser_t *p,
                                      uint8_t out[MPOTA_IMAGE_HASH_LEN]);
// The sticky error (0 if none).
int mpota_image_parser_error(const mpota_image_parser_t *p);
// Releases the running hash (the SHA engine on an ESP32) of a parser that
// will not reach mpota_image_parser_stream_digest(). Safe to call twice, or
// after stream_digest.
void mpota_image_parser_release(mpota_image_parser_t *p);

/// Whole images ///

// Parses a whole buffer (one push, then finish). info optional.
int mpota_image_parse(const uint8_t *buf, size_t len, uint16_t expected_chip,
                      struct mpota_image_info *info, struct mpota_diag *d);

// Rules the bootloader applies to apps but not to bootloader images, checked
// on a complete info: on chips that need it (mpota_chip_requires_app_desc) the
// app description must be present -> MPOTA_ERR_IMAGE_NO_APP_DESC.
int mpota_image_check_app(const struct mpota_image_info *info, struct mpota_diag *d);

// Verifies the app image stored at the start of `slot` the way the bootloader
// does before it boots it (SPEC §4.9): header, chip (unless expected_chip is
// MPOTA_CHIP_ANY), segments, mapped-segment alignment, checksum, appended
// SHA-256, and that the image fits the slot. Reads through a small stack
// buffer. Returns 0 for a bootable image; info (optional) gets the details.
int mpota_image_verify_area(const struct mpota_area *slot, uint16_t expected_chip,
                            struct mpota_image_info *info, struct mpota_diag *d);

// The image at the start of `slot` as it was flashed, for a delta patch's
// base (issue 13): verifies it as mpota_image_verify_area() does, then
// gives its length and the SHA-256 of those bytes -- header through the
// appended hash, and for a signed image (a Secure Boot V2 block where its
// signature sector starts) through the end of that sector, as espsecure
// writes the file. So the digest equals sha256sum of the .bin that was
// flashed. One read pass.
int mpota_image_digest_area(const struct mpota_area *slot, uint16_t expected_chip,
                            uint8_t sha256[MPOTA_IMAGE_HASH_LEN], uint32_t *len,
                            struct mpota_diag *d);

/// What is this file? ///

enum mpota_image_kind {
    MPOTA_IMAGE_KIND_UNKNOWN = 0,
    MPOTA_IMAGE_KIND_APP,         // an app image (what an OTA update takes)
    MPOTA_IMAGE_KIND_BOOTLOADER,  // a 2nd-stage bootloader image
    MPOTA_IMAGE_KIND_COMBINED,    // bootloader + table + app, starting at the bootloader
    MPOTA_IMAGE_KIND_FLASH_DUMP,  // the whole flash from address 0
    MPOTA_IMAGE_KIND_PART_TABLE,  // a binary partition table
    MPOTA_IMAGE_KIND_OTADATA,     // the otadata partition (one or two entries, or blank)
};

#define MPOTA_IMAGE_NO_OFFSET 0xFFFFFFFFu

struct mpota_image_ident {
    enum mpota_image_kind kind;
    uint16_t chip;              // from an image header; MPOTA_CHIP_ANY if none
    uint32_t app_offset;        // where the app image starts in the buffer, or NO_OFFSET
    uint32_t table_offset;      // where the partition table starts, or NO_OFFSET
    uint32_t bootloader_offset; // where the bootloader image starts, or NO_OFFSET
    // The buffer ended before the point that decides between a bootloader
    // alone and a combined image / flash dump; kind is the best guess.
    bool head_only;
};

// Recognises what buf holds. Works on a whole file and on its first bytes
// only (see head_only). Never fails: unrecognised input gives KIND_UNKNOWN.
void mpota_image_identify(const uint8_t *buf, size_t len, struct mpota_image_ident *out);

// "app", "bootloader", "combined", "flash-dump", "partition-table", "otadata",
// "unknown".
const char *mpota_image_kind_name(enum mpota_image_kind kind);

// The pre-flight check an update runs on the first bytes it receives, before
// erasing anything. Returns 0 if the head looks like an app image for
// expected_chip (or MPOTA_CHIP_ANY) as far as len bytes tell; else
// MPOTA_ERR_IMAGE_IS_COMBINED (d->expected = offset of the app inside it,
// 0xF000 for an ESP32 micropython.org firmware), MPOTA_ERR_IMAGE_IS_BOOTLOADER,
// MPOTA_ERR_IMAGE_IS_TABLE, MPOTA_ERR_IMAGE_IS_OTADATA, MPOTA_ERR_IMAGE_CHIP,
// MPOTA_ERR_IMAGE_MAGIC (or a header error). A head that starts like a
// bootloader but is too short to show the partition table is reported as
// IS_COMBINED: that is what people pass by mistake. App and bootloader look
// alike until the first segment header: give it at least 32 bytes (the chip
// id needs 24); an update's first chunk is normally far more.
int mpota_image_check_head(const uint8_t *buf, size_t len, uint16_t expected_chip,
                           struct mpota_diag *d);

// What mpota_image_check_update() is asked, besides the bytes.
struct mpota_update_check {
    bool whole;          // the bytes are the whole image (else its first bytes)
    uint32_t size;       // the image's size (a file's, a declared download's); 0 = unknown
    uint32_t slot_size;  // the slot it is to go into; 0 = no slot to fit
};

// May this image go into this app slot of this device? The one check every
// front end runs (the CLI, the MicroPython binding, the update session's
// pre-flight). p: a parser the caller started (mpota_image_parser_init) with
// the device's chip (or MPOTA_CHIP_ANY) and nothing pushed yet; the caller
// releases it, and the info it was started with gets the details. In order:
//  1. buf (len bytes, pushed into p here) is an app image for that chip, as
//     mpota_image_check_head() says; with buf NULL, the caller has pushed the
//     image already and only 2 and 3 apply (what a bootloader checks);
//  2. q->whole: the image is complete and valid (mpota_image_parser_finish),
//     with its app description where the chip requires one;
//  3. q->slot_size: q->size, then the least length the headers give, fit the
//     slot (MPOTA_ERR_SLOT_TOO_SMALL, expected = slot size, actual = needed;
//     the caller adds the slot's label).
// head gets what buf's first bytes say (meaningful on success); NULL only
// with buf NULL.
// With len 0 there is nothing to judge: 0, or for a whole image TRUNCATED.
int mpota_image_check_update(mpota_image_parser_t *p, const uint8_t *buf, size_t len,
                             const struct mpota_update_check *q, struct mpota_image_head *head,
                             struct mpota_diag *d);

// Steps 2 and 3 of mpota_image_check_update() alone, for a caller that pushed
// the image into p itself (mpota_image_verify_area): what a bootloader checks.
int mpota_image_check_pushed(mpota_image_parser_t *p, const struct mpota_update_check *q,
                             struct mpota_diag *d);

#endif
