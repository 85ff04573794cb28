// The random numbers signing needs (RSA-PSS salt and blinding, ECDSA's k):
// mbedTLS's CTR_DRBG seeded from its entropy source, the OS's.
#ifndef MPOTA_SIG_RNG_H
#define MPOTA_SIG_RNG_H

#include <stddef.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

struct mpota_sig_rng {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
};

// 0, or mbedTLS's error when the entropy source gives nothing. Free it
// either way.
int mpota_sig_rng_init(struct mpota_sig_rng *rng);
void mpota_sig_rng_free(struct mpota_sig_rng *rng);

// mbedTLS's f_rng with p_rng = the struct mpota_sig_rng.
int mpota_sig_rng_random(void *rng, unsigned char *out, size_t len);

#endif
