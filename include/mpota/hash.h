// The hashes the core needs, behind one small interface so a port can swap the
// implementation (ESP32 hardware SHA via ESP-IDF's mbedTLS) without touching
// the callers. Public because caller-owned structs (the image parser, the
// update session) embed the contexts and callers must know their size.
// Contexts are plain structs owned by the caller; nothing to free.
#ifndef MPOTA_HASH_H
#define MPOTA_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/md5.h>
#include <mbedtls/sha256.h>

#define MPOTA_SHA256_LEN 32u
#define MPOTA_MD5_LEN 16u

typedef struct {
    mbedtls_sha256_context ctx;
} mpota_sha256_t;

typedef struct {
    mbedtls_md5_context ctx;
} mpota_md5_t;

void mpota_sha256_start(mpota_sha256_t *h);
void mpota_sha256_update(mpota_sha256_t *h, const void *data, size_t len);
void mpota_sha256_finish(mpota_sha256_t *h, uint8_t out[MPOTA_SHA256_LEN]);

void mpota_md5_start(mpota_md5_t *h);
void mpota_md5_update(mpota_md5_t *h, const void *data, size_t len);
void mpota_md5_finish(mpota_md5_t *h, uint8_t out[MPOTA_MD5_LEN]);

#endif
