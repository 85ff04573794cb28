// mpota_crc32_le (crc.h): bitwise on purpose, no 1 KiB table in flash. It
// runs over 4 bytes per otadata record and 1,196 per signature block.
#include "mpota/crc.h"

uint32_t mpota_crc32_le(uint32_t crc, const uint8_t *buf, size_t len)
{
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= buf[i];
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}
