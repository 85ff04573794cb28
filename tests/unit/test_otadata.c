// otadata codec (SPEC §3.2-3.6): the CRC vectors, every otadata row of
// shared/testdata/README.md, the predicates and the tie rule, and the exact
// bytes of a write.
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
#include "mpota/err.h"
#include "mpota/otadata.h"
#include "testutil.h"

#define OTADATA_ADDR 0xD000u

// Loads a testdata file, checks its size, returns it (caller frees).
static uint8_t *load(const char *rel, size_t want)
{
    size_t len = 0;
    uint8_t *buf = mpota_host_read_file(testdata_path(rel), &len);
    assert_non_null(buf);
    assert_int_equal(len, want);
    return buf;
}

static void test_crc_vectors(void **state)
{
    (void)state;
    static const struct {
        uint32_t seq, crc;
    } v[] = {
        {1, 0x4743989Au}, {2, 0x55F63774u}, {3, 0xED4A5011u},         {4, 0x709D68A8u},
        {5, 0xC8210FCDu}, {0, 0xFFFFFFFFu}, {0xFFFFFFFFu, 0x2144DF1Cu},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(mpota_otadata_crc(v[i].seq), v[i].crc);
    }
    // Not zlib's CRC-32 (register 0xFFFFFFFF): that gives 0x99F8B879 for 1.
    assert_int_not_equal(mpota_otadata_crc(1), 0x99F8B879u);
}

static void test_entry_seq1_undefined(void **state)
{
    (void)state;
    skip_without_testdata();
    uint8_t *buf = load("otadata/entry-seq1-undefined.bin", 512);
    struct mpota_otadata_entry e;
    mpota_otadata_decode(buf, &e);
    assert_int_equal(e.ota_seq, 1);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(e.seq_label[i], 0xFF);
    }
    assert_int_equal(e.ota_state, MPOTA_OTA_STATE_UNDEFINED);
    assert_string_equal(mpota_otadata_state_name(e.ota_state), "UNDEFINED");
    assert_int_equal(e.crc, 0x4743989Au);
    assert_true(mpota_otadata_crc_ok(&e));
    assert_true(mpota_otadata_is_valid(&e));
    assert_false(mpota_otadata_is_invalid(&e));
    assert_false(mpota_otadata_is_blank_or_bad_crc(&e));
    assert_int_equal(mpota_otadata_seq_to_slot(e.ota_seq, 2), 0);  // ota_0

    uint8_t raw[32];
    mpota_otadata_encode(&e, raw);
    assert_memory_equal(raw, buf, 32);
    free(buf);
}

static void check_badcrc(const char *rel, uint32_t seq, uint32_t expected_crc)
{
    uint8_t *buf = load(rel, 512);
    struct mpota_otadata_entry e;
    mpota_otadata_decode(buf, &e);
    assert_int_equal(e.ota_seq, seq);
    assert_int_equal(e.crc, 0xFFFFFFFFu);
    assert_int_equal(mpota_otadata_crc(e.ota_seq), expected_crc);
    assert_false(mpota_otadata_crc_ok(&e));
    assert_false(mpota_otadata_is_valid(&e));
    // A bad CRC is not "invalid" in ESP-IDF's sense (seq set, state neither
    // INVALID nor ABORTED): it matters for the bootloader's branches.
    assert_false(mpota_otadata_is_invalid(&e));
    assert_true(mpota_otadata_is_blank_or_bad_crc(&e));
    uint8_t raw[32];
    mpota_otadata_encode(&e, raw);
    assert_memory_equal(raw, buf, 32);
    free(buf);
}

static void test_entry_badcrc_files(void **state)
{
    (void)state;
    skip_without_testdata();
    check_badcrc("otadata/entry-seq1-badcrc.bin", 1, 0x4743989Au);
    check_badcrc("otadata/entry-seq2-badcrc.bin", 2, 0x55F63774u);
}

static void test_blank_initial(void **state)
{
    (void)state;
    skip_without_testdata();
    uint8_t *buf = load("otadata/blank-initial.bin", 8192);
    struct mpota_flash_emu emu;
    assert_int_equal(mpota_flash_emu_open_ram(&emu, 0x10000), 0);
    assert_int_equal(mpota_flash_emu_load(&emu, OTADATA_ADDR, buf, 8192), 0);
    struct mpota_area area;
    assert_int_equal(mpota_area_init(&area, &emu.flash, OTADATA_ADDR, 0x2000, true), 0);
    struct mpota_otadata_entry two[2];
    assert_int_equal(mpota_otadata_read(&area, two), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(two[i].ota_seq, MPOTA_OTADATA_SEQ_EMPTY);
        assert_int_equal(two[i].ota_state, MPOTA_OTA_STATE_UNDEFINED);
        assert_true(mpota_otadata_is_invalid(&two[i]));
        assert_false(mpota_otadata_is_valid(&two[i]));
        assert_true(mpota_otadata_is_blank_or_bad_crc(&two[i]));
    }
    // Both empty: no active entry (the bootloader then boots factory or ota_0;
    // that part is in test_boot_select.c).
    assert_int_equal(mpota_otadata_active(two), -1);
    assert_int_equal(emu.count.reads, 2);
    assert_int_equal(emu.count.read_bytes, 64);
    mpota_flash_emu_close(&emu);
    free(buf);
}

static void test_layout_and_roundtrip(void **state)
{
    (void)state;
    uint8_t raw[32];
    for (int i = 0; i < 32; i++) {
        raw[i] = (uint8_t)(i * 7 + 3);
    }
    struct mpota_otadata_entry e;
    mpota_otadata_decode(raw, &e);
    assert_int_equal(e.ota_seq, 0x18110A03u);  // bytes 03 0A 11 18, little-endian
    assert_int_equal(e.seq_label[0], raw[4]);
    assert_int_equal(e.seq_label[19], raw[23]);
    assert_int_equal(e.ota_state, (uint32_t)raw[24] | (uint32_t)raw[25] << 8 |
                                      (uint32_t)raw[26] << 16 | (uint32_t)raw[27] << 24);
    assert_int_equal(e.crc, (uint32_t)raw[28] | (uint32_t)raw[29] << 8 |
                                (uint32_t)raw[30] << 16 | (uint32_t)raw[31] << 24);
    uint8_t back[32];
    mpota_otadata_encode(&e, back);
    assert_memory_equal(back, raw, 32);

    // An entry as ESP-IDF builds it: {seq 1, VALID}.
    static const uint8_t want[32] = {
        0x01, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0x02, 0x00, 0x00, 0x00, 0x9A, 0x98, 0x43, 0x47,
    };
    mpota_otadata_entry_init(&e, 1, MPOTA_OTA_STATE_VALID);
    mpota_otadata_encode(&e, back);
    assert_memory_equal(back, want, 32);
}

static void test_predicates_by_state(void **state)
{
    (void)state;
    struct mpota_otadata_entry e;
    static const uint32_t bootable[] = {MPOTA_OTA_STATE_NEW, MPOTA_OTA_STATE_PENDING_VERIFY,
                                        MPOTA_OTA_STATE_VALID, MPOTA_OTA_STATE_UNDEFINED, 5,
                                        0x12345678u};
    for (size_t i = 0; i < sizeof(bootable) / sizeof(bootable[0]); i++) {
        mpota_otadata_entry_init(&e, 7, bootable[i]);
        assert_false(mpota_otadata_is_invalid(&e));
        assert_true(mpota_otadata_is_valid(&e));
    }
    mpota_otadata_entry_init(&e, 7, MPOTA_OTA_STATE_INVALID);
    assert_true(mpota_otadata_is_invalid(&e));
    assert_false(mpota_otadata_is_valid(&e));
    assert_false(mpota_otadata_is_blank_or_bad_crc(&e));
    mpota_otadata_entry_init(&e, 7, MPOTA_OTA_STATE_ABORTED);
    assert_true(mpota_otadata_is_invalid(&e));
    assert_false(mpota_otadata_is_valid(&e));

    // The seq-0 quirk (SPEC §3.3): seq 0 with an erased crc passes.
    uint8_t raw[32];
    memset(raw, 0xFF, sizeof(raw));
    memset(raw, 0x00, 4);
    mpota_otadata_decode(raw, &e);
    assert_int_equal(e.crc, 0xFFFFFFFFu);
    assert_true(mpota_otadata_is_valid(&e));
    assert_int_equal(mpota_otadata_seq_to_slot(0, 2), 1);   // 0xFFFFFFFF % 2
    assert_int_equal(mpota_otadata_seq_to_slot(0, 3), 0);   // 0xFFFFFFFF % 3
    assert_int_equal(mpota_otadata_seq_to_slot(0, 16), 15);

    assert_null(mpota_otadata_state_name(5));
    assert_string_equal(mpota_otadata_state_name(0), "NEW");
    assert_string_equal(mpota_otadata_state_name(1), "PENDING_VERIFY");
    assert_string_equal(mpota_otadata_state_name(2), "VALID");
    assert_string_equal(mpota_otadata_state_name(3), "INVALID");
    assert_string_equal(mpota_otadata_state_name(4), "ABORTED");
}

static void test_seq_to_slot(void **state)
{
    (void)state;
    assert_int_equal(mpota_otadata_seq_to_slot(1, 2), 0);
    assert_int_equal(mpota_otadata_seq_to_slot(2, 2), 1);
    assert_int_equal(mpota_otadata_seq_to_slot(3, 2), 0);
    assert_int_equal(mpota_otadata_seq_to_slot(5, 8), 4);
    assert_int_equal(mpota_otadata_seq_to_slot(8, 8), 7);
    assert_int_equal(mpota_otadata_seq_to_slot(0xFFFFFFFEu, 3), 0xFFFFFFFDu % 3);
    assert_int_equal(mpota_otadata_seq_to_slot(9, 0), 0);
}

static void test_select_and_tie(void **state)
{
    (void)state;
    struct mpota_otadata_entry two[2];
    bool both[2] = {true, true}, first[2] = {true, false}, second[2] = {false, true},
         none[2] = {false, false};
    mpota_otadata_entry_init(&two[0], 4, MPOTA_OTA_STATE_VALID);
    mpota_otadata_entry_init(&two[1], 5, MPOTA_OTA_STATE_VALID);
    assert_int_equal(mpota_otadata_select(two, both, true), 1);
    assert_int_equal(mpota_otadata_select(two, both, false), 0);
    assert_int_equal(mpota_otadata_select(two, first, true), 0);
    assert_int_equal(mpota_otadata_select(two, second, false), 1);
    assert_int_equal(mpota_otadata_select(two, none, true), -1);
    two[0].ota_seq = 6;
    assert_int_equal(mpota_otadata_select(two, both, true), 0);
    assert_int_equal(mpota_otadata_select(two, both, false), 1);
    // Tie: entry 0, for max and for min.
    two[0].ota_seq = 5;
    assert_int_equal(mpota_otadata_select(two, both, true), 0);
    assert_int_equal(mpota_otadata_select(two, both, false), 0);

    // active = max over valid ones
    mpota_otadata_entry_init(&two[0], 9, MPOTA_OTA_STATE_ABORTED);
    mpota_otadata_entry_init(&two[1], 2, MPOTA_OTA_STATE_VALID);
    assert_int_equal(mpota_otadata_active(two), 1);
    two[1].crc ^= 1;
    assert_int_equal(mpota_otadata_active(two), -1);
    mpota_otadata_entry_init(&two[0], 3, MPOTA_OTA_STATE_NEW);
    mpota_otadata_entry_init(&two[1], 3, MPOTA_OTA_STATE_VALID);
    assert_int_equal(mpota_otadata_active(two), 0);
}

static void test_write_exact_bytes(void **state)
{
    (void)state;
    struct mpota_flash_emu emu;
    assert_int_equal(mpota_flash_emu_open_ram(&emu, 0x10000), 0);
    emu.strict = true;  // a write must erase before it programs
    // Something that is not erased in both sectors and around them.
    memset(emu.mem + OTADATA_ADDR - 0x1000, 0x5A, 0x4000);
    struct mpota_area area;
    assert_int_equal(mpota_area_init(&area, &emu.flash, OTADATA_ADDR, 0x2000, false), 0);

    struct mpota_otadata_entry e;
    mpota_otadata_entry_init(&e, 2, MPOTA_OTA_STATE_NEW);
    memcpy(e.seq_label, "label-kept-as-given!", 20);
    assert_int_equal(mpota_otadata_write(&area, 1, &e), 0);
    assert_int_equal(emu.count.sector_erases, 1);
    assert_int_equal(emu.count.block_erases, 0);
    assert_int_equal(emu.count.progs, 1);
    assert_int_equal(emu.count.prog_bytes, 32);
    assert_int_equal(emu.count.ops, 2);

    static const uint8_t want[32] = {
        0x02, 0x00, 0x00, 0x00, 'l', 'a', 'b', 'e', 'l', '-', 'k', 'e', 'p', 't', '-', 'a',
        's',  '-',  'g',  'i',  'v', 'e', 'n', '!', 0x00, 0x00, 0x00, 0x00, 0x74, 0x37, 0xF6, 0x55,
    };
    const uint8_t *s1 = emu.mem + OTADATA_ADDR + 0x1000;
    assert_memory_equal(s1, want, 32);
    for (uint32_t i = 32; i < 0x1000; i++) {
        assert_int_equal(s1[i], 0xFF);
    }
    // Sector 0 and the neighbours are untouched.
    for (uint32_t i = 0; i < 0x1000; i++) {
        assert_int_equal(emu.mem[OTADATA_ADDR + i], 0x5A);
        assert_int_equal(emu.mem[OTADATA_ADDR - 0x1000 + i], 0x5A);
        assert_int_equal(emu.mem[OTADATA_ADDR + 0x2000 + i], 0x5A);
    }
    // The crc is written as given, even a wrong one (the bootloader does that).
    e.crc = 0xDEADBEEFu;
    assert_int_equal(mpota_otadata_write(&area, 0, &e), 0);
    struct mpota_otadata_entry two[2];
    assert_int_equal(mpota_otadata_read(&area, two), 0);
    assert_int_equal(two[0].crc, 0xDEADBEEFu);
    assert_int_equal(two[1].crc, 0x55F63774u);

    assert_int_equal(mpota_otadata_write(&area, 2, &e), MPOTA_ERR_INVALID_ARG);
    struct mpota_area small;
    assert_int_equal(mpota_area_init(&small, &emu.flash, OTADATA_ADDR, 0x1000, false), 0);
    assert_int_equal(mpota_otadata_read(&small, two), MPOTA_ERR_OTADATA_SIZE);
    assert_int_equal(mpota_otadata_write(&small, 0, &e), MPOTA_ERR_OTADATA_SIZE);
    struct mpota_area ro;
    assert_int_equal(mpota_area_init(&ro, &emu.flash, OTADATA_ADDR, 0x2000, true), 0);
    assert_int_equal(mpota_otadata_write(&ro, 0, &e), MPOTA_ERR_FLASH_PROTECTED);
    mpota_flash_emu_close(&emu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_vectors),
        cmocka_unit_test(test_entry_seq1_undefined),
        cmocka_unit_test(test_entry_badcrc_files),
        cmocka_unit_test(test_blank_initial),
        cmocka_unit_test(test_layout_and_roundtrip),
        cmocka_unit_test(test_predicates_by_state),
        cmocka_unit_test(test_seq_to_slot),
        cmocka_unit_test(test_select_and_tie),
        cmocka_unit_test(test_write_exact_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
