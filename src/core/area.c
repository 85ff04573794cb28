// Area view over a flash backend: the core's only route to flash (flash.h).
#include "mpota/flash.h"

#include "mpota/bytes.h"
#include "mpota/err.h"

static bool range_ok(const struct mpota_area *a, uint32_t off, uint32_t len)
{
    // Written to avoid overflow: off + len may exceed 32 bits.
    return off <= a->size && len <= a->size - off;
}

static bool pow2(uint32_t v)
{
    return v && (v & (v - 1)) == 0;
}

bool mpota_flash_valid(const struct mpota_flash *f)
{
    return f && f->read && f->prog && f->erase && pow2(f->sector_size) &&
           f->block_size % f->sector_size == 0 && f->size && f->size % f->sector_size == 0 &&
           (f->prog_align == 0 || (pow2(f->prog_align) && f->sector_size % f->prog_align == 0));
}

int mpota_area_init(struct mpota_area *a, const struct mpota_flash *flash, uint32_t off,
                    uint32_t size, bool read_only)
{
    if (!a) {
        return MPOTA_ERR_INVALID_ARG;
    }
    if (!mpota_flash_valid(flash)) {
        MPOTA_ASSERT(!"flash geometry (mpota_flash_valid)");
        return MPOTA_ERR_INVALID_ARG;
    }
    if (off > flash->size || size > flash->size - off) {
        return MPOTA_ERR_FLASH_BOUNDS;
    }
    a->flash = flash;
    a->off = off;
    a->size = size;
    a->read_only = read_only;
    return MPOTA_OK;
}

int mpota_area_read(const struct mpota_area *a, uint32_t off, void *buf, uint32_t len)
{
    if (!range_ok(a, off, len)) {
        return MPOTA_ERR_FLASH_BOUNDS;
    }
    if (len == 0) {
        return MPOTA_OK;
    }
    return a->flash->read(a->flash, a->off + off, buf, len);
}

int mpota_area_prog(const struct mpota_area *a, uint32_t off, const void *buf, uint32_t len)
{
    if (a->read_only) {
        return MPOTA_ERR_FLASH_PROTECTED;
    }
    if (!range_ok(a, off, len)) {
        return MPOTA_ERR_FLASH_BOUNDS;
    }
    uint32_t align = a->flash->prog_align ? a->flash->prog_align : 1;
    if ((a->off + off) % align || len % align) {
        return MPOTA_ERR_FLASH_ALIGN;
    }
    if (len == 0) {
        return MPOTA_OK;
    }
    return a->flash->prog(a->flash, a->off + off, buf, len);
}

int mpota_area_erase(const struct mpota_area *a, uint32_t off, uint32_t len)
{
    if (a->read_only) {
        return MPOTA_ERR_FLASH_PROTECTED;
    }
    if (!range_ok(a, off, len)) {
        return MPOTA_ERR_FLASH_BOUNDS;
    }
    const struct mpota_flash *f = a->flash;
    uint32_t sector = f->sector_size;
    uint32_t block = f->block_size;
    uint32_t addr = a->off + off;
    uint32_t end = addr + len;
    if (addr % sector || len % sector) {
        return MPOTA_ERR_FLASH_ALIGN;
    }
    while (addr < end) {
        // A block erase costs ~3x a sector erase but clears 16x the bytes.
        bool use_block = block && addr % block == 0 && end - addr >= block;
        uint32_t step = use_block ? block : sector;
        int rc = f->erase(f, addr, step);
        if (rc) {
            return rc;
        }
        addr += step;
    }
    return MPOTA_OK;
}

int mpota_area_is_blank(const struct mpota_area *a, uint32_t off, uint32_t len)
{
    if (!range_ok(a, off, len)) {
        return MPOTA_ERR_FLASH_BOUNDS;
    }
    uint32_t words[32];  // 128 bytes of stack: small enough for any write path
    while (len) {
        uint32_t n = len < sizeof(words) ? len : (uint32_t)sizeof(words);
        int rc = mpota_area_read(a, off, words, n);
        if (rc) {
            return rc;
        }
        if (!mpota_all_ff((const uint8_t *)words, n)) {
            return 0;
        }
        off += n;
        len -= n;
    }
    return 1;
}
