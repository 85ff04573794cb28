// libFuzzer target for the image code: the push parser under a chunking the
// input chooses (it must agree with one whole push, byte for byte, in result,
// details and info), its length bound, identify and the pre-flight head check,
// verification from a RAM flash, the app description decoder and the report.
//
// Input layout: byte 0 = chunking seed (0 = one byte at a time), the rest = the
// file. Seed it with real images: `fuzz_image corpus/ ../shared/testdata/images`.
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_report.h"
#include "mpota/flash.h"
#include "mpota/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ram_read(const struct mpota_flash *f, uint32_t addr, void *buf, uint32_t len)
{
    memcpy(buf, (const uint8_t *)f->ctx + addr, len);
    return 0;
}

static int no_prog(const struct mpota_flash *f, uint32_t addr, const void *buf, uint32_t len)
{
    (void)f, (void)addr, (void)buf, (void)len;
    abort();  // verification never writes
}

static int no_erase(const struct mpota_flash *f, uint32_t addr, uint32_t len)
{
    (void)f, (void)addr, (void)len;
    abort();
}

#define CHECK(c)                                                                              \
    do {                                                                                      \
        if (!(c)) {                                                                           \
            fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__);                    \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

static bool same_diag(const struct mpota_diag *a, const struct mpota_diag *b)
{
    return a->err == b->err && a->offset == b->offset && a->expected == b->expected &&
           a->actual == b->actual;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t seed = data[0];
    const uint8_t *img = data + 1;
    size_t len = size - 1;

    // One push.
    static struct mpota_image_info whole, chunked;
    struct mpota_diag dw = {0}, dc = {0};
    int rw = mpota_image_parse(img, len, MPOTA_CHIP_ESP32, &whole, &dw);
    CHECK(rw == dw.err);

    // Chunks chosen by the seed: sizes 1..(seed+1), cycling through a pattern.
    mpota_image_parser_t p;
    mpota_image_parser_init(&p, MPOTA_CHIP_ESP32, 0, &chunked);
    size_t off = 0, k = 0;
    while (off < len) {
        size_t n = seed == 0 ? 1 : 1 + ((k * 131u + seed) % ((size_t)seed * 4u + 1u));
        if (n > len - off) {
            n = len - off;
        }
        int r = mpota_image_parser_push(&p, img + off, n, NULL);
        off += n;
        k++;
        if (!r && !mpota_image_parser_complete(&p)) {
            // The bound never claims the image could already have ended.
            CHECK(mpota_image_parser_min_len(&p) > off);
        }
        (void)mpota_image_parser_events(&p);
    }
    int rc = mpota_image_parser_finish(&p, &dc);
    CHECK(rc == rw);
    CHECK(same_diag(&dw, &dc));
    CHECK(memcmp(&whole, &chunked, sizeof(whole)) == 0);
    if (rw == 0) {
        CHECK(whole.complete && whole.image_len <= len && whole.total_len == len);
    }

    // What is it; the head check never crashes and agrees on apps.
    struct mpota_image_ident id;
    mpota_image_identify(img, len, &id);
    CHECK(mpota_image_kind_name(id.kind) != NULL);
    struct mpota_diag dh = {0};
    int rh = mpota_image_check_head(img, len, MPOTA_CHIP_ANY, &dh);
    if (rh == 0 && len > 0) {
        CHECK(img[0] == MPOTA_IMAGE_MAGIC);
    }
    (void)mpota_image_check_head(img, len < 64 ? len : 64, MPOTA_CHIP_ESP32, &dh);

    // Bootloader-style verification from a flash holding the file; same verdict
    // as the whole parse when the image fits.
    if (len > 0 && len <= 0x100000) {
        struct mpota_flash fl = {(void *)img, ram_read, no_prog, no_erase,
                                 (uint32_t)len, 0x1000, 0x10000, 1};
        struct mpota_area a = {&fl, 0, (uint32_t)len, true};
        struct mpota_diag dv = {0};
        int rv = mpota_image_verify_area(&a, MPOTA_CHIP_ESP32, NULL, &dv);
        if (rw == 0) {
            CHECK(rv == 0 || rv == MPOTA_ERR_IMAGE_NO_APP_DESC);
        } else {
            CHECK(rv != 0);
        }
    }

    struct mpota_app_desc ad;
    (void)mpota_app_desc_decode(img, len, &ad);
    CHECK(ad.version[32] == 0 && ad.project_name[32] == 0 && ad.idf_ver[32] == 0);
    struct mpota_bootloader_desc bd;
    (void)mpota_bootloader_desc_decode(img, len, &bd);

    static FILE *devnull;
    if (!devnull) {
        devnull = fopen("/dev/null", "w");
    }
    if (devnull) {
        mpota_image_report_print(devnull, &whole);
    }
    return 0;
}
