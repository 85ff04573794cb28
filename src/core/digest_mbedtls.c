// hash.h on mbedTLS: the host's libmbedcrypto, the twin's (MicroPython's
// lib/mbedtls, which its tls module uses), or ESP-IDF's mbedTLS on a
// device, where SHA-256 runs on the chip's engine and a running context holds
// engine state. Hence clone (never copy) and free (release the engine).
// The *_ret variants exist in mbedTLS 2.x (Debian 12, ESP-IDF 4.x); mbedTLS 3
// (ESP-IDF 5, the twin) renamed them to the plain names.
#include <stdbool.h>

#include <mbedtls/md5.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "mpota/hash.h"

#if MBEDTLS_VERSION_MAJOR >= 3
#define SHA256_START(c) mbedtls_sha256_starts((c), 0)
#define SHA256_UPDATE mbedtls_sha256_update
#define SHA256_FINISH mbedtls_sha256_finish
#define MD5_START mbedtls_md5_starts
#define MD5_UPDATE mbedtls_md5_update
#define MD5_FINISH mbedtls_md5_finish
#else
#define SHA256_START(c) mbedtls_sha256_starts_ret((c), 0)
#define SHA256_UPDATE mbedtls_sha256_update_ret
#define SHA256_FINISH mbedtls_sha256_finish_ret
#define MD5_START mbedtls_md5_starts_ret
#define MD5_UPDATE mbedtls_md5_update_ret
#define MD5_FINISH mbedtls_md5_finish_ret
#endif

// What the opaque storage holds. The checked build adds the context's own
// address (a copy made with = or memcpy sits elsewhere, so using it traps)
// and whether it is running.
struct sha256_box {
    mbedtls_sha256_context c;
#ifdef MPOTA_HASH_CHECKED
    const void *self;
    uint32_t state;
#endif
};

struct md5_box {
    mbedtls_md5_context c;
#ifdef MPOTA_HASH_CHECKED
    const void *self;
    uint32_t state;
#endif
};

_Static_assert(sizeof(struct sha256_box) <= MPOTA_SHA256_CTX_SIZE,
              "MPOTA_SHA256_CTX_SIZE is too small for this mbedTLS");
_Static_assert(sizeof(struct md5_box) <= MPOTA_MD5_CTX_SIZE,
              "MPOTA_MD5_CTX_SIZE is too small for this mbedTLS");

#define SHA(h) ((struct sha256_box *)(void *)(h)->opaque.bytes)
#define MD5(h) ((struct md5_box *)(void *)(h)->opaque.bytes)

#ifdef MPOTA_HASH_CHECKED
// Unlikely patterns, so stale or uninitialised memory is not taken for a
// running context.
#define RUNNING 0x5A5A0001u
#define ENDED 0x5A5A0002u

// Test builds only: one counter for the whole process (the device build has
// no static RAM).
static long live;

long mpota_hash_checked_live(void)
{
    return live;
}

// __builtin_trap, not abort(): the core links no process control.
#define CHECK(cond) ((cond) ? (void)0 : __builtin_trap())
#define IS_RUNNING(b, h) ((b)->self == (const void *)(h) && (b)->state == RUNNING)
#define MARK_STARTED(b, h)                                                                        \
    do {                                                                                          \
        CHECK(!IS_RUNNING(b, h)); /* restarting a running context would leak it */              \
        (b)->self = (h);                                                                          \
        (b)->state = RUNNING;                                                                     \
        live++;                                                                                   \
    } while (0)
#define MARK_USED(b, h) CHECK(IS_RUNNING(b, h))
#define MARK_ENDED(b, h)                                                                          \
    do {                                                                                          \
        (b)->state = ENDED;                                                                       \
        live--;                                                                                   \
    } while (0)
// free() on a running context ends it; on anything else (zeroed, ended,
// freed) it is a no-op, but a copy of a running context is still caught.
#define RUNNING_FOR_FREE(b, h)                                                                    \
    ((b)->state == RUNNING ? (CHECK((b)->self == (const void *)(h)), true) : false)
#else
#define MARK_STARTED(b, h) ((void)0)
#define MARK_USED(b, h) ((void)0)
#define MARK_ENDED(b, h) ((void)0)
#define RUNNING_FOR_FREE(b, h) true
#endif

void mpota_sha256_start(mpota_sha256_t *h)
{
    struct sha256_box *b = SHA(h);
    MARK_STARTED(b, h);
    mbedtls_sha256_init(&b->c);
    (void)SHA256_START(&b->c);
}

void mpota_sha256_update(mpota_sha256_t *h, const void *data, size_t len)
{
    struct sha256_box *b = SHA(h);
    MARK_USED(b, h);
    (void)SHA256_UPDATE(&b->c, (const unsigned char *)data, len);
}

void mpota_sha256_finish(mpota_sha256_t *h, uint8_t out[MPOTA_SHA256_LEN])
{
    struct sha256_box *b = SHA(h);
    MARK_USED(b, h);
    (void)SHA256_FINISH(&b->c, out);
    mbedtls_sha256_free(&b->c);
    MARK_ENDED(b, h);
}

void mpota_sha256_clone(mpota_sha256_t *dst, const mpota_sha256_t *src)
{
    struct sha256_box *d = SHA(dst);
    const struct sha256_box *s = (const struct sha256_box *)(const void *)src->opaque.bytes;
    MARK_USED(s, src);
    MARK_STARTED(d, dst);
    // On ESP32 this reads the engine's state into dst, which then runs in
    // software; src keeps the engine.
    mbedtls_sha256_init(&d->c);
    mbedtls_sha256_clone(&d->c, &s->c);
}

void mpota_sha256_free(mpota_sha256_t *h)
{
    struct sha256_box *b = SHA(h);
    if (RUNNING_FOR_FREE(b, h)) {
        mbedtls_sha256_free(&b->c);
        MARK_ENDED(b, h);
    }
}

void mpota_md5_start(mpota_md5_t *h)
{
    struct md5_box *b = MD5(h);
    MARK_STARTED(b, h);
    mbedtls_md5_init(&b->c);
    (void)MD5_START(&b->c);
}

void mpota_md5_update(mpota_md5_t *h, const void *data, size_t len)
{
    struct md5_box *b = MD5(h);
    MARK_USED(b, h);
    (void)MD5_UPDATE(&b->c, (const unsigned char *)data, len);
}

void mpota_md5_finish(mpota_md5_t *h, uint8_t out[MPOTA_MD5_LEN])
{
    struct md5_box *b = MD5(h);
    MARK_USED(b, h);
    (void)MD5_FINISH(&b->c, out);
    mbedtls_md5_free(&b->c);
    MARK_ENDED(b, h);
}

void mpota_md5_free(mpota_md5_t *h)
{
    struct md5_box *b = MD5(h);
    if (RUNNING_FOR_FREE(b, h)) {
        mbedtls_md5_free(&b->c);
        MARK_ENDED(b, h);
    }
}
