// The MicroPython version an app image carries. Official builds leave the app
// description's version and project_name empty (MicroPython's sdkconfig
// excludes them), so the version is read from the strings the firmware holds:
//   the banner / sys.version   "MicroPython v1.23.0 on 2024-06-02"
//   platform.platform()        "MicroPython-1.25.0-preview-xtensa-IDFv5.3.2-with-newlib4.3.0"
// Both sit in the first (read-only data) segment, within the first ~110 KiB
// of every official build from v1.19 to v1.26. The banner form wins (it keeps
// a preview's build number); the platform form is the fallback.
#ifndef MPOTA_MPVER_H
#define MPOTA_MPVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpota/flash.h"

#define MPOTA_MPVER_MAX 32u  // longest version kept ("1.23.0-preview.236.gcd8eea2ae" is 29)

// A push scanner: feed the image in chunks of any size.
typedef struct {
    uint8_t matched;   // chars of the marker matched so far, or a capture state
    uint8_t len;       // chars in cap[]
    uint8_t form;      // what version[] holds: 0 none, 1 platform, 2 banner
    uint8_t cap_form;  // the form being captured
    char cap[MPOTA_MPVER_MAX + 1];
    char version[MPOTA_MPVER_MAX + 1];  // "1.23.0", NUL-terminated; "" until found
} mpota_mpver_scan_t;

void mpota_mpver_init(mpota_mpver_scan_t *s);
void mpota_mpver_push(mpota_mpver_scan_t *s, const void *data, size_t len);
// True once the banner form is found: nothing later can change the answer.
bool mpota_mpver_done(const mpota_mpver_scan_t *s);
// The version found so far ("" if none).
const char *mpota_mpver_version(const mpota_mpver_scan_t *s);

// Scans [0, len) of an area (an app slot) and stops at the banner. out gets
// the version or "". Returns 0 or a flash error.
int mpota_mpver_read_area(const struct mpota_area *a, uint32_t len,
                          char out[MPOTA_MPVER_MAX + 1]);

#endif
