// The contract between the twin's launcher (launcher.c) and the MicroPython
// process it starts for each boot (port_unix.c and the frozen _twin_boot.py).
#ifndef MPOTA_TWIN_H
#define MPOTA_TWIN_H

// Absolute path of the emulated flash file; port_unix.c opens it.
#define MPOTA_TWIN_FLASH_ENV "MPOTA_TWIN_FLASH"

// Absolute path of the script to run instead of main.py (first boot only);
// unset on the other boots. Read by _twin_boot.py.
#define MPOTA_TWIN_SCRIPT_ENV "MPOTA_TWIN_SCRIPT"

// Set to "1" in stock mode (mpota-twin --stock): the firmware micropython.org
// ships. `import mpota` fails as it does there, the frozen `ota` package is
// off sys.path, and esp32.Partition has no PR #7048 methods. Read by the
// binding's module init (modtwin.c) and by the frozen modules (_twin.stock()).
#define MPOTA_TWIN_STOCK_ENV "MPOTA_TWIN_STOCK"

// Exit status of the MicroPython process when the script called
// machine.reset() (mpota.restart()): the launcher then boots again. A script
// that calls sys.exit(86) is taken for a reset too.
#define MPOTA_TWIN_EXIT_RESET 86

/// mpota-twin --stats FILE ///

#include <stdint.h>

#include "../../src/host/flash_emu.h"

// "FD:INDEX", set for every boot of a --stats run, unset otherwise: FD is the
// run's accumulator, an unlinked file the launcher holds open and the process
// inherits, an array of struct mpota_twin_stats, one per boot; INDEX is this
// boot's (from 0; the launcher has already sized the file to hold it). The
// process maps its slot MAP_SHARED and keeps it current after every flash
// operation, so nothing is lost however the process ends: exit, reset
// (_exit), power cut (_exit(75)), even a signal.
#define MPOTA_TWIN_STATS_ENV "MPOTA_TWIN_STATS"

struct mpota_twin_stats {
    struct mpota_flash_emu_counters count;  // summed over every flash opened
    uint64_t flash_opens;   // mpota.Device objects (each maps the flash anew)
    uint64_t heap_samples;  // 0: peak_heap unknown
    uint64_t peak_heap;     // most GC heap bytes in use after a collection
};

// sum += a - b, field by field (b = what was already added, or NULL).
static inline void mpota_twin_counters_add(struct mpota_flash_emu_counters *sum,
                                           const struct mpota_flash_emu_counters *a,
                                           const struct mpota_flash_emu_counters *b)
{
    static const struct mpota_flash_emu_counters zero;
    if (!b) {
        b = &zero;
    }
    sum->reads += a->reads - b->reads;
    sum->read_bytes += a->read_bytes - b->read_bytes;
    sum->progs += a->progs - b->progs;
    sum->prog_bytes += a->prog_bytes - b->prog_bytes;
    sum->prog_pages += a->prog_pages - b->prog_pages;
    sum->sector_erases += a->sector_erases - b->sector_erases;
    sum->block_erases += a->block_erases - b->block_erases;
    sum->ops += a->ops - b->ops;
}

// The VM's side (modtwin.c), called by port_unix.c. All do nothing without
// --stats.
// A tap on one opened flash: its operations go through the tap, which keeps
// the boot's slot current and samples the heap; a power cut writes the last
// counts before the process ends.
struct mpota_twin_tap {
    struct mpota_flash_emu *emu;             // NULL: not tapped
    struct mpota_flash_emu_counters seen;    // already in the slot
    struct mpota_flash flash;                // the emulator's own calls
};
void mpota_twin_stats_tap(struct mpota_twin_tap *tap, struct mpota_flash_emu *emu);
void mpota_twin_stats_untap(struct mpota_twin_tap *tap);
// A heap sample (the reset is the boot's last moment).
void mpota_twin_stats_sample(void);

#endif
