// The running image as it was flashed (mpota_image_digest_area): what a
// delta patch's "from" SHA-256 is compared with. It must equal sha256sum of
// the .bin that was flashed: unsigned (ends at the appended hash, whatever
// follows on flash), signed by espsecure (ends after the signature sector),
// and a broken image is refused rather than digested.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flash_emu.h"
#include "host_file.h"
#include "image_build.h"
#include "mpota/hash.h"
#include "mpota/image.h"

#define SLOT_OFF 0x10000u
#define SLOT_SIZE 0x100000u

struct rig {
    struct mpota_flash_emu emu;
    struct mpota_area slot;
};

static void rig_open(struct rig *r)
{
    assert_int_equal(mpota_flash_emu_open_ram(&r->emu, 2u << 20), 0);
    assert_int_equal(mpota_area_init(&r->slot, &r->emu.flash, SLOT_OFF, SLOT_SIZE, true), 0);
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    mpota_sha256_t h;
    mpota_sha256_start(&h);
    mpota_sha256_update(&h, p, n);
    mpota_sha256_finish(&h, out);
}

// Flashes file (+ what follows it on flash) and checks the digest and length.
static void check_flashed(const uint8_t *file, size_t len, const uint8_t *after, size_t after_len)
{
    struct rig r;
    rig_open(&r);
    assert_int_equal(mpota_flash_emu_load(&r.emu, SLOT_OFF, file, len), 0);
    if (after_len) {
        assert_int_equal(mpota_flash_emu_load(&r.emu, SLOT_OFF + (uint32_t)len, after, after_len), 0);
    }
    uint8_t got[32], want[32];
    uint32_t got_len = 0;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_image_digest_area(&r.slot, MPOTA_CHIP_ANY, got, &got_len, &d), 0);
    sha256(file, len, want);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, want, 32);
    mpota_flash_emu_close(&r.emu);
}

static void test_unsigned_image_ends_at_its_hash(void **state)
{
    (void)state;
    struct mpota_app_spec s = {.chip_id = MPOTA_CHIP_ESP32, .total_size = 300000, .seed = 7};
    uint8_t *img;
    size_t len;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_image_build_app(&s, &img, &len, &d), 0);
    check_flashed(img, len, NULL, 0);
    // A stale app's bytes after it on flash are not part of the image.
    uint8_t junk[5000];
    memset(junk, 0x5A, sizeof(junk));
    check_flashed(img, len, junk, sizeof(junk));
    free(img);
}

static void test_signed_image_ends_after_its_sector(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/sbv2/rsa.bin", MPOTA_VECTORS_DIR);
    size_t len;
    uint8_t *file = mpota_host_read_file(path, &len);
    assert_non_null(file);
    assert_int_equal(len % 4096, 0);  // espsecure's file: padded image + sector
    check_flashed(file, len, NULL, 0);
    free(file);
}

static void test_broken_image_is_refused(void **state)
{
    (void)state;
    struct mpota_app_spec s = {.chip_id = MPOTA_CHIP_ESP32, .total_size = 100000, .seed = 9};
    uint8_t *img;
    size_t len;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_image_build_app(&s, &img, &len, &d), 0);
    img[len / 2] ^= 1;
    struct rig r;
    rig_open(&r);
    assert_int_equal(mpota_flash_emu_load(&r.emu, SLOT_OFF, img, len), 0);
    uint8_t got[32];
    uint32_t got_len = 0;
    int err = mpota_image_digest_area(&r.slot, MPOTA_CHIP_ANY, got, &got_len, &d);
    assert_true(err == MPOTA_ERR_IMAGE_CHECKSUM || err == MPOTA_ERR_IMAGE_HASH);
    // Another chip's image is refused too.
    img[len / 2] ^= 1;
    assert_int_equal(mpota_flash_emu_load(&r.emu, SLOT_OFF, img, len), 0);
    assert_int_equal(mpota_image_digest_area(&r.slot, MPOTA_CHIP_ESP32S3, got, &got_len, &d),
                     MPOTA_ERR_IMAGE_CHIP);
    mpota_flash_emu_close(&r.emu);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsigned_image_ends_at_its_hash),
        cmocka_unit_test(test_signed_image_ends_after_its_sector),
        cmocka_unit_test(test_broken_image_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
