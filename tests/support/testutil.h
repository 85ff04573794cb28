// Helpers shared by the unit tests: reading shared/testdata files and a
// deterministic random generator for property tests.
#ifndef MPOTA_TESTUTIL_H
#define MPOTA_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Full path of a file under shared/testdata (static buffer; copy if kept).
const char *testdata_path(const char *rel);

// True if shared/testdata exists. Tests that need it call skip() with a
// message "SKIPPED: shared/testdata not found at ..." when it is absent.
bool testdata_present(void);

// (whole files: mpota_host_read_file in src/host/host_file.h)

// xorshift64*: deterministic, seeded per test so failures reproduce.
uint64_t rng_next(uint64_t *state);
uint32_t rng_below(uint64_t *state, uint32_t bound);

#endif
