// The MicroPython version strings of an app image (mpver.h).
#include <string.h>

#include "mpota/mpver.h"

#define MARKER "MicroPython"
#define MARKER_LEN 11u

// States past the marker (matched holds 0..MARKER_LEN while matching it).
enum {
    AFTER_SPACE = MARKER_LEN + 1,  // "MicroPython ": 'v' must follow
    CAPTURE,                       // copying version characters into cap[]
};

enum { FORM_NONE, FORM_PLATFORM, FORM_BANNER };

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_version_char(uint8_t c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '-' || c == '+' || c == '_';
}

void mpota_mpver_init(mpota_mpver_scan_t *s)
{
    memset(s, 0, sizeof(*s));
}

// "1.25.0-preview-xtensa-IDFv5.3.2-with-newlib4.3.0" -> "1.25.0-preview":
// the number, and a pre-release word if one follows; the rest is the port.
static void cut_platform(char *v)
{
    char *dash = strchr(v, '-');
    if (dash && (strncmp(dash + 1, "preview", 7) == 0 || strncmp(dash + 1, "rc", 2) == 0)) {
        dash = strchr(dash + 1, '-');
    }
    if (dash) {
        *dash = '\0';
    }
}

static void capture_ended(mpota_mpver_scan_t *s)
{
    s->cap[s->len] = '\0';
    if (s->cap_form == FORM_PLATFORM) {
        cut_platform(s->cap);
    }
    if (s->cap_form > s->form) {
        memcpy(s->version, s->cap, sizeof(s->version));
        s->form = s->cap_form;
    }
}

static void step(mpota_mpver_scan_t *s, uint8_t c)
{
    if (s->matched < MARKER_LEN) {
        if (c == (uint8_t)MARKER[s->matched]) {
            s->matched++;
        } else {
            s->matched = c == 'M' ? 1 : 0;  // no proper prefix of the marker repeats
        }
        return;
    }
    uint8_t state = s->matched;
    s->matched = c == 'M' ? 1 : 0;  // the default: look for the marker again
    if (state == MARKER_LEN) {
        if (c == ' ') {
            s->matched = AFTER_SPACE;
        } else if (c == '-') {
            s->matched = CAPTURE;
            s->cap_form = FORM_PLATFORM;
            s->len = 0;
        }
    } else if (state == AFTER_SPACE) {
        if (c == 'v') {
            s->matched = CAPTURE;
            s->cap_form = FORM_BANNER;
            s->len = 0;
        }
    } else if (state == CAPTURE) {
        if (s->len == 0 && !is_digit(c)) {
            return;  // "MicroPython version", "MicroPython-lib": not a version
        }
        if (is_version_char(c)) {
            if (s->len < MPOTA_MPVER_MAX) {
                s->cap[s->len++] = (char)c;
                s->matched = CAPTURE;
            } else if (s->cap_form == FORM_PLATFORM) {
                s->matched = CAPTURE;  // the port's part (cut off anyway) is long
            }
            return;  // a banner too long to be a version: dropped
        }
        capture_ended(s);
    }
}

void mpota_mpver_push(mpota_mpver_scan_t *s, const void *data, size_t len)
{
    const uint8_t *b = data;
    for (size_t i = 0; i < len && s->form != FORM_BANNER; i++) {
        step(s, b[i]);
    }
}

bool mpota_mpver_done(const mpota_mpver_scan_t *s)
{
    return s->form == FORM_BANNER;
}

const char *mpota_mpver_version(const mpota_mpver_scan_t *s)
{
    return s->version;
}

int mpota_mpver_read_area(const struct mpota_area *a, uint32_t len,
                          char out[MPOTA_MPVER_MAX + 1])
{
    mpota_mpver_scan_t s;
    mpota_mpver_init(&s);
    uint8_t buf[256];
    out[0] = '\0';
    if (len > a->size) {
        len = a->size;
    }
    for (uint32_t off = 0; off < len && !mpota_mpver_done(&s);) {
        uint32_t n = len - off < sizeof(buf) ? len - off : (uint32_t)sizeof(buf);
        int rc = mpota_area_read(a, off, buf, n);
        if (rc) {
            return rc;
        }
        mpota_mpver_push(&s, buf, n);
        off += n;
    }
    memcpy(out, s.version, MPOTA_MPVER_MAX + 1);
    return 0;
}
