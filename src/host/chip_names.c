// The names esptool prints for an image's memory regions and header fields
// (`mpota image info` agrees with `esptool.py image_info` on every one): the
// host report's words, not facts the checks need (those are in
// src/core/chip.c).
#include "chip_names.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

// Memory maps: esptool/targets/<chip>.py MEMORY_MAP, same rows, same order
// (order matters: image_info joins the matching names in table order).
static const struct mpota_mem_region map_esp32[] = {
    {0x00000000u, 0x00010000u, "PADDING"},
    {0x3F400000u, 0x3F800000u, "DROM"},
    {0x3F800000u, 0x3FC00000u, "EXTRAM_DATA"},
    {0x3FF80000u, 0x3FF82000u, "RTC_DRAM"},
    {0x3FF90000u, 0x40000000u, "BYTE_ACCESSIBLE"},
    {0x3FFAE000u, 0x40000000u, "DRAM"},
    {0x3FFE0000u, 0x3FFFFFFCu, "DIRAM_DRAM"},
    {0x40000000u, 0x40070000u, "IROM"},
    {0x40070000u, 0x40078000u, "CACHE_PRO"},
    {0x40078000u, 0x40080000u, "CACHE_APP"},
    {0x40080000u, 0x400A0000u, "IRAM"},
    {0x400A0000u, 0x400BFFFCu, "DIRAM_IRAM"},
    {0x400C0000u, 0x400C2000u, "RTC_IRAM"},
    {0x400D0000u, 0x40400000u, "IROM"},
    {0x50000000u, 0x50002000u, "RTC_DATA"},
};

static const struct mpota_mem_region map_esp32s2[] = {
    {0x00000000u, 0x00010000u, "PADDING"},
    {0x3F000000u, 0x3FF80000u, "DROM"},
    {0x3F500000u, 0x3FF80000u, "EXTRAM_DATA"},
    {0x3FF9E000u, 0x3FFA0000u, "RTC_DRAM"},
    {0x3FF9E000u, 0x40000000u, "BYTE_ACCESSIBLE"},
    {0x3FF9E000u, 0x40072000u, "MEM_INTERNAL"},
    {0x3FFB0000u, 0x40000000u, "DRAM"},
    {0x40000000u, 0x4001A100u, "IROM_MASK"},
    {0x40020000u, 0x40070000u, "IRAM"},
    {0x40070000u, 0x40072000u, "RTC_IRAM"},
    {0x40080000u, 0x40800000u, "IROM"},
    {0x50000000u, 0x50002000u, "RTC_DATA"},
};

static const struct mpota_mem_region map_esp32s3[] = {
    {0x00000000u, 0x00010000u, "PADDING"},
    {0x3C000000u, 0x3D000000u, "DROM"},
    {0x3D000000u, 0x3E000000u, "EXTRAM_DATA"},
    {0x600FE000u, 0x60100000u, "RTC_DRAM"},
    {0x3FC88000u, 0x3FD00000u, "BYTE_ACCESSIBLE"},
    {0x3FC88000u, 0x403E2000u, "MEM_INTERNAL"},
    {0x3FC88000u, 0x3FD00000u, "DRAM"},
    {0x40000000u, 0x4001A100u, "IROM_MASK"},
    {0x40370000u, 0x403E0000u, "IRAM"},
    {0x600FE000u, 0x60100000u, "RTC_IRAM"},
    {0x42000000u, 0x42800000u, "IROM"},
    {0x50000000u, 0x50002000u, "RTC_DATA"},
};

static const struct mpota_mem_region map_esp32c3[] = {
    {0x00000000u, 0x00010000u, "PADDING"},
    {0x3C000000u, 0x3C800000u, "DROM"},
    {0x3FC80000u, 0x3FCE0000u, "DRAM"},
    {0x3FC88000u, 0x3FD00000u, "BYTE_ACCESSIBLE"},
    {0x3FF00000u, 0x3FF20000u, "DROM_MASK"},
    {0x40000000u, 0x40060000u, "IROM_MASK"},
    {0x42000000u, 0x42800000u, "IROM"},
    {0x4037C000u, 0x403E0000u, "IRAM"},
    {0x50000000u, 0x50002000u, "RTC_IRAM"},
    {0x50000000u, 0x50002000u, "RTC_DRAM"},
    {0x600FE000u, 0x60100000u, "MEM_INTERNAL2"},
};

struct chip_map {
    uint16_t id;
    const struct mpota_mem_region *rows;
    size_t len;
};

static const struct chip_map chip_maps[] = {
    {MPOTA_CHIP_ESP32, map_esp32, COUNT(map_esp32)},
    {MPOTA_CHIP_ESP32S2, map_esp32s2, COUNT(map_esp32s2)},
    {MPOTA_CHIP_ESP32S3, map_esp32s3, COUNT(map_esp32s3)},
    {MPOTA_CHIP_ESP32C3, map_esp32c3, COUNT(map_esp32c3)},
};

static const struct chip_map *find_map(uint16_t chip_id)
{
    for (unsigned i = 0; i < COUNT(chip_maps); i++) {
        if (chip_maps[i].id == chip_id) {
            return &chip_maps[i];
        }
    }
    return NULL;
}

const struct mpota_mem_region *mpota_chip_memory_map(uint16_t chip_id, size_t *count)
{
    const struct chip_map *t = find_map(chip_id);
    if (count) {
        *count = t ? t->len : 0;
    }
    return t ? t->rows : NULL;
}

size_t mpota_chip_memory_types(uint16_t chip_id, uint32_t addr, const char **names, size_t max)
{
    const struct chip_map *t = find_map(chip_id);
    size_t n = 0;
    for (size_t i = 0; t && i < t->len; i++) {
        if (t->rows[i].start <= addr && addr < t->rows[i].end) {
            if (names && n < max) {
                names[n] = t->rows[i].name;
            }
            n++;
        }
    }
    return n;
}

// SPEC §4.3: high nibble of header byte 3, 1 MB << code; esptool names 0..7.
static const char *const flash_sizes[] = {"1MB", "2MB", "4MB", "8MB",
                                          "16MB", "32MB", "64MB", "128MB"};

const char *mpota_chip_flash_size_name(uint8_t size_code)
{
    return size_code < COUNT(flash_sizes) ? flash_sizes[size_code] : NULL;
}

struct freq_name {
    uint8_t code;
    const char *name;
};

// SPEC §4.3: the low nibble is a clock divider, named per chip family.
static const char *freq_lookup(const struct freq_name *t, size_t n, uint8_t code)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].code == code) {
            return t[i].name;
        }
    }
    return NULL;
}

static const struct freq_name freq_esp32[] = {{0xF, "80m"}, {0x0, "40m"}, {0x1, "26m"}, {0x2, "20m"}};
static const struct freq_name freq_c2[] = {{0xF, "60m"}, {0x0, "30m"}, {0x1, "20m"}, {0x2, "15m"}};
static const struct freq_name freq_h2[] = {{0xF, "48m"}, {0x0, "24m"}, {0x1, "16m"}, {0x2, "12m"}};
static const struct freq_name freq_c5[] = {{0xF, "80m"}, {0x0, "40m"}, {0x2, "20m"}};
// ESP32-C6 names both 80m and 40m code 0; esptool prints the first, "80m".
static const struct freq_name freq_c6[] = {{0x0, "80m"}, {0x2, "20m"}};

const char *mpota_chip_flash_freq_name(uint16_t chip_id, uint8_t freq_code)
{
    switch (chip_id) {
    case MPOTA_CHIP_ESP32C2:
        return freq_lookup(freq_c2, COUNT(freq_c2), freq_code);
    case MPOTA_CHIP_ESP32H2:
        return freq_lookup(freq_h2, COUNT(freq_h2), freq_code);
    case MPOTA_CHIP_ESP32C5:
    case MPOTA_CHIP_ESP32C61:
        return freq_lookup(freq_c5, COUNT(freq_c5), freq_code);
    case MPOTA_CHIP_ESP32C6:
        return freq_lookup(freq_c6, COUNT(freq_c6), freq_code);
    default:
        // ESP32, S2, S3, C3 (and, as esptool inherits it, chips not listed).
        return freq_lookup(freq_esp32, COUNT(freq_esp32), freq_code);
    }
}

const char *mpota_chip_flash_mode_name(uint8_t spi_mode)
{
    // SPEC §4.2: IDF also defines 4 FAST_READ and 5 SLOW_READ, esptool names 0..3.
    static const char *const modes[] = {"QIO", "QOUT", "DIO", "DOUT"};
    return spi_mode < COUNT(modes) ? modes[spi_mode] : NULL;
}
