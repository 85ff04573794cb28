// Host-only image builder for tests and demos: ESP app images laid out the
// way esptool's elf2image lays them out (SPEC §4.10), bootloader-like images,
// and combined firmware / whole-flash dumps built from those parts.
//
// Every builder returns 0 or a negative enum mpota_err and hands back a
// malloc'd buffer in *out (the caller frees it); d (optional) gets details.
#ifndef MPOTA_IMAGE_BUILD_H
#define MPOTA_IMAGE_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpota/err.h"
#include "mpota/image.h"

/// Low level: sections in, elf2image layout out ///

// One input section, as elf2image reads it from the ELF. Sections that follow
// each other in this list and touch in memory (same memory types) are merged,
// as elf2image merges adjacent ELF sections.
struct mpota_image_section {
    uint32_t load_addr;
    const uint8_t *data;
    uint32_t len;          // padded with zeros to a multiple of 4 (unless load_addr is 0)
    const char *name;      // optional; ".flash.appdesc" is placed first among the
                           // flash segments and ".dram0.bootdesc" first among RAM ones
};

// The header fields (SPEC §4.2) and elf2image options.
struct mpota_image_build_opts {
    uint16_t chip_id;
    uint32_t entry_addr;
    uint8_t spi_mode;            // 0 QIO, 1 QOUT, 2 DIO, 3 DOUT
    uint8_t spi_size;            // flash size code: 0 1MB .. 7 128MB
    uint8_t spi_speed;           // flash frequency code (e.g. 0 = 40m on ESP32)
    uint8_t wp_pin;              // MPOTA_IMAGE_WP_PIN_DISABLED normally
    uint8_t spi_pin_drv[3];
    uint8_t min_chip_rev;
    uint16_t min_chip_rev_full;
    uint16_t max_chip_rev_full;
    bool append_digest;          // hash_appended = 1 and the SHA-256 after the checksum
    // If not NULL, these 32 bytes are written at image offset elf_sha256_offset
    // (normally MPOTA_APP_DESC_ELF_SHA_OFFSET, app_elf_sha256), which must be
    // zero beforehand, as elf2image --elf-sha256-offset does.
    const uint8_t *elf_sha256;
    uint32_t elf_sha256_offset;
};

// Fills o with what an ESP-IDF app build passes to elf2image for that chip:
// DIO, 4MB, 40m (code 0), WP pin disabled, revision range v0.0 up to the
// chip's usual maximum (v3.99 on ESP32), digest appended, no ELF SHA.
void mpota_image_build_defaults(struct mpota_image_build_opts *o, uint16_t chip_id);

// Lays out the sections as elf2image does (SPEC §4.10): flash-mapped segments
// sorted and placed so that file offset == load address modulo 64 KiB, gaps
// filled by splitting RAM segments or by padding segments at load address 0,
// the ESP32 0x24-byte extension, checksum and appended SHA-256.
// Errors: MPOTA_ERR_IMAGE_SEGMENT_MAP (two flash segments in one 64 KiB page),
// MPOTA_ERR_IMAGE_SEGMENT_COUNT (more than 16 segments),
// MPOTA_ERR_IMAGE_SEGMENT_LEN (a segment of 16 MiB or more),
// MPOTA_ERR_INVALID_ARG (bad arguments, ELF SHA offset not on zero bytes).
int mpota_image_build(const struct mpota_image_build_opts *o,
                      const struct mpota_image_section *sections, size_t count, uint8_t **out,
                      size_t *out_len, struct mpota_diag *d);

/// Convenience: a whole app of a chosen size ///

struct mpota_app_spec {
    uint16_t chip_id;          // ESP32, ESP32-S2, ESP32-S3 or ESP32-C3
    uint32_t total_size;       // exact image length, multiple of 16, up to 4 MiB
    const char *version;       // NULL: "v1.0.0"
    const char *project_name;  // NULL: "micropython"
    const char *idf_ver;       // NULL: "v5.2.2"
    const char *date;          // NULL: "Jan  1 2025"
    const char *time;          // NULL: "12:34:56"
    uint32_t secure_version;
    uint64_t seed;             // content is pseudo-random from this seed
    const uint8_t *elf_sha256; // NULL: derived from the section contents
    bool no_app_desc;          // IDF < 3.3 style: segment 0 is plain rodata
    bool no_hash;              // hash_appended = 0
    // If set ("1.23.0"), the first segment carries the strings an official
    // MicroPython build does: platform.platform()'s
    // "MicroPython-1.23.0-xtensa-IDFv5.0.4-with-newlib4.1.0" and the banner
    // "MicroPython v1.23.0 on 2024-06-02" (mpver.h reads them back).
    const char *micropython_version;
};

// Builds a valid app image of exactly s->total_size bytes: DROM (app
// description first), DRAM, IRAM and, from 256 KiB up, an IROM text segment in
// its own 64 KiB page, as ESP-IDF apps look. The same spec always gives the
// same bytes. MPOTA_ERR_INVALID_ARG if the size is not a multiple of 16, too
// small (below 0x200) or above 4 MiB, or the chip has no tables.
int mpota_image_build_app(const struct mpota_app_spec *s, uint8_t **out, size_t *out_len,
                          struct mpota_diag *d);

/// Bootloaders, combined firmware, flash dumps ///

struct mpota_bootloader_spec {
    uint16_t chip_id;
    uint32_t size;             // approximate image size; 0: about 24 KiB
    uint32_t version;          // esp_bootloader_desc_t.version
    const char *idf_ver;       // NULL: "v5.2.2"
    const char *date_time;     // NULL: "Jan  1 2025 12:34:56"
    uint64_t seed;
    bool no_desc;              // IDF < 5.2: no esp_bootloader_desc_t
};

// A bootloader-like image: RAM segments only (DRAM first, starting with the
// bootloader description), digest appended.
int mpota_image_build_bootloader(const struct mpota_bootloader_spec *s, uint8_t **out,
                                 size_t *out_len, struct mpota_diag *d);

// The parts of a flash image. Anything NULL is left erased (0xFF).
struct mpota_flash_parts {
    uint16_t chip_id;                 // sets the bootloader address (SPEC §1)
    const uint8_t *bootloader;
    size_t bootloader_len;
    const uint8_t *table;             // binary table (e.g. from mpota_part_table_write)
    size_t table_len;
    uint32_t table_addr;              // 0: MPOTA_PART_TABLE_OFFSET (0x8000)
    const uint8_t *otadata;
    size_t otadata_len;
    uint32_t otadata_addr;
    const uint8_t *app;
    size_t app_len;
    uint32_t app_addr;                // flash address of the app, e.g. 0x10000
};

// What micropython.org ships (esptool merge_bin): the flash from the
// bootloader's address to the end of the app, gaps 0xFF. On ESP32 the
// bootloader is at file offset 0, the table at 0x7000 and the app at 0xF000.
int mpota_image_build_combined(const struct mpota_flash_parts *p, uint8_t **out,
                               size_t *out_len);

// The whole flash from address 0 (flash_size bytes), gaps 0xFF.
int mpota_image_build_flash_dump(const struct mpota_flash_parts *p, uint32_t flash_size,
                                 uint8_t **out, size_t *out_len);

#endif
