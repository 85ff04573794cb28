// Version order for the no-downgrade policy (session.h).
#include "mpota/session.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

// Reads a decimal number at *p (0 if none) and advances past it.
static uint32_t read_number(const char **p)
{
    uint32_t v = 0;
    while (is_digit(**p)) {
        uint32_t d = (uint32_t)(**p - '0');
        v = v > (UINT32_MAX - d) / 10 ? UINT32_MAX : v * 10 + d;
        (*p)++;
    }
    return v;
}

int mpota_version_compare(const char *a, const char *b)
{
    if (*a == 'v' || *a == 'V') {
        a++;
    }
    if (*b == 'v' || *b == 'V') {
        b++;
    }
    // Dotted numbers first: "1.10.0" > "1.9.2"; a missing part counts as 0.
    while (is_digit(*a) || is_digit(*b)) {
        uint32_t x = read_number(&a), y = read_number(&b);
        if (x != y) {
            return x < y ? -1 : 1;
        }
        if (*a == '.') {
            a++;
        }
        if (*b == '.') {
            b++;
        }
    }
    // Same numbers: a pre-release suffix ("-rc1") sorts before none; two
    // suffixes compare as text.
    if (!*a || !*b) {
        return !*a && !*b ? 0 : (!*a ? 1 : -1);
    }
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a < (unsigned char)*b ? -1 : (unsigned char)*a > (unsigned char)*b;
}
