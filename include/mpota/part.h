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
#define MPOTA_PART_SUBTYPE_ANY 0xFFu

#define MPOTA_PART_FLAG_ENCRYPTED 0x1u
#define MPOTA_PART_FLAG_READONLY 0x2u

#define MPOTA_OTADATA_SIZE 0x2000u  // data/ota partition size required by gen_esp32part

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
int mpota_part_table_parse(const uint8_t *buf, size_t len, uint32_t flash_size,
                           struct mpota_table *out, struct mpota_diag *d);

// Encodes t as gen_esp32part does: rows, the MD5 row (if with_md5), 0xFF
// padding to exactly MPOTA_PART_TABLE_MAX_LEN bytes written to out.
// Returns MPOTA_ERR_TABLE_TOO_MANY if the rows do not fit.
int mpota_part_table_write(const struct mpota_table *t, bool with_md5,
                           uint8_t out[MPOTA_PART_TABLE_MAX_LEN]);

// First partition with that label; NULL if none.
const struct mpota_partition *mpota_part_find_label(const struct mpota_table *t, const char *label);

// First partition (table order) with that type and subtype; MPOTA_PART_TYPE_ANY /
// MPOTA_PART_SUBTYPE_ANY match anything. NULL if none.
const struct mpota_partition *mpota_part_find(const struct mpota_table *t, uint8_t type,
                                              uint8_t subtype);

#endif
