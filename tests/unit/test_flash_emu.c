// flash_emu: NOR rules, erase granularity, counters, strict mode, torn
// operations, the in-process cut hook and the MPOTA_FLASH_FAIL_AFTER exit.
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "flash_emu.h"
#include "host_file.h"
#include "mpota/err.h"
#include "mpota/flash.h"

#define MIB (1024u * 1024u)

static int setup_ram(void **state)
{
    struct mpota_flash_emu *emu = malloc(sizeof(*emu));
    if (!emu || mpota_flash_emu_open_ram(emu, 0x40000) != 0) {
        free(emu);
        return -1;
    }
    *state = emu;
    return 0;
}

static int teardown_ram(void **state)
{
    mpota_flash_emu_close(*state);
    free(*state);
    return 0;
}

static void test_geometry_and_blank(void **state)
{
    struct mpota_flash_emu *emu = *state;
    assert_int_equal(emu->flash.size, 0x40000);
    assert_int_equal(emu->flash.sector_size, 4096);
    assert_int_equal(emu->flash.block_size, 65536);
    assert_int_equal(emu->flash.prog_align, 1);
    assert_ptr_equal(emu->flash.ctx, emu);
    for (uint32_t i = 0; i < emu->size; i++) {
        assert_int_equal(emu->mem[i], 0xFF);
    }
    struct mpota_flash_emu bad;
    assert_int_equal(mpota_flash_emu_open_ram(&bad, 0), MPOTA_ERR_INVALID_ARG);
    assert_int_equal(mpota_flash_emu_open_ram(&bad, 0x1800), MPOTA_ERR_INVALID_ARG);
    assert_int_equal(mpota_flash_emu_open_ram(&bad, 64 * MIB), MPOTA_ERR_INVALID_ARG);
}

static void test_nor_and_semantics(void **state)
{
    struct mpota_flash_emu *emu = *state;
    const struct mpota_flash *f = &emu->flash;
    uint8_t a[4] = {0xF0, 0x0F, 0xAA, 0xFF};
    uint8_t b[4] = {0x0F, 0x0F, 0x55, 0x00};
    assert_int_equal(f->prog(f, 0x100, a, 4), 0);
    assert_int_equal(f->prog(f, 0x100, b, 4), 0);  // ANDs: only clears bits
    uint8_t got[4];
    assert_int_equal(f->read(f, 0x100, got, 4), 0);
    static const uint8_t want[4] = {0x00, 0x0F, 0x00, 0x00};
    assert_memory_equal(got, want, 4);
    // Erase brings back 0xFF for the whole sector and nothing else.
    emu->mem[0x1000] = 0x11;
    assert_int_equal(f->erase(f, 0, 0x1000), 0);
    assert_int_equal(f->read(f, 0x100, got, 4), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(got[i], 0xFF);
    }
    assert_int_equal(emu->mem[0x1000], 0x11);
}

static void test_erase_granularity(void **state)
{
    struct mpota_flash_emu *emu = *state;
    const struct mpota_flash *f = &emu->flash;
    assert_int_equal(f->erase(f, 0x800, 0x1000), MPOTA_ERR_FLASH_ALIGN);
    assert_int_equal(f->erase(f, 0x0, 0x2000), MPOTA_ERR_FLASH_ALIGN);  // two sectors: no
    assert_int_equal(f->erase(f, 0x1000, 0x10000), MPOTA_ERR_FLASH_ALIGN);  // unaligned block
    assert_int_equal(f->erase(f, 0x0, 0x100), MPOTA_ERR_FLASH_ALIGN);
    assert_int_equal(f->erase(f, 0x40000, 0x1000), MPOTA_ERR_FLASH_BOUNDS);
    assert_int_equal(emu->count.ops, 0);
    memset(emu->mem, 0, emu->size);
    assert_int_equal(f->erase(f, 0x10000, 0x10000), 0);
    assert_int_equal(emu->count.block_erases, 1);
    assert_int_equal(emu->mem[0x10000], 0xFF);
    assert_int_equal(emu->mem[0x1FFFF], 0xFF);
    assert_int_equal(emu->mem[0x0FFFF], 0x00);
    assert_int_equal(emu->mem[0x20000], 0x00);

    // Through the area view: a range becomes blocks inside, sectors at the edges.
    mpota_flash_emu_reset_counters(emu);
    struct mpota_area a;
    assert_int_equal(mpota_area_init(&a, f, 0, emu->size, false), 0);
    assert_int_equal(mpota_area_erase(&a, 0xF000, 0x12000), 0);  // 0xF000..0x21000
    assert_int_equal(emu->count.sector_erases, 2);
    assert_int_equal(emu->count.block_erases, 1);
    assert_int_equal(emu->count.ops, 3);
    assert_int_equal(emu->mem[0xEFFF], 0x00);
    assert_int_equal(emu->mem[0xF000], 0xFF);
    assert_int_equal(emu->mem[0x20FFF], 0xFF);
    assert_int_equal(emu->mem[0x21000], 0x00);
}

// The core checks a backend's geometry once, where every access starts
// (mpota_area_init): a zero sector size would divide by zero in the erase
// split, a block that is not whole sectors would misalign it.
static void test_area_refuses_bad_geometry(void **state)
{
    struct mpota_flash_emu *emu = *state;
    struct mpota_area a;
    assert_true(mpota_flash_valid(&emu->flash));
    const struct {
        uint32_t size, sector, block, align;
    } bad[] = {
        {0x400000, 0, 0x10000, 1},        // no sector size
        {0x400000, 3000, 0, 1},           // not a power of two
        {0x400000, 0x1000, 0x1800, 1},    // block not whole sectors
        {0x400800, 0x1000, 0x10000, 1},   // size not whole sectors
        {0, 0x1000, 0x10000, 1},          // no size
        {0x400000, 0x1000, 0x10000, 3},   // program alignment not a power of two
        {0x400000, 0x1000, 0x10000, 0x2000},  // ... larger than a sector
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct mpota_flash f = emu->flash;
        f.size = bad[i].size;
        f.sector_size = bad[i].sector;
        f.block_size = bad[i].block;
        f.prog_align = bad[i].align;
        assert_false(mpota_flash_valid(&f));
        assert_int_equal(mpota_area_init(&a, &f, 0, 0x1000, false), MPOTA_ERR_INVALID_ARG);
    }
    struct mpota_flash f = emu->flash;
    f.erase = NULL;
    assert_int_equal(mpota_area_init(&a, &f, 0, 0x1000, false), MPOTA_ERR_INVALID_ARG);
    f = emu->flash;
    f.block_size = 0;  // sectors only: fine
    f.prog_align = 0;
    assert_int_equal(mpota_area_init(&a, &f, 0, 0x1000, false), MPOTA_OK);
}

static void test_counters(void **state)
{
    struct mpota_flash_emu *emu = *state;
    const struct mpota_flash *f = &emu->flash;
    uint8_t buf[100];
    memset(buf, 0, sizeof(buf));
    assert_int_equal(f->read(f, 0, buf, 100), 0);
    assert_int_equal(f->read(f, 10, buf, 7), 0);
    assert_int_equal(f->prog(f, 0, buf, 33), 0);
    assert_int_equal(f->prog(f, 100, buf, 3), 0);
    assert_int_equal(f->erase(f, 0x1000, 0x1000), 0);
    assert_int_equal(f->erase(f, 0x20000, 0x10000), 0);
    assert_int_equal(f->prog(f, 0x40000 - 2, buf, 3), MPOTA_ERR_FLASH_BOUNDS);
    assert_int_equal(f->read(f, 0x40000, buf, 1), MPOTA_ERR_FLASH_BOUNDS);
    assert_int_equal(emu->count.reads, 2);
    assert_int_equal(emu->count.read_bytes, 107);
    assert_int_equal(emu->count.progs, 2);
    assert_int_equal(emu->count.prog_bytes, 36);
    assert_int_equal(emu->count.sector_erases, 1);
    assert_int_equal(emu->count.block_erases, 1);
    assert_int_equal(emu->count.ops, 4);
    mpota_flash_emu_reset_counters(emu);
    assert_int_equal(emu->count.ops, 0);
    assert_int_equal(emu->count.reads, 0);
}

static void test_strict_mode(void **state)
{
    struct mpota_flash_emu *emu = *state;
    const struct mpota_flash *f = &emu->flash;
    emu->strict = true;
    uint8_t a[2] = {0x0F, 0xF0};
    assert_int_equal(f->prog(f, 0, a, 2), 0);
    uint8_t same_or_less[2] = {0x0F, 0x00};  // only clears bits: allowed
    assert_int_equal(f->prog(f, 0, same_or_less, 2), 0);
    uint8_t needs_one[2] = {0x00, 0x10};  // bit 4 of byte 1 is 0 now
    assert_int_equal(f->prog(f, 0, needs_one, 2), MPOTA_ERR_FLASH_NOT_ERASED);
    assert_int_equal(emu->mem[0], 0x0F);  // nothing changed, not even byte 0
    assert_int_equal(emu->mem[1], 0x00);
    assert_int_equal(emu->count.progs, 2);
    assert_int_equal(emu->count.ops, 2);
    emu->strict = false;
    assert_int_equal(f->prog(f, 0, needs_one, 2), 0);  // lenient: ANDs
    assert_int_equal(emu->mem[0], 0x00);
    assert_int_equal(emu->mem[1], 0x00);
}

struct cut_ctx {
    jmp_buf jb;
    int calls;
};

static void on_cut(void *arg)
{
    struct cut_ctx *c = arg;
    c->calls++;
    longjmp(c->jb, 1);
}

static void test_torn_program_and_erase(void **state)
{
    struct mpota_flash_emu *emu = *state;
    const struct mpota_flash *f = &emu->flash;
    struct cut_ctx c = {.calls = 0};
    emu->on_cut = on_cut;
    emu->on_cut_arg = &c;
    uint8_t data[32];
    for (int i = 0; i < 32; i++) {
        data[i] = (uint8_t)i;
    }

    // HALF: a program writes the first half of its bytes.
    emu->fail_after = 2;
    volatile int reached = 0;
    if (setjmp(c.jb) == 0) {
        assert_int_equal(f->prog(f, 0x100, data, 32), 0);  // op 1: complete
        reached = 1;
        f->prog(f, 0x200, data, 32);  // op 2: torn
        fail_msg("the cut did not happen");
    }
    assert_int_equal(reached, 1);
    assert_int_equal(c.calls, 1);
    assert_true(emu->powered_off);
    assert_memory_equal(emu->mem + 0x100, data, 32);
    assert_memory_equal(emu->mem + 0x200, data, 16);
    for (int i = 16; i < 32; i++) {
        assert_int_equal(emu->mem[0x200 + i], 0xFF);
    }
    // Powered off: everything fails until power comes back.
    uint8_t tmp[4];
    assert_int_equal(f->read(f, 0, tmp, 4), MPOTA_ERR_FLASH_IO);
    assert_int_equal(f->prog(f, 0, tmp, 4), MPOTA_ERR_FLASH_IO);
    assert_int_equal(f->erase(f, 0, 0x1000), MPOTA_ERR_FLASH_IO);
    mpota_flash_emu_power_on(emu);
    assert_false(emu->powered_off);
    assert_int_equal(emu->fail_after, 0);
    assert_int_equal(f->read(f, 0x200, tmp, 4), 0);
    assert_int_equal(emu->count.ops, 2);

    // HALF: an erase sets the first half of the sector to 0xFF.
    memset(emu->mem + 0x3000, 0x00, 0x1000);
    emu->fail_after = emu->count.ops + 1;
    if (setjmp(c.jb) == 0) {
        f->erase(f, 0x3000, 0x1000);
        fail_msg("the cut did not happen");
    }
    assert_int_equal(c.calls, 2);
    for (uint32_t i = 0; i < 0x1000; i++) {
        assert_int_equal(emu->mem[0x3000 + i], i < 0x800 ? 0xFF : 0x00);
    }
    mpota_flash_emu_power_on(emu);

    // NONE: nothing changes. ALL: the op completes, then the cut.
    emu->tear = MPOTA_FLASH_EMU_TEAR_NONE;
    emu->fail_after = emu->count.ops + 1;
    if (setjmp(c.jb) == 0) {
        f->prog(f, 0x400, data, 32);
        fail_msg("the cut did not happen");
    }
    for (int i = 0; i < 32; i++) {
        assert_int_equal(emu->mem[0x400 + i], 0xFF);
    }
    mpota_flash_emu_power_on(emu);
    emu->tear = MPOTA_FLASH_EMU_TEAR_ALL;
    emu->fail_after = emu->count.ops + 1;
    if (setjmp(c.jb) == 0) {
        f->erase(f, 0x3000, 0x1000);
        fail_msg("the cut did not happen");
    }
    for (uint32_t i = 0; i < 0x1000; i++) {
        assert_int_equal(emu->mem[0x3000 + i], 0xFF);
    }
    assert_int_equal(c.calls, 4);
    mpota_flash_emu_power_on(emu);
}

static void returning_hook(void *arg)
{
    (*(int *)arg)++;
}

static void test_hook_that_returns(void **state)
{
    struct mpota_flash_emu *emu = *state;
    const struct mpota_flash *f = &emu->flash;
    int calls = 0;
    emu->on_cut = returning_hook;
    emu->on_cut_arg = &calls;
    emu->fail_after = 1;
    uint8_t d[8] = {0}, r[8];
    // Reads are not operations that count toward fail_after.
    assert_int_equal(f->read(f, 0, r, 8), 0);
    assert_int_equal(f->prog(f, 0, d, 8), MPOTA_ERR_FLASH_IO);
    assert_int_equal(calls, 1);
    assert_int_equal(emu->mem[3], 0x00);
    assert_int_equal(emu->mem[4], 0xFF);
    assert_int_equal(f->prog(f, 0, d, 8), MPOTA_ERR_FLASH_IO);
    assert_int_equal(calls, 1);  // the hook runs once per cut
}

// A temporary directory for file-backed tests; removed by the caller.
static void temp_file(char *path, size_t n, const char *name)
{
    char dir[] = "/tmp/mpota-emu-XXXXXX";
    assert_non_null(mkdtemp(dir));
    snprintf(path, n, "%s/%s", dir, name);
}

static void remove_temp(const char *path)
{
    remove(path);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        rmdir(dir);
    }
}

static void test_file_create_and_persist(void **state)
{
    (void)state;
    char path[512];
    temp_file(path, sizeof(path), "flash.bin");
    assert_int_equal(mpota_flash_emu_create_file(path, 3 * MIB), MPOTA_ERR_INVALID_ARG);
    assert_int_equal(mpota_flash_emu_create_file(path, 1 * MIB), MPOTA_ERR_INVALID_ARG);
    assert_int_equal(mpota_flash_emu_create_file(path, 64 * MIB), MPOTA_ERR_INVALID_ARG);
    assert_int_equal(mpota_flash_emu_create_file(path, 2 * MIB), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 2 * MIB);

    unsetenv(MPOTA_FLASH_FAIL_AFTER_ENV);
    struct mpota_flash_emu emu;
    assert_int_equal(mpota_flash_emu_open_file(&emu, path), 0);
    assert_int_equal(emu.size, 2 * MIB);
    assert_int_equal(emu.fail_after, 0);
    for (uint32_t i = 0; i < emu.size; i += 4093) {
        assert_int_equal(emu.mem[i], 0xFF);
    }
    uint8_t d[3] = {1, 2, 3};
    assert_int_equal(emu.flash.prog(&emu.flash, 0x1FFFFD, d, 3), 0);
    mpota_flash_emu_close(&emu);
    mpota_flash_emu_close(&emu);  // twice is harmless

    size_t len = 0;
    uint8_t *buf = mpota_host_read_file(path, &len);
    assert_non_null(buf);
    assert_int_equal(len, 2 * MIB);
    assert_memory_equal(buf + 0x1FFFFD, d, 3);
    free(buf);

    // A file of a size no flash has is refused.
    assert_int_equal(mpota_host_write_file(path, d, 3), 0);
    assert_int_equal(mpota_flash_emu_open_file(&emu, path), MPOTA_ERR_INVALID_ARG);
    remove_temp(path);
    assert_int_equal(mpota_flash_emu_open_file(&emu, path), MPOTA_ERR_FILE);
}

static void test_env_fail_after_exits_75(void **state)
{
    (void)state;
    char path[512];
    temp_file(path, sizeof(path), "flash.bin");
    assert_int_equal(mpota_flash_emu_create_file(path, 2 * MIB), 0);

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        // Child: a tool that knows nothing about fault injection.
        setenv(MPOTA_FLASH_FAIL_AFTER_ENV, "3", 1);
        struct mpota_flash_emu emu;
        if (mpota_flash_emu_open_file(&emu, path) != 0) {
            _exit(1);
        }
        uint8_t d[64];
        memset(d, 0x00, sizeof(d));
        emu.flash.prog(&emu.flash, 0x0, d, 64);      // op 1
        emu.flash.erase(&emu.flash, 0x1000, 0x1000);  // op 2 (erased already)
        emu.flash.prog(&emu.flash, 0x2000, d, 64);   // op 3: torn, then _exit(75)
        emu.flash.prog(&emu.flash, 0x3000, d, 64);   // never reached
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), MPOTA_FLASH_EMU_EXIT_CODE);

    size_t len = 0;
    uint8_t *buf = mpota_host_read_file(path, &len);
    assert_non_null(buf);
    assert_int_equal(len, 2 * MIB);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(buf[i], 0x00);                          // op 1 complete
        assert_int_equal(buf[0x2000 + i], i < 32 ? 0x00 : 0xFF);  // op 3 half
        assert_int_equal(buf[0x3000 + i], 0xFF);                 // op 4 never ran
    }
    free(buf);

    // Not a number: refused, rather than silently running without the cut.
    setenv(MPOTA_FLASH_FAIL_AFTER_ENV, "3x", 1);
    struct mpota_flash_emu emu;
    assert_int_equal(mpota_flash_emu_open_file(&emu, path), MPOTA_ERR_INVALID_ARG);
    setenv(MPOTA_FLASH_FAIL_AFTER_ENV, "12", 1);
    assert_int_equal(mpota_flash_emu_open_file(&emu, path), 0);
    assert_int_equal(emu.fail_after, 12);
    mpota_flash_emu_close(&emu);
    unsetenv(MPOTA_FLASH_FAIL_AFTER_ENV);
    // The RAM flash ignores the environment.
    setenv(MPOTA_FLASH_FAIL_AFTER_ENV, "1", 1);
    assert_int_equal(mpota_flash_emu_open_ram(&emu, 0x1000), 0);
    assert_int_equal(emu.fail_after, 0);
    mpota_flash_emu_close(&emu);
    unsetenv(MPOTA_FLASH_FAIL_AFTER_ENV);
    remove_temp(path);
}

static void test_load_is_raw(void **state)
{
    struct mpota_flash_emu *emu = *state;
    memset(emu->mem, 0x00, 16);
    uint8_t d[4] = {0xFF, 0x12, 0xFF, 0x34};
    assert_int_equal(mpota_flash_emu_load(emu, 2, d, 4), 0);  // sets bits too
    assert_memory_equal(emu->mem + 2, d, 4);
    assert_int_equal(emu->count.ops, 0);
    assert_int_equal(mpota_flash_emu_load(emu, emu->size - 2, d, 4), MPOTA_ERR_FLASH_BOUNDS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_geometry_and_blank, setup_ram, teardown_ram),
        cmocka_unit_test_setup_teardown(test_nor_and_semantics, setup_ram, teardown_ram),
        cmocka_unit_test_setup_teardown(test_erase_granularity, setup_ram, teardown_ram),
        cmocka_unit_test_setup_teardown(test_area_refuses_bad_geometry, setup_ram, teardown_ram),
        cmocka_unit_test_setup_teardown(test_counters, setup_ram, teardown_ram),
        cmocka_unit_test_setup_teardown(test_strict_mode, setup_ram, teardown_ram),
        cmocka_unit_test_setup_teardown(test_torn_program_and_erase, setup_ram, teardown_ram),
        cmocka_unit_test_setup_teardown(test_hook_that_returns, setup_ram, teardown_ram),
        cmocka_unit_test(test_file_create_and_persist),
        cmocka_unit_test(test_env_fail_after_exits_75),
        cmocka_unit_test_setup_teardown(test_load_is_raw, setup_ram, teardown_ram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
