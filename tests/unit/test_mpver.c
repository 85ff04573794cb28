// The MicroPython version an image carries (mpver.h), in the forms official
// builds hold it, split across chunks at every point.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mpota/mpver.h"

static const char *scan_split(const char *text, size_t len, size_t at, char out[33])
{
    mpota_mpver_scan_t s;
    mpota_mpver_init(&s);
    mpota_mpver_push(&s, text, at);
    mpota_mpver_push(&s, text + at, len - at);
    strcpy(out, mpota_mpver_version(&s));
    return out;
}

// Every split point gives the same answer.
static void expect_version(const char *text, size_t len, const char *want)
{
    char out[33];
    for (size_t at = 0; at <= len; at++) {
        assert_string_equal(scan_split(text, len, at, out), want);
    }
}

static void test_forms(void **state)
{
    (void)state;
    // v1.23.0: the platform string comes first, then the banner (which wins).
    static const char official[] = "xx\0MicroPython-1.23.0-xtensa-IDFv5.0.4-with-newlib4.1.0\0"
                                   "3.4.0; MicroPython v1.23.0 on 2024-06-02\0; Generic ESP32";
    expect_version(official, sizeof(official), "1.23.0");
    // A preview: the banner keeps the build number, the platform does not.
    static const char preview[] = "MicroPython-1.23.0-preview-xtensa-IDFv5.0.4-with-newlib4.1.0\0"
                                  "MicroPython v1.23.0-preview.236.gcd8eea2ae on 2024-05-01";
    expect_version(preview, sizeof(preview), "1.23.0-preview.236.gcd8eea2ae");
    // Only the platform form: the number and the pre-release word.
    static const char platform[] = "MicroPython-1.25.0-preview-xtensa-IDFv5.3.2-with-newlib4.3.0";
    expect_version(platform, sizeof(platform), "1.25.0-preview");
    // Words that are not versions.
    static const char words[] = "MicroPython version\0MicroPython-lib\0MicroPython v\0MMicroPython";
    expect_version(words, sizeof(words), "");
    // A repeated 'M' before the marker still matches.
    static const char mm[] = "MMicroPython v1.9.4 on";
    expect_version(mm, sizeof(mm), "1.9.4");
    // Longer than any version: dropped.
    static const char long_one[] = "MicroPython v1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17 ";
    expect_version(long_one, sizeof(long_one), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
