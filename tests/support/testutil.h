// Helpers shared by the unit tests: reading shared/testdata files and a
// deterministic random generator for property tests.
#ifndef MPOTA_TESTUTIL_H
#define MPOTA_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Full path of a file under shared/testdata (static buffer; copy if kept).
const char *testdata_path(const char *rel);

// True if shared/testdata exists.
bool testdata_present(void);

// For a cmocka test that needs shared/testdata: prints "SKIPPED:
// shared/testdata not found at <dir>/" and skips the running test (cmocka's
// skip() does not return). Call it from the test, not from a fixture.
void skip_for_missing_testdata(void);

// skip_for_missing_testdata() if shared/testdata is absent; else returns.
void skip_without_testdata(void);

// Reads shared/testdata/<rel> whole (caller frees); fails the running cmocka
// test with "cannot read <path>" if it cannot. *len gets the size.
uint8_t *testdata_load(const char *rel, size_t *len);

// Reads tests/vectors/<dir>/<name> whole (caller frees), as testdata_load.
uint8_t *vector_load(const char *dir, const char *name, size_t *len);

// (whole files: mpota_host_read_file in src/host/host_file.h)

// xorshift64*: deterministic, seeded per test so failures reproduce.
uint64_t rng_next(uint64_t *state);
uint32_t rng_below(uint64_t *state, uint32_t bound);

#endif
