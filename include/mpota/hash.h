// The hashes the core needs, behind one small interface so a port can swap the
// implementation (ESP32 hardware SHA via ESP-IDF's mbedTLS) without touching
// the callers. Public because caller-owned structs (the image parser, the
// update session) embed the contexts and callers must know their size; the
// contexts are opaque storage, so no mbedTLS header leaks into the API.
//
// Rules, as ESP-IDF's hardware-backed mbedTLS needs them (on a classic ESP32
// a running SHA context owns the SHA engine's state):
// * A context is never copied by assignment or memcpy: copy a running hash
//   with mpota_sha256_clone().
// * A started context ends with finish() or free(); both release it (and the
//   engine). free() on a zeroed, finished or freed context does nothing.
// Build with MPOTA_HASH_CHECKED (the test builds do) to trap any break of
// these rules: each context remembers its own address and its state.
#ifndef MPOTA_HASH_H
#define MPOTA_HASH_H

#include <stddef.h>
#include <stdint.h>

#define MPOTA_SHA256_LEN 32u
#define MPOTA_MD5_LEN 16u

// Room for the backend's context; the backend checks at compile time that
// its context fits (mbedTLS 2/3 software: 108 / 88 B; ESP-IDF's ESP32 SHA
// engine context: about 120 B; ROM MD5: 88 B). A port may override.
#ifndef MPOTA_SHA256_CTX_SIZE
#define MPOTA_SHA256_CTX_SIZE 128u
#endif
#ifndef MPOTA_MD5_CTX_SIZE
#define MPOTA_MD5_CTX_SIZE 104u
#endif

typedef struct {
    union {
        uint64_t align_u64;
        void *align_ptr;
        unsigned char bytes[MPOTA_SHA256_CTX_SIZE];
    } opaque;
} mpota_sha256_t;

typedef struct {
    union {
        uint64_t align_u64;
        void *align_ptr;
        unsigned char bytes[MPOTA_MD5_CTX_SIZE];
    } opaque;
} mpota_md5_t;

void mpota_sha256_start(mpota_sha256_t *h);
void mpota_sha256_update(mpota_sha256_t *h, const void *data, size_t len);
// Writes the digest and releases the context.
void mpota_sha256_finish(mpota_sha256_t *h, uint8_t out[MPOTA_SHA256_LEN]);
// dst (not running) becomes an independent running copy of src.
void mpota_sha256_clone(mpota_sha256_t *dst, const mpota_sha256_t *src);
// Releases a context without a digest (an abandoned hash).
void mpota_sha256_free(mpota_sha256_t *h);

void mpota_md5_start(mpota_md5_t *h);
void mpota_md5_update(mpota_md5_t *h, const void *data, size_t len);
void mpota_md5_finish(mpota_md5_t *h, uint8_t out[MPOTA_MD5_LEN]);
void mpota_md5_free(mpota_md5_t *h);

#ifdef MPOTA_HASH_CHECKED
// Contexts started or cloned and not yet finished or freed, in this process:
// tests assert it returns to 0 (a context left running holds the SHA engine
// on an ESP32).
long mpota_hash_checked_live(void);
#endif

#endif
