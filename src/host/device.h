// The emulated device: a flash file (flash_emu.h) plus a sidecar file beside
// it, "<flash>.state": line 1 the label of the app that runs (set by a boot;
// empty or absent = nothing booted yet, or the last boot found no app), then
// "chip <name>", the chip the device is (absent = any), and
// "anti_rollback <bits>" when its bootloader and app are built with
// CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK (bits = the eFuse field's width). The
// chip's eFuses are a third file, "<flash>.efuse" (efuse_emu.h). Boot =
// mpota_boot_select() on the flash with the table at 0x8000.
//
// The chip is what the flash holds: its bootloader's image header, else the
// running app's, the app otadata selects, or the first valid app's. The
// sidecar's line only caches it, and only counts on a flash that says
// nothing (no bootloader, no valid app): a copied flash file without its
// sidecar is still the chip it was, and a sidecar that disagrees loses.
//
// The sidecar is written to a fresh temporary file (mkstemp, beside it) and
// renamed over it: never through a link someone left there.
#ifndef MPOTA_DEVICE_H
#define MPOTA_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "efuse_emu.h"
#include "flash_emu.h"
#include "host_err.h"
#include "mpota/boot.h"
#include "mpota/part.h"
#include "mpota/sig.h"

struct mpota_device {
    struct mpota_flash_emu emu;  // the flash; emu.flash is what the core gets
    struct mpota_table table;    // valid when table_err == 0
    int table_err;               // result of parsing the table at 0x8000
    struct mpota_diag table_diag;  // ... and its details
    char running[MPOTA_PART_LABEL_LEN + 1];  // "" = nothing runs
    uint16_t chip;               // image chip check for boot/set_boot; default MPOTA_CHIP_ANY
    bool rollback_enabled;       // default true, as MicroPython builds
    bool anti_rollback;          // from the sidecar; default off, as MicroPython builds
    uint8_t security_version_bits;  // the eFuse field's width (sidecar); 0 = the chip's
    struct mpota_efuse_emu *efuse;  // the chip's eFuses (heap)
    // Secure Boot V2 from the eFuses (key digests, revoke bits; the one-block
    // rule on ESP32 and C2): ctx.secure_boot when they enable it.
    struct mpota_sig_trust secure_boot;
    char *state_path;            // "<flash>.state" (heap)
    // After MPOTA_ERR_FILE from a device call (kept by the close that follows
    // a failed open): what was done ("open", "lock", "read", "write"), to
    // which file, and errno. "lock" with EWOULDBLOCK: another process holds
    // the device.
    const char *file_op;
    const char *file_suffix;     // "" the flash file, ".state" the sidecar, ".efuse"
    int file_errno;
};

// How long mpota_device_open_locked() waits for another holder: a command
// that changes the device takes well under a second.
#define MPOTA_DEVICE_LOCK_WAIT_MS 3000u

// Opens the flash file (MPOTA_FLASH_FAIL_AFTER applies, see flash_emu.h),
// reads the sidecar and parses the partition table at 0x8000. A table that
// does not parse is not an open error (a blank flash has none yet): it is
// kept in table_err / table_diag and returned by the calls that need it.
// Returns 0, or the flash_emu error or MPOTA_ERR_FILE for a sidecar that
// exists but cannot be read (the device is then closed; file_op says which).
int mpota_device_open(struct mpota_device *dev, const char *flash_path);

// mpota_device_open, holding an exclusive lock (flock) on the flash file from
// before the sidecar and the table are read until mpota_device_close, so two
// tools never interleave their writes. Waits up to wait_ms for another
// holder; then MPOTA_ERR_FILE with file_op "lock", file_errno EWOULDBLOCK.
// (The MicroPython twin uses the plain open: a program may hold two Device
// objects, and flock would make them wait for each other.)
int mpota_device_open_locked(struct mpota_device *dev, const char *flash_path,
                             unsigned wait_ms);

// Sets the device's chip (MPOTA_CHIP_* or MPOTA_CHIP_ANY) and stores it in
// the sidecar. Images for another chip are then refused and do not boot.
int mpota_device_set_chip(struct mpota_device *dev, uint16_t chip);

// Writes the sidecar again as it is (with the chip the flash says). An
// update that reboots calls it before it selects the new app: a sidecar that
// cannot be written must stop it before otadata changes. 0 or MPOTA_ERR_FILE.
int mpota_device_save_state(struct mpota_device *dev);

// Parses the table at 0x8000 again (after something wrote one). Returns the
// new table_err.
int mpota_device_reload_table(struct mpota_device *dev);

// Turns anti-rollback on (bits = the field's width, 0 = the chip's) and
// stores it in the sidecar. 0 or MPOTA_ERR_FILE.
int mpota_device_set_anti_rollback(struct mpota_device *dev, uint8_t bits);

// The chip's security version now (anti-rollback counter: burnt bits).
uint32_t mpota_device_security_version(const struct mpota_device *dev);

// Burns Secure Boot V2 into the device's eFuses: the n key digests into
// slots 0.., the revoke bits of `revoke` (bit i: slot i), and the enable
// bit. 0 or MPOTA_ERR_FILE (file_op says which file).
int mpota_device_burn_secure_boot(struct mpota_device *dev,
                                  const uint8_t (*digests)[MPOTA_SIG_KEY_DIGEST_LEN], unsigned n,
                                  uint8_t revoke);

// The boot context for the core calls (set_boot, mark_valid, ...). With
// anti-rollback it carries the counter and raises it in the .efuse file.
void mpota_device_ctx(const struct mpota_device *dev, struct mpota_boot_ctx *ctx);

// A reset: clears the running label in the sidecar, runs the bootloader's
// selection (which may write otadata), then stores the label of the app that
// loaded. report may be NULL. Returns 0, table_err, MPOTA_ERR_NO_BOOTABLE_APP
// (nothing runs then), MPOTA_ERR_FILE (sidecar), or a boot error.
int mpota_device_boot(struct mpota_device *dev, struct mpota_boot_report *report);

// Label of the running app, or NULL if nothing has booted.
const char *mpota_device_running(const struct mpota_device *dev);

// The running app's partition in the table, or NULL (nothing booted, or the
// label is not in the current table).
const struct mpota_partition *mpota_device_running_partition(const struct mpota_device *dev);

// Unmaps the flash and frees. Safe on a closed device.
void mpota_device_close(struct mpota_device *dev);

#endif
