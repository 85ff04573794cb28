// Chip ids and names for the ESP32 family (SPEC §4.3), and the facts about
// each chip the checks need: the flash-mapped windows the bootloader's
// mapped-segment rule applies to (SPEC §4.9), the bootloader's offset, and
// whether apps need a description. (The names esptool prints for memory
// regions and header fields are the host report's: src/host/chip_names.c.)
#include "mpota/image.h"

struct chip_entry {
    uint16_t id;
    const char *name;
};

static const struct chip_entry chips[] = {
    {MPOTA_CHIP_ESP32, "ESP32"},       {MPOTA_CHIP_ESP32S2, "ESP32-S2"},
    {MPOTA_CHIP_ESP32C3, "ESP32-C3"},  {MPOTA_CHIP_ESP32S3, "ESP32-S3"},
    {MPOTA_CHIP_ESP32C2, "ESP32-C2"},  {MPOTA_CHIP_ESP32C6, "ESP32-C6"},
    {MPOTA_CHIP_ESP32H2, "ESP32-H2"},  {MPOTA_CHIP_ESP32P4, "ESP32-P4"},
    {MPOTA_CHIP_ESP32C61, "ESP32-C61"}, {MPOTA_CHIP_ESP32C5, "ESP32-C5"},
    {MPOTA_CHIP_ESP32H21, "ESP32-H21"}, {MPOTA_CHIP_ESP32H4, "ESP32-H4"},
    {MPOTA_CHIP_ESP32S31, "ESP32-S31"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *mpota_chip_name(uint16_t chip_id)
{
    for (unsigned i = 0; i < COUNT(chips); i++) {
        if (chips[i].id == chip_id) {
            return chips[i].name;
        }
    }
    return NULL;
}

// Lower-cases and drops '-' / '_' so "ESP32-S3", "esp32s3" and "esp32_s3" meet.
static char fold(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool same_name(const char *a, const char *b)
{
    for (;;) {
        while (*a == '-' || *a == '_') {
            a++;
        }
        while (*b == '-' || *b == '_') {
            b++;
        }
        if (fold(*a) != fold(*b)) {
            return false;
        }
        if (!*a) {
            return true;
        }
        a++;
        b++;
    }
}

uint16_t mpota_chip_from_name(const char *name)
{
    if (!name) {
        return MPOTA_CHIP_ANY;
    }
    for (unsigned i = 0; i < COUNT(chips); i++) {
        if (same_name(chips[i].name, name)) {
            return chips[i].id;
        }
    }
    return MPOTA_CHIP_ANY;
}

// Flash-mapped windows [irom_start, irom_end) and [drom_start, drom_end).
// ESP32, S3, C3: SPEC §4.9 (soc.h), which agree with esptool's IROM_MAP/DROM_MAP
// that elf2image uses. S2: esptool's IROM_MAP/DROM_MAP (not in the SPEC).
struct chip_tables {
    uint16_t id;
    uint32_t irom_start, irom_end;
    uint32_t drom_start, drom_end;
};

static const struct chip_tables tables[] = {
    {MPOTA_CHIP_ESP32, 0x400D0000u, 0x40400000u, 0x3F400000u, 0x3F800000u},
    {MPOTA_CHIP_ESP32S2, 0x40080000u, 0x40B80000u, 0x3F000000u, 0x3F3F0000u},
    {MPOTA_CHIP_ESP32S3, 0x42000000u, 0x44000000u, 0x3C000000u, 0x3E000000u},
    {MPOTA_CHIP_ESP32C3, 0x42000000u, 0x42800000u, 0x3C000000u, 0x3C800000u},
};

static const struct chip_tables *find_tables(uint16_t chip_id)
{
    for (unsigned i = 0; i < COUNT(tables); i++) {
        if (tables[i].id == chip_id) {
            return &tables[i];
        }
    }
    return NULL;
}

bool mpota_chip_is_mapped_addr(uint16_t chip_id, uint32_t addr)
{
    const struct chip_tables *t = find_tables(chip_id);
    return t && ((t->irom_start <= addr && addr < t->irom_end) ||
                 (t->drom_start <= addr && addr < t->drom_end));
}

bool mpota_chip_has_tables(uint16_t chip_id)
{
    return find_tables(chip_id) != NULL;
}

uint32_t mpota_chip_bootloader_offset(uint16_t chip_id)
{
    // SPEC §1: CONFIG_BOOTLOADER_OFFSET_IN_FLASH is fixed by each chip's ROM.
    switch (chip_id) {
    case MPOTA_CHIP_ESP32:
    case MPOTA_CHIP_ESP32S2:
        return 0x1000u;
    case MPOTA_CHIP_ESP32P4:
    case MPOTA_CHIP_ESP32C5:
    case MPOTA_CHIP_ESP32S31:
        return 0x2000u;
    default:
        return 0;
    }
}

bool mpota_chip_requires_app_desc(uint16_t chip_id)
{
    // The chips whose MMU page size is configurable (esptool MMU_PAGE_SIZE_CONF):
    // their bootloader reads the page size from the app description (SPEC §4.9).
    switch (chip_id) {
    case MPOTA_CHIP_ESP32C2:
    case MPOTA_CHIP_ESP32C6:
    case MPOTA_CHIP_ESP32C61:
    case MPOTA_CHIP_ESP32H2:
    case MPOTA_CHIP_ESP32H21:
    case MPOTA_CHIP_ESP32H4:
        return true;
    default:
        return false;
    }
}

uint32_t mpota_chip_security_version_bits(uint16_t chip_id)
{
    switch (chip_id) {
    case MPOTA_CHIP_ESP32:
        return 32;  // BLK3, where the 3/4 coding scheme is not in use
    case MPOTA_CHIP_ESP32C2:
        return 4;
    case MPOTA_CHIP_ESP32C5:
        return 9;
    default:
        return 16;
    }
}
