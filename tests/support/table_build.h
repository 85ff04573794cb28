// Partition tables built row by row in tests and fuzz targets. No cmocka:
// the fuzz targets link this file on its own.
#ifndef MPOTA_TABLE_BUILD_H
#define MPOTA_TABLE_BUILD_H

#include <stdint.h>

#include "mpota/part.h"

// Appends a row {label, type, subtype, off, size, flags 0} to t.
// Preconditions: t->count < MPOTA_PART_MAX; label is NUL-terminated and is
// cut to MPOTA_PART_LABEL_LEN characters.
void table_add(struct mpota_table *t, const char *label, uint8_t type, uint8_t subtype,
               uint32_t off, uint32_t size);

#endif
