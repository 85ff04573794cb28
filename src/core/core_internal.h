// Private declarations shared between core files.
#ifndef MPOTA_CORE_INTERNAL_H
#define MPOTA_CORE_INTERNAL_H

#include <stdint.h>

#include "mpota/session.h"

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
