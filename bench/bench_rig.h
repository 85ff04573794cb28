// The emulated device every benchmark runs on: an 8 MiB RAM NOR flash with
// MicroPython's OTA layout for 8 MiB (ota_0 and ota_1 of 0x270000 bytes), an
// app running from ota_0 after its first boot, and ota_1 either blank or full
// of old data. Host-only bench code; may allocate and use stdio.
#ifndef MPOTA_BENCH_RIG_H
#define MPOTA_BENCH_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flash_emu.h"
#include "mpota/boot.h"
#include "mpota/part.h"

#define BENCH_FLASH_SIZE (8u << 20)
#define BENCH_RUNNING_APP_SIZE 1500000u  // v1 in ota_0
#define BENCH_CHUNK 4096u  // bytes per write call, as a download loop hands them over

enum bench_slot_state {
    BENCH_SLOT_BLANK = 0,  // all 0xFF
    BENCH_SLOT_USED,       // every byte old data (pseudo-random, never a whole blank page)
};

struct bench_rig {
    struct mpota_flash_emu emu;
    struct mpota_table table;
    struct mpota_boot_ctx ctx;
    const struct mpota_partition *running;  // ota_0
    const struct mpota_partition *target;   // ota_1
};

// Builds the device: table, app v1 (1.5 MB) in ota_0, one boot (writes the
// first otadata record), then the target slot in `state`. Counters are reset
// at the end. Returns 0 or prints why and returns -1.
int bench_rig_open(struct bench_rig *r, enum bench_slot_state state);
void bench_rig_close(struct bench_rig *r);

// A MicroPython-sized app image of exactly `size` bytes (multiple of 16) for
// ESP32 from the project's image builder; malloc'd, exits on failure.
uint8_t *bench_app_image(uint32_t size, uint64_t seed, const char *version);

// Checks that the next reset boots the target slot (the update took).
// Returns 0 or prints why and returns -1. Changes the counters.
int bench_rig_boots_target(struct bench_rig *r);

// Fills [addr, addr + len) with old data (not counted).
void bench_rig_fill_used(struct bench_rig *r, uint32_t addr, uint32_t len);

// Current counters minus `since`.
struct mpota_flash_emu_counters bench_counters_since(const struct bench_rig *r,
                                                     const struct mpota_flash_emu_counters *since);

// "blank" or "used".
const char *bench_slot_state_name(enum bench_slot_state state);

#endif
