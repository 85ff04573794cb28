// The hash glue (hash.h) and the rules ESP-IDF's hardware SHA imposes: a
// running context is cloned, never copied, and every started context is
// finished or freed. The checked build (MPOTA_HASH_CHECKED, on in the test
// builds) traps on a copy; these tests show it does, so a future `=` on a
// context anywhere in the core fails the suite.
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "flash_emu.h"
#include "image_build.h"
#include "mpota/flash.h"
#include "mpota/hash.h"
#include "mpota/image.h"
#include "mpota/part.h"

// FIPS 180-2 "abc" and RFC 1321 "abc".
static const char *const SHA_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char *const MD5_ABC = "900150983cd24fb0d6963f7d28e17f72";

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = "0123456789abcdef"[b[i] >> 4];
        out[2 * i + 1] = "0123456789abcdef"[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static void test_vectors_and_clone(void **state)
{
    (void)state;
    uint8_t d[32];
    char text[65];
    mpota_sha256_t a, b;
    mpota_sha256_start(&a);
    mpota_sha256_update(&a, "ab", 2);
    // The clone runs on from "ab"; the original is not disturbed by it.
    mpota_sha256_clone(&b, &a);
    mpota_sha256_update(&b, "c", 1);
    mpota_sha256_finish(&b, d);
    hex(d, 32, text);
    assert_string_equal(text, SHA_ABC);
    mpota_sha256_update(&a, "c", 1);
    mpota_sha256_finish(&a, d);
    hex(d, 32, text);
    assert_string_equal(text, SHA_ABC);

    mpota_md5_t m;
    mpota_md5_start(&m);
    mpota_md5_update(&m, "abc", 3);
    mpota_md5_finish(&m, d);
    hex(d, 16, text);
    assert_string_equal(text, MD5_ABC);
    // free() after finish, and on a zeroed context, does nothing.
    mpota_md5_free(&m);
    mpota_sha256_t z;
    memset(&z, 0, sizeof(z));
    mpota_sha256_free(&z);
#ifdef MPOTA_HASH_CHECKED
    assert_int_equal(mpota_hash_checked_live(), 0);
#endif
}

#ifdef MPOTA_HASH_CHECKED
// Runs misuse number `which` in a child; returns its wait status.
static int run_misuse(int which)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        // cmocka catches signals to report them; the child must just die.
        signal(SIGILL, SIG_DFL);
        signal(SIGTRAP, SIG_DFL);
        uint8_t d[32];
        mpota_sha256_t a, copy;
        mpota_sha256_start(&a);
        mpota_sha256_update(&a, "ab", 2);
        switch (which) {
        case 0:  // a copy by assignment, then used
            copy = a;
            mpota_sha256_finish(&copy, d);
            break;
        case 1:  // a copy by memcpy, then updated
            memcpy(&copy, &a, sizeof(a));
            mpota_sha256_update(&copy, "c", 1);
            break;
        case 2:  // a copy freed (would release the original's engine)
            copy = a;
            mpota_sha256_free(&copy);
            break;
        case 3:  // started again while running: the first run leaks
            mpota_sha256_start(&a);
            break;
        case 4:  // used after finish
            mpota_sha256_finish(&a, d);
            mpota_sha256_update(&a, "c", 1);
            break;
        case 5:  // the original used properly: the child must exit cleanly
            mpota_sha256_finish(&a, d);
            break;
        }
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void test_checked_build_traps_misuse(void **state)
{
    (void)state;
    for (int which = 0; which < 5; which++) {
        int status = run_misuse(which);
        print_message("misuse %d: %s\n", which, WIFSIGNALED(status) ? "trapped" : "NOT trapped");
        assert_true(WIFSIGNALED(status));
    }
    int ok = run_misuse(5);
    assert_true(WIFEXITED(ok) && WEXITSTATUS(ok) == 0);
}

// Every way the core parses an image ends its hash, whatever the outcome.
static void test_parsers_release_their_hash(void **state)
{
    (void)state;
    struct mpota_app_spec spec = {.chip_id = MPOTA_CHIP_ESP32, .total_size = 70000,
                                  .version = "v1", .project_name = "p", .seed = 3};
    uint8_t *img = NULL;
    size_t len = 0;
    assert_int_equal(mpota_image_build_app(&spec, &img, &len, NULL), 0);
    struct mpota_image_info info;
    assert_int_equal(mpota_image_parse(img, len, MPOTA_CHIP_ESP32, &info, NULL), 0);
    assert_int_equal(mpota_image_parse(img, len / 2, MPOTA_CHIP_ESP32, &info, NULL),
                     MPOTA_ERR_IMAGE_TRUNCATED);
    assert_int_equal(mpota_image_check_head(img, 288, MPOTA_CHIP_ESP32, NULL), 0);
    assert_int_equal(mpota_image_check_head(img, 288, MPOTA_CHIP_ESP32S3, NULL),
                     MPOTA_ERR_IMAGE_CHIP);
    struct mpota_flash_emu emu;
    assert_int_equal(mpota_flash_emu_open_ram(&emu, 1u << 20), 0);
    assert_int_equal(mpota_flash_emu_load(&emu, 0x10000, img, (uint32_t)len), 0);
    struct mpota_area a;
    mpota_area_init(&a, &emu.flash, 0x10000, 0x80000, true);
    assert_int_equal(mpota_image_verify_area(&a, MPOTA_CHIP_ESP32, NULL, NULL), 0);
    mpota_area_init(&a, &emu.flash, 0x20000, 0x80000, true);  // blank: no image
    assert_int_equal(mpota_image_verify_area(&a, MPOTA_CHIP_ESP32, NULL, NULL),
                     MPOTA_ERR_IMAGE_MAGIC);
    mpota_flash_emu_close(&emu);
    free(img);
    // A table that fails before its MD5 row ends its MD5 too.
    uint8_t rows[64];
    memset(rows, 0xFF, sizeof(rows));
    rows[0] = 0x12;
    struct mpota_table t;
    assert_int_equal(mpota_part_table_parse(rows, sizeof(rows), 0, &t, NULL), MPOTA_ERR_TABLE_MAGIC);
    assert_int_equal(mpota_hash_checked_live(), 0);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_and_clone),
#ifdef MPOTA_HASH_CHECKED
        cmocka_unit_test(test_checked_build_traps_misuse),
        cmocka_unit_test(test_parsers_release_their_hash),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
