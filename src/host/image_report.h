// Host-only: esptool-style `image_info --version 2` text for an app or
// bootloader image (SPEC §8.2), from what the push parser found.
#ifndef MPOTA_IMAGE_REPORT_H
#define MPOTA_IMAGE_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mpota/image.h"

// Prints the report for info, field for field as esptool v4.12 prints it:
// "File size", image header, extended header, segments with file offsets and
// memory types, footer (checksum, validation hash) and the application or
// bootloader information. Sections the parse did not reach are left out.
// esptool's first line (its own version) is not printed.
void mpota_image_report_print(FILE *out, const struct mpota_image_info *info);

// Parses buf (any chip) and prints its report. Returns the parse result,
// with d filled as mpota_image_parse() fills it.
int mpota_image_report_buffer(FILE *out, const uint8_t *buf, size_t len, struct mpota_diag *d);

#endif
