// ESP-IDF partition tables (SPEC §2): the binary format the bootloader reads.
//
// The binary codec lives in the portable core; CSV text and layout making are
// host-only (src/host, declared in part_csv.h and part_layout.h).
#ifndef MPOTA_PART_H
#define MPOTA_PART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpota/err.h"

#define MPOTA_PART_TABLE_OFFSET 0x8000u   // CONFIG_PARTITION_TABLE_OFFSET default
#define MPOTA_PART_TABLE_MAX_LEN 0xC00u   // ESP_PARTITION_TABLE_MAX_LEN (SPEC §2.5)
#define MPOTA_PART_TABLE_SECTOR 0x1000u   // the table owns one sector (SPEC §1)
#define MPOTA_PART_ROW_SIZE 32u
#define MPOTA_PART_MAX 95u                // rows that fit without the MD5 row, SPEC §2.5
#define MPOTA_PART_LABEL_LEN 16u

// Types (SPEC §2.2)
#define MPOTA_PART_TYPE_APP 0x00u
#define MPOTA_PART_TYPE_DATA 0x01u
#define MPOTA_PART_TYPE_BOOTLOADER 0x02u
#define MPOTA_PART_TYPE_PARTITION_TABLE 0x03u
#define MPOTA_PART_TYPE_ANY 0xFFu

// App subtypes
#define MPOTA_PART_SUBTYPE_FACTORY 0x00u
#define MPOTA_PART_SUBTYPE_OTA_0 0x10u     // ota_N = 0x10 + N, N < 16
#define MPOTA_PART_SUBTYPE_OTA_MAX 0x20u   // exclusive bound
#define MPOTA_PART_SUBTYPE_TEST 0x20u
#define MPOTA_PART_SUBTYPE_TEE_0 0x30u    // tee_0, tee_1 = 0x31

// Data subtypes
#define MPOTA_PART_SUBTYPE_OTADATA 0x00u
#define MPOTA_PART_SUBTYPE_PHY 0x01u
#define MPOTA_PART_SUBTYPE_NVS 0x02u
#define MPOTA_PART_SUBTYPE_COREDUMP 0x03u
#define MPOTA_PART_SUBTYPE_NVS_KEYS 0x04u
#define MPOTA_PART_SUBTYPE_EFUSE 0x05u
#define MPOTA_PART_SUBTYPE_UNDEFINED 0x06u
#define MPOTA_PART_SUBTYPE_FAT 0x81u
#define MPOTA_PART_SUBTYPE_SPIFFS 0x82u
#define MPOTA_PART_SUBTYPE_LITTLEFS 0x83u
#define MPOTA_PART_SUBTYPE_ESPHTTPD 0x80u
#define MPOTA_PART_SUBTYPE_TEE_OTA 0x90u
#define MPOTA_PART_SUBTYPE_ANY 0xFFu

// Subtypes of the bootloader and partition_table types
#define MPOTA_PART_SUBTYPE_PRIMARY 0x00u
#define MPOTA_PART_SUBTYPE_BL_OTA 0x01u
#define MPOTA_PART_SUBTYPE_BL_RECOVERY 0x02u

#define MPOTA_PART_FLAG_ENCRYPTED 0x1u
#define MPOTA_PART_FLAG_READONLY 0x2u

#define MPOTA_OTADATA_SIZE 0x2000u  // data/ota partition size required by gen_esp32part
#define MPOTA_PART_NVS_RW_MIN 0x3000u  // smaller data/nvs must be readonly (SPEC §2.6)
#define MPOTA_PART_APP_ALIGN 0x10000u  // app offset alignment (SPEC §2.6)
#define MPOTA_PART_DATA_ALIGN 0x1000u  // offset alignment of every other type

// One row of the table, decoded. `label` is NUL-terminated here even when the
// on-flash label fills all 16 bytes.
struct mpota_partition {
    uint8_t type;
    uint8_t subtype;
    uint32_t offset;  // absolute flash address
    uint32_t size;
    uint32_t flags;
    char label[MPOTA_PART_LABEL_LEN + 1];
};

struct mpota_table {
    struct mpota_partition parts[MPOTA_PART_MAX];
    uint32_t count;
    bool md5_present;  // an MD5 row was found
    bool md5_valid;    // ... and matched the entries
};

static inline bool mpota_part_is_ota_app(const struct mpota_partition *p)
{
    return p->type == MPOTA_PART_TYPE_APP && p->subtype >= MPOTA_PART_SUBTYPE_OTA_0 &&
           p->subtype < MPOTA_PART_SUBTYPE_OTA_MAX;
}

// Decodes and validates a binary table (SPEC §2.4-2.6). `buf` holds the table
// sector contents (at least the rows up to the end marker; normally 0xC00 or
// 0x1000 bytes). Checks what the bootloader checks (magic, one MD5 row that
// matches, end marker, rows within flash_size) and what gen_esp32part checks
// (alignment, overlap, unique names, otadata size). flash_size 0 skips the
// flash-size check. On failure returns the error and fills d (offset = byte
// offset of the offending row in buf).
//
// Strictness, decided here (the union of both tools' checks; the one place it
// is looser than gen_esp32part: labels are bytes, not necessarily UTF-8, as
// the bootloader and esp_partition see them):
// - len must be a multiple of 32 (MPOTA_ERR_TABLE_LENGTH); only the first
//   MPOTA_PART_TABLE_MAX_LEN bytes are read, as the bootloader does.
// - The end marker is a row of 32 x 0xFF (gen_esp32part); a row that starts
//   FF FF FF FF but is not all 0xFF ends the bootloader's walk but is refused
//   here as MPOTA_ERR_TABLE_MAGIC. No end marker: MPOTA_ERR_TABLE_NO_END; end
//   marker first (or only an MD5 row before it): MPOTA_ERR_TABLE_EMPTY.
// - The MD5 row is optional (md5_present = false without it). With it, bytes
//   2..15 must be 0xFF and the digest must match (MPOTA_ERR_TABLE_MD5). A
//   second MD5 row is MPOTA_ERR_TABLE_TWO_MD5 (the bootloader's rule), and an
//   entry after the MD5 row is MPOTA_ERR_TABLE_AFTER_MD5: the app's loader stops
//   at the MD5 row and would not see it.
// - With flash_size 0, a partition still may not end past 4 GiB
//   (MPOTA_ERR_TABLE_BEYOND_FLASH).
// - Then mpota_part_table_check() with rules {flash_size} (see there). The
//   partitions-below-the-table check is skipped: the table's own address is
//   not known here.
// - Rows after the end marker (0xFF padding) are not looked at.
// Labels are copied up to the first NUL (at most 16 bytes), the rest of
// label[] is zeroed; unknown flag bits are kept.
int mpota_part_table_parse(const uint8_t *buf, size_t len, uint32_t flash_size,
                           struct mpota_table *out, struct mpota_diag *d);

// Encodes t as gen_esp32part does: rows in table order (never sorted), the MD5
// row (if with_md5), 0xFF padding to exactly MPOTA_PART_TABLE_MAX_LEN bytes
// written to out. Each label is written up to its first NUL and zero-padded to
// 16 bytes. Does not validate (see mpota_part_table_check); a count of 0 gives
// the MD5 row of nothing, as gen_esp32part does for an empty CSV.
// Returns MPOTA_ERR_TABLE_TOO_MANY if the rows do not fit (more than 94 with
// the MD5 row, 95 without).
int mpota_part_table_write(const struct mpota_table *t, bool with_md5,
                           uint8_t out[MPOTA_PART_TABLE_MAX_LEN]);

// What mpota_part_table_check() enforces beyond the always-on rules. A zeroed
// struct checks everything that does not need outside knowledge.
struct mpota_part_rules {
    uint32_t flash_size;    // bytes; 0 = no flash-size check
    uint32_t table_offset;  // address of the table; 0 = skip the "below table + 0x1000" check
    bool secure_v1;         // app sizes must be multiples of 0x10000 (gen --secure v1)
    bool skip_names;        // do not check for duplicate labels (the CSV reader compares
                            // the names before truncation to 16 bytes, as gen_esp32part does)
};

// The table-level rules of gen_esp32part's verify() (SPEC §2.6) plus the
// bootloader's flash-size rule (SPEC §2.5), in this order, reporting the first
// failure (d->offset = row offset 32*i of the partition involved, d->label its
// label):
// 1. for each row in order: ends within flash (MPOTA_ERR_TABLE_BEYOND_FLASH,
//    expected = flash size, actual = end); offset aligned to 0x10000 (app) or
//    0x1000 (others), app size to 0x1000 (0x10000 with secure_v1)
//    (MPOTA_ERR_TABLE_ALIGN, expected = alignment, actual = offset or size);
//    readonly not allowed on data/ota and data/coredump, and data/nvs smaller
//    than 0x3000 must be readonly (MPOTA_ERR_TABLE_READONLY);
// 2. unique labels (MPOTA_ERR_TABLE_DUPLICATE) unless skip_names;
// 3. in offset order (stable): not below table_offset + 0x1000 except the
//    primary bootloader/partition-table rows (MPOTA_ERR_TABLE_BELOW_START),
//    no overlap (MPOTA_ERR_TABLE_OVERLAP, expected = end of the previous one,
//    actual = offset); like gen_esp32part, a size-0 partition overlaps nothing;
// 4. at most one data/ota and one data/tee_ota partition, each exactly 0x2000
//    bytes (MPOTA_ERR_TABLE_OTADATA, actual = size).
// An empty table passes (MPOTA_ERR_TABLE_EMPTY is the parser's business).
int mpota_part_table_check(const struct mpota_table *t, const struct mpota_part_rules *rules,
                           struct mpota_diag *d);

// First partition (table order) whose label equals `label` in its first 16
// bytes (esp_partition_find compares with strncmp over 16 bytes, so a longer
// name matches its 16-byte prefix). NULL if none or label is NULL.
const struct mpota_partition *mpota_part_find_label(const struct mpota_table *t, const char *label);

// First partition (table order) with that type and subtype; MPOTA_PART_TYPE_ANY /
// MPOTA_PART_SUBTYPE_ANY match anything. NULL if none.
const struct mpota_partition *mpota_part_find(const struct mpota_table *t, uint8_t type,
                                              uint8_t subtype);

// First partition (table order) that contains chip address addr
// (offset <= addr < offset + size). NULL if none.
const struct mpota_partition *mpota_part_find_at(const struct mpota_table *t, uint32_t addr);

// Number of OTA app slots as the app side counts them (esp_ota_get_app_partition_count,
// SPEC §3.6): ota_0, ota_1, ... up to the first missing subtype. The
// bootloader counts every ota_N instead; keep slots contiguous.
uint32_t mpota_part_ota_count(const struct mpota_table *t);

// The app partition with subtype ota_n (first in table order); NULL if n >= 16
// or there is none.
const struct mpota_partition *mpota_part_ota_slot(const struct mpota_table *t, uint32_t n);

// gen_esp32part's keyword for a type ("app", "data", "bootloader",
// "partition_table"); NULL for other values.
const char *mpota_part_type_name(uint8_t type);

// gen_esp32part's keyword for a subtype of that type (SPEC §2.2: "factory",
// "ota_3", "nvs", "littlefs", "primary", ...); NULL if it has none (custom
// types have no subtype keywords).
const char *mpota_part_subtype_name(uint8_t type, uint8_t subtype);

#endif
