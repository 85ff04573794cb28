// Anti-rollback in the core (CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK): the
// bootloader skips apps below the chip's counter and falls back as ESP-IDF's
// does, raises the counter when the active entry is VALID; set_boot and the
// session's pre-flight refuse such apps writing nothing; mark_valid raises
// the counter; rollback needs the previous app to pass the check.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flash_emu.h"
#include "image_build.h"
#include "mpota/boot.h"
#include "mpota/err.h"
#include "mpota/otadata.h"
#include "mpota/part.h"
#include "mpota/session.h"
#include "part_layout.h"

#define FLASH_SIZE (4u << 20)
#define IMAGE_SIZE 40000u

struct rig {
    struct mpota_flash_emu emu;
    struct mpota_table table;
    struct mpota_boot_ctx ctx;
    const struct mpota_partition *ota0, *ota1, *otadata;
    uint8_t *snapshot;
    // What the port was asked to burn.
    unsigned raises;
    uint32_t raised_to;
};

// The port's eFuse: records the request and keeps the counter.
static int raise_stub(void *arg, uint32_t v)
{
    struct rig *r = arg;
    r->raises++;
    r->raised_to = v;
    r->ctx.security_version = v;
    return MPOTA_OK;
}

static int setup(void **state)
{
    struct rig *r = calloc(1, sizeof(*r));
    assert_int_equal(mpota_flash_emu_open_ram(&r->emu, FLASH_SIZE), 0);
    struct mpota_part_layout_opts lo = {.kind = MPOTA_PART_LAYOUT_OTA, .flash_size = FLASH_SIZE};
    assert_int_equal(mpota_part_layout_make(&lo, &r->table, NULL), 0);
    r->ota0 = mpota_part_find_label(&r->table, "ota_0");
    r->ota1 = mpota_part_find_label(&r->table, "ota_1");
    r->otadata = mpota_part_find(&r->table, MPOTA_PART_TYPE_DATA, MPOTA_PART_SUBTYPE_OTADATA);
    r->ctx = (struct mpota_boot_ctx){.flash = &r->emu.flash, .table = &r->table,
                                     .chip = MPOTA_CHIP_ESP32, .rollback_enabled = true,
                                     .anti_rollback = true, .security_version = 2,
                                     .raise_security_version = raise_stub, .raise_arg = r};
    r->snapshot = malloc(FLASH_SIZE);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct rig *r = *state;
    mpota_flash_emu_close(&r->emu);
    free(r->snapshot);
    free(r);
    return 0;
}

static uint8_t *make_app(uint32_t secure_version, uint64_t seed, size_t *len)
{
    struct mpota_app_spec spec = {.chip_id = MPOTA_CHIP_ESP32, .total_size = IMAGE_SIZE,
                                  .version = "v1", .project_name = "micropython",
                                  .secure_version = secure_version, .seed = seed};
    uint8_t *img = NULL;
    assert_int_equal(mpota_image_build_app(&spec, &img, len, NULL), 0);
    return img;
}

static void put_app(struct rig *r, const struct mpota_partition *p, uint32_t secure_version)
{
    size_t len;
    uint8_t *img = make_app(secure_version, secure_version + 1u, &len);
    assert_int_equal(mpota_flash_emu_load(&r->emu, p->offset, img, (uint32_t)len), 0);
    free(img);
}

static void set_entry(struct rig *r, unsigned sector, uint32_t seq, uint32_t state)
{
    struct mpota_area a;
    struct mpota_otadata_entry e;
    assert_int_equal(mpota_area_init(&a, &r->emu.flash, r->otadata->offset, r->otadata->size, false), 0);
    mpota_otadata_entry_init(&e, seq, state);
    assert_int_equal(mpota_otadata_write(&a, sector, &e), 0);
}

// The device before the step under test: ota_0 with secure_version sv0 and
// record {1, VALID}; ota_1 with sv1 and, if seq1, record {seq1, state1}.
static void device(struct rig *r, uint32_t sv0, uint32_t sv1, uint32_t seq1, uint32_t state1)
{
    put_app(r, r->ota0, sv0);
    put_app(r, r->ota1, sv1);
    set_entry(r, 0, 1, MPOTA_OTA_STATE_VALID);
    if (seq1) {
        set_entry(r, 1, seq1, state1);
    }
    mpota_flash_emu_reset_counters(&r->emu);
    memcpy(r->snapshot, r->emu.mem, FLASH_SIZE);
}

// A reset that boots p; the report goes to *rep.
static void boot_into(struct rig *r, const struct mpota_partition *p, struct mpota_boot_report *rep)
{
    assert_int_equal(mpota_boot_select(&r->ctx, rep), 0);
    assert_ptr_equal(rep->booted, p);
}

static void break_app(struct rig *r, const struct mpota_partition *p)
{
    r->emu.mem[p->offset + 0x200] ^= 0x01;  // inside segment 0: checksum and hash fail
}

// The active entry names ota_1 (secure_version 1 < counter 2): treated as
// not valid, so ota_0's entry is active; nothing written, nothing burnt.
static void test_selected_below_counter_falls_back_to_other_slot(void **state)
{
    struct rig *r = *state;
    device(r, 2, 1, 2, MPOTA_OTA_STATE_VALID);
    struct mpota_boot_report rep;
    boot_into(r, r->ota0, &rep);
    assert_int_equal(rep.selected_index, 0);
    assert_int_equal(rep.n_skipped, 1);
    assert_int_equal(rep.skipped[0].index, 1);
    assert_int_equal(rep.skipped[0].secure_version, 1);
    assert_true(rep.skipped[0].has_desc);
    assert_int_equal(rep.n_writes, 0);
    assert_int_equal(rep.raise_to, 0);
    assert_int_equal(r->raises, 0);
    assert_memory_equal(r->emu.mem, r->snapshot, FLASH_SIZE);
}

// Both apps below the counter: no entry is valid, every candidate is
// skipped, and the chip has no bootable app.
static void test_both_below_counter_no_bootable_app(void **state)
{
    struct rig *r = *state;
    r->ctx.security_version = 3;
    device(r, 2, 1, 2, MPOTA_OTA_STATE_VALID);
    struct mpota_boot_report rep;
    assert_int_equal(mpota_boot_select(&r->ctx, &rep), MPOTA_ERR_NO_BOOTABLE_APP);
    assert_null(rep.booted);
    assert_int_equal(rep.n_skipped, 2);
    assert_int_equal(r->raises, 0);
}

// Without anti-rollback the same device boots the active entry's ota_1.
static void test_off_ignores_secure_version(void **state)
{
    struct rig *r = *state;
    r->ctx.anti_rollback = false;
    r->ctx.security_version = 3;
    device(r, 2, 1, 2, MPOTA_OTA_STATE_VALID);
    struct mpota_boot_report rep;
    boot_into(r, r->ota1, &rep);
    assert_int_equal(rep.n_skipped, 0);
    assert_int_equal(r->raises, 0);
}

// A VALID active entry raises the counter to its app's secure_version
// (update_anti_rollback); a NEW one (first boot, now PENDING_VERIFY) does not.
static void test_valid_entry_raises_new_does_not(void **state)
{
    struct rig *r = *state;
    device(r, 2, 5, 2, MPOTA_OTA_STATE_NEW);
    struct mpota_boot_report rep;
    boot_into(r, r->ota1, &rep);
    assert_int_equal(rep.raise_to, 0);
    assert_int_equal(r->raises, 0);
    // Confirmed by the app: mark_valid raises to 5 (esp_ota_mark_app_valid_...).
    r->ctx.running = r->ota1;
    assert_int_equal(mpota_boot_mark_valid(&r->ctx), 0);
    assert_int_equal(r->raises, 1);
    assert_int_equal(r->raised_to, 5);
    // A cut between the VALID write and the burn: the next boot raises it.
    r->ctx.security_version = 2;
    boot_into(r, r->ota1, &rep);
    assert_int_equal(rep.raise_to, 5);
    assert_int_equal(rep.raise_err, 0);
    assert_int_equal(r->ctx.security_version, 5);
    // ... and once there, nothing more (burning is idempotent).
    assert_int_equal(mpota_boot_select(&r->ctx, &rep), 0);
    assert_int_equal(rep.raise_to, 0);
    assert_int_equal(r->raises, 2);
}

// The raised counter counts for the load attempts of the same boot: the
// selected app (secure_version 3) does not load, the fallback ota_0 (2) is
// now below the counter, so nothing boots -- as ESP-IDF's bootloader.
static void test_raise_before_load_can_leave_nothing(void **state)
{
    struct rig *r = *state;
    device(r, 2, 3, 2, MPOTA_OTA_STATE_VALID);
    break_app(r, r->ota1);
    struct mpota_boot_report rep;
    assert_int_equal(mpota_boot_select(&r->ctx, &rep), MPOTA_ERR_NO_BOOTABLE_APP);
    assert_int_equal(rep.raise_to, 3);
    assert_int_equal(rep.n_skipped, 1);
    assert_int_equal(rep.skipped[0].index, 0);
}

// The initial record on blank otadata raises to the booted app's version.
static void test_initial_record_raises(void **state)
{
    struct rig *r = *state;
    put_app(r, r->ota0, 4);
    struct mpota_boot_report rep;
    boot_into(r, r->ota0, &rep);
    assert_int_equal(rep.n_writes, 1);
    assert_int_equal(rep.raise_to, 4);
    assert_int_equal(r->raised_to, 4);
}

// set_boot of an app below the counter or beyond the field: refused with
// the numbers, the flash byte-identical.
static void test_set_boot_refuses(void **state)
{
    struct rig *r = *state;
    device(r, 2, 1, 0, 0);
    struct mpota_diag d = {0};
    assert_int_equal(mpota_boot_set_boot(&r->ctx, r->ota1, &d), MPOTA_ERR_SECURE_VERSION_LOW);
    assert_int_equal(d.expected, 2);
    assert_int_equal(d.actual, 1);
    assert_string_equal(d.label, "ota_1");
    put_app(r, r->ota1, 33);  // ESP32: a 32-bit field
    memcpy(r->snapshot, r->emu.mem, FLASH_SIZE);
    assert_int_equal(mpota_boot_set_boot(&r->ctx, r->ota1, &d), MPOTA_ERR_SECURE_VERSION_TOO_BIG);
    assert_int_equal(d.expected, 32);
    assert_int_equal(d.actual, 33);
    assert_int_equal(r->emu.count.ops, 0);
    assert_memory_equal(r->emu.mem, r->snapshot, FLASH_SIZE);
    put_app(r, r->ota1, 2);  // at the counter: fine
    assert_int_equal(mpota_boot_set_boot(&r->ctx, r->ota1, &d), 0);
}

// No rollback to an app below the counter (esp_ota_check_rollback_is_possible).
static void test_rollback_needs_previous_app_to_pass(void **state)
{
    struct rig *r = *state;
    device(r, 2, 3, 2, MPOTA_OTA_STATE_PENDING_VERIFY);
    r->ctx.running = r->ota1;
    assert_int_equal(mpota_boot_rollback_possible(&r->ctx), 1);
    r->ctx.security_version = 3;
    assert_int_equal(mpota_boot_rollback_possible(&r->ctx), 0);
    assert_int_equal(mpota_boot_mark_invalid(&r->ctx), MPOTA_ERR_ROLLBACK_IMPOSSIBLE);
    assert_int_equal(r->emu.count.ops, 0);
}

static int run_update(struct rig *r, uint32_t secure_version, struct mpota_diag *d)
{
    static mpota_session_t s;
    static struct mpota_update_opts opts;
    size_t len;
    uint8_t *img = make_app(secure_version, 9, &len);
    int rc = mpota_session_begin(&s, &r->ctx, r->ota0, NULL, &opts, d);
    if (!rc) {
        rc = mpota_session_write(&s, img, (uint32_t)len);
    }
    if (rc) {
        *d = *mpota_session_diag(&s);
    }
    (void)mpota_session_abort(&s);
    free(img);
    return rc;
}

// The session refuses at pre-flight, before any erase: the whole flash is
// byte-identical, and the diag holds both numbers.
static void test_session_preflight_refuses(void **state)
{
    struct rig *r = *state;
    r->ctx.running = r->ota0;
    put_app(r, r->ota1, 7);  // what ota_1 held before must survive
    device(r, 2, 7, 0, 0);
    struct mpota_diag d = {0};
    assert_int_equal(run_update(r, 1, &d), MPOTA_ERR_SECURE_VERSION_LOW);
    assert_int_equal(d.expected, 2);
    assert_int_equal(d.actual, 1);
    assert_int_equal(d.offset, 0x24);
    assert_int_equal(run_update(r, 40, &d), MPOTA_ERR_SECURE_VERSION_TOO_BIG);
    assert_int_equal(d.expected, 32);
    assert_int_equal(d.actual, 40);
    assert_int_equal(r->emu.count.ops, 0);
    assert_memory_equal(r->emu.mem, r->snapshot, FLASH_SIZE);
    // A narrower field (ESP32-C2's 4 bits) is taken from the ctx.
    r->ctx.security_version_bits = 4;
    assert_int_equal(run_update(r, 5, &d), MPOTA_ERR_SECURE_VERSION_TOO_BIG);
    assert_int_equal(d.expected, 4);
    assert_int_equal(run_update(r, 2, &d), 0);
}

static void test_field_widths(void **state)
{
    (void)state;
    assert_int_equal(mpota_chip_security_version_bits(MPOTA_CHIP_ESP32), 32);
    assert_int_equal(mpota_chip_security_version_bits(MPOTA_CHIP_ESP32C2), 4);
    assert_int_equal(mpota_chip_security_version_bits(MPOTA_CHIP_ESP32C5), 9);
    assert_int_equal(mpota_chip_security_version_bits(MPOTA_CHIP_ESP32S3), 16);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_selected_below_counter_falls_back_to_other_slot),
        T(test_both_below_counter_no_bootable_app),
        T(test_off_ignores_secure_version),
        T(test_valid_entry_raises_new_does_not),
        T(test_raise_before_load_can_leave_nothing),
        T(test_initial_record_raises),
        T(test_set_boot_refuses),
        T(test_rollback_needs_previous_app_to_pass),
        T(test_session_preflight_refuses),
        T(test_field_widths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
