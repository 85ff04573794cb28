// libFuzzer target: the detools patch applier (delta.h) on arbitrary patches
// against a fixed 40,000-byte base on a read-only area. The first input byte
// picks the piece size the patch is pushed in. Seeds: detools' own patches
// (tests/vectors/detools). Properties checked (abort on violation):
// * the sink never gets more than the header's image size, nor more than
//   to_max, and what it got is the applier's to_pos;
// * the applier returns only its documented codes, and a failure is sticky;
// * a patch that finishes cleanly made exactly its image size;
// * the base is never written (the area is read-only, and its bytes are
//   compared after every run).
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flash_emu.h"
#include "mpota/delta.h"

#define FLASH (256u << 10)
#define BASE 40000u
#define TO_MAX 0x20000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool documented(int rc)
{
    return rc == MPOTA_OK || (rc <= MPOTA_ERR_DELTA_HEADER && rc >= MPOTA_ERR_DELTA_BASE) ||
           rc == MPOTA_ERR_EXPECT_LENGTH;
}

static uint64_t made;

static int sink(void *ctx, const uint8_t *p, uint32_t n)
{
    (void)ctx;
    (void)p;
    made += n;
    if (made > TO_MAX) {
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mpota_flash_emu emu;
    static uint8_t base[BASE];
    static uint8_t window[4096];
    if (!emu.mem) {
        if (mpota_flash_emu_open_ram(&emu, FLASH)) {
            abort();
        }
        for (uint32_t i = 0; i < BASE; i++) {
            base[i] = (uint8_t)(i * 7 + (i >> 9));
        }
        mpota_flash_emu_load(&emu, 0, base, BASE);
    }
    if (size < 1) {
        return 0;
    }
    size_t piece = 1 + data[0] % 64;
    data++;
    size--;
    struct mpota_area from;
    mpota_area_init(&from, &emu.flash, 0, FLASH, true);
    const struct mpota_delta_cfg cfg = {.from = &from, .from_len = BASE,
                                        .patch_len = (uint32_t)size, .to_max = TO_MAX,
                                        .window = window, .window_size = sizeof(window),
                                        .sink = sink};
    static mpota_delta_t d;
    made = 0;
    int rc = mpota_delta_begin(&d, &cfg);
    for (size_t i = 0; i < size && !rc; i += piece) {
        rc = mpota_delta_push(&d, data + i, (uint32_t)(size - i < piece ? size - i : piece));
    }
    rc = rc ? rc : mpota_delta_finish(&d);
    if (!documented(rc) || made > mpota_delta_to_size(&d) || made != d.to_pos - (rc ? d.out_len : 0)) {
        abort();
    }
    if (rc && mpota_delta_push(&d, data, size ? 1 : 0) != rc && size) {
        abort();
    }
    if (!rc && made != mpota_delta_to_size(&d)) {
        abort();
    }
    if (memcmp(emu.mem, base, BASE) != 0) {
        abort();
    }
    return 0;
}
