// The names esptool prints for an image's memory regions and header fields
// (SPEC §4.3, §8.3), for the host's image report.
#ifndef MPOTA_CHIP_NAMES_H
#define MPOTA_CHIP_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "mpota/image.h"

// One row of a chip's memory map: [start, end) named as esptool names it.
struct mpota_mem_region {
    uint32_t start;
    uint32_t end;  // exclusive
    const char *name;
};

// The memory map of a chip in esptool's table order (SPEC §8.3), or NULL with
// *count = 0 if this chip has no table here (tables exist for ESP32, ESP32-S2,
// ESP32-S3 and ESP32-C3). count may be NULL.
const struct mpota_mem_region *mpota_chip_memory_map(uint16_t chip_id, size_t *count);

// The names of every region containing addr, in table order (so ESP32
// 0x3FFB0000 gives "BYTE_ACCESSIBLE", "DRAM"). Stores up to max pointers in
// names and returns how many regions matched (which may exceed max).
size_t mpota_chip_memory_types(uint16_t chip_id, uint32_t addr, const char **names,
                               size_t max);

// Names for header byte 3 and byte 2 (SPEC §4.3), as esptool prints them.
// NULL where esptool has no name (it then prints a warning).
const char *mpota_chip_flash_size_name(uint8_t size_code);      // high nibble: 2 -> "4MB"
const char *mpota_chip_flash_freq_name(uint16_t chip_id, uint8_t freq_code);  // low nibble
const char *mpota_chip_flash_mode_name(uint8_t spi_mode);       // 0 -> "QIO" .. 3 -> "DOUT"

#endif
