// The update session on an emulated 4 MiB ESP32: a MicroPython-style OTA
// table with slots that hold 1.6 MB, app v1 running in ota_0, updates into
// ota_1 fed in every chunk size users have, and every refusal shown to leave
// the running slot and otadata byte-identical.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "erase_plan.h"
#include "flash_emu.h"
#include "image_build.h"
#include "mpota/boot.h"
#include "mpota/hash.h"
#include "mpota/otadata.h"
#include "mpota/session.h"
#include "part_layout.h"

#define FLASH_SIZE (4u << 20)
#define IMAGE_SIZE 1600000u

struct rig {
    struct mpota_flash_emu emu;
    struct mpota_table table;
    struct mpota_boot_ctx ctx;
    const struct mpota_partition *ota0, *ota1, *otadata;
    uint8_t *v1, *v2;  // app images
    size_t v1_len, v2_len;
    uint8_t *snapshot;  // flash contents before a refused update
    mpota_session_t s;
    struct mpota_update_opts opts;
};

static uint8_t *make_app(uint16_t chip, uint32_t size, const char *version, const char *project,
                         uint32_t secure_version, uint64_t seed, size_t *len)
{
    struct mpota_app_spec spec = {.chip_id = chip, .total_size = size, .version = version,
                                  .project_name = project, .secure_version = secure_version,
                                  .seed = seed};
    uint8_t *img = NULL;
    assert_int_equal(mpota_image_build_app(&spec, &img, len, NULL), 0);
    return img;
}

static int setup(void **state)
{
    struct rig *r = calloc(1, sizeof(*r));
    assert_int_equal(mpota_flash_emu_open_ram(&r->emu, FLASH_SIZE), 0);
    // Slots of 0x1C0000: room for the 1.6 MB image and 3 blocks more.
    struct mpota_part_layout_opts lo = {.kind = MPOTA_PART_LAYOUT_OTA, .flash_size = FLASH_SIZE,
                                        .app_size = 0x1C0000};
    assert_int_equal(mpota_part_layout_make(&lo, &r->table, NULL), 0);
    r->ota0 = mpota_part_find_label(&r->table, "ota_0");
    r->ota1 = mpota_part_find_label(&r->table, "ota_1");
    r->otadata = mpota_part_find(&r->table, MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA);
    r->ctx = (struct mpota_boot_ctx){.flash = &r->emu.flash, .table = &r->table,
                                     .chip = MPOTA_CHIP_ESP32, .rollback_enabled = true};
    r->v1 = make_app(MPOTA_CHIP_ESP32, IMAGE_SIZE - 40000, "v1.0.0", "micropython", 0, 1,
                     &r->v1_len);
    r->v2 = make_app(MPOTA_CHIP_ESP32, IMAGE_SIZE, "v2.0.0", "micropython", 0, 2, &r->v2_len);
    // As esptool leaves a device: v1 in ota_0, otadata blank; the first boot
    // writes {1, VALID}.
    assert_int_equal(mpota_flash_emu_load(&r->emu, r->ota0->offset, r->v1, (uint32_t)r->v1_len), 0);
    struct mpota_boot_report rep;
    assert_int_equal(mpota_boot_select(&r->ctx, &rep), 0);
    assert_ptr_equal(rep.booted, r->ota0);
    mpota_flash_emu_reset_counters(&r->emu);
    r->snapshot = malloc(FLASH_SIZE);
    memcpy(r->snapshot, r->emu.mem, FLASH_SIZE);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct rig *r = *state;
    // Whatever a test left, abort ends it and every hash context is released
    // (a running SHA context holds the ESP32's SHA engine).
    (void)mpota_session_abort(&r->s);
#ifdef MPOTA_HASH_CHECKED
    assert_int_equal(mpota_hash_checked_live(), 0);
#endif
    mpota_flash_emu_close(&r->emu);
    free(r->v1);
    free(r->v2);
    free(r->snapshot);
    free(r);
    return 0;
}

// The running slot and otadata are exactly as before.
static void assert_untouched(struct rig *r)
{
    assert_memory_equal(r->emu.mem + r->ota0->offset, r->snapshot + r->ota0->offset,
                        r->ota0->size);
    assert_memory_equal(r->emu.mem + r->otadata->offset, r->snapshot + r->otadata->offset,
                        r->otadata->size);
}

static void assert_nothing_written(struct rig *r)
{
    assert_int_equal(r->emu.count.ops, 0);
    assert_memory_equal(r->emu.mem, r->snapshot, FLASH_SIZE);
}

static int update(struct rig *r, const uint8_t *img, size_t len, uint32_t chunk)
{
    int rc = mpota_session_begin(&r->s, &r->ctx, r->ota0, NULL, &r->opts, NULL);
    for (size_t off = 0; !rc && off < len; off += chunk) {
        uint32_t n = (uint32_t)(len - off < chunk ? len - off : chunk);
        rc = mpota_session_write(&r->s, img + off, n);
    }
    return rc ? rc : mpota_session_end(&r->s, NULL);
}

// A reset in the middle of a session: its RAM is gone, and the SHA engine it
// held is free again (as after a real reset).
static void reset_device(struct rig *r)
{
    mpota_image_parser_release(&r->s.parser);
    memset(&r->s, 0xEE, sizeof(r->s));
}

static const struct mpota_partition *reboot(struct rig *r)
{
    struct mpota_boot_report rep;
    assert_int_equal(mpota_boot_select(&r->ctx, &rep), 0);
    return rep.booted;
}

// A 1.6 MB image into a slot full of old data. The erase plan is the same
// whether the size is declared or only learnt from the segment headers.
static void check_erase_plan(struct rig *r, uint32_t declared)
{
    uint8_t *old = malloc(r->ota1->size);
    memset(old, 0x5A, r->ota1->size);
    mpota_flash_emu_load(&r->emu, r->ota1->offset, old, r->ota1->size);
    free(old);
    mpota_flash_emu_reset_counters(&r->emu);
    r->opts.expected_size = declared;
    assert_int_equal(update(r, r->v2, r->v2_len, 4096), 0);
    // 1,600,000 B = 24 blocks + 27,136 B: 7 more sectors, cheaper as one block.
    assert_int_equal(r->emu.count.block_erases, 25);
    assert_int_equal(r->emu.count.sector_erases, 0);
    // The slot beyond the image keeps its old bytes: nothing more was erased.
    assert_int_equal(r->emu.mem[r->ota1->offset + 25 * 0x10000], 0x5A);
    assert_int_equal(r->emu.mem[r->ota1->offset + r->ota1->size - 1], 0x5A);
}

static void test_update_cycle_every_chunk_size(void **state)
{
    struct rig *r = *state;
    const uint32_t chunks[] = {1, 7, 255, 4096, 65536, 1u << 30};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        memcpy(r->emu.mem, r->snapshot, FLASH_SIZE);
        mpota_sha256_t h;
        mpota_sha256_start(&h);
        mpota_sha256_update(&h, r->v2, r->v2_len);
        mpota_sha256_finish(&h, r->opts.sha256);
        r->opts.has_sha256 = true;
        r->opts.expected_size = (uint32_t)r->v2_len;
        assert_int_equal(update(r, r->v2, r->v2_len, chunks[i]), 0);
        assert_int_equal(mpota_session_state(&r->s), MPOTA_SESSION_DONE);
        uint8_t digest[32];
        assert_int_equal(mpota_session_sha256(&r->s, digest), 0);
        assert_memory_equal(digest, r->opts.sha256, 32);
        assert_ptr_equal(mpota_session_target(&r->s), r->ota1);
        assert_memory_equal(r->emu.mem + r->ota1->offset, r->v2, r->v2_len);
        assert_untouched(r);  // otadata changes only at set_boot
        assert_int_equal(mpota_session_set_boot(&r->s), 0);
        assert_ptr_equal(reboot(r), r->ota1);
        uint32_t st;
        assert_int_equal(mpota_boot_get_state(&r->ctx, r->ota1, &st), 0);
        assert_int_equal(st, MPOTA_OTA_STATE_PENDING_VERIFY);
        assert_int_equal(mpota_boot_mark_valid(&r->ctx), 0);
        assert_ptr_equal(reboot(r), r->ota1);
    }
}

static void test_erases_only_what_is_needed(void **state)
{
    struct rig *r = *state;
    check_erase_plan(r, 0);
    check_erase_plan(r, (uint32_t)r->v2_len);
    r->opts.expected_size = 0;

    // Into a blank slot nothing is erased at all.
    memcpy(r->emu.mem, r->snapshot, FLASH_SIZE);
    mpota_flash_emu_reset_counters(&r->emu);
    assert_int_equal(update(r, r->v2, r->v2_len, 4096), 0);
    assert_int_equal(r->emu.count.block_erases + r->emu.count.sector_erases, 0);
}

static void test_erase_unit_rule(void **state)
{
    (void)state;
    const uint32_t S = 0x1000, B = 0x10000, slot = 0x1A0000, base = 0x1B0000;
    assert_int_equal(mpota_erase_unit(base, 0, 0x186A00, slot, S, B), B);
    assert_int_equal(mpota_erase_unit(base, 0x180000, 0x186A00, slot, S, B), B);  // 7 sectors
    assert_int_equal(mpota_erase_unit(base, 0x180000, 0x182000, slot, S, B), S);  // 2 sectors
    assert_int_equal(mpota_erase_unit(base, 0x1000, 0x186A00, slot, S, B), S);    // unaligned
    assert_int_equal(mpota_erase_unit(base, 0x190000, 0x1A0000, slot, S, B), B);
    assert_int_equal(mpota_erase_unit(base, 0x190000, 0x1A0000, 0x19F000, S, B), S);  // past slot
    assert_int_equal(mpota_erase_unit(base + S, 0xF000, 0x100000, slot, S, B), B);  // absolute align
}

static void test_refuses_combined_firmware_before_erasing(void **state)
{
    struct rig *r = *state;
    uint8_t *boot = NULL, *combined = NULL;
    size_t boot_len, combined_len;
    struct mpota_bootloader_spec bs = {.chip_id = MPOTA_CHIP_ESP32};
    assert_int_equal(mpota_image_build_bootloader(&bs, &boot, &boot_len, NULL), 0);
    uint8_t table[MPOTA_PART_TABLE_MAX_LEN];
    assert_int_equal(mpota_part_table_write(&r->table, true, table), 0);
    struct mpota_flash_parts parts = {.chip_id = MPOTA_CHIP_ESP32, .bootloader = boot,
                                      .bootloader_len = boot_len, .table = table,
                                      .table_len = sizeof(table), .app = r->v2,
                                      .app_len = r->v2_len, .app_addr = 0x10000};
    assert_int_equal(mpota_image_build_combined(&parts, &combined, &combined_len), 0);

    int rc = update(r, combined, combined_len, 4096);
    assert_int_equal(rc, MPOTA_ERR_IMAGE_IS_COMBINED);
    char text[256];
    mpota_diag_format(mpota_session_diag(&r->s), text, sizeof(text));
    assert_non_null(strstr(text, "full flash image"));
    assert_non_null(strstr(text, "0xF000"));
    assert_nothing_written(r);

    // Its size known up front and larger than the slot (Content-Length, a
    // manifest's length): still "extract the app", never "bigger slots".
    r->opts.expected_size = r->ota1->size + 0x10000;
    assert_int_equal(update(r, combined, combined_len, 4096), MPOTA_ERR_IMAGE_IS_COMBINED);
    assert_nothing_written(r);
    (void)mpota_session_abort(&r->s);
    assert_int_equal(mpota_session_begin(&r->s, &r->ctx, r->ota0, NULL, NULL, NULL), 0);
    assert_int_equal(mpota_session_declare_size(&r->s, r->ota1->size + 0x10000), 0);
    assert_int_equal(mpota_session_write(&r->s, combined, 4096), MPOTA_ERR_IMAGE_IS_COMBINED);
    assert_nothing_written(r);
    (void)mpota_session_abort(&r->s);
    r->opts.expected_size = 0;

    // A bootloader alone, a partition table alone: also refused untouched.
    assert_int_equal(update(r, boot, boot_len, 512), MPOTA_ERR_IMAGE_IS_COMBINED);
    assert_nothing_written(r);
    assert_int_equal(update(r, table, sizeof(table), 512), MPOTA_ERR_IMAGE_IS_TABLE);
    assert_nothing_written(r);
    free(boot);
    free(combined);
}

static void test_refuses_foreign_chip_and_oversize(void **state)
{
    struct rig *r = *state;
    size_t len;
    uint8_t *s3 = make_app(MPOTA_CHIP_ESP32S3, 200000, "v2", "micropython", 0, 3, &len);
    assert_int_equal(update(r, s3, len, 1000), MPOTA_ERR_IMAGE_CHIP);
    char text[256];
    mpota_diag_format(mpota_session_diag(&r->s), text, sizeof(text));
    assert_non_null(strstr(text, "ESP32-S3"));
    assert_nothing_written(r);
    free(s3);

    // Declared size larger than the slot: refused at pre-flight, once the
    // first bytes show an app, with the numbers; nothing erased.
    r->opts.expected_size = r->ota1->size + 16;
    assert_int_equal(update(r, r->v2, r->v2_len, 4096), MPOTA_ERR_SLOT_TOO_SMALL);
    assert_int_equal(mpota_session_diag(&r->s)->expected, r->ota1->size);
    assert_int_equal(mpota_session_diag(&r->s)->actual, r->ota1->size + 16);
    assert_nothing_written(r);
    (void)mpota_session_abort(&r->s);
    // The same size declared by the server (Content-Length) before the first byte.
    r->opts.expected_size = 0;
    assert_int_equal(mpota_session_begin(&r->s, &r->ctx, r->ota0, NULL, &r->opts, NULL), 0);
    assert_int_equal(mpota_session_declare_size(&r->s, (uint64_t)1 << 40), 0);
    assert_int_equal(mpota_session_write(&r->s, r->v2, 4096), MPOTA_ERR_SLOT_TOO_SMALL);
    assert_int_equal(mpota_session_diag(&r->s)->actual, UINT32_MAX);
    assert_nothing_written(r);
    (void)mpota_session_abort(&r->s);
    // A manifest length and a Content-Length that disagree: refused.
    r->opts.expected_size = (uint32_t)r->v2_len;
    assert_int_equal(mpota_session_begin(&r->s, &r->ctx, r->ota0, NULL, &r->opts, NULL), 0);
    assert_int_equal(mpota_session_declare_size(&r->s, r->v2_len + 1), MPOTA_ERR_EXPECT_LENGTH);
    (void)mpota_session_abort(&r->s);
    r->opts.expected_size = 0;

    // Undeclared but bigger than the slot: refused once the segment headers
    // say so, before anything past the slot is touched; otadata untouched.
    uint8_t *big = make_app(MPOTA_CHIP_ESP32, r->ota1->size + 0x10000, "v3", "micropython", 0, 4,
                            &len);
    assert_true(len > r->ota1->size);
    assert_int_equal(update(r, big, len, 4096), MPOTA_ERR_SLOT_TOO_SMALL);
    assert_untouched(r);
    free(big);
}

static void test_bad_data_is_caught_and_changes_nothing_that_boots(void **state)
{
    struct rig *r = *state;
    // Wrong expected SHA-256.
    r->opts.has_sha256 = true;
    memset(r->opts.sha256, 0xAB, 32);
    assert_int_equal(update(r, r->v2, r->v2_len, 8192), MPOTA_ERR_EXPECT_SHA256);
    // No detail of an earlier step (begin names the target slot) stays behind.
    const struct mpota_diag *d = mpota_session_diag(&r->s);
    assert_int_equal(d->offset, 0);
    assert_string_equal(d->label, "");
    assert_untouched(r);
    assert_int_equal(mpota_session_set_boot(&r->s), MPOTA_ERR_EXPECT_SHA256);  // sticky
    assert_untouched(r);
    r->opts.has_sha256 = false;

    // Truncated.
    assert_int_equal(update(r, r->v2, r->v2_len - 1000, 8192), MPOTA_ERR_IMAGE_TRUNCATED);
    assert_untouched(r);

    // One corrupted byte in the middle: the image's own checks fail.
    uint8_t *bad = malloc(r->v2_len);
    memcpy(bad, r->v2, r->v2_len);
    bad[r->v2_len / 2] ^= 0x10;
    int rc = update(r, bad, r->v2_len, 8192);
    assert_true(rc == MPOTA_ERR_IMAGE_CHECKSUM || rc == MPOTA_ERR_IMAGE_HASH);
    assert_untouched(r);
    free(bad);

    // Wrong length and MD5.
    r->opts.expected_size = (uint32_t)r->v2_len + 16;
    assert_int_equal(update(r, r->v2, r->v2_len, 8192), MPOTA_ERR_EXPECT_LENGTH);
    r->opts.expected_size = 0;
    r->opts.has_md5 = true;
    memset(r->opts.md5, 0, 16);
    assert_int_equal(update(r, r->v2, r->v2_len, 8192), MPOTA_ERR_EXPECT_MD5);
    r->opts.has_md5 = false;
    assert_untouched(r);
    assert_ptr_equal(reboot(r), r->ota0);
}

static void test_out_of_order_and_resume(void **state)
{
    struct rig *r = *state;
    uint32_t half = (uint32_t)(r->v2_len / 2) & ~0xFFFu;
    // Second half first, then the first half.
    assert_int_equal(mpota_session_begin(&r->s, &r->ctx, r->ota0, NULL, &r->opts, NULL), 0);
    assert_int_equal(mpota_session_write(&r->s, r->v2, MPOTA_SESSION_HEAD_LEN), 0);
    assert_int_equal(mpota_session_write_at(&r->s, half, r->v2 + half, (uint32_t)r->v2_len - half), 0);
    assert_int_equal(mpota_session_write_at(&r->s, MPOTA_SESSION_HEAD_LEN, r->v2 + MPOTA_SESSION_HEAD_LEN,
                                            half - MPOTA_SESSION_HEAD_LEN), 0);
    assert_int_equal(mpota_session_end(&r->s, NULL), 0);

    // Resume after a "reboot": a session wrote 1 MB, a new one continues.
    memcpy(r->emu.mem, r->snapshot, FLASH_SIZE);
    uint32_t part = 1000000;
    assert_int_equal(mpota_session_begin(&r->s, &r->ctx, r->ota0, NULL, &r->opts, NULL), 0);
    assert_int_equal(mpota_session_write(&r->s, r->v2, part), 0);
    reset_device(r);
    mpota_sha256_t h;
    mpota_sha256_start(&h);
    mpota_sha256_update(&h, r->v2, r->v2_len);
    mpota_sha256_finish(&h, r->opts.sha256);
    r->opts.has_sha256 = true;
    assert_int_equal(mpota_session_resume(&r->s, &r->ctx, r->ota0, NULL, &r->opts, part, NULL), 0);
    assert_int_equal(mpota_session_offset(&r->s), part);
    assert_int_equal(mpota_session_write(&r->s, r->v2 + part, (uint32_t)r->v2_len - part), 0);
    struct mpota_image_info info;
    assert_int_equal(mpota_session_end(&r->s, &info), 0);
    assert_string_equal(info.app_desc.version, "v2.0.0");
    assert_int_equal(info.image_len, r->v2_len);

    // Rewriting written bytes with other data cannot work on NOR (bits only
    // clear): the read-back after each program catches it at once.
    memcpy(r->emu.mem, r->snapshot, FLASH_SIZE);
    assert_int_equal(mpota_session_begin(&r->s, &r->ctx, r->ota0, NULL, &r->opts, NULL), 0);
    assert_int_equal(mpota_session_write(&r->s, r->v2, 300000), 0);
    uint8_t other[256];
    memset(other, 0x00, sizeof(other));
    assert_int_equal(mpota_session_write_at(&r->s, 0x2000, other, sizeof(other)), 0);  // 0s fit
    memset(other, 0xA5, sizeof(other));
    assert_int_equal(mpota_session_write_at(&r->s, 0x3000, other, sizeof(other)),
                     MPOTA_ERR_FLASH_VERIFY);
    assert_int_equal(mpota_session_diag(&r->s)->offset, r->ota1->offset + 0x3000);
    mpota_session_abort(&r->s);

    // Restart from 0 (a server ignored Range): the result is still exact.
    memcpy(r->emu.mem, r->snapshot, FLASH_SIZE);
    assert_int_equal(mpota_session_begin(&r->s, &r->ctx, r->ota0, NULL, &r->opts, NULL), 0);
    assert_int_equal(mpota_session_write(&r->s, r->v2, 300000), 0);
    assert_int_equal(mpota_session_restart(&r->s), 0);
    assert_int_equal(mpota_session_offset(&r->s), 0);
    assert_int_equal(mpota_session_write(&r->s, r->v2, (uint32_t)r->v2_len), 0);
    assert_int_equal(mpota_session_end(&r->s, NULL), 0);
    assert_memory_equal(r->emu.mem + r->ota1->offset, r->v2, r->v2_len);
}

static void test_policies_and_state_checks(void **state)
{
    struct rig *r = *state;
    struct mpota_app_desc running = {0};
    strcpy(running.project_name, "micropython");
    strcpy(running.version, "v2.1.0");
    running.secure_version = 2;
    r->opts.running_desc = &running;

    r->opts.policy = MPOTA_POLICY_NO_DOWNGRADE;
    assert_int_equal(update(r, r->v2, r->v2_len, 4096), MPOTA_ERR_POLICY_DOWNGRADE);
    assert_nothing_written(r);
    r->opts.policy = MPOTA_POLICY_SECURE_VERSION;
    assert_int_equal(update(r, r->v2, r->v2_len, 4096), MPOTA_ERR_POLICY_SECURE_VERSION);
    assert_nothing_written(r);
    strcpy(running.project_name, "other");
    r->opts.policy = MPOTA_POLICY_SAME_PROJECT;
    assert_int_equal(update(r, r->v2, r->v2_len, 4096), MPOTA_ERR_POLICY_PROJECT);
    assert_nothing_written(r);
    strcpy(running.project_name, "micropython");
    strcpy(running.version, "v1.9");
    running.secure_version = 0;
    r->opts.policy = MPOTA_POLICY_SAME_PROJECT | MPOTA_POLICY_NO_DOWNGRADE |
                     MPOTA_POLICY_SECURE_VERSION;
    assert_int_equal(update(r, r->v2, r->v2_len, 4096), 0);
    r->opts = (struct mpota_update_opts){0};

    // What a manifest says must match the image's description.
    memcpy(r->emu.mem, r->snapshot, FLASH_SIZE);
    mpota_flash_emu_reset_counters(&r->emu);
    r->opts.expect_version = "v2.0.1";
    assert_int_equal(update(r, r->v2, r->v2_len, 4096), MPOTA_ERR_EXPECT_APP);
    assert_string_equal(mpota_session_diag(&r->s)->label, "version");
    assert_nothing_written(r);
    r->opts.expect_version = "v2.0.0";
    r->opts.expect_project = "micropython";
    r->opts.has_expect_secure_version = true;
    r->opts.expect_secure_version = 1;
    assert_int_equal(update(r, r->v2, r->v2_len, 4096), MPOTA_ERR_EXPECT_APP);
    assert_string_equal(mpota_session_diag(&r->s)->label, "secure_version");
    assert_nothing_written(r);
    r->opts.expect_secure_version = 0;
    assert_int_equal(update(r, r->v2, r->v2_len, 4096), 0);
    r->opts = (struct mpota_update_opts){0};

    // The running slot is never a target.
    assert_int_equal(mpota_session_begin(&r->s, &r->ctx, r->ota0, r->ota0, &r->opts, NULL),
                     MPOTA_ERR_SLOT_IS_RUNNING);
    // While the running app is unconfirmed, no new update starts.
    assert_int_equal(mpota_session_set_boot(&r->s), MPOTA_ERR_SLOT_IS_RUNNING);
    assert_int_equal(update(r, r->v2, r->v2_len, 65536), 0);
    assert_int_equal(mpota_session_set_boot(&r->s), 0);
    assert_ptr_equal(reboot(r), r->ota1);
    assert_int_equal(mpota_session_begin(&r->s, &r->ctx, r->ota1, NULL, &r->opts, NULL),
                     MPOTA_ERR_PENDING_VERIFY);
}

static void test_abort_leaves_slot_empty(void **state)
{
    struct rig *r = *state;
    assert_int_equal(mpota_session_begin(&r->s, &r->ctx, r->ota0, NULL, &r->opts, NULL), 0);
    assert_int_equal(mpota_session_write(&r->s, r->v2, 500000), 0);
    assert_int_equal(mpota_session_abort(&r->s), 0);
    assert_int_equal(r->emu.mem[r->ota1->offset], 0xFF);
    assert_untouched(r);
    struct mpota_area a;
    mpota_area_init(&a, &r->emu.flash, r->ota1->offset, r->ota1->size, true);
    assert_int_equal(mpota_image_verify_area(&a, MPOTA_CHIP_ESP32, NULL, NULL),
                     MPOTA_ERR_IMAGE_MAGIC);
    assert_int_equal(mpota_session_write(&r->s, r->v2, 10), MPOTA_ERR_BAD_STATE);
}

// The slot reads as empty (no image header) and nothing else changed.
static void assert_slot_empty(struct rig *r)
{
    struct mpota_area a;
    mpota_area_init(&a, &r->emu.flash, r->ota1->offset, r->ota1->size, true);
    assert_int_equal(mpota_image_verify_area(&a, MPOTA_CHIP_ESP32, NULL, NULL),
                     MPOTA_ERR_IMAGE_MAGIC);
    assert_untouched(r);
}

// abort() leaves the slot empty whatever came before it: restarts (a server
// that sent the whole file again), failures, resume, a verified end().
static void test_abort_after_any_history(void **state)
{
    struct rig *r = *state;
    const uint32_t head = MPOTA_SESSION_HEAD_LEN;
    for (int history = 0; history < 7; history++) {
        mpota_session_t *s = &r->s;
        r->opts = (struct mpota_update_opts){0};
        assert_int_equal(mpota_session_begin(s, &r->ctx, r->ota0, NULL, &r->opts, NULL), 0);
        assert_int_equal(mpota_session_write(s, r->v2, 300000), 0);
        switch (history) {
        case 0:  // restart, nothing more
            assert_int_equal(mpota_session_restart(s), 0);
            break;
        case 1:  // restart, then the head again (the header is rewritten)
            assert_int_equal(mpota_session_restart(s), 0);
            assert_int_equal(mpota_session_write(s, r->v2, head + 100), 0);
            break;
        case 2:  // restart, then fewer bytes than the pre-flight window
            assert_int_equal(mpota_session_restart(s), 0);
            assert_int_equal(mpota_session_write(s, r->v2, 10), 0);
            break;
        case 3: {  // a failure after writing: bad bytes mid-image
            uint8_t junk[64];
            memset(junk, 0x00, sizeof(junk));
            assert_int_equal(mpota_session_write_at(s, 300000, junk, sizeof(junk)), 0);
            (void)mpota_session_end(s, NULL);
            assert_int_equal(mpota_session_state(s), MPOTA_SESSION_FAILED);
            break;
        }
        case 4:  // restart twice
            assert_int_equal(mpota_session_restart(s), 0);
            assert_int_equal(mpota_session_restart(s), 0);
            break;
        case 5:  // resumed after a reset with fewer bytes than the head
            reset_device(r);
            assert_int_equal(mpota_session_resume(s, &r->ctx, r->ota0, NULL, &r->opts, 100, NULL),
                             0);
            break;
        case 6:  // the whole image, verified, but never switched to
            assert_int_equal(mpota_session_write(s, r->v2 + 300000, (uint32_t)r->v2_len - 300000),
                             0);
            assert_int_equal(mpota_session_end(s, NULL), 0);
            break;
        }
        assert_int_equal(mpota_session_abort(s), 0);
        assert_slot_empty(r);
#ifdef MPOTA_HASH_CHECKED
        assert_int_equal(mpota_hash_checked_live(), 0);
#endif
    }
}

// A refusal before the first erase leaves the slot exactly as it was:
// abort() has nothing to clear (the slot may hold the app to roll back to).
static void test_abort_after_refusal_keeps_slot(void **state)
{
    struct rig *r = *state;
    assert_int_equal(mpota_flash_emu_load(&r->emu, r->ota1->offset, r->v2, (uint32_t)r->v2_len), 0);
    memcpy(r->snapshot, r->emu.mem, FLASH_SIZE);
    mpota_flash_emu_reset_counters(&r->emu);
    size_t len;
    uint8_t *s3 = make_app(MPOTA_CHIP_ESP32S3, 100000, "v9", "micropython", 0, 7, &len);
    assert_int_equal(update(r, s3, len, 4096), MPOTA_ERR_IMAGE_CHIP);
    assert_int_equal(mpota_session_abort(&r->s), 0);
    assert_nothing_written(r);
    free(s3);
}

// An image without an app description has no project or secure_version to
// compare: the description policies refuse it, saying what is missing (not
// a project name it does not have), before anything is erased.
static void test_policy_without_app_desc(void **state)
{
    struct rig *r = *state;
    struct mpota_app_spec spec = {.chip_id = MPOTA_CHIP_ESP32, .total_size = 70000,
                                  .no_app_desc = true, .seed = 4};
    uint8_t *img = NULL;
    size_t len;
    assert_int_equal(mpota_image_build_app(&spec, &img, &len, NULL), 0);
    struct mpota_app_desc running = {0};
    strcpy(running.project_name, "micropython");
    r->opts.running_desc = &running;
    const uint32_t policies[] = {MPOTA_POLICY_SAME_PROJECT, MPOTA_POLICY_SECURE_VERSION};
    for (size_t i = 0; i < 2; i++) {
        r->opts.policy = policies[i];
        assert_int_equal(update(r, img, len, 4096), MPOTA_ERR_IMAGE_NO_APP_DESC);
        const struct mpota_diag *d = mpota_session_diag(&r->s);
        assert_int_equal(d->offset, MPOTA_APP_DESC_OFFSET);
        assert_int_equal(d->expected, MPOTA_APP_DESC_MAGIC);
        assert_int_equal(mpota_session_abort(&r->s), 0);
        assert_nothing_written(r);
    }
    r->opts.policy = 0;  // without a policy the same image is fine
    assert_int_equal(update(r, img, len, 4096), MPOTA_OK);
    free(img);
}

static uint8_t *make_official(uint32_t size, const char *mpver, uint64_t seed, size_t *len)
{
    struct mpota_app_spec spec = {.chip_id = MPOTA_CHIP_ESP32, .total_size = size, .version = "",
                                  .project_name = "", .seed = seed,
                                  .micropython_version = mpver};
    uint8_t *img = NULL;
    assert_int_equal(mpota_image_build_app(&spec, &img, len, NULL), 0);
    return img;
}

// Official builds carry no version in their description: --no-downgrade
// compares the MicroPython versions. Given up front (a local file) it is
// decided at pre-flight; for a download, at end(), from the slot, before
// set_boot. A version that cannot be known is refused.
static void test_no_downgrade_by_micropython_version(void **state)
{
    struct rig *r = *state;
    size_t len;
    uint8_t *old = make_official(900000, "1.14", 8, &len);
    struct mpota_app_desc running = {0};  // official: empty version
    r->opts.policy = MPOTA_POLICY_NO_DOWNGRADE;
    r->opts.running_desc = &running;
    r->opts.running_micropython_version = "1.23.0";
    // A download: written, then refused at end with the running version named.
    assert_int_equal(update(r, old, len, 4096), MPOTA_ERR_POLICY_DOWNGRADE);
    assert_string_equal(mpota_session_diag(&r->s)->label, "1.23.0");
    assert_int_equal(mpota_session_abort(&r->s), 0);
    assert_untouched(r);
    assert_slot_empty(r);
    // Known up front: refused before anything is erased.
    memcpy(r->emu.mem, r->snapshot, FLASH_SIZE);
    mpota_flash_emu_reset_counters(&r->emu);
    r->opts.image_micropython_version = "1.14";
    assert_int_equal(update(r, old, len, 4096), MPOTA_ERR_POLICY_DOWNGRADE);
    assert_nothing_written(r);
    // Unknown on either side: refused, naming whose.
    r->opts.image_micropython_version = "";
    assert_int_equal(update(r, old, len, 4096), MPOTA_ERR_POLICY_VERSION_UNKNOWN);
    assert_string_equal(mpota_session_diag(&r->s)->label, "new image");
    r->opts.image_micropython_version = NULL;
    r->opts.running_micropython_version = NULL;
    assert_int_equal(update(r, old, len, 4096), MPOTA_ERR_POLICY_VERSION_UNKNOWN);
    assert_string_equal(mpota_session_diag(&r->s)->label, "running app");
    assert_nothing_written(r);
    // An upgrade passes, read from flash at end.
    free(old);
    uint8_t *newer = make_official(900000, "1.24.1", 9, &len);
    r->opts.running_micropython_version = "1.23.0";
    assert_int_equal(update(r, newer, len, 4096), 0);
    free(newer);
}

// A slot that reaches past the flash: the message gives the flash size
// (it used to print "(0 B)").
static void test_flash_bounds_says_the_flash_size(void **state)
{
    struct rig *r = *state;
    struct mpota_partition past = *r->ota1;
    past.size = FLASH_SIZE;
    assert_int_equal(mpota_session_begin(&r->s, &r->ctx, r->ota0, &past, NULL, NULL),
                     MPOTA_ERR_FLASH_BOUNDS);
    const struct mpota_diag *d = mpota_session_diag(&r->s);
    assert_int_equal(d->offset, r->ota1->offset);
    assert_int_equal(d->expected, FLASH_SIZE);
    char text[300];
    mpota_diag_format(d, text, sizeof(text));
    assert_non_null(strstr(text, "past the end of the 4,194,304 B flash"));
    assert_null(strstr(text, "(0 B)"));
    assert_nothing_written(r);
}

static void test_version_compare(void **state)
{
    (void)state;
    assert_true(mpota_version_compare("v1.10.0", "v1.9.2") > 0);
    assert_true(mpota_version_compare("1.2", "v1.2.0") == 0);
    assert_true(mpota_version_compare("v1.22.0-rc1", "v1.22.0") < 0);
    assert_true(mpota_version_compare("v1.22.0", "v1.22.0-rc1") > 0);
    assert_true(mpota_version_compare("v2.0.0-ota", "v2.0.0-ota") == 0);
    assert_true(mpota_version_compare("v1.0.1", "v2.0.0-ota") < 0);
}

static void test_state_budget(void **state)
{
    (void)state;
    size_t hashes = sizeof(mpota_sha256_t) + sizeof(mpota_md5_t);  // the parser's SHA, the MD5
    size_t rest = sizeof(mpota_session_t) - hashes;
    print_message("session: %zu B total, %zu B without hash contexts\n",
                  sizeof(mpota_session_t), rest);
    assert_true(rest <= 512);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_update_cycle_every_chunk_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erases_only_what_is_needed, setup, teardown),
        cmocka_unit_test(test_erase_unit_rule),
        cmocka_unit_test_setup_teardown(test_refuses_combined_firmware_before_erasing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_foreign_chip_and_oversize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_data_is_caught_and_changes_nothing_that_boots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policies_and_state_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_slot_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_after_any_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_after_refusal_keeps_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_without_app_desc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_downgrade_by_micropython_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flash_bounds_says_the_flash_size, setup, teardown),
        cmocka_unit_test(test_version_compare),
        cmocka_unit_test(test_state_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
