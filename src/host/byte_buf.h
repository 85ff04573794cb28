// A growable byte buffer for host code whose output size is known only at
// the end (delta patches and their compressors). A failed allocation is
// sticky: later appends do nothing and `failed` stays set, so a builder
// appends freely and checks once at the end.
#ifndef MPOTA_BYTE_BUF_H
#define MPOTA_BYTE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mpota_buf {
    uint8_t *p;   // malloc'd; NULL while empty
    size_t len;   // bytes held
    size_t cap;   // bytes allocated
    bool failed;  // an allocation failed: the contents are incomplete
};

// Makes room for `more` bytes after len. false (and failed set) on no memory.
bool mpota_buf_reserve(struct mpota_buf *b, size_t more);

// Appends n bytes (p may be NULL when n is 0).
void mpota_buf_put(struct mpota_buf *b, const void *p, size_t n);

void mpota_buf_byte(struct mpota_buf *b, uint8_t c);

// Frees the bytes and zeroes b.
void mpota_buf_free(struct mpota_buf *b);

#endif
