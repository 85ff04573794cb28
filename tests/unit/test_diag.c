// The diag catalogue: every code has a name and text, numbers are formatted as
// users read them, and truncation behaves like snprintf.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "host_err.h"
#include "mpota/err.h"

static void test_numbers_and_label(void **state)
{
    (void)state;
    struct mpota_diag d = {0};
    mpota_diag_set(&d, MPOTA_ERR_SLOT_TOO_SMALL, 0, 1572864, 1672800);
    mpota_diag_label(&d, "ota_0", 16);
    char text[256];
    mpota_diag_format(&d, text, sizeof(text));
    assert_non_null(strstr(text, "image is 1,672,800 B but ota_0 holds 1,572,864 B"));
}

static void test_hex_and_chip_names(void **state)
{
    (void)state;
    struct mpota_diag d = {0};
    mpota_diag_set(&d, MPOTA_ERR_IMAGE_CHIP, 12, 0, 9);
    char text[256];
    mpota_diag_format(&d, text, sizeof(text));
    assert_non_null(strstr(text, "built for ESP32-S3 (chip id 9), not for ESP32 (chip id 0)"));

    mpota_diag_set(&d, MPOTA_ERR_IMAGE_CHECKSUM, 0x1001F, 0x60, 0x61);
    mpota_diag_format(&d, text, sizeof(text));
    assert_non_null(strstr(text, "at 0x1001F is 0x61 but the segments give 0x60"));
}

static void test_label_is_truncated_to_its_room(void **state)
{
    (void)state;
    struct mpota_diag d = {0};
    // A whole 31-char project name fits (esp_app_desc_t's 32-byte field).
    mpota_diag_label(&d, "a-project-name-of-31-characters", 100);
    assert_string_equal(d.label, "a-project-name-of-31-characters");
    mpota_diag_label(&d, "a_label_of_forty_chars_is_longer_than_32", 100);
    assert_int_equal(strlen(d.label), MPOTA_DIAG_LABEL_MAX);
    mpota_diag_label(&d, "abcdefghijklmnopq", 5);
    assert_string_equal(d.label, "abcde");
}

static void test_truncation_like_snprintf(void **state)
{
    (void)state;
    struct mpota_diag d = {0};
    mpota_diag_set(&d, MPOTA_ERR_EXPECT_LENGTH, 0, 2000000, 1000);
    char full[256], small[8];
    size_t n = mpota_diag_format(&d, full, sizeof(full));
    assert_int_equal(n, strlen(full));
    assert_int_equal(mpota_diag_format(&d, small, sizeof(small)), n);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, full, sizeof(small) - 1);
    assert_int_equal(mpota_diag_format(&d, NULL, 0), n);
}

static void test_every_code_has_name_and_text(void **state)
{
    (void)state;
    for (int err = 0; err >= -255; err--) {
        const char *name = mpota_err_name(err);
        if (strcmp(name, "MPOTA_ERR_UNKNOWN") == 0) {
            continue;
        }
        struct mpota_diag d = {0};
        mpota_diag_set(&d, err, 0, 0, 0);
        char text[512];
        assert_true(mpota_diag_format(&d, text, sizeof(text)) > 5);
        assert_null(strchr(text, '{'));  // every placeholder was known
    }
    assert_string_equal(mpota_err_name(-9999), "MPOTA_ERR_UNKNOWN");
    struct mpota_diag d = {.err = -9999};
    char text[64];
    mpota_diag_format(&d, text, sizeof(text));
    assert_string_equal(text, "error -9999");
}

// The core's sentences are facts and what to do, in no front end's words: no
// CLI command, option or host code. The host's codes have their own names and
// sentences, and the host formatter gives the core's text for the rest.
static void test_core_words_and_host_words(void **state)
{
    (void)state;
    char text[512];
    for (int err = 0; err >= -255; err--) {
        struct mpota_diag d = {0};
        mpota_diag_set(&d, err, 0, 0, 0);
        mpota_diag_format(&d, text, sizeof(text));
        if (strstr(text, "`mpota") || strstr(text, " --")) {
            fail_msg("core sentence of %s names a CLI command: %s", mpota_err_name(err), text);
        }
        char host[512];
        mpota_host_diag_format(&d, host, sizeof(host));
        if (strcmp(mpota_err_name(err), "MPOTA_ERR_UNKNOWN") != 0) {
            assert_string_equal(host, text);
            assert_string_equal(mpota_host_err_name(err), mpota_err_name(err));
        }
    }
    static const int host_codes[] = {
        MPOTA_ERR_CSV_TYPE, MPOTA_ERR_CSV_SUBTYPE, MPOTA_ERR_CSV_NUMBER, MPOTA_ERR_CSV_FLAG,
        MPOTA_ERR_CSV_SIZE, MPOTA_ERR_LAYOUT_NO_ROOM, MPOTA_ERR_LAYOUT_APP_TOO_BIG,
        MPOTA_ERR_CSV_VARIABLE, MPOTA_ERR_CSV_ENCODING, MPOTA_ERR_CSV_BOOTLOADER,
        MPOTA_ERR_LAYOUT_OPTION, MPOTA_ERR_NET, MPOTA_ERR_HTTP_STATUS, MPOTA_ERR_FILE,
        MPOTA_ERR_MANIFEST, MPOTA_ERR_TLS, MPOTA_ERR_HTTP_RANGE, MPOTA_ERR_HTTP_REDIRECT,
        MPOTA_ERR_HTTP_TOO_LARGE, MPOTA_ERR_SIG_CRYPTO, MPOTA_ERR_SIG_CUT,
        MPOTA_ERR_SIG_KEY_FORMAT, MPOTA_ERR_SIG_KEY_SIZE, MPOTA_ERR_SIG_KEY_TYPE,
        MPOTA_ERR_SIG_KEY_PUBLIC, MPOTA_ERR_SIG_TOO_MANY, MPOTA_ERR_SIG_MIXED,
        MPOTA_ERR_SIG_SIGNED,
    };
    for (size_t i = 0; i < sizeof(host_codes) / sizeof(host_codes[0]); i++) {
        struct mpota_diag d = {0};
        mpota_diag_set(&d, host_codes[i], 0x10, 2, 404);
        assert_string_equal(mpota_err_name(host_codes[i]), "MPOTA_ERR_UNKNOWN");
        assert_int_equal(strncmp(mpota_host_err_name(host_codes[i]), "MPOTA_ERR_", 10), 0);
        assert_true(mpota_host_diag_format(&d, text, sizeof(text)) > 20);
        assert_null(strchr(text, '{'));
    }
    struct mpota_diag d = {0};
    mpota_diag_set(&d, MPOTA_ERR_HTTP_STATUS, 0, 0, 404);
    mpota_host_diag_format(&d, text, sizeof(text));
    assert_non_null(strstr(text, "the server answered HTTP 404"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_and_label),
        cmocka_unit_test(test_hex_and_chip_names),
        cmocka_unit_test(test_label_is_truncated_to_its_room),
        cmocka_unit_test(test_truncation_like_snprintf),
        cmocka_unit_test(test_every_code_has_name_and_text),
        cmocka_unit_test(test_core_words_and_host_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
