// The layout maker: partition tables for MicroPython on ESP32, made from a
// few options instead of a hand-written CSV (as loboris' BUILD.sh did, and
// shaped like MicroPython's own ports/esp32/partitions-*.csv).
//
// Rows, in this order (offsets as in MicroPython's tables):
//   ota          nvs 0x9000+0x4000, otadata 0xd000+0x2000, phy_init 0xf000+0x1000,
//                ota_0 at 0x10000, ota_1, vfs
//   ota-factory  as ota, with factory at 0x10000 before ota_0 and ota_1
//   factory      nvs 0x9000+0x6000, phy_init 0xf000+0x1000, factory at 0x10000, vfs
// App slots are all the same size and follow each other; vfs (label of
// MicroPython's filesystem partition) starts where the last slot ends.
//
// Decisions:
// - A zeroed struct mpota_part_layout_opts means: kind ota, 4 MiB flash,
//   default app size, vfs (fat) over the rest of the flash. That is the
//   layout of a MicroPython ESP32-S3 OTA build: ota_0/ota_1 of 0x180000,
//   vfs 0x310000+0xF0000.
// - Default app size (MicroPython's tables): factory 0x160000 on 2 MiB and
//   0x1F0000 on 4 MiB or more; ota and ota-factory 0x180000 on 4 MiB and
//   0x270000 on 8 MiB or more, 1 MiB (the minimum) on 2 MiB. So ota and
//   ota-factory do not fit 2 MiB, and ota-factory (three 0x180000 slots) does
//   not fit 4 MiB: MPOTA_ERR_LAYOUT_NO_ROOM with the numbers. (An explicit
//   app_size of 1 MiB would fit ota-factory in 4 MiB, but MicroPython's
//   firmware, 1.3-1.9 MB, would not fit such slots.)
// - An explicit app_size is a multiple of 64 KiB and at least 1 MiB.
// - fit (the size of an app image that must fit) grows the slots from the
//   default to the next multiple of 64 KiB that holds it. With an explicit
//   app_size it is checked instead: an image larger than app_size is
//   MPOTA_ERR_LAYOUT_APP_TOO_BIG (expected = slot, actual = image). An image
//   larger than any slot the flash can give this kind is APP_TOO_BIG too,
//   with expected = that largest slot.
// - The filesystem needs at least MPOTA_PART_LAYOUT_FS_MIN bytes. fs_size 0
//   takes the rest of the flash; a larger fs_size than the rest is shrunk to
//   the rest; a smaller one leaves the end of the flash unused. Its subtype
//   is fat (0x81, as in MicroPython's tables; MicroPython formats it as it
//   likes), littlefs (0x83) or spiffs (0x82); FS_NONE leaves it out.
// - The result passes mpota_part_table_check() for the flash size and the
//   default table offset 0x8000.
#ifndef MPOTA_PART_LAYOUT_H
#define MPOTA_PART_LAYOUT_H

#include <stdint.h>

#include "host_err.h"
#include "mpota/part.h"

#define MPOTA_PART_LAYOUT_APP_MIN 0x100000u   // smallest app slot
#define MPOTA_PART_LAYOUT_APP_ALIGN 0x10000u  // app slot sizes are multiples of this
#define MPOTA_PART_LAYOUT_FS_MIN 0x10000u     // smallest vfs partition
#define MPOTA_PART_LAYOUT_FLASH_MIN 0x200000u // 2 MiB
#define MPOTA_PART_LAYOUT_FLASH_MAX 0x2000000u // 32 MiB

enum mpota_part_layout_kind {
    MPOTA_PART_LAYOUT_OTA = 0,      // two OTA slots
    MPOTA_PART_LAYOUT_FACTORY,      // one factory app, no OTA
    MPOTA_PART_LAYOUT_OTA_FACTORY,  // a factory app and two OTA slots
};

enum mpota_part_layout_fs {
    MPOTA_PART_LAYOUT_FS_FAT = 0,   // data/fat 0x81
    MPOTA_PART_LAYOUT_FS_LITTLEFS,  // data/littlefs 0x83
    MPOTA_PART_LAYOUT_FS_SPIFFS,    // data/spiffs 0x82
    MPOTA_PART_LAYOUT_FS_NONE,      // no vfs partition
};

struct mpota_part_layout_opts {
    enum mpota_part_layout_kind kind;
    uint32_t flash_size;  // bytes, a power of two from 2 MiB to 32 MiB; 0 = 4 MiB
    uint32_t app_size;    // bytes per app slot; 0 = the default above
    uint32_t fit;         // bytes of an app image that must fit; 0 = none
    uint32_t fs_size;     // bytes, a multiple of 4 KiB; 0 = the rest of the flash
    enum mpota_part_layout_fs fs;
};

// Makes the table (opts NULL = all defaults). Errors: MPOTA_ERR_LAYOUT_OPTION
// (d->label = "flash_size", "app_size", "fs_size", "kind" or "fs", actual =
// the value), MPOTA_ERR_LAYOUT_NO_ROOM (expected = flash size, actual = bytes
// needed), MPOTA_ERR_LAYOUT_APP_TOO_BIG (label = "ota_0" or "factory",
// expected = slot size, actual = fit).
int mpota_part_layout_make(const struct mpota_part_layout_opts *opts, struct mpota_table *out,
                           struct mpota_diag *d);

// "ota", "factory", "ota-factory" <-> kind. from_name returns
// MPOTA_ERR_INVALID_ARG for other names; kind_name NULL for other values.
int mpota_part_layout_kind_from_name(const char *name, enum mpota_part_layout_kind *kind);
const char *mpota_part_layout_kind_name(enum mpota_part_layout_kind kind);

// "fat", "littlefs", "spiffs", "none" <-> fs, likewise.
int mpota_part_layout_fs_from_name(const char *name, enum mpota_part_layout_fs *fs);
const char *mpota_part_layout_fs_name(enum mpota_part_layout_fs fs);

#endif
