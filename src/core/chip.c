// Chip ids and names for the ESP32 family (SPEC §4.3).
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

const char *mpota_chip_name(uint16_t chip_id)
{
    for (unsigned i = 0; i < sizeof(chips) / sizeof(chips[0]); i++) {
        if (chips[i].id == chip_id) {
            return chips[i].name;
        }
    }
    return NULL;
}
