// Emulated NOR flash for host tools and tests: a file mapped MAP_SHARED (so a
// process killed mid-way leaves the file exactly as far as it got) or a RAM
// buffer, behind the struct mpota_flash backend interface (mpota/flash.h).
//
// NOR rules: erased bytes read 0xFF; programming ANDs the new bytes into the
// old ones (it can only clear bits); erase works on exactly one aligned 4 KiB
// sector or 64 KiB block. strict = true refuses, with
// MPOTA_ERR_FLASH_NOT_ERASED and nothing changed, a program that would need a
// bit to go from 0 to 1 (a write to unerased flash).
//
// Counting and power cuts: every read, program and erase is counted by kind;
// `ops` counts erase-or-program operations. With fail_after = N > 0, the N-th
// such operation (counting from 1) is torn as `tear` says, then on_cut is
// called -- tests longjmp out of it -- or, with no on_cut, the process ends
// with _exit(75). If on_cut returns, the flash stays "powered off": every
// later call fails with MPOTA_ERR_FLASH_IO until mpota_flash_emu_power_on().
// mpota_flash_emu_open_file() reads fail_after from the environment variable
// MPOTA_FLASH_FAIL_AFTER, so any tool built on it can be cut from outside.
//
// A struct mpota_flash_emu holds a pointer to itself (flash.ctx): do not copy
// it after opening.
#ifndef MPOTA_FLASH_EMU_H
#define MPOTA_FLASH_EMU_H

#include <stdbool.h>
#include <stdint.h>

#include "host_err.h"
#include "mpota/flash.h"

#define MPOTA_FLASH_EMU_MIN_SIZE (2u << 20)   // files: 2, 4, 8, 16 or 32 MiB
#define MPOTA_FLASH_EMU_MAX_SIZE (32u << 20)
#define MPOTA_FLASH_EMU_PAGE_SIZE 256u       // NOR page-program unit
#define MPOTA_FLASH_EMU_EXIT_CODE 75          // exit status after a power cut (EX_TEMPFAIL)
#define MPOTA_FLASH_FAIL_AFTER_ENV "MPOTA_FLASH_FAIL_AFTER"

// How the operation hit by the cut is left.
enum mpota_flash_emu_tear {
    // Default. A program writes (ANDs) only the first len/2 bytes; an erase
    // sets only the first half of its sector/block to 0xFF.
    MPOTA_FLASH_EMU_TEAR_HALF = 0,
    // The cut comes before the operation changes anything.
    MPOTA_FLASH_EMU_TEAR_NONE = 1,
    // The operation completes, then the cut.
    MPOTA_FLASH_EMU_TEAR_ALL = 2,
};

struct mpota_flash_emu_counters {
    uint64_t reads;          // read calls
    uint64_t read_bytes;
    uint64_t progs;          // program calls
    uint64_t prog_bytes;
    uint64_t prog_pages;     // 256-byte pages touched by programs (page-program commands)
    uint64_t sector_erases;  // 4 KiB erases
    uint64_t block_erases;   // 64 KiB erases
    uint64_t ops;            // progs + sector_erases + block_erases: what fail_after counts
};

// Called once, at the cut, with on_cut_arg. Must not return to keep the
// process "dead" (longjmp); if it returns, the flash stays powered off.
typedef void (*mpota_flash_emu_cut_fn)(void *arg);

struct mpota_flash_emu {
    struct mpota_flash flash;  // pass &emu->flash to the core
    uint8_t *mem;              // the flash contents (mapped file or heap)
    uint32_t size;             // bytes
    int fd;                    // the file, or -1 for a RAM flash
    bool strict;               // refuse programs that need a 0->1 change
    uint64_t fail_after;       // 0 = never cut; N = tear the N-th erase/program op
    enum mpota_flash_emu_tear tear;
    mpota_flash_emu_cut_fn on_cut;  // NULL = _exit(MPOTA_FLASH_EMU_EXIT_CODE)
    void *on_cut_arg;
    bool powered_off;          // a cut happened and on_cut returned
    struct mpota_flash_emu_counters count;
};

// Creates (or replaces) `path` as a flash of `size` bytes, all 0xFF: written
// to a new file beside it, then renamed over it (a file or link already there
// is replaced, never written through). size must be a power of two from 2 to
// 32 MiB. Returns 0, MPOTA_ERR_INVALID_ARG (size) or MPOTA_ERR_FILE (errno
// says why).
int mpota_flash_emu_create_file(const char *path, uint32_t size);

// Maps an existing flash file read-write (its size must be a valid one),
// first allocating any holes in it (a full disk is an error here, not a
// SIGBUS later).
// Sets fail_after from MPOTA_FLASH_FAIL_AFTER if it is set (a decimal count;
// anything else -> MPOTA_ERR_INVALID_ARG). Returns 0, MPOTA_ERR_INVALID_ARG
// or MPOTA_ERR_FILE.
int mpota_flash_emu_open_file(struct mpota_flash_emu *emu, const char *path);

// A flash in RAM, all 0xFF, for unit tests. size: a multiple of 4 KiB, from
// 4 KiB to 32 MiB (small sizes are allowed here for fuzzing). Ignores the
// environment. Returns 0, MPOTA_ERR_INVALID_ARG or MPOTA_ERR_NO_SPACE (no
// memory).
int mpota_flash_emu_open_ram(struct mpota_flash_emu *emu, uint32_t size);

// Unmaps / frees. Safe on a zeroed or already closed emulator.
void mpota_flash_emu_close(struct mpota_flash_emu *emu);

// "Power comes back": clears powered_off and fail_after, keeps the contents
// and the counters.
void mpota_flash_emu_power_on(struct mpota_flash_emu *emu);

void mpota_flash_emu_reset_counters(struct mpota_flash_emu *emu);

// What a cut does when there is no on_cut: says so on stderr and ends the
// process with _exit(MPOTA_FLASH_EMU_EXIT_CODE). For an on_cut that saves
// something of its own first (mpota-twin --stats).
_Noreturn void mpota_flash_emu_cut_exit(const struct mpota_flash_emu *emu);

// Writes bytes the way a programmer (esptool write_flash) does: the range
// simply holds `data` afterwards. Not counted, never torn, ignores NOR rules.
// For setting up tests and devices. Returns 0 or MPOTA_ERR_FLASH_BOUNDS.
int mpota_flash_emu_load(struct mpota_flash_emu *emu, uint32_t addr, const void *data,
                         uint32_t len);

#endif
