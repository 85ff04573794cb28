// Partition-table test helpers: the binary tables of shared/testdata and an
// assertion on one decoded row. For cmocka tests.
#ifndef MPOTA_PART_HELPERS_H
#define MPOTA_PART_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "mpota/part.h"

// Every binary partition table under shared/testdata/partition-tables, as
// paths relative to shared/testdata (for testdata_load()). Each is the full
// MPOTA_PART_TABLE_MAX_LEN bytes, with an MD5 row.
extern const char *const part_testdata_bins[];
extern const size_t part_testdata_bins_count;

// Asserts every field of *p: label, type, subtype, offset, size and flags.
void assert_part(const struct mpota_partition *p, const char *label, uint8_t type,
                 uint8_t subtype, uint32_t offset, uint32_t size, uint32_t flags);

#endif
