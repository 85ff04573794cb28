// CRC-32 as ESP-IDF's ROM computes it (esp_rom_crc32_le): reflected
// polynomial 0xEDB88320, the register inverted on entry and on exit. Seed
// UINT32_MAX gives otadata's CRC (SPEC §3.3), seed 0 zlib's crc32 (the
// Secure Boot V2 signature block's). A leaf header.
#ifndef MPOTA_CRC_H
#define MPOTA_CRC_H

#include <stddef.h>
#include <stdint.h>

uint32_t mpota_crc32_le(uint32_t crc, const uint8_t *buf, size_t len);

#endif
