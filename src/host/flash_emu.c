// Emulated NOR flash with operation counters and power-cut injection
// (flash_emu.h).
#define _POSIX_C_SOURCE 200809L
#include "flash_emu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpota/err.h"

static bool file_size_ok(uint64_t size)
{
    return size >= MPOTA_FLASH_EMU_MIN_SIZE && size <= MPOTA_FLASH_EMU_MAX_SIZE &&
           (size & (size - 1)) == 0;
}

static bool in_bounds(const struct mpota_flash_emu *emu, uint32_t addr, uint32_t len)
{
    return addr <= emu->size && len <= emu->size - addr;
}

// Counts one erase-or-program operation. Returns true if this is the one the
// power cut hits.
static bool next_op_is_cut(struct mpota_flash_emu *emu)
{
    emu->count.ops++;
    return emu->fail_after != 0 && emu->count.ops == emu->fail_after;
}

// The cut itself, after the torn operation has left its partial result.
static int power_cut(struct mpota_flash_emu *emu)
{
    emu->powered_off = true;
    if (emu->on_cut) {
        emu->on_cut(emu->on_cut_arg);
        return MPOTA_ERR_FLASH_IO;  // the hook chose to return
    }
    mpota_flash_emu_cut_exit(emu);
}

void mpota_flash_emu_cut_exit(const struct mpota_flash_emu *emu)
{
    // Say what happened: a silent exit 75 looks like a crash.
    fprintf(stderr,
            "mpota: power cut (injected by %s=%llu) during flash operation %llu; "
            "the flash file keeps what a real cut would leave: boot it to see what survives\n",
            MPOTA_FLASH_FAIL_AFTER_ENV, (unsigned long long)emu->fail_after,
            (unsigned long long)emu->count.ops);
    // MAP_SHARED pages already belong to the file: nothing to flush.
    _exit(MPOTA_FLASH_EMU_EXIT_CODE);
}

static int emu_read(const struct mpota_flash *f, uint32_t addr, void *buf, uint32_t len)
{
    struct mpota_flash_emu *emu = f->ctx;
    if (emu->powered_off) {
        return MPOTA_ERR_FLASH_IO;
    }
    if (!in_bounds(emu, addr, len)) {
        return MPOTA_ERR_FLASH_BOUNDS;
    }
    emu->count.reads++;
    emu->count.read_bytes += len;
    memcpy(buf, emu->mem + addr, len);
    return MPOTA_OK;
}

// NOR programming: new bits can only clear old ones. Eight bytes at a time,
// since every update programs megabytes through here.
static void and_bytes(uint8_t *dst, const uint8_t *src, uint32_t len)
{
    uint32_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t a, b;
        memcpy(&a, dst + i, 8);
        memcpy(&b, src + i, 8);
        a &= b;
        memcpy(dst + i, &a, 8);
    }
    for (; i < len; i++) {
        dst[i] &= src[i];
    }
}

static int emu_prog(const struct mpota_flash *f, uint32_t addr, const void *buf, uint32_t len)
{
    struct mpota_flash_emu *emu = f->ctx;
    const uint8_t *src = buf;
    if (emu->powered_off) {
        return MPOTA_ERR_FLASH_IO;
    }
    if (!in_bounds(emu, addr, len)) {
        return MPOTA_ERR_FLASH_BOUNDS;
    }
    if (emu->strict) {
        for (uint32_t i = 0; i < len; i++) {
            if (src[i] & ~emu->mem[addr + i]) {
                return MPOTA_ERR_FLASH_NOT_ERASED;
            }
        }
    }
    emu->count.progs++;
    emu->count.prog_bytes += len;
    // The SPI flash driver splits programs at 256-byte page boundaries; each
    // page touched is one page-program command.
    emu->count.prog_pages += (addr % MPOTA_FLASH_EMU_PAGE_SIZE + len + MPOTA_FLASH_EMU_PAGE_SIZE - 1) /
                             MPOTA_FLASH_EMU_PAGE_SIZE;
    if (next_op_is_cut(emu)) {
        uint32_t done = emu->tear == MPOTA_FLASH_EMU_TEAR_NONE  ? 0
                        : emu->tear == MPOTA_FLASH_EMU_TEAR_ALL ? len
                                                                : len / 2;
        and_bytes(emu->mem + addr, src, done);
        return power_cut(emu);
    }
    and_bytes(emu->mem + addr, src, len);
    return MPOTA_OK;
}

static int emu_erase(const struct mpota_flash *f, uint32_t addr, uint32_t len)
{
    struct mpota_flash_emu *emu = f->ctx;
    if (emu->powered_off) {
        return MPOTA_ERR_FLASH_IO;
    }
    if (!in_bounds(emu, addr, len)) {
        return MPOTA_ERR_FLASH_BOUNDS;
    }
    // The chip only knows two erase commands: one sector or one block.
    if ((len != f->sector_size && len != f->block_size) || len == 0 || addr % len) {
        return MPOTA_ERR_FLASH_ALIGN;
    }
    if (len == f->sector_size) {
        emu->count.sector_erases++;
    } else {
        emu->count.block_erases++;
    }
    if (next_op_is_cut(emu)) {
        uint32_t done = emu->tear == MPOTA_FLASH_EMU_TEAR_NONE  ? 0
                        : emu->tear == MPOTA_FLASH_EMU_TEAR_ALL ? len
                                                                : len / 2;
        memset(emu->mem + addr, 0xFF, done);
        return power_cut(emu);
    }
    memset(emu->mem + addr, 0xFF, len);
    return MPOTA_OK;
}

static void setup(struct mpota_flash_emu *emu, uint8_t *mem, uint32_t size, int fd)
{
    memset(emu, 0, sizeof(*emu));
    emu->mem = mem;
    emu->size = size;
    emu->fd = fd;
    emu->tear = MPOTA_FLASH_EMU_TEAR_HALF;
    emu->flash.ctx = emu;
    emu->flash.read = emu_read;
    emu->flash.prog = emu_prog;
    emu->flash.erase = emu_erase;
    emu->flash.size = size;
    emu->flash.sector_size = MPOTA_SECTOR_SIZE;
    emu->flash.block_size = MPOTA_BLOCK_SIZE;
    emu->flash.prog_align = 1;
}

int mpota_flash_emu_create_file(const char *path, uint32_t size)
{
    if (!path || !file_size_ok(size)) {
        return MPOTA_ERR_INVALID_ARG;
    }
    // A new file beside it (mkstemp: a fresh name, never through a link),
    // renamed over `path` once whole: a full disk leaves no half flash.
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (!tmp) {
        errno = ENOMEM;
        return MPOTA_ERR_FILE;
    }
    snprintf(tmp, n, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return MPOTA_ERR_FILE;
    }
    uint8_t erased[4096];
    memset(erased, 0xFF, sizeof(erased));
    int rc = fchmod(fd, 0644) == 0 ? MPOTA_OK : MPOTA_ERR_FILE;
    for (uint32_t off = 0; off < size && rc == MPOTA_OK; off += sizeof(erased)) {
        ssize_t w = write(fd, erased, sizeof(erased));
        if (w != (ssize_t)sizeof(erased)) {
            if (w >= 0) {
                errno = ENOSPC;  // a short write: the disk is full
            }
            rc = MPOTA_ERR_FILE;
        }
    }
    int saved = errno;
    if (close(fd) != 0 && rc == MPOTA_OK) {
        rc = MPOTA_ERR_FILE;
        saved = errno;
    }
    if (rc == MPOTA_OK && rename(tmp, path) != 0) {
        rc = MPOTA_ERR_FILE;
        saved = errno;
    }
    if (rc != MPOTA_OK) {
        unlink(tmp);
    }
    free(tmp);
    errno = saved;
    return rc;
}

// MPOTA_FLASH_FAIL_AFTER: a plain decimal count; empty or "0" = off.
static int fail_after_from_env(uint64_t *out)
{
    const char *s = getenv(MPOTA_FLASH_FAIL_AFTER_ENV);
    *out = 0;
    if (!s || !*s) {
        return MPOTA_OK;
    }
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10) {
            return MPOTA_ERR_INVALID_ARG;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return MPOTA_OK;
}

int mpota_flash_emu_open_file(struct mpota_flash_emu *emu, const char *path)
{
    if (!emu || !path) {
        return MPOTA_ERR_INVALID_ARG;
    }
    memset(emu, 0, sizeof(*emu));
    emu->fd = -1;
    uint64_t fail_after;
    int rc = fail_after_from_env(&fail_after);
    if (rc) {
        return rc;
    }
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        return MPOTA_ERR_FILE;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return MPOTA_ERR_FILE;
    }
    if (!file_size_ok((uint64_t)st.st_size)) {
        close(fd);
        return MPOTA_ERR_INVALID_ARG;
    }
    // A file with holes (a sparse copy) needs new blocks as the mapping is
    // written: on a full disk that is a SIGBUS in the middle of an erase.
    // Allocate them now, while a refusal still changes nothing.
    if ((uint64_t)st.st_blocks * 512u < (uint64_t)st.st_size) {
        int err = posix_fallocate(fd, 0, st.st_size);
        if (err != 0 && err != EINVAL && err != EOPNOTSUPP) {
            close(fd);
            errno = err;
            return MPOTA_ERR_FILE;
        }
    }
    void *mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) {
        close(fd);
        return MPOTA_ERR_FILE;
    }
    setup(emu, mem, (uint32_t)st.st_size, fd);
    emu->fail_after = fail_after;
    return MPOTA_OK;
}

int mpota_flash_emu_open_ram(struct mpota_flash_emu *emu, uint32_t size)
{
    if (!emu) {
        return MPOTA_ERR_INVALID_ARG;
    }
    memset(emu, 0, sizeof(*emu));
    emu->fd = -1;
    if (size == 0 || size % MPOTA_SECTOR_SIZE || size > MPOTA_FLASH_EMU_MAX_SIZE) {
        return MPOTA_ERR_INVALID_ARG;
    }
    uint8_t *mem = malloc(size);
    if (!mem) {
        return MPOTA_ERR_NO_SPACE;
    }
    memset(mem, 0xFF, size);
    setup(emu, mem, size, -1);
    return MPOTA_OK;
}

void mpota_flash_emu_close(struct mpota_flash_emu *emu)
{
    if (!emu || !emu->mem) {
        return;
    }
    if (emu->fd >= 0) {
        munmap(emu->mem, emu->size);
        close(emu->fd);
    } else {
        free(emu->mem);
    }
    emu->mem = NULL;
    emu->fd = -1;
}

void mpota_flash_emu_power_on(struct mpota_flash_emu *emu)
{
    emu->powered_off = false;
    emu->fail_after = 0;
}

void mpota_flash_emu_reset_counters(struct mpota_flash_emu *emu)
{
    memset(&emu->count, 0, sizeof(emu->count));
}

int mpota_flash_emu_load(struct mpota_flash_emu *emu, uint32_t addr, const void *data,
                         uint32_t len)
{
    if (!in_bounds(emu, addr, len)) {
        return MPOTA_ERR_FLASH_BOUNDS;
    }
    if (len) {  // an empty OLD may come as NULL
        memcpy(emu->mem + addr, data, len);
    }
    return MPOTA_OK;
}
