// The esptool-style report (src/host/image_report.c): it must agree line for
// line with what esptool v4.12 `image_info --version 2` printed for the
// reference images, and print the other variants the way esptool does.
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host_file.h"
#include "image_build.h"
#include "image_report.h"
#include "mpota/image.h"
#include "testutil.h"

// Runs the report on buf into a malloc'd string.
static char *report(const uint8_t *buf, size_t len, int *result)
{
    char *text = NULL;
    size_t text_len = 0;
    FILE *f = open_memstream(&text, &text_len);
    assert_non_null(f);
    int r = mpota_image_report_buffer(f, buf, len, NULL);
    if (result) {
        *result = r;
    }
    fclose(f);
    return text;
}

// Next line of *p (without the newline) into line; false at the end.
static bool next_line(const char **p, char *line, size_t cap)
{
    if (!**p) {
        return false;
    }
    const char *nl = strchr(*p, '\n');
    size_t n = nl ? (size_t)(nl - *p) : strlen(*p);
    assert_true(n < cap);
    memcpy(line, *p, n);
    line[n] = '\0';
    *p += n + (nl ? 1 : 0);
    return true;
}

static void compare_with_esptool(const char *bin, const char *txt)
{
    skip_without_testdata();
    size_t len, want_len;
    uint8_t *img = mpota_host_read_file(testdata_path(bin), &len);
    char *want = (char *)mpota_host_read_file(testdata_path(txt), &want_len);
    assert_non_null(img);
    assert_non_null(want);
    want = realloc(want, want_len + 1);
    want[want_len] = '\0';
    int r;
    char *got = report(img, len, &r);
    assert_int_equal(r, 0);

    const char *pw = want, *pg = got;
    char lw[256], lg[256];
    assert_true(next_line(&pw, lw, sizeof(lw)));
    assert_non_null(strstr(lw, "esptool.py v"));  // esptool's own banner: not ours to print
    int n = 0;
    while (next_line(&pw, lw, sizeof(lw))) {
        n++;
        if (!next_line(&pg, lg, sizeof(lg))) {
            fail_msg("%s: report ends before esptool line %d: '%s'", bin, n + 1, lw);
        }
        if (strcmp(lw, lg) != 0) {
            fail_msg("%s line %d:\n  esptool: '%s'\n  mpota:   '%s'", bin, n + 1, lw, lg);
        }
    }
    assert_false(next_line(&pg, lg, sizeof(lg)));  // nothing extra either
    assert_true(n >= 40);
    free(got);
    free(want);
    free(img);
}

static void test_matches_esptool_v1(void **state)
{
    (void)state;
    compare_with_esptool("images/app-v1.0.1.bin", "images/app-v1.0.1.esptool-image-info.txt");
}

static void test_matches_esptool_v2(void **state)
{
    (void)state;
    compare_with_esptool("images/app-v2.0.0-ota.bin",
                         "images/app-v2.0.0-ota.esptool-image-info.txt");
}

static void test_bootloader_report(void **state)
{
    (void)state;
    struct mpota_bootloader_spec bs = {.chip_id = MPOTA_CHIP_ESP32C3, .version = 7,
                                       .idf_ver = "v5.3.1", .date_time = "Feb  2 2025 01:02:03"};
    uint8_t *bl;
    size_t len;
    assert_int_equal(mpota_image_build_bootloader(&bs, &bl, &len, NULL), 0);
    char *t = report(bl, len, NULL);
    assert_non_null(strstr(t, "ESP32-C3 image header\n=====================\n"));
    assert_non_null(strstr(t, "Chip ID: 5 (ESP32-C3)\n"));
    assert_non_null(strstr(t, "Maximal chip revision: v1.99\n"));
    assert_non_null(strstr(t, "      0  0x"));
    assert_non_null(strstr(t, "0x3fcd5000  0x00000018  DRAM, BYTE_ACCESSIBLE\n"));
    assert_non_null(strstr(t, "\nBootloader information\n======================\n"
                              "Bootloader version: 7\nESP-IDF: v5.3.1\n"
                              "Compile time: Feb  2 2025 01:02:03\n"));
    assert_null(strstr(t, "Application information"));
    free(t);
    free(bl);
}

static void test_variants(void **state)
{
    (void)state;
    struct mpota_app_spec s = {.chip_id = MPOTA_CHIP_ESP32S3, .total_size = 0x48000,
                               .no_hash = true, .version = "v1.2.3"};
    uint8_t *img;
    size_t len;
    assert_int_equal(mpota_image_build_app(&s, &img, &len, NULL), 0);
    char *t = report(img, len, NULL);
    assert_non_null(strstr(t, "File size: 294912 (bytes)\n\nESP32-S3 image header\n"));
    assert_non_null(strstr(t, "ESP32-S3 extended image header\n"
                              "==============================\n"));
    assert_non_null(strstr(t, "0x3c000020  0x00000018  DROM\n"));
    assert_non_null(strstr(t, "BYTE_ACCESSIBLE, MEM_INTERNAL, DRAM\n"));
    assert_non_null(strstr(t, "0x42000020"));
    assert_null(strstr(t, "Validation hash"));  // no digest appended
    assert_non_null(strstr(t, "App version: v1.2.3\n"));
    free(t);

    // Changed header fields (entry 0, odd flash size/mode, pin drives, wp pin)
    // and a wrong checksum; parse errors do not stop the report.
    img[4] = img[5] = img[6] = img[7] = 0;
    img[2] = 4;                       // FAST_READ: no esptool name
    img[3] = 0x8F;                    // size code 8, 80m
    img[8] = 5;
    img[9] = 0x21;
    img[10] = 0x43;
    img[11] = 0x65;
    img[15] = 1;                      // min rev v0.1 ...
    img[14] = 3;                      // legacy 3
    uint32_t cks = (uint32_t)len - 1;  // no hash: the checksum is the last byte
    img[cks] ^= 0x0F;
    int r;
    t = report(img, len, &r);
    assert_int_equal(r, MPOTA_ERR_IMAGE_CHECKSUM);
    assert_non_null(strstr(t, "Entry point not set\n"));
    assert_non_null(strstr(t, "WARNING: Invalid flash size (0x80)\n"));
    assert_non_null(strstr(t, "Flash freq: 80m\n"));
    assert_non_null(strstr(t, "WARNING: Invalid flash mode (4)\n"));
    assert_non_null(strstr(t, "WP pin: 0x5\n"));
    assert_non_null(strstr(t, "clk_drv: 0x1, q_drv: 0x2, d_drv: 0x3, cs0_drv: 0x4, "
                              "hd_drv: 0x5, wp_drv: 0x6\n"));
    assert_non_null(strstr(t, "Minimal chip revision: v0.1, (legacy min_rev = 3)\n"));
    char line[80];
    snprintf(line, sizeof(line), "Checksum: 0x%02x (invalid - calculated 0x%02x)\n", img[cks],
             img[cks] ^ 0x0F);
    assert_non_null(strstr(t, line));
    free(t);

    // Truncated: the header and segments read so far, no footer.
    t = report(img, 0x100, &r);
    assert_int_equal(r, MPOTA_ERR_IMAGE_TRUNCATED);
    assert_non_null(strstr(t, "File size: 256 (bytes)\n"));
    assert_non_null(strstr(t, "Segments: 1\n"));
    assert_null(strstr(t, "image footer"));
    free(t);

    // Not an image at all: the size line only.
    uint8_t junk[16] = {0x12};
    t = report(junk, sizeof(junk), &r);
    assert_int_equal(r, MPOTA_ERR_IMAGE_MAGIC);
    assert_string_equal(t, "File size: 16 (bytes)\n");
    free(t);
    free(img);
}

static void test_mmu_page_and_hash_invalid(void **state)
{
    (void)state;
    skip_without_testdata();
    size_t len;
    uint8_t *img = mpota_host_read_file(testdata_path("images/app-v1.0.1.bin"), &len);
    assert_non_null(img);
    img[0x20 + 180] = 16;  // mmu_page_size: 64 KB (the hash no longer matches)
    int r;
    char *t = report(img, len, &r);
    assert_int_equal(r, MPOTA_ERR_IMAGE_CHECKSUM);  // the byte is segment data
    assert_non_null(strstr(t, "MMU page size: 64 KB\nSecure version: 0\n"));
    assert_non_null(strstr(t, " (invalid)\n"));
    free(t);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_esptool_v1),
        cmocka_unit_test(test_matches_esptool_v2),
        cmocka_unit_test(test_bootloader_report),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_mmu_page_and_hash_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
