// Bootloader-style verification of an app image on flash (SPEC §4.9): what the
// (emulated) bootloader runs to decide whether a slot boots. The image is read
// through a small stack buffer and fed to the push parser, so the check costs
// the same memory for a 64 KiB test image as for a 2 MB MicroPython build.
#include "mpota/flash.h"
#include "mpota/image.h"
#include "mpota/sig.h"

// Small enough for a bootloader-sized stack; big enough that a 2 MB image is
// not read in thousands of tiny flash transactions.
#define VERIFY_CHUNK 256u

// Reads the slot through the started parser p until the image is complete or
// the first problem.
static int read_and_check(mpota_image_parser_t *p, const struct mpota_area *slot,
                          struct mpota_diag *d)
{
    uint8_t buf[VERIFY_CHUNK];
    uint32_t off = 0;

    while (!mpota_image_parser_complete(p)) {
        // Stop as soon as the headers show the image cannot fit: no need to
        // read the rest of a slot to know (SPEC §4.9 step 8). While the image
        // is incomplete need > off, so this also ends the loop at the slot end.
        uint32_t need = mpota_image_parser_min_len(p);
        if (need > slot->size) {
            return mpota_diag_set(d, MPOTA_ERR_IMAGE_TOO_BIG, 0, slot->size, need);
        }
        // Read no further than the image can end: once every segment header
        // is in, need is exact and nothing past the image is read.
        uint32_t n = need - off;
        if (n > VERIFY_CHUNK) {
            n = VERIFY_CHUNK;
        }
        int err = mpota_area_read(slot, off, buf, n);
        if (err) {
            return mpota_diag_set(d, err, slot->off + off, slot->flash->size, 0);
        }
        off += n;
        // Like the bootloader, give up at the first problem.
        err = mpota_image_parser_push(p, buf, n, d);
        if (err) {
            return err;
        }
    }
    // The rest of the one check: complete, valid, with its app description.
    static const struct mpota_update_check whole = {.whole = true};
    return mpota_image_check_pushed(p, &whole, d);
}

int mpota_image_verify_area(const struct mpota_area *slot, uint16_t expected_chip,
                            struct mpota_image_info *info, struct mpota_diag *d)
{
    if (!slot || !slot->flash) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
    }
    // SPEC §4.9 step 1: ESP32-class caches address at most 16 MiB per partition.
    if (slot->size > MPOTA_IMAGE_MAX_PARTITION) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, MPOTA_IMAGE_MAX_PARTITION,
                              slot->size);
    }
    mpota_image_parser_t p;
    mpota_image_parser_init(&p, expected_chip, slot->off, info);
    int err = read_and_check(&p, slot, d);
    mpota_image_parser_release(&p);
    return err;
}

// Pushes [from, to) of the slot into p (bytes after a complete image count
// as trailing: they reach only the stream digest).
static int push_range(mpota_image_parser_t *p, const struct mpota_area *slot, uint32_t from,
                      uint32_t to, struct mpota_diag *d)
{
    uint8_t buf[VERIFY_CHUNK];
    while (from < to) {
        uint32_t n = to - from < VERIFY_CHUNK ? to - from : VERIFY_CHUNK;
        int err = mpota_area_read(slot, from, buf, n);
        if (err) {
            return mpota_diag_set(d, err, slot->off + from, slot->flash->size, 0);
        }
        mpota_image_parser_push(p, buf, n, d);
        from += n;
    }
    return MPOTA_OK;
}

// Where a signed image's file ends: after its signature sector, when the
// sector starts with a block's magic and lies inside the slot.
static uint32_t flashed_len(const struct mpota_area *slot, uint32_t image_len)
{
    uint32_t sector = mpota_sig_sector_offset(image_len);
    uint8_t magic = 0;
    if (sector + MPOTA_SIG_SECTOR_SIZE > slot->size ||
        mpota_area_read(slot, sector, &magic, 1) != 0 || magic != MPOTA_SIG_BLOCK_MAGIC) {
        return image_len;
    }
    return sector + MPOTA_SIG_SECTOR_SIZE;
}

int mpota_image_digest_area(const struct mpota_area *slot, uint16_t expected_chip,
                            uint8_t sha256[MPOTA_IMAGE_HASH_LEN], uint32_t *len,
                            struct mpota_diag *d)
{
    if (!slot || !slot->flash || !sha256 || !len) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
    }
    if (slot->size > MPOTA_IMAGE_MAX_PARTITION) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, MPOTA_IMAGE_MAX_PARTITION,
                              slot->size);
    }
    mpota_image_parser_t p;
    mpota_image_parser_init(&p, expected_chip, slot->off, NULL);  // no info: a small stack
    int err = read_and_check(&p, slot, d);
    if (!err) {
        uint32_t image_len = mpota_image_parser_min_len(&p);  // exact once complete
        *len = flashed_len(slot, image_len);
        err = push_range(&p, slot, image_len, *len, d);
    }
    if (!err) {
        mpota_image_parser_stream_digest(&p, sha256);
    }
    mpota_image_parser_release(&p);
    return err;
}
