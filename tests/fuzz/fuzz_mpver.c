// libFuzzer target: the MicroPython version scanner (mpver.h) on random bytes.
// Properties checked (abort on violation):
// * the answer does not depend on how the input is split into chunks: byte
//   by byte, in one push, and at a split point taken from the input agree;
// * the version is NUL-terminated, at most MPOTA_MPVER_MAX chars, starts
//   with a digit and holds only version characters.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpota/mpver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mpota_mpver_scan_t whole, bytes, split;
    mpota_mpver_init(&whole);
    mpota_mpver_push(&whole, data, size);
    mpota_mpver_init(&bytes);
    for (size_t i = 0; i < size; i++) {
        mpota_mpver_push(&bytes, data + i, 1);
    }
    size_t at = size ? data[0] % (size + 1) : 0;
    mpota_mpver_init(&split);
    mpota_mpver_push(&split, data, at);
    mpota_mpver_push(&split, data + at, size - at);
    const char *v = mpota_mpver_version(&whole);
    if (strcmp(v, mpota_mpver_version(&bytes)) != 0 ||
        strcmp(v, mpota_mpver_version(&split)) != 0 ||
        mpota_mpver_done(&whole) != mpota_mpver_done(&bytes)) {
        abort();
    }
    const char *nul = memchr(v, '\0', MPOTA_MPVER_MAX + 1);
    if (!nul) {
        abort();  // not NUL-terminated within its room
    }
    size_t n = (size_t)(nul - v);
    if (n > MPOTA_MPVER_MAX || (n && !(v[0] >= '0' && v[0] <= '9'))) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '-' || c == '+' || c == '_')) {
            abort();
        }
    }
    return 0;
}
