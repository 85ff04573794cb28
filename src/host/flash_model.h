// Modeled device time: a flash timing model applied to counted operations,
// so update speed is comparable across machines and strategies.
//
// Defaults: Winbond W25Q32JV typical values (4 KiB sector erase 45 ms, 64 KiB
// block erase 150 ms, 256-byte page program 0.4 ms) and reads at 6.65 MB/s,
// ESP-IDF's ESP32 flash-read performance threshold. A program of n bytes
// costs one page program per 256-byte page it touches, as the SPI flash
// driver splits programs at page boundaries.
#ifndef MPOTA_FLASH_MODEL_H
#define MPOTA_FLASH_MODEL_H

#include "flash_emu.h"

struct mpota_flash_model {
    double sector_erase_s;
    double block_erase_s;
    double page_program_s;
    double read_bytes_per_s;
};

// The defaults above.
extern const struct mpota_flash_model mpota_flash_model_w25q32jv;

// Seconds the counted operations take under model m (NULL = the defaults).
double mpota_flash_model_seconds(const struct mpota_flash_emu_counters *c,
                                 const struct mpota_flash_model *m);

// Seconds for the parts: erases, programs, reads.
double mpota_flash_model_erase_s(const struct mpota_flash_emu_counters *c,
                                 const struct mpota_flash_model *m);
double mpota_flash_model_program_s(const struct mpota_flash_emu_counters *c,
                                   const struct mpota_flash_model *m);
double mpota_flash_model_read_s(const struct mpota_flash_emu_counters *c,
                                const struct mpota_flash_model *m);

#endif
