// Private declarations shared between core files.
#ifndef MPOTA_CORE_INTERNAL_H
#define MPOTA_CORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpota/session.h"

// Little-endian loads and stores: every on-flash field is little-endian
// (SPEC §2-4), whatever the host's byte order. Also used by src/host.
static inline uint16_t mpota_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t mpota_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void mpota_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void mpota_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

// True when all n bytes at p are 0xFF (erased flash).
static inline bool mpota_all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0xFF) {
            return false;
        }
    }
    return true;
}

// A 64 KiB block erase (W25Q32JV: 150 ms typical) costs about as much as 3.3
// sector erases (45 ms): from 4 sectors on, one block erase is cheaper.
#define MPOTA_ERASE_BLOCK_WORTH_SECTORS 4u

// Size of the next erase at `pos` (sector-aligned) when bytes up to `need` are
// wanted in an area of `area_size` bytes whose absolute start is `base`:
// block_size where a whole aligned block fits the area and is worth it, else
// sector_size. (erase_plan.c)
uint32_t mpota_erase_unit(uint32_t base, uint32_t pos, uint32_t need, uint32_t area_size,
                          uint32_t sector_size, uint32_t block_size);

// Erases the session's target slot ahead of the data so that [0, end) is
// erased or written, skipping regions that read blank. (erase_plan.c)
int mpota_erase_ahead(mpota_session_t *s, const struct mpota_area *slot, uint32_t end);

#endif
