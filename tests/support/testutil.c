#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "host_file.h"

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

void skip_for_missing_testdata(void)
{
    print_message("SKIPPED: shared/testdata not found at %s\n", testdata_path(""));
    skip();
}

void skip_without_testdata(void)
{
    if (!testdata_present()) {
        skip_for_missing_testdata();
    }
}

uint8_t *testdata_load(const char *rel, size_t *len)
{
    uint8_t *data = mpota_host_read_file(testdata_path(rel), len);
    if (!data) {
        fail_msg("cannot read %s", testdata_path(rel));
    }
    return data;
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

uint8_t *vector_load(const char *dir, const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s/%s", MPOTA_VECTORS_DIR, dir, name);
    uint8_t *data = mpota_host_read_file(path, len);
    if (!data) {
        fail_msg("cannot read %s", path);
    }
    return data;
}
