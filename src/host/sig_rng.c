// mpota_sig_rng (sig_rng.h): one seeded CTR_DRBG per signing run.
#include "sig_rng.h"

static const unsigned char personalization[] = "mpota image sign";

int mpota_sig_rng_init(struct mpota_sig_rng *rng)
{
    mbedtls_entropy_init(&rng->entropy);
    mbedtls_ctr_drbg_init(&rng->drbg);
    return mbedtls_ctr_drbg_seed(&rng->drbg, mbedtls_entropy_func, &rng->entropy,
                                 personalization, sizeof(personalization) - 1);
}

void mpota_sig_rng_free(struct mpota_sig_rng *rng)
{
    mbedtls_ctr_drbg_free(&rng->drbg);
    mbedtls_entropy_free(&rng->entropy);
}

int mpota_sig_rng_random(void *rng, unsigned char *out, size_t len)
{
    return mbedtls_ctr_drbg_random(&((struct mpota_sig_rng *)rng)->drbg, out, len);
}
