// The update session's erase strategy (erase_plan.c): erase only what the
// image needs, just ahead of the data, with the largest aligned erases,
// skipping regions that read blank. Takes explicit values, not the session.
#ifndef MPOTA_ERASE_PLAN_H
#define MPOTA_ERASE_PLAN_H

#include <stdint.h>

#include "mpota/flash.h"

// A 64 KiB block erase (W25Q32JV: 150 ms typical) costs about as much as 3.3
// sector erases (45 ms): from 4 sectors on, one block erase is cheaper.
#define MPOTA_ERASE_BLOCK_WORTH_SECTORS 4u

// Size of the next erase at `pos` (sector-aligned) when bytes up to `need` are
// wanted in an area of `area_size` bytes whose absolute start is `base`:
// block_size where a whole aligned block fits the area and is worth it, else
// sector_size.
uint32_t mpota_erase_unit(uint32_t base, uint32_t pos, uint32_t need, uint32_t area_size,
                          uint32_t sector_size, uint32_t block_size);

// Erases `slot` so that [0, end) is erased or written: from *erased_end on
// (advanced past what it erased or found blank), in units planned for an
// image reaching `need` bytes (at least `end`; clipped to the slot).
int mpota_erase_ahead(const struct mpota_area *slot, uint32_t *erased_end, uint32_t need,
                      uint32_t end);

#endif
