// Signed updates through the session (opts->trust, sig.h) with images that
// espsecure signed (tests/vectors/sbv2): trusted, untrusted, revoked and
// unsigned images, ESP32's one-block rule, the running app's own keys, every
// kind of damage, chunk sizes that split the 4 KiB boundary anywhere; every
// refusal leaves the running slot and otadata byte-identical, and the
// refused slot reads as empty after abort.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flash_emu.h"
#include "host_file.h"
#include "mpota/boot.h"
#include "mpota/crc.h"
#include "mpota/hash.h"
#include "mpota/session.h"
#include "mpota/sig.h"
#include "part_layout.h"

#define FLASH_SIZE (4u << 20)

struct vec {
    uint8_t *buf;
    size_t len;
};

struct rig {
    struct mpota_flash_emu emu;
    struct mpota_table table;
    struct mpota_boot_ctx ctx;
    const struct mpota_partition *ota0, *ota1, *otadata;
    uint8_t *snapshot;
    mpota_session_t s;
    struct mpota_update_opts opts;
    struct mpota_sig_trust trust;
};

static struct vec vector(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/sbv2/%s", MPOTA_VECTORS_DIR, name);
    struct vec v;
    v.buf = mpota_host_read_file(path, &v.len);
    if (!v.buf) {
        fail_msg("cannot read %s", path);
    }
    return v;
}

// The key digest espsecure printed for a test key (32 raw bytes).
static void key_digest(const char *key, uint8_t out[MPOTA_SIG_KEY_DIGEST_LEN])
{
    char name[64];
    snprintf(name, sizeof(name), "%s.digest", key);
    struct vec v = vector(name);
    assert_int_equal(v.len, MPOTA_SIG_KEY_DIGEST_LEN);
    memcpy(out, v.buf, MPOTA_SIG_KEY_DIGEST_LEN);
    free(v.buf);
}

static void trust_key(struct rig *r, const char *key)
{
    uint8_t d[MPOTA_SIG_KEY_DIGEST_LEN];
    key_digest(key, d);
    assert_int_equal(mpota_sig_trust_add(&r->trust, d, NULL), MPOTA_OK);
}

// A device as esptool leaves it: the image in ota_0, ota_1 and otadata
// erased; boots it (otadata {1, VALID}), then snapshots.
static void install_running(struct rig *r, const char *name)
{
    memset(r->emu.mem + r->ota0->offset, 0xFF, r->ota0->size);
    memset(r->emu.mem + r->ota1->offset, 0xFF, r->ota1->size);
    memset(r->emu.mem + r->otadata->offset, 0xFF, r->otadata->size);
    struct vec v = vector(name);
    assert_int_equal(mpota_flash_emu_load(&r->emu, r->ota0->offset, v.buf, (uint32_t)v.len), 0);
    free(v.buf);
    struct mpota_boot_report rep;
    assert_int_equal(mpota_boot_select(&r->ctx, &rep), 0);
    assert_ptr_equal(rep.booted, r->ota0);
    memcpy(r->snapshot, r->emu.mem, FLASH_SIZE);
}

static int setup(void **state)
{
    struct rig *r = calloc(1, sizeof(*r));
    assert_int_equal(mpota_flash_emu_open_ram(&r->emu, FLASH_SIZE), 0);
    struct mpota_part_layout_opts lo = {.kind = MPOTA_PART_LAYOUT_OTA, .flash_size = FLASH_SIZE,
                                        .app_size = 0x100000};
    assert_int_equal(mpota_part_layout_make(&lo, &r->table, NULL), 0);
    r->ota0 = mpota_part_find_label(&r->table, "ota_0");
    r->ota1 = mpota_part_find_label(&r->table, "ota_1");
    r->otadata = mpota_part_find(&r->table, MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA);
    r->ctx = (struct mpota_boot_ctx){.flash = &r->emu.flash, .table = &r->table,
                                     .chip = MPOTA_CHIP_ESP32S3, .rollback_enabled = true};
    r->opts.trust = &r->trust;
    r->snapshot = malloc(FLASH_SIZE);
    install_running(r, "app.bin");
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct rig *r = *state;
    (void)mpota_session_abort(&r->s);
#ifdef MPOTA_HASH_CHECKED
    assert_int_equal(mpota_hash_checked_live(), 0);
#endif
    mpota_flash_emu_close(&r->emu);
    free(r->snapshot);
    free(r);
    return 0;
}

static int update_bytes(struct rig *r, const uint8_t *img, size_t len, uint32_t chunk)
{
    int rc = mpota_session_begin(&r->s, &r->ctx, r->ota0, NULL, &r->opts, NULL);
    for (size_t off = 0; !rc && off < len; off += chunk) {
        uint32_t n = (uint32_t)(len - off < chunk ? len - off : chunk);
        rc = mpota_session_write(&r->s, img + off, n);
    }
    return rc ? rc : mpota_session_end(&r->s, NULL);
}

static int update(struct rig *r, const char *name, uint32_t chunk)
{
    struct vec v = vector(name);
    int rc = update_bytes(r, v.buf, v.len, chunk);
    free(v.buf);
    return rc;
}

// A refusal at end(): the running slot and otadata as before; after abort
// the target slot reads as empty.
static void assert_refused(struct rig *r, int rc, int want)
{
    assert_int_equal(rc, want);
    assert_int_equal(mpota_session_diag(&r->s)->err, want);
    assert_int_equal(mpota_session_abort(&r->s), 0);
    assert_memory_equal(r->emu.mem + r->ota0->offset, r->snapshot + r->ota0->offset,
                        r->ota0->size);
    assert_memory_equal(r->emu.mem + r->otadata->offset, r->snapshot + r->otadata->offset,
                        r->otadata->size);
    uint8_t head[32];
    memset(head, 0xFF, sizeof(head));
    assert_memory_equal(r->emu.mem + r->ota1->offset, head, sizeof(head));
}

static void assert_accepted(struct rig *r, int rc)
{
    if (rc) {
        fail_msg("refused: %d", rc);
    }
    assert_int_equal(mpota_session_set_boot(&r->s), MPOTA_OK);
}

static void test_no_trust_checks_nothing(void **state)
{
    struct rig *r = *state;
    r->opts.trust = NULL;
    assert_accepted(r, update(r, "ec256.bin", 4096));
    r->opts.trust = &r->trust;  // a zeroed trust asks for nothing either
    install_running(r, "app.bin");
    assert_accepted(r, update(r, "app.bin", 4096));
}

static void test_trusted_key_every_scheme(void **state)
{
    struct rig *r = *state;
    trust_key(r, "rsa3072");
    trust_key(r, "ec256");
    trust_key(r, "ec384");
    static const char *const signed_by_one[] = {"rsa.bin", "ec256.bin", "ec384.bin",
                                                "rsa2.bin", "ec256x2.bin", "rsa_appended.bin",
                                                "rsa3.bin"};
    for (size_t i = 0; i < sizeof(signed_by_one) / sizeof(signed_by_one[0]); i++) {
        install_running(r, "app.bin");
        assert_accepted(r, update(r, signed_by_one[i], 4096));
    }
}

// Any split of the stream: the padded digest is taken at the 4 KiB boundary
// inside whatever write holds it.
static void test_every_chunk_size(void **state)
{
    struct rig *r = *state;
    trust_key(r, "ec256");
    static const uint32_t chunks[] = {1, 7, 256, 1000, 4095, 4096, 4097, 6000, 12288};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        install_running(r, "app.bin");
        assert_accepted(r, update(r, "ec256.bin", chunks[i]));
    }
}

static void test_untrusted_and_unsigned_refused(void **state)
{
    struct rig *r = *state;
    trust_key(r, "rsa3072_b");
    assert_refused(r, update(r, "ec256.bin", 4096), MPOTA_ERR_SIG_UNTRUSTED);
    const struct mpota_diag *d = mpota_session_diag(&r->s);
    uint8_t signer[MPOTA_SIG_KEY_DIGEST_LEN];
    key_digest("ec256", signer);
    char fp[17];
    for (int i = 0; i < 8; i++) {
        snprintf(fp + 2 * i, 3, "%02x", signer[i]);
    }
    assert_string_equal(d->label, fp);
    assert_int_equal(d->expected, 1);  // keys trusted
    assert_int_equal(d->offset, 8192);
    assert_refused(r, update(r, "app.bin", 4096), MPOTA_ERR_SIG_MISSING);
    assert_int_equal(mpota_session_diag(&r->s)->offset, 8192);
    // Required with no key: any valid signature, but not none.
    memset(&r->trust, 0, sizeof(r->trust));
    r->trust.required = true;
    assert_refused(r, update(r, "app.bin", 4096), MPOTA_ERR_SIG_MISSING);
    assert_accepted(r, update(r, "ec384.bin", 4096));
}

static void test_revoked_key_refused(void **state)
{
    struct rig *r = *state;
    trust_key(r, "rsa3072");
    trust_key(r, "rsa3072_b");
    r->trust.revoked = 1u;  // slot 0: rsa3072
    assert_refused(r, update(r, "rsa.bin", 4096), MPOTA_ERR_SIG_REVOKED);
    assert_int_equal(mpota_session_diag(&r->s)->expected, 0);
    // Signed by both: the block by the unrevoked key counts.
    assert_accepted(r, update(r, "rsa2.bin", 4096));
}

// ESP32 (rev >= 3) and C2 read block 0 only: rsa2.bin's second block is by
// rsa3072_b.
static void test_first_block_only(void **state)
{
    struct rig *r = *state;
    trust_key(r, "rsa3072_b");
    r->trust.first_block_only = true;
    assert_refused(r, update(r, "rsa2.bin", 4096), MPOTA_ERR_SIG_UNTRUSTED);
    r->trust.first_block_only = false;
    assert_accepted(r, update(r, "rsa2.bin", 4096));
}

// ESP-IDF's signed-on-update rule: a signed running app trusts its own keys.
static void test_running_app_keys(void **state)
{
    struct rig *r = *state;
    install_running(r, "rsa2.bin");
    struct mpota_area run = {&r->emu.flash, r->ota0->offset, r->ota0->size, true};
    assert_int_equal(mpota_sig_trust_add_running(&r->trust, &run, NULL), 2);
    assert_true(r->trust.required);
    assert_refused(r, update(r, "ec256.bin", 4096), MPOTA_ERR_SIG_UNTRUSTED);
    assert_int_equal(mpota_session_diag(&r->s)->expected, 2);
    assert_refused(r, update(r, "app.bin", 4096), MPOTA_ERR_SIG_MISSING);
    assert_accepted(r, update(r, "rsa_appended.bin", 4096));  // block 1 by rsa3072_b
    // One block: only the running app's first key, only the new block 0.
    memset(&r->trust, 0, sizeof(r->trust));
    r->trust.first_block_only = true;
    install_running(r, "rsa2.bin");
    assert_int_equal(mpota_sig_trust_add_running(&r->trust, &run, NULL), 1);
    // rsa2.bin with its blocks swapped (each CRC covers its own block): block
    // 0 by rsa3072_b, block 1 by rsa3072.
    struct vec v = vector("rsa2.bin");
    uint8_t tmp[MPOTA_SIG_BLOCK_SIZE];
    memcpy(tmp, v.buf + 8192, sizeof(tmp));
    memmove(v.buf + 8192, v.buf + 8192 + sizeof(tmp), sizeof(tmp));
    memcpy(v.buf + 8192 + sizeof(tmp), tmp, sizeof(tmp));
    assert_refused(r, update_bytes(r, v.buf, v.len, 4096), MPOTA_ERR_SIG_UNTRUSTED);
    r->trust.first_block_only = false;
    assert_accepted(r, update_bytes(r, v.buf, v.len, 4096));
    free(v.buf);
    r->trust.first_block_only = true;
    install_running(r, "rsa2.bin");
    assert_accepted(r, update(r, "rsa.bin", 4096));
    // An unsigned running app adds nothing and requires nothing.
    memset(&r->trust, 0, sizeof(r->trust));
    install_running(r, "app.bin");
    assert_int_equal(mpota_sig_trust_add_running(&r->trust, &run, NULL), 0);
    assert_false(r->trust.required);
}

static void flip_and_refuse(struct rig *r, const char *name, size_t at, int want)
{
    struct vec v = vector(name);
    v.buf[at] ^= 0x01;
    assert_refused(r, update_bytes(r, v.buf, v.len, 4096), want);
    free(v.buf);
}

static void test_damage_refused(void **state)
{
    struct rig *r = *state;
    trust_key(r, "rsa3072");
    trust_key(r, "ec256");
    flip_and_refuse(r, "rsa.bin", 6100, MPOTA_ERR_SIG_DIGEST);         // padding
    flip_and_refuse(r, "rsa.bin", 8192 + 4, MPOTA_ERR_SIG_CORRUPT);    // digest field: CRC
    flip_and_refuse(r, "rsa.bin", 8192 + 1196, MPOTA_ERR_SIG_CORRUPT); // the CRC
    flip_and_refuse(r, "ec256.bin", 6100, MPOTA_ERR_SIG_DIGEST);
    // The signature changed and the CRC made right again: a forgery attempt.
    struct vec v = vector("ec256.bin");
    v.buf[8192 + 120] ^= 0x01;
    uint32_t crc = mpota_crc32_le(0, v.buf + 8192, 1196);
    for (int i = 0; i < 4; i++) {
        v.buf[8192 + 1196 + i] = (uint8_t)(crc >> (8 * i));
    }
    assert_refused(r, update_bytes(r, v.buf, v.len, 4096), MPOTA_ERR_SIG_INVALID);
    // Cut in block 0: what is on flash after the cut is erased bytes.
    assert_refused(r, update_bytes(r, v.buf, 8192 + 600, 4096), MPOTA_ERR_SIG_CORRUPT);
    free(v.buf);
    // Extra padding after the sector changes nothing.
    v = vector("ec256.bin");
    uint8_t *padded = malloc(v.len + 8192);
    memcpy(padded, v.buf, v.len);
    memset(padded + v.len, 0xFF, 8192);
    assert_accepted(r, update_bytes(r, padded, v.len + 8192, 4096));
    free(padded);
    free(v.buf);
}

static void test_trust_list_limits(void **state)
{
    struct rig *r = *state;
    uint8_t d[MPOTA_SIG_KEY_DIGEST_LEN] = {0};
    for (unsigned i = 0; i < MPOTA_SIG_TRUST_MAX; i++) {
        d[0] = (uint8_t)i;
        assert_int_equal(mpota_sig_trust_add(&r->trust, d, NULL), MPOTA_OK);
        assert_int_equal(mpota_sig_trust_add(&r->trust, d, NULL), MPOTA_OK);  // once only
    }
    assert_int_equal(r->trust.count, MPOTA_SIG_TRUST_MAX);
    d[0] = 0xAA;
    struct mpota_diag diag = {0};
    assert_int_equal(mpota_sig_trust_add(&r->trust, d, &diag), MPOTA_ERR_SIG_TRUST_FULL);
    assert_int_equal(diag.expected, MPOTA_SIG_TRUST_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_trust_checks_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trusted_key_every_scheme, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_chunk_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untrusted_and_unsigned_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_block_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_running_app_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trust_list_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
