// Growable byte buffer (byte_buf.h).
#include "byte_buf.h"

#include <stdlib.h>
#include <string.h>

bool mpota_buf_reserve(struct mpota_buf *b, size_t more)
{
    if (b->failed || more > SIZE_MAX - b->len) {
        b->failed = true;
        return false;
    }
    if (b->len + more <= b->cap) {
        return true;
    }
    // Doubling keeps appending a byte at a time linear overall.
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more) {
        cap = cap > SIZE_MAX / 2 ? b->len + more : cap * 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void mpota_buf_put(struct mpota_buf *b, const void *p, size_t n)
{
    if (n && mpota_buf_reserve(b, n)) {
        memcpy(b->p + b->len, p, n);
        b->len += n;
    }
}

void mpota_buf_byte(struct mpota_buf *b, uint8_t c)
{
    if (b->len < b->cap && !b->failed) {
        b->p[b->len++] = c;
    } else {
        mpota_buf_put(b, &c, 1);
    }
}

void mpota_buf_free(struct mpota_buf *b)
{
    free(b->p);
    *b = (struct mpota_buf){0};
}
