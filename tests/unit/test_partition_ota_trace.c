// SPEC §3.13 / §7.7: MicroPython's tests/ports/esp32/partition_ota.py on an
// emulated device (flash file + sidecar), with MicroPython's real 4 MiB OTA
// table and a real ESP32 app image, rollback enabled, ESP-IDF <= v5.5. After
// every step, the exact 32 bytes of both otadata sectors (and the 0xFF rest).
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "device.h"
#include "flash_emu.h"
#include "host_file.h"
#include "mpota/boot.h"
#include "mpota/err.h"
#include "mpota/image.h"
#include "mpota/part.h"
#include "testutil.h"

#define OTADATA 0xD000u

// The 32 bytes ESP-IDF writes: seq (LE), 20 x 0xFF, state (LE), crc (LE).
// CRCs typed from SPEC §3.3, not computed.
struct want {
    uint8_t seq[4];
    uint8_t state;
    uint8_t crc[4];
};

static const struct want W_BLANK = {{0xFF, 0xFF, 0xFF, 0xFF}, 0xFF, {0xFF, 0xFF, 0xFF, 0xFF}};
#define SEQ1 {0x01, 0x00, 0x00, 0x00}
#define CRC1 {0x9A, 0x98, 0x43, 0x47}
#define SEQ2 {0x02, 0x00, 0x00, 0x00}
#define CRC2 {0x74, 0x37, 0xF6, 0x55}
#define SEQ3 {0x03, 0x00, 0x00, 0x00}
#define CRC3 {0x11, 0x50, 0x4A, 0xED}
#define NEW 0x00
#define PENDING 0x01
#define VALID 0x02
#define ABORTED 0x04

struct trace {
    char dir[64];
    char path[128];
    struct mpota_device dev;
    struct mpota_boot_ctx ctx;
};

static void check_sector(const struct mpota_device *dev, unsigned sector, const struct want *w)
{
    const uint8_t *s = dev->emu.mem + OTADATA + sector * 0x1000u;
    uint8_t raw[32];
    memcpy(raw, w->seq, 4);
    memset(raw + 4, 0xFF, 20);
    raw[24] = w->state;
    memset(raw + 25, w->state == 0xFF ? 0xFF : 0x00, 3);
    memcpy(raw + 28, w->crc, 4);
    assert_memory_equal(s, raw, 32);
    for (uint32_t i = 32; i < 0x1000; i++) {
        assert_int_equal(s[i], 0xFF);
    }
}

static void check(struct trace *t, struct want s0, struct want s1)
{
    check_sector(&t->dev, 0, &s0);
    check_sector(&t->dev, 1, &s1);
}

// A reset; returns the label that runs, which the sidecar must also hold.
static const char *reset(struct trace *t, unsigned *writes)
{
    struct mpota_boot_report r;
    assert_int_equal(mpota_device_boot(&t->dev, &r), 0);
    if (writes) {
        *writes = r.n_writes;
    }
    char state_path[160];
    snprintf(state_path, sizeof(state_path), "%s.state", t->path);
    size_t len = 0;
    char *line = (char *)mpota_host_read_file(state_path, &len);
    assert_non_null(line);
    // Line 1 is the running label (line 2 may name the chip).
    size_t n = strlen(r.booted->label);
    assert_true(len >= n + 1);
    assert_memory_equal(line, r.booted->label, n);
    assert_int_equal(line[n], '\n');
    free(line);
    assert_string_equal(mpota_device_running(&t->dev), r.booted->label);
    mpota_device_ctx(&t->dev, &t->ctx);  // the app-side calls act on what runs now
    return mpota_device_running(&t->dev);
}

// What partition_ota.py does: copy the running partition to the next one in
// 4096-byte blocks (writeblocks erases each block first).
static void copy_partition(struct trace *t, const struct mpota_partition *from,
                           const struct mpota_partition *to)
{
    assert_int_equal(from->size, to->size);
    struct mpota_area src, dst;
    assert_int_equal(mpota_area_init(&src, &t->dev.emu.flash, from->offset, from->size, true), 0);
    assert_int_equal(mpota_area_init(&dst, &t->dev.emu.flash, to->offset, to->size, false), 0);
    uint8_t block[4096];
    for (uint32_t off = 0; off < from->size; off += sizeof(block)) {
        assert_int_equal(mpota_area_read(&src, off, block, sizeof(block)), 0);
        assert_int_equal(mpota_area_erase(&dst, off, sizeof(block)), 0);
        assert_int_equal(mpota_area_prog(&dst, off, block, sizeof(block)), 0);
    }
}

static void test_partition_ota_trace(void **state)
{
    (void)state;
    skip_without_testdata();
    struct trace *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    snprintf(t->dir, sizeof(t->dir), "/tmp/mpota-trace-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/flash.bin", t->dir);

    // Flash as `esptool write_flash` leaves it: table at 0x8000, app in ota_0.
    size_t table_len = 0, app_len = 0;
    uint8_t *table =
        mpota_host_read_file(testdata_path("partition-tables/micropython/partitions-4MiB-ota.bin"),
                             &table_len);
    uint8_t *app = mpota_host_read_file(testdata_path("images/app-v1.0.1.bin"), &app_len);
    assert_non_null(table);
    assert_non_null(app);
    assert_int_equal(mpota_flash_emu_create_file(t->path, 4u << 20), 0);
    struct mpota_flash_emu emu;
    assert_int_equal(mpota_flash_emu_open_file(&emu, t->path), 0);
    assert_int_equal(mpota_flash_emu_load(&emu, MPOTA_PART_TABLE_OFFSET, table, (uint32_t)table_len), 0);
    assert_int_equal(mpota_flash_emu_load(&emu, 0x10000, app, (uint32_t)app_len), 0);
    mpota_flash_emu_close(&emu);
    free(table);
    free(app);

    struct mpota_device *dev = &t->dev;
    assert_int_equal(mpota_device_open(dev, t->path), 0);
    assert_int_equal(dev->table_err, 0);
    dev->chip = MPOTA_CHIP_ESP32;
    assert_true(dev->rollback_enabled);
    mpota_device_ctx(dev, &t->ctx);
    const struct mpota_partition *ota_0 = mpota_part_find_label(&dev->table, "ota_0");
    const struct mpota_partition *ota_1 = mpota_part_find_label(&dev->table, "ota_1");
    assert_non_null(ota_0);
    assert_non_null(ota_1);
    assert_int_equal(ota_0->offset, 0x10000);
    assert_int_equal(ota_0->size, 0x180000);
    assert_int_equal(ota_1->offset, 0x190000);
    assert_int_equal(ota_1->size, 0x180000);
    const struct mpota_partition *od = mpota_part_find_label(&dev->table, "otadata");
    assert_non_null(od);
    assert_int_equal(od->offset, OTADATA);
    assert_int_equal(od->size, 0x2000);
    assert_null(mpota_device_running(dev));  // nothing booted yet
    check(t, W_BLANK, W_BLANK);
    unsigned writes;

    // 1. Freshly flashed: the bootloader boots ota_0, sector 0 = {1, VALID}.
    assert_string_equal(reset(t, &writes), "ota_0");
    assert_int_equal(writes, 1);
    check(t, (struct want){SEQ1, VALID, CRC1}, W_BLANK);
    // The sidecar survives a close/open.
    mpota_device_close(dev);
    assert_int_equal(mpota_device_open(dev, t->path), 0);
    dev->chip = MPOTA_CHIP_ESP32;
    mpota_device_ctx(dev, &t->ctx);
    ota_0 = mpota_part_find_label(&dev->table, "ota_0");
    ota_1 = mpota_part_find_label(&dev->table, "ota_1");
    assert_string_equal(mpota_device_running(dev), "ota_0");
    assert_ptr_equal(mpota_device_running_partition(dev), ota_0);

    // 2. Copy ota_0 -> get_next_update(), set_boot(), reset: ota_1 PENDING.
    const struct mpota_partition *next = NULL;
    assert_int_equal(mpota_boot_get_next_update(&t->ctx, mpota_device_running_partition(dev), &next), 0);
    assert_ptr_equal(next, ota_1);
    copy_partition(t, ota_0, ota_1);
    assert_int_equal(mpota_boot_set_boot(&t->ctx, ota_1, NULL), 0);
    check(t, (struct want){SEQ1, VALID, CRC1}, (struct want){SEQ2, NEW, CRC2});
    uint32_t st = 0;
    assert_int_equal(mpota_boot_get_state(&t->ctx, ota_1, &st), 0);
    assert_int_equal(st, MPOTA_OTA_STATE_NEW);
    assert_string_equal(reset(t, &writes), "ota_1");
    assert_int_equal(writes, 1);
    check(t, (struct want){SEQ1, VALID, CRC1}, (struct want){SEQ2, PENDING, CRC2});
    assert_int_equal(mpota_boot_rollback_possible(&t->ctx), 1);

    // 3. Not confirmed, reset: ABORTED, automatic rollback to ota_0.
    assert_string_equal(reset(t, &writes), "ota_0");
    assert_int_equal(writes, 1);
    check(t, (struct want){SEQ1, VALID, CRC1}, (struct want){SEQ2, ABORTED, CRC2});
    const struct mpota_partition *bad = NULL;
    assert_int_equal(mpota_boot_last_invalid(&t->ctx, &bad), 0);
    assert_ptr_equal(bad, ota_1);
    assert_int_equal(mpota_boot_get_state(&t->ctx, ota_1, &st), 0);
    assert_int_equal(st, MPOTA_OTA_STATE_ABORTED);

    // 4. set_boot(ota_1) again: active is sector 0 (seq 1), so sector 1 gets
    // {2, NEW} again; reset -> PENDING; confirm -> VALID; reset -> ota_1.
    assert_int_equal(mpota_boot_get_next_update(&t->ctx, mpota_device_running_partition(dev), &next), 0);
    assert_ptr_equal(next, ota_1);
    assert_int_equal(mpota_boot_set_boot(&t->ctx, ota_1, NULL), 0);
    check(t, (struct want){SEQ1, VALID, CRC1}, (struct want){SEQ2, NEW, CRC2});
    assert_string_equal(reset(t, &writes), "ota_1");
    check(t, (struct want){SEQ1, VALID, CRC1}, (struct want){SEQ2, PENDING, CRC2});
    assert_int_equal(mpota_boot_mark_valid(&t->ctx), 0);
    check(t, (struct want){SEQ1, VALID, CRC1}, (struct want){SEQ2, VALID, CRC2});
    mpota_flash_emu_reset_counters(&dev->emu);
    assert_string_equal(reset(t, &writes), "ota_1");
    assert_int_equal(writes, 0);
    assert_int_equal(dev->emu.count.ops, 0);
    check(t, (struct want){SEQ1, VALID, CRC1}, (struct want){SEQ2, VALID, CRC2});

    // 5. set_boot(ota_0): active is sector 1 (seq 2), sector 0 = {3, NEW};
    // reset -> ota_0 PENDING; confirm; reset -> ota_0 still.
    assert_int_equal(mpota_boot_set_boot(&t->ctx, ota_0, NULL), 0);
    check(t, (struct want){SEQ3, NEW, CRC3}, (struct want){SEQ2, VALID, CRC2});
    assert_string_equal(reset(t, &writes), "ota_0");
    assert_int_equal(writes, 1);
    check(t, (struct want){SEQ3, PENDING, CRC3}, (struct want){SEQ2, VALID, CRC2});
    assert_int_equal(mpota_boot_mark_valid(&t->ctx), 0);
    check(t, (struct want){SEQ3, VALID, CRC3}, (struct want){SEQ2, VALID, CRC2});
    assert_string_equal(reset(t, &writes), "ota_0");
    assert_int_equal(writes, 0);
    check(t, (struct want){SEQ3, VALID, CRC3}, (struct want){SEQ2, VALID, CRC2});
    const struct mpota_partition *bootp = NULL;
    assert_int_equal(mpota_boot_get_boot_partition(&t->ctx, &bootp), 0);
    assert_ptr_equal(bootp, ota_0);

    // The bytes are on the file too, not only in the mapping.
    mpota_device_close(dev);
    size_t len = 0;
    uint8_t *file = mpota_host_read_file(t->path, &len);
    assert_non_null(file);
    assert_int_equal(len, 4u << 20);
    assert_int_equal(file[OTADATA], 0x03);
    assert_int_equal(file[OTADATA + 24], VALID);
    assert_int_equal(file[OTADATA + 0x1000], 0x02);
    free(file);

    char state_path[160];
    snprintf(state_path, sizeof(state_path), "%s.state", t->path);
    remove(state_path);
    remove(t->path);
    rmdir(t->dir);
    free(t);
}

// A flash with no table: open works, boot reports the table error.
static void test_device_without_table(void **state)
{
    (void)state;
    char dir[] = "/tmp/mpota-dev-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/blank.bin", dir);
    assert_int_equal(mpota_flash_emu_create_file(path, 2u << 20), 0);
    struct mpota_device dev;
    assert_int_equal(mpota_device_open(&dev, path), 0);
    assert_int_not_equal(dev.table_err, 0);
    assert_int_equal(mpota_device_boot(&dev, NULL), dev.table_err);
    assert_null(mpota_device_running(&dev));
    assert_null(mpota_device_running_partition(&dev));
    mpota_device_close(&dev);
    mpota_device_close(&dev);
    char state_path[160];
    snprintf(state_path, sizeof(state_path), "%s.state", path);
    remove(state_path);
    remove(path);
    rmdir(dir);
    assert_int_equal(mpota_device_open(&dev, path), MPOTA_ERR_FILE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partition_ota_trace),
        cmocka_unit_test(test_device_without_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
