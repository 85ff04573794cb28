// digest.h on mbedTLS. The *_ret variants exist in mbedTLS 2.x (Debian 12,
// ESP-IDF 4.x); mbedTLS 3 renamed them to the plain names.
#include "mpota/hash.h"

#include <mbedtls/version.h>

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

// The software contexts hold no pointers and no resources, so there is
// nothing to free; a context may be copied with memcpy mid-stream.

void mpota_sha256_start(mpota_sha256_t *h)
{
    mbedtls_sha256_init(&h->ctx);
    (void)SHA256_START(&h->ctx);
}

void mpota_sha256_update(mpota_sha256_t *h, const void *data, size_t len)
{
    (void)SHA256_UPDATE(&h->ctx, (const unsigned char *)data, len);
}

void mpota_sha256_finish(mpota_sha256_t *h, uint8_t out[MPOTA_SHA256_LEN])
{
    (void)SHA256_FINISH(&h->ctx, out);
}

void mpota_md5_start(mpota_md5_t *h)
{
    mbedtls_md5_init(&h->ctx);
    (void)MD5_START(&h->ctx);
}

void mpota_md5_update(mpota_md5_t *h, const void *data, size_t len)
{
    (void)MD5_UPDATE(&h->ctx, (const unsigned char *)data, len);
}

void mpota_md5_finish(mpota_md5_t *h, uint8_t out[MPOTA_MD5_LEN])
{
    (void)MD5_FINISH(&h->ctx, out);
}
