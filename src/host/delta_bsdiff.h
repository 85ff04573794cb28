// Colin Percival's bsdiff search (issue 13, host only): the instructions
// that turn OLD into NEW, as detools' sequential patches carry them. Each
// triple makes diff_len bytes of NEW by adding diff bytes to as many OLD
// bytes, then copies extra_len bytes, then moves the OLD position by adjust.
// The OLD position starts at 0 and the triples make NEW from its first byte
// to its last. Matches are found in a suffix array of OLD made by
// libdivsufsort.
#ifndef MPOTA_DELTA_BSDIFF_H
#define MPOTA_DELTA_BSDIFF_H

#include <stddef.h>
#include <stdint.h>

struct mpota_delta_triple {
    uint32_t diff_len;   // NEW bytes made from OLD bytes plus diff bytes
    uint32_t extra_len;  // NEW bytes copied as they are
    int64_t adjust;      // added to the OLD position after the diff
};

struct mpota_delta_triples {
    struct mpota_delta_triple *t;  // malloc'd
    size_t n, cap;
};

// The largest OLD or NEW: libdivsufsort's positions are 32-bit signed.
#define MPOTA_DELTA_BSDIFF_MAX_LEN ((size_t)INT32_MAX)

// Finds the triples that turn old[0..old_len) into new_[0..new_len) into
// out (zeroed or freed before). An empty NEW gives no triple. Returns 0,
// MPOTA_ERR_INVALID_ARG (a length above MPOTA_DELTA_BSDIFF_MAX_LEN) or
// MPOTA_ERR_NO_SPACE (no memory); on error out holds nothing.
int mpota_delta_bsdiff(const uint8_t *old, size_t old_len, const uint8_t *new_, size_t new_len,
                       struct mpota_delta_triples *out);

void mpota_delta_triples_free(struct mpota_delta_triples *t);

#endif
