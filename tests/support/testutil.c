#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

const char *testdata_path(const char *rel)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/%s", MPOTA_TESTDATA_DIR, rel);
    return path;
}

bool testdata_present(void)
{
    struct stat st;
    return stat(MPOTA_TESTDATA_DIR "/README.md", &st) == 0;
}

uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

uint32_t rng_below(uint64_t *state, uint32_t bound)
{
    return bound ? (uint32_t)(rng_next(state) % bound) : 0;
}
