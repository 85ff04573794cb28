// Byte order and small byte helpers: a leaf header (C standard headers
// only), shared by the core's format code and host tools.
#ifndef MPOTA_BYTES_H
#define MPOTA_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Little-endian loads and stores: every on-flash field is little-endian
// (SPEC §2-4), whatever the host's byte order.
static inline uint16_t mpota_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t mpota_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void mpota_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void mpota_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

// True when all n bytes at p are 0xFF (erased flash).
static inline bool mpota_all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0xFF) {
            return false;
        }
    }
    return true;
}

#endif
