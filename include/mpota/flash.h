// Flash access: the backend interface a port fills in, and the area view the
// core uses for every read, program and erase.
//
// A backend is bound at run time (as littlefs binds its block device), so one
// process can drive many flashes. NOR rules apply: erased bytes read 0xFF and
// programming can only clear bits. The backend's erase callback is only ever
// called for exactly one aligned sector or one aligned block; mpota_area_erase()
// splits a range into the largest aligned erases, so counting and power-cut
// tearing happen per physical operation.
#ifndef MPOTA_FLASH_H
#define MPOTA_FLASH_H

#include <stdbool.h>
#include <stdint.h>

#define MPOTA_SECTOR_SIZE 0x1000u  // 4 KiB erase sector (SPI_FLASH_SEC_SIZE)
#define MPOTA_BLOCK_SIZE 0x10000u  // 64 KiB erase block

struct mpota_flash;

// Callbacks return 0 or a negative enum mpota_err (MPOTA_ERR_FLASH_IO for a
// device failure). addr is an absolute chip address.
typedef int (*mpota_flash_read_fn)(const struct mpota_flash *f, uint32_t addr, void *buf,
                                   uint32_t len);
typedef int (*mpota_flash_prog_fn)(const struct mpota_flash *f, uint32_t addr, const void *buf,
                                   uint32_t len);
// len is exactly f->sector_size or f->block_size, and addr is aligned to it.
typedef int (*mpota_flash_erase_fn)(const struct mpota_flash *f, uint32_t addr, uint32_t len);

struct mpota_flash {
    void *ctx;                  // backend state, opaque to the core
    mpota_flash_read_fn read;
    mpota_flash_prog_fn prog;
    mpota_flash_erase_fn erase;
    uint32_t size;              // chip size in bytes
    uint32_t sector_size;       // smallest erase, normally 4096
    uint32_t block_size;        // large erase, normally 65536; 0 = sectors only
    uint32_t prog_align;        // program address/length alignment, 1 on plain NOR
};

// MPOTA_ASSERT(cond): how the core reacts to a broken promise of its caller
// (a flash whose geometry does not hold). By default the call returns
// MPOTA_ERR_INVALID_ARG; define it (-DMPOTA_ASSERT=assert, with <assert.h>)
// to stop at the caller's mistake instead, as littlefs's LFS_ASSERT.
#ifndef MPOTA_ASSERT
#define MPOTA_ASSERT(cond) ((void)0)
#endif

// Whether f can be used: the three callbacks set, sector_size a power of two,
// block_size 0 or a multiple of it, size a non-zero multiple of sector_size,
// prog_align 0 or a power of two that divides sector_size. The one check of a
// backend's geometry: mpota_area_init() makes it, and every access of the
// core goes through an area.
bool mpota_flash_valid(const struct mpota_flash *f);

// A window onto the flash, e.g. one partition. Offsets given to the area
// functions count from `off`. A read-only area refuses program and erase with
// MPOTA_ERR_FLASH_PROTECTED: this is how "never write the running slot" is
// enforced in one place.
struct mpota_area {
    const struct mpota_flash *flash;
    uint32_t off;   // absolute address of the first byte
    uint32_t size;  // bytes
    bool read_only;
};

// Fills *a for [off, off+size) on flash. Returns MPOTA_ERR_INVALID_ARG for a
// flash that is not mpota_flash_valid() (after MPOTA_ASSERT), and
// MPOTA_ERR_FLASH_BOUNDS if the window does not lie within the chip.
int mpota_area_init(struct mpota_area *a, const struct mpota_flash *flash, uint32_t off,
                    uint32_t size, bool read_only);

// Bounds-checked read of len bytes at off.
int mpota_area_read(const struct mpota_area *a, uint32_t off, void *buf, uint32_t len);

// Bounds- and alignment-checked program. Does not erase.
int mpota_area_prog(const struct mpota_area *a, uint32_t off, const void *buf, uint32_t len);

// Erases [off, off+len): both must be sector-aligned. Uses block erases where a
// whole aligned block lies inside the range and sector erases at the edges.
int mpota_area_erase(const struct mpota_area *a, uint32_t off, uint32_t len);

// Reads [off, off+len) in small pieces and reports whether every byte is 0xFF.
// Returns 1 if blank, 0 if not, or a negative error.
int mpota_area_is_blank(const struct mpota_area *a, uint32_t off, uint32_t len);

#endif
