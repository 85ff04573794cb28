// ESP app images (SPEC §4): chip ids, the streaming validator, app descriptions,
// and recognising what a file is.
#ifndef MPOTA_IMAGE_H
#define MPOTA_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpota/err.h"

// Chip ids (esp_chip_id_t, SPEC §4.3)
#define MPOTA_CHIP_ESP32 0u
#define MPOTA_CHIP_ESP32S2 2u
#define MPOTA_CHIP_ESP32C3 5u
#define MPOTA_CHIP_ESP32S3 9u
#define MPOTA_CHIP_ESP32C2 12u
#define MPOTA_CHIP_ESP32C6 13u
#define MPOTA_CHIP_ESP32H2 16u
#define MPOTA_CHIP_ESP32P4 18u
#define MPOTA_CHIP_ESP32C61 20u
#define MPOTA_CHIP_ESP32C5 23u
#define MPOTA_CHIP_ESP32H21 25u
#define MPOTA_CHIP_ESP32H4 28u
#define MPOTA_CHIP_ESP32S31 32u
#define MPOTA_CHIP_ANY 0xFFFFu  // "no expectation" where a chip id is asked for

// Display name of a chip id, e.g. "ESP32-S3"; NULL if unknown.
const char *mpota_chip_name(uint16_t chip_id);

struct mpota_area;
struct mpota_image_info;

// Verifies the app image stored at the start of `slot` the way the bootloader
// does before it boots it (SPEC §4.9): header, chip (unless expected_chip is
// MPOTA_CHIP_ANY), segments, mapped-segment alignment, checksum, appended
// SHA-256, and that the image fits the slot. Reads through a small stack
// buffer. Returns 0 for a bootable image; info (optional) gets the details.
int mpota_image_verify_area(const struct mpota_area *slot, uint16_t expected_chip,
                            struct mpota_image_info *info, struct mpota_diag *d);

#endif
