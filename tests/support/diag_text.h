// A struct mpota_diag as the sentence users see (mpota_host_diag_format), for
// cmocka tests that check refusals by their text.
#ifndef MPOTA_DIAG_TEXT_H
#define MPOTA_DIAG_TEXT_H

#include <string.h>

#include "mpota/err.h"

// The text of *d, in a static buffer of 1 KiB that the next call overwrites.
const char *diag_text(const struct mpota_diag *d);

// Fails the test (at the caller's line) unless the text of *d contains needle.
#define assert_text(d, needle)                                          \
    do {                                                                \
        const char *t_ = diag_text(d);                                  \
        if (!strstr(t_, (needle))) {                                    \
            fail_msg("diag text \"%s\" lacks \"%s\"", t_, (needle));    \
        }                                                               \
    } while (0)

#endif
