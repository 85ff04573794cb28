// Signing as espsecure signs (src/host/sig_keys.c, sig_sign.c), against the
// images and keys espsecure made (tests/vectors/sbv2): key digests equal to
// digest_sbv2_public_key's; the signed image byte for byte espsecure's but
// for the randomised signature and its CRC; every block verifying; append,
// a fourth block, mixed schemes, public keys and bad key files refused.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host_err.h"
#include "host_file.h"
#include "testutil.h"
#include "mpota/image.h"
#include "mpota/sig.h"
#include "sig_keys.h"
#include "sig_report.h"
#include "sig_sign.h"

#define SECTOR_AT 8192u  // app.bin's 6,000 bytes rounded up to 4 KiB

// Parses the key file name; returns the parse's code.
static int key_from(const char *name, struct mpota_sig_key *k, struct mpota_diag *d)
{
    size_t len;
    uint8_t *pem = vector_load("sbv2", name, &len);
    int rc = mpota_sig_key_parse(k, pem, len, d);
    free(pem);
    return rc;
}

static void load_key(const char *name, struct mpota_sig_key *k)
{
    struct mpota_diag d = {0};
    int rc = key_from(name, k, &d);
    if (rc) {
        fail_msg("%s: error %d", name, rc);
    }
}

struct image {
    uint8_t *buf;
    size_t len;
    uint32_t image_len;
};

static struct image image(const char *name)
{
    struct image f;
    f.buf = vector_load("sbv2", name, &f.len);
    static struct mpota_image_info info;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_image_parse(f.buf, f.len, MPOTA_CHIP_ANY, &info, &d), MPOTA_OK);
    f.image_len = info.image_len;
    return f;
}

// Signs file with the named private keys; returns the code, *out the image.
static int sign(const struct image *f, const char *const *names, unsigned n, bool append,
                struct image *out, struct mpota_sig_signed *r)
{
    struct mpota_sig_key keys[4];
    for (unsigned i = 0; i < n; i++) {
        load_key(names[i], &keys[i]);
    }
    struct mpota_diag d = {0};
    int rc = mpota_sig_sign(f->buf, f->len, f->image_len, keys, n, append, &out->buf, &out->len,
                            r, &d);
    out->image_len = f->image_len;
    for (unsigned i = 0; i < n; i++) {
        mpota_sig_key_free(&keys[i]);
    }
    if (rc) {
        assert_null(out->buf);
    }
    return rc;
}

// Where a scheme's signature lies in its block.
static void signature_span(uint8_t scheme, size_t *at, size_t *len)
{
    *at = scheme == MPOTA_SIG_RSA3072 ? 812 : scheme == MPOTA_SIG_ECDSA_P384 ? 149 : 101;
    *len = scheme == MPOTA_SIG_RSA3072 ? 384 : scheme == MPOTA_SIG_ECDSA_P384 ? 96 : 64;
}

// mine equals espsecure's theirs but for the signatures and CRCs of the
// blocks in slots [from, to), which espsecure randomised; every block of
// mine verifies with the key digests of theirs.
static void assert_like_espsecure(const struct image *mine, const char *theirs_name,
                                  unsigned from, unsigned to)
{
    size_t len;
    uint8_t *theirs = vector_load("sbv2", theirs_name, &len);
    assert_int_equal(mine->len, len);
    assert_memory_equal(mine->buf, theirs, SECTOR_AT + from * MPOTA_SIG_BLOCK_SIZE);
    for (unsigned i = from; i < to; i++) {
        const uint8_t *a = mine->buf + SECTOR_AT + i * MPOTA_SIG_BLOCK_SIZE;
        const uint8_t *b = theirs + SECTOR_AT + i * MPOTA_SIG_BLOCK_SIZE;
        struct mpota_sig_block blk;
        assert_int_equal(mpota_sig_block_read(mine->buf + SECTOR_AT, SECTOR_AT, i, &blk, NULL), 0);
        size_t at, n;
        signature_span(blk.scheme, &at, &n);
        assert_memory_equal(a, b, at);
        assert_memory_not_equal(a + at, b + at, n);
        assert_memory_equal(a + at + n, b + at + n, 1196 - at - n);
        assert_memory_equal(a + 1200, b + 1200, 16);
    }
    size_t rest = SECTOR_AT + to * MPOTA_SIG_BLOCK_SIZE;
    assert_memory_equal(mine->buf + rest, theirs + rest, len - rest);
    struct mpota_sig_report rep, want;
    mpota_sig_report(mine->buf, mine->len, mine->image_len, &rep);
    mpota_sig_report(theirs, len, mine->image_len, &want);
    assert_int_equal(rep.count, want.count);
    for (unsigned i = 0; i < rep.count; i++) {
        assert_int_equal(rep.blocks[i].err, MPOTA_OK);
        assert_memory_equal(rep.blocks[i].block.key_digest, want.blocks[i].block.key_digest, 32);
    }
    free(theirs);
}

static void test_key_digests_are_espsecures(void **state)
{
    (void)state;
    static const char *const keys[] = {"rsa3072", "rsa3072_b", "ec256", "ec256_b", "ec384"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char name[64];
        size_t len;
        snprintf(name, sizeof(name), "%s.digest", keys[i]);
        uint8_t *want = vector_load("sbv2", name, &len);
        assert_int_equal(len, 32);
        for (int pub = 0; pub < 2; pub++) {
            struct mpota_sig_key k;
            snprintf(name, sizeof(name), pub ? "%s.pub.pem" : "%s.pem", keys[i]);
            load_key(name, &k);
            assert_int_equal(k.is_private, !pub);
            if (memcmp(k.digest, want, 32) != 0) {
                fail_msg("%s: key digest is not espsecure's", name);
            }
            mpota_sig_key_free(&k);
        }
        free(want);
    }
}

static void test_each_scheme_signs_as_espsecure(void **state)
{
    (void)state;
    static const struct {
        const char *key, *espsecure;
    } cases[] = {{"rsa3072.pem", "rsa.bin"}, {"ec256.pem", "ec256.bin"}, {"ec384.pem", "ec384.bin"}};
    struct image app = image("app.bin");
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct image out;
        struct mpota_sig_signed r;
        assert_int_equal(sign(&app, &cases[c].key, 1, false, &out, &r), MPOTA_OK);
        assert_int_equal(r.sector_offset, SECTOR_AT);
        assert_int_equal(r.added, 1);
        assert_like_espsecure(&out, cases[c].espsecure, 0, 1);
        free(out.buf);
    }
    free(app.buf);
}

static void test_two_keys_sign_as_espsecure(void **state)
{
    (void)state;
    struct image app = image("app.bin"), out;
    struct mpota_sig_signed r;
    const char *rsa[] = {"rsa3072.pem", "rsa3072_b.pem"}, *ec[] = {"ec256.pem", "ec256_b.pem"};
    assert_int_equal(sign(&app, rsa, 2, false, &out, &r), MPOTA_OK);
    assert_like_espsecure(&out, "rsa2.bin", 0, 2);
    free(out.buf);
    assert_int_equal(sign(&app, ec, 2, false, &out, &r), MPOTA_OK);
    assert_like_espsecure(&out, "ec256x2.bin", 0, 2);
    free(out.buf);
    free(app.buf);
}

static void test_append_keeps_the_blocks(void **state)
{
    (void)state;
    struct image rsa = image("rsa.bin"), out;
    struct mpota_sig_signed r;
    const char *b[] = {"rsa3072_b.pem", "rsa3072.pem"};
    assert_int_equal(sign(&rsa, b, 1, true, &out, &r), MPOTA_OK);
    assert_int_equal(r.kept, 1);
    assert_int_equal(r.added, 1);
    assert_like_espsecure(&out, "rsa_appended.bin", 1, 2);  // block 0 is rsa.bin's own
    free(out.buf);
    assert_int_equal(sign(&rsa, b, 2, true, &out, &r), MPOTA_OK);
    assert_like_espsecure(&out, "rsa3.bin", 1, 3);
    free(out.buf);
    // Appending to an unsigned image signs it.
    struct image app = image("app.bin");
    assert_int_equal(sign(&app, b, 1, true, &out, &r), MPOTA_OK);
    assert_int_equal(r.kept, 0);
    free(out.buf);
    free(app.buf);
    free(rsa.buf);
}

// A kept block that no longer verifies is left out, the others kept.
static void test_append_drops_blocks_that_fail(void **state)
{
    (void)state;
    struct image rsa2 = image("rsa2.bin"), out;
    struct mpota_sig_signed r;
    uint8_t *blk = rsa2.buf + SECTOR_AT + MPOTA_SIG_BLOCK_SIZE;
    blk[900] ^= 1;  // block 1's signature
    mpota_sig_block_seal(blk);
    const char *ec[] = {"rsa3072_b.pem"};
    assert_int_equal(sign(&rsa2, ec, 1, true, &out, &r), MPOTA_OK);
    assert_int_equal(r.kept, 1);
    assert_int_equal(r.dropped, 1);
    struct mpota_sig_report rep;
    mpota_sig_report(out.buf, out.len, out.image_len, &rep);
    assert_int_equal(rep.count, 2);
    assert_int_equal(rep.blocks[0].err | rep.blocks[1].err, 0);
    free(out.buf);
    free(rsa2.buf);
}

static void test_refusals(void **state)
{
    (void)state;
    struct image app = image("app.bin"), rsa3 = image("rsa3.bin"), rsa = image("rsa.bin"), out;
    struct mpota_sig_signed r;
    const char *four[] = {"rsa3072.pem", "rsa3072_b.pem", "rsa3072.pem", "rsa3072_b.pem"};
    const char *mixed[] = {"rsa3072.pem", "ec256.pem"}, *curves[] = {"ec256.pem", "ec384.pem"};
    const char *ec[] = {"ec256.pem"}, *pub[] = {"rsa3072.pub.pem"};
    assert_int_equal(sign(&app, four, 4, false, &out, &r), MPOTA_ERR_SIG_TOO_MANY);
    assert_int_equal(sign(&rsa3, four, 1, true, &out, &r), MPOTA_ERR_SIG_TOO_MANY);
    assert_int_equal(sign(&rsa, four, 3, true, &out, &r), MPOTA_ERR_SIG_TOO_MANY);
    assert_int_equal(sign(&app, mixed, 2, false, &out, &r), MPOTA_ERR_SIG_MIXED);
    assert_int_equal(sign(&app, curves, 2, false, &out, &r), MPOTA_ERR_SIG_MIXED);
    assert_int_equal(sign(&rsa, ec, 1, true, &out, &r), MPOTA_ERR_SIG_MIXED);
    assert_int_equal(sign(&rsa, four, 1, false, &out, &r), MPOTA_ERR_SIG_SIGNED);
    assert_int_equal(sign(&app, pub, 1, false, &out, &r), MPOTA_ERR_SIG_KEY_PUBLIC);
    rsa.len = SECTOR_AT + 1000;  // cut inside the sector's first block
    assert_int_equal(sign(&rsa, ec, 1, true, &out, &r), MPOTA_ERR_SIG_CUT);
    free(app.buf);
    free(rsa3.buf);
    free(rsa.buf);
}

// The sector goes where the image ends, whatever follows in the file.
static void test_sector_from_the_image(void **state)
{
    (void)state;
    struct image app = image("app.bin"), out;
    uint8_t *big = realloc(app.buf, 20000);
    assert_non_null(big);
    memset(big + app.len, 0xFF, 20000 - app.len);
    app.buf = big;
    app.len = 20000;
    struct mpota_sig_signed r;
    const char *k[] = {"ec256.pem"};
    assert_int_equal(sign(&app, k, 1, false, &out, &r), MPOTA_OK);
    assert_int_equal(r.sector_offset, SECTOR_AT);
    assert_int_equal(r.left_out, 20000 - SECTOR_AT - MPOTA_SIG_SECTOR_SIZE);
    assert_like_espsecure(&out, "ec256.bin", 0, 1);
    free(out.buf);
    free(app.buf);
}

static void test_bad_key_files(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int err;
        const char *label;
    } cases[] = {
        {"bad/rsa2048.pem", MPOTA_ERR_SIG_KEY_SIZE, ""},
        {"bad/ec521.pem", MPOTA_ERR_SIG_KEY_TYPE, "ECDSA secp521r1"},
        {"bad/ed25519.pem", MPOTA_ERR_SIG_KEY_TYPE, "non-RSA, non-EC"},
        {"bad/encrypted.pem", MPOTA_ERR_SIG_KEY_FORMAT, "encrypted: decrypt it first"},
        {"bad/not_a_key.pem", MPOTA_ERR_SIG_KEY_FORMAT, "no PEM key in it"},
        {"rsa.bin", MPOTA_ERR_SIG_KEY_FORMAT, "no PEM key in it"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mpota_sig_key k;
        struct mpota_diag d = {0};
        int rc = key_from(cases[i].file, &k, &d);
        mpota_sig_key_free(&k);
        if (rc != cases[i].err || d.err != rc || strcmp(d.label, cases[i].label) != 0) {
            fail_msg("%s: error %d '%s' (want %d '%s')", cases[i].file, rc, d.label,
                     cases[i].err, cases[i].label);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_digests_are_espsecures),
        cmocka_unit_test(test_each_scheme_signs_as_espsecure),
        cmocka_unit_test(test_two_keys_sign_as_espsecure),
        cmocka_unit_test(test_append_keeps_the_blocks),
        cmocka_unit_test(test_append_drops_blocks_that_fail),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_sector_from_the_image),
        cmocka_unit_test(test_bad_key_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
