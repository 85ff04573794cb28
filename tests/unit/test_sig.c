// Secure Boot V2 signature blocks against images espsecure signed
// (tests/vectors/sbv2, tools/gen_sbv2_vectors.sh): every scheme, 2 and 3
// blocks, appended blocks; the key digests espsecure prints; and each kind of
// damage: a flipped byte in the body, the padding, the digest field, the
// signature or the CRC, a truncated sector, extra padding, no signature.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include <mbedtls/version.h>

#include "host_file.h"
#include "testutil.h"
#include "mpota/crc.h"
#include "mpota/image.h"
#include "mpota/sig.h"

#if MBEDTLS_VERSION_MAJOR < 3
#define mbedtls_sha256 mbedtls_sha256_ret
#define mbedtls_sha512 mbedtls_sha512_ret
#endif

struct signed_file {
    uint8_t *buf;
    size_t len;
    uint32_t sector_off;  // from the image, not from the file's length
};

static struct signed_file load(const char *name)
{
    struct signed_file f;
    f.buf = vector_load("sbv2", name, &f.len);
    struct mpota_image_info info;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_image_parse(f.buf, f.len, MPOTA_CHIP_ANY, &info, &d), MPOTA_OK);
    f.sector_off = mpota_sig_sector_offset(info.image_len);
    return f;
}

// The digest a block of this scheme signs: everything before the sector.
static void image_digest(const struct signed_file *f, size_t digest_len, uint8_t *out)
{
    if (digest_len == 48) {
        mbedtls_sha512(f->buf, f->sector_off, out, 1);
    } else {
        mbedtls_sha256(f->buf, f->sector_off, out, 0);
    }
}

// Reads and checks every block; returns how many verify, and the key
// digests in order.
static int check_all(const struct signed_file *f, uint8_t keys[3][32], int *first_err)
{
    int ok = 0;
    *first_err = MPOTA_OK;
    for (unsigned i = 0; i < MPOTA_SIG_BLOCKS_MAX; i++) {
        struct mpota_sig_block b;
        struct mpota_diag d = {0};
        int rc = mpota_sig_block_read(f->buf + f->sector_off, f->sector_off, i, &b, &d);
        if (rc == MPOTA_OK) {
            uint8_t dg[64];  // mbedTLS declares 64 for SHA-384 too
            image_digest(f, b.digest_len, dg);
            rc = mpota_sig_block_verify(&b, dg, b.digest_len,
                                        f->sector_off + i * MPOTA_SIG_BLOCK_SIZE, &d);
        }
        if (rc == MPOTA_OK) {
            memcpy(keys[ok++], b.key_digest, 32);
        } else if (rc != MPOTA_ERR_SIG_MISSING && *first_err == MPOTA_OK) {
            *first_err = rc;
        }
    }
    return ok;
}

static void assert_key(const uint8_t digest[32], const char *key)
{
    char name[64];
    snprintf(name, sizeof(name), "%s.digest", key);
    size_t len;
    uint8_t *want = vector_load("sbv2", name, &len);
    assert_int_equal(len, 32);
    assert_memory_equal(digest, want, 32);
    free(want);
}

static void test_crc_is_the_roms(void **state)
{
    (void)state;
    const uint8_t check[] = "123456789";
    assert_int_equal(mpota_crc32_le(0, check, 9), 0xCBF43926u);  // zlib's crc32
}

static void test_every_scheme_as_espsecure_signs(void **state)
{
    (void)state;
    static const struct {
        const char *file, *keys[3];
        int n;
    } cases[] = {
        {"rsa.bin", {"rsa3072"}, 1},
        {"ec256.bin", {"ec256"}, 1},
        {"ec384.bin", {"ec384"}, 1},
        {"rsa2.bin", {"rsa3072", "rsa3072_b"}, 2},
        {"ec256x2.bin", {"ec256", "ec256_b"}, 2},
        {"rsa_appended.bin", {"rsa3072", "rsa3072_b"}, 2},
        {"rsa3.bin", {"rsa3072", "rsa3072_b", "rsa3072"}, 3},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct signed_file f = load(cases[c].file);
        assert_int_equal(f.sector_off, 8192);  // 6,000 bytes rounded up
        assert_int_equal(f.len, 8192 + MPOTA_SIG_SECTOR_SIZE);
        uint8_t keys[3][32];
        int err;
        int n = check_all(&f, keys, &err);
        if (n != cases[c].n || err) {
            fail_msg("%s: %d blocks verify (want %d), first error %d", cases[c].file, n,
                     cases[c].n, err);
        }
        for (int k = 0; k < n; k++) {
            assert_key(keys[k], cases[c].keys[k]);
        }
        free(f.buf);
    }
}

// One byte flipped at pos: the block must not pass, with the expected code.
static void flipped(const char *file, size_t pos, int want)
{
    struct signed_file f = load(file);
    f.buf[pos] ^= 0x01;
    uint8_t keys[3][32];
    int err;
    int n = check_all(&f, keys, &err);
    if (n != 0 || err != want) {
        fail_msg("%s, byte 0x%zx flipped: %d blocks pass, error %d (want %d)", file, pos, n,
                 err, want);
    }
    free(f.buf);
}

static void test_damage_is_found(void **state)
{
    (void)state;
    const size_t s = 8192;
    flipped("rsa.bin", 100, MPOTA_ERR_SIG_DIGEST);        // the image body
    flipped("ec256.bin", 7000, MPOTA_ERR_SIG_DIGEST);     // the 0xFF padding, signed too
    flipped("ec384.bin", s + 4, MPOTA_ERR_SIG_CORRUPT);   // the digest field: the CRC sees it
    flipped("rsa.bin", s + 1196, MPOTA_ERR_SIG_CORRUPT);  // the CRC itself
    flipped("rsa.bin", s + 1, MPOTA_ERR_SIG_CORRUPT);     // the version
}

// A block whose CRC is made right again after a change: what the CRC cannot
// catch, the digest compare and the signature check must.
static void resealed(const char *file, size_t at, int want)
{
    struct signed_file f = load(file);
    uint8_t *blk = f.buf + f.sector_off;
    blk[at] ^= 0x01;
    uint32_t crc = mpota_crc32_le(0, blk, 1196);
    for (int i = 0; i < 4; i++) {
        blk[1196 + i] = (uint8_t)(crc >> (8 * i));
    }
    uint8_t keys[3][32];
    int err;
    assert_int_equal(check_all(&f, keys, &err), 0);
    assert_int_equal(err, want);
    free(f.buf);
}

static void test_resealed_blocks_are_refused(void **state)
{
    (void)state;
    resealed("rsa.bin", 4, MPOTA_ERR_SIG_DIGEST);       // digest field
    resealed("rsa.bin", 812 + 10, MPOTA_ERR_SIG_INVALID);  // the signature
    resealed("ec256.bin", 101 + 3, MPOTA_ERR_SIG_INVALID);
    resealed("ec384.bin", 149 + 60, MPOTA_ERR_SIG_INVALID);
    resealed("rsa.bin", 40, MPOTA_ERR_SIG_INVALID);     // the key: another key, no match
}

static void test_unsigned_and_truncated(void **state)
{
    (void)state;
    // app.bin ends at 6,000 bytes: its sector would start at 8,192.
    struct signed_file f = load("app.bin");
    assert_int_equal(f.sector_off, 8192);
    assert_true(f.len < f.sector_off + MPOTA_SIG_SECTOR_SIZE);  // no sector to read
    free(f.buf);

    // The sector of rsa.bin cut in the first block: the missing bytes read
    // as erased flash, so the CRC fails.
    f = load("rsa.bin");
    memset(f.buf + f.sector_off + 600, 0xFF, MPOTA_SIG_SECTOR_SIZE - 600);
    uint8_t keys[3][32];
    int err;
    assert_int_equal(check_all(&f, keys, &err), 0);
    assert_int_equal(err, MPOTA_ERR_SIG_CORRUPT);
    free(f.buf);
}

static void test_extra_padding_after_the_sector(void **state)
{
    (void)state;
    // The sector is found from the image, so bytes after it change nothing.
    struct signed_file f = load("ec256.bin");
    uint8_t *big = realloc(f.buf, f.len + 8192);
    assert_non_null(big);
    memset(big + f.len, 0xFF, 8192);
    f.buf = big;
    f.len += 8192;
    uint8_t keys[3][32];
    int err;
    assert_int_equal(check_all(&f, keys, &err), 1);
    assert_key(keys[0], "ec256");
    free(f.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_is_the_roms),
        cmocka_unit_test(test_every_scheme_as_espsecure_signs),
        cmocka_unit_test(test_damage_is_found),
        cmocka_unit_test(test_resealed_blocks_are_refused),
        cmocka_unit_test(test_unsigned_and_truncated),
        cmocka_unit_test(test_extra_padding_after_the_sector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
