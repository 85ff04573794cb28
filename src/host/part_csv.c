// CSV partition tables, read and written as gen_esp32part.py does (SPEC §2.7).
// The public functions are documented in part_csv.h. The tool is Python, so
// matching it byte for byte means matching a few Python built-ins too
// (str.splitlines, str.strip, os.path.expandvars, int(x, 0)); each helper
// below says which one it stands for.
#include "part_csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_SECTOR MPOTA_PART_TABLE_SECTOR

// Numbers beyond this cannot end up in a valid row (offsets and sizes are
// 32-bit), so parsing stops tracking them exactly and reports a range error.
#define NUM_LIMIT ((int64_t)1 << 40)
// gen_esp32part strips one K/M suffix per recursion; Python stops near 1000.
#define MAX_SUFFIXES 900u
// Python 3.11+ refuses decimal strings longer than this (int_max_str_digits).
#define MAX_DEC_DIGITS 4300u

/// Growable text buffer ///

struct text {
    char *p;
    size_t len;
    size_t cap;
};

static int text_put(struct text *t, const void *data, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1) {
            cap *= 2;
        }
        char *p = realloc(t->p, cap);
        if (!p) {
            return MPOTA_ERR_NO_SPACE;
        }
        t->p = p;
        t->cap = cap;
    }
    if (n) {
        memcpy(t->p + t->len, data, n);
    }
    t->len += n;
    t->p[t->len] = '\0';
    return MPOTA_OK;
}

/// Unicode: UTF-8 coding and the character classes Python uses ///

static size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

// Strict UTF-8 as Python's decoder: no overlong forms, no surrogates, nothing
// past U+10FFFF. Returns the sequence length at s[0..n), 0 if invalid.
static size_t utf8_check(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    uint32_t v = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        v = v << 6 | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

// Decodes one character of text already known to be valid UTF-8.
static size_t utf8_get(const char *s, uint32_t *cp)
{
    uint32_t v = (uint8_t)s[0];  // utf8_check leaves it unset on invalid input
    size_t len = utf8_check((const uint8_t *)s, 4, &v);
    *cp = v;
    return len ? len : 1;
}

// Start of the character that ends at s[n-1].
static size_t utf8_last(const char *s, size_t n)
{
    size_t i = n - 1;
    while (i > 0 && ((uint8_t)s[i] & 0xC0) == 0x80) {
        i--;
    }
    return i;
}

// Python str.isspace()
static bool py_isspace(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

// Python str.splitlines() boundaries
static bool py_linebreak(uint32_t c)
{
    return (c >= 0x0A && c <= 0x0D) || (c >= 0x1C && c <= 0x1E) || c == 0x85 || c == 0x2028 ||
           c == 0x2029;
}

// The zero of every block of Unicode decimal digits (category Nd, Unicode 14
// as in Python 3.11): int() accepts them all. Each block holds 0..9 in order.
static const uint32_t nd_zeros[] = {
    0x660,   0x6F0,   0x7C0,   0x966,   0x9E6,   0xA66,   0xAE6,   0xB66,   0xBE6,   0xC66,
    0xCE6,   0xD66,   0xDE6,   0xE50,   0xED0,   0xF20,   0x1040,  0x1090,  0x17E0,  0x1810,
    0x1946,  0x19D0,  0x1A80,  0x1A90,  0x1B50,  0x1BB0,  0x1C40,  0x1C50,  0xA620,  0xA8D0,
    0xA900,  0xA9D0,  0xA9F0,  0xAA50,  0xABF0,  0xFF10,  0x104A0, 0x10D30, 0x11066, 0x110F0,
    0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950,
    0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC,
    0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
};

static int nd_digit(uint32_t c)
{
    for (size_t i = 0; i < sizeof(nd_zeros) / sizeof(nd_zeros[0]); i++) {
        if (c >= nd_zeros[i] && c < nd_zeros[i] + 10) {
            return (int)(c - nd_zeros[i]);
        }
    }
    return -1;
}

// The ASCII character that Python's str.lower() turns c into, or 0 if its
// lowercase is not ASCII. Only U+212A KELVIN SIGN lowers to ASCII ('k').
static char py_lower_ascii(uint32_t c)
{
    if (c >= 'A' && c <= 'Z') {
        return (char)(c - 'A' + 'a');
    }
    if (c < 0x80) {
        return (char)c;
    }
    return c == 0x212A ? 'k' : 0;
}

// Line number (1-based, as splitlines counts) of byte position pos in text.
static uint32_t line_of(const char *s, size_t pos)
{
    uint32_t line = 1;
    for (size_t i = 0; i < pos;) {
        uint32_t c;
        i += utf8_get(s + i, &c);
        if (py_linebreak(c) && !(c == '\r' && i < pos && s[i] == '\n')) {
            line++;
        }
    }
    return line;
}

/// Input decoding (gen_esp32part picks the codec from a BOM) ///

static int put_cp(struct text *t, uint32_t cp)
{
    char u[4];
    return text_put(t, u, utf8_encode(cp, u));
}

static bool starts(const uint8_t *in, size_t n, const char *bom, size_t bom_len)
{
    return n >= bom_len && memcmp(in, bom, bom_len) == 0;
}

// Decodes UTF-16 (be = big-endian) units into t; false if Python would refuse.
static bool decode_utf16(const uint8_t *in, size_t n, bool be, struct text *t, int *err)
{
    for (size_t i = 0; i < n;) {
        if (n - i < 2) {
            return false;
        }
        uint32_t u = be ? (uint32_t)in[i] << 8 | in[i + 1] : (uint32_t)in[i + 1] << 8 | in[i];
        i += 2;
        if (u >= 0xDC00 && u <= 0xDFFF) {
            return false;
        }
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (n - i < 2) {
                return false;
            }
            uint32_t l = be ? (uint32_t)in[i] << 8 | in[i + 1] : (uint32_t)in[i + 1] << 8 | in[i];
            if (l < 0xDC00 || l > 0xDFFF) {
                return false;
            }
            i += 2;
            u = 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00);
        }
        if ((*err = put_cp(t, u)) != 0) {
            return false;
        }
    }
    return true;
}

static bool decode_utf32be(const uint8_t *in, size_t n, struct text *t, int *err)
{
    if (n % 4) {
        return false;
    }
    for (size_t i = 0; i < n; i += 4) {
        uint32_t u = (uint32_t)in[i] << 24 | (uint32_t)in[i + 1] << 16 | (uint32_t)in[i + 2] << 8 |
                     in[i + 3];
        if (u > 0x10FFFF || (u >= 0xD800 && u <= 0xDFFF)) {
            return false;
        }
        if ((*err = put_cp(t, u)) != 0) {
            return false;
        }
    }
    return true;
}

static int decode_utf8(const uint8_t *in, size_t n, struct text *t, uint32_t *bad_line)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_check(in + i, n - i, &cp);
        if (!len) {
            // Report the line of the bad byte: keep the good prefix for it.
            if (text_put(t, in, i) == MPOTA_OK) {
                *bad_line = line_of(t->p, t->len);
            }
            return MPOTA_ERR_CSV_ENCODING;
        }
        i += len;
    }
    return text_put(t, in, n);
}

// Python's codecs yield str; here the result is UTF-8 in t (NUL included:
// only a NUL inside a label is refused, see parse_row). On failure,
// *bad_line is where the decoding stopped.
static int decode_input(const uint8_t *in, size_t n, bool keep_bom, struct text *t,
                        uint32_t *bad_line)
{
    if (keep_bom) {
        return decode_utf8(in, n, t, bad_line);
    }
    // The order matters: gen_esp32part takes FF FE 00 00 (UTF-32 LE) for
    // UTF-16 LE, and so does this; the NULs that gives then fail in the fields.
    int err = MPOTA_OK;
    bool ok;
    if (starts(in, n, "\xEF\xBB\xBF", 3)) {
        return decode_utf8(in + 3, n - 3, t, bad_line);
    } else if (starts(in, n, "\xFF\xFE", 2)) {
        ok = decode_utf16(in + 2, n - 2, false, t, &err);
    } else if (starts(in, n, "\xFE\xFF", 2)) {
        ok = decode_utf16(in + 2, n - 2, true, t, &err);
    } else if (starts(in, n, "\x00\x00\xFE\xFF", 4)) {
        ok = decode_utf32be(in + 4, n - 4, t, &err);
    } else {
        return decode_utf8(in, n, t, bad_line);
    }
    if (err) {
        return err;
    }
    if (!ok) {
        *bad_line = t->p ? line_of(t->p, t->len) : 1;
        return MPOTA_ERR_CSV_ENCODING;
    }
    return text_put(t, "", 0);
}

/// Lines: splitlines, expandvars, strip ///

// Finds the line starting at pos: [pos, *end), and returns where the next
// one starts (after "\r\n" or any single break character).
static size_t next_line(const char *s, size_t len, size_t pos, size_t *end)
{
    size_t i = pos;
    while (i < len) {
        uint32_t c;
        size_t n = utf8_get(s + i, &c);
        if (py_linebreak(c)) {
            *end = i;
            i += n;
            if (c == '\r' && i < len && s[i] == '\n') {
                i++;
            }
            return i;
        }
        i += n;
    }
    *end = len;
    return len;
}

static bool is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static const char *env_lookup(const struct mpota_part_csv_opts *o, const char *name, size_t n,
                              struct text *scratch)
{
    // os.environ holds no empty names and none with '=' or NUL; getenv(3)
    // might still answer for "A=B" by matching "A=B=...", so rule those out.
    if (n == 0 || memchr(name, '=', n) || memchr(name, '\0', n)) {
        return NULL;
    }
    scratch->len = 0;
    if (text_put(scratch, name, n)) {
        return NULL;
    }
    return o->getenv ? o->getenv(o->getenv_ctx, scratch->p) : getenv(scratch->p);
}

static bool valid_utf8(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_check((const uint8_t *)s + i, n - i, &cp);
        if (!len) {
            return false;
        }
        i += len;
    }
    return true;
}

// os.path.expandvars: $NAME (ASCII word characters) and ${ANYTHING} are
// replaced when set and kept as written when not; inserted values are not
// scanned again.
static int expand_vars(const char *s, size_t n, const struct mpota_part_csv_opts *o,
                       struct text *out, struct text *scratch)
{
    out->len = 0;
    int err = text_put(out, "", 0);
    size_t i = 0;
    while (!err && i < n) {
        const char *dollar = memchr(s + i, '$', n - i);
        size_t at = dollar ? (size_t)(dollar - s) : n;
        err = text_put(out, s + i, at - i);
        if (err || at == n) {
            break;
        }
        size_t name_at = at + 1, name_len = 0, match_end = 0;
        if (name_at < n && is_word(s[name_at])) {
            while (name_at + name_len < n && is_word(s[name_at + name_len])) {
                name_len++;
            }
            match_end = name_at + name_len;
        } else if (name_at < n && s[name_at] == '{') {
            const char *close = memchr(s + name_at, '}', n - name_at);
            if (close) {
                name_at++;
                name_len = (size_t)(close - s) - name_at;
                match_end = (size_t)(close - s) + 1;
            }
        }
        if (!match_end) {
            err = text_put(out, "$", 1);
            i = at + 1;
            continue;
        }
        const char *value = env_lookup(o, s + name_at, name_len, scratch);
        if (value) {
            if (!valid_utf8(value)) {
                return MPOTA_ERR_CSV_ENCODING;
            }
            err = text_put(out, value, strlen(value));
        } else {
            err = text_put(out, s + at, match_end - at);
        }
        i = match_end;
    }
    return err;
}

// str.strip(): trims Unicode whitespace from both ends of [*s, *s + *n).
static void py_strip(const char **s, size_t *n)
{
    while (*n) {
        uint32_t c;
        size_t len = utf8_get(*s, &c);
        if (!py_isspace(c)) {
            break;
        }
        *s += len;
        *n -= len;
    }
    while (*n) {
        uint32_t c;
        size_t at = utf8_last(*s, *n);
        utf8_get(*s + at, &c);
        if (!py_isspace(c)) {
            break;
        }
        *n = at;
    }
}

/// Numbers: int(x, 0) with K/M suffixes and keywords (gen's parse_int) ///

enum num_result { NUM_OK, NUM_INVALID, NUM_RANGE };

static int digit_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'Z') {
        return c - 'A' + 10;
    }
    return 99;
}

static bool c_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

// CPython's int(str, 0): non-ASCII whitespace becomes ' ' and non-ASCII
// digits become ASCII digits first, any other non-ASCII character fails;
// then optional spaces, sign, base prefix (one '_' may follow it), digits
// with single '_' between them, spaces. Base 10 may not start with 0 unless
// the value is 0.
// The text as int() sees its characters: ASCII kept, Unicode white space as
// ' ', Unicode decimal digits as their ASCII digit, anything else as '?'.
// a holds n bytes at least; returns how many it wrote.
static size_t py_int_ascii(const char *s, size_t n, char *a)
{
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        i += utf8_get(s + i, &c);
        int dv;
        if (c < 0x7F) {
            a[m++] = (char)c;
        } else if (py_isspace(c)) {
            a[m++] = ' ';
        } else if ((dv = nd_digit(c)) >= 0) {
            a[m++] = (char)('0' + dv);
        } else {
            a[m++] = '?';
        }
    }
    return m;
}

// int() of ASCII text [p, end): sign, base prefix, '_' between digits,
// white space around.
static enum num_result py_int_text(const char *p, const char *end, int64_t *out)
{
    while (p < end && c_space(*p)) {
        p++;
    }
    bool neg = false;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    int base = 10;
    bool zero_only = false;
    if (p < end && *p == '0') {
        char c = p + 1 < end ? p[1] : '\0';
        base = (c == 'x' || c == 'X') ? 16 : (c == 'o' || c == 'O') ? 8 : (c == 'b' || c == 'B') ? 2 : 10;
        zero_only = base == 10;
    }
    if (base != 10) {
        p += 2;
        if (p < end && *p == '_') {
            p++;
        }
    }
    uint64_t v = 0;
    bool huge = false, prev_us = false;
    size_t digits = 0;
    if (p < end && *p == '_') {
        return NUM_INVALID;
    }
    for (; p < end; p++) {
        if (*p == '_') {
            if (prev_us) {
                return NUM_INVALID;
            }
            prev_us = true;
            continue;
        }
        int dv = digit_value(*p);
        if (dv >= base) {
            break;
        }
        prev_us = false;
        digits++;
        if (!huge) {
            v = v * (uint64_t)base + (uint64_t)dv;
            huge = v > (uint64_t)NUM_LIMIT;
        }
    }
    if (prev_us || digits == 0 || (zero_only && v != 0) || (base == 10 && digits > MAX_DEC_DIGITS)) {
        return NUM_INVALID;
    }
    while (p < end && c_space(*p)) {
        p++;
    }
    if (p != end) {
        return NUM_INVALID;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return huge ? NUM_RANGE : NUM_OK;
}

static enum num_result py_int(const char *s, size_t n, int64_t *out)
{
    char *a = malloc(n + 1);
    if (!a) {
        return NUM_RANGE;
    }
    size_t m = py_int_ascii(s, n, a);
    enum num_result r = py_int_text(a, a + m, out);
    free(a);
    return r;
}

enum keywords { KW_NONE, KW_TYPE, KW_SUBTYPE };

// Is [s, s + n), lowered as Python lowers it, equal to the ASCII word kw?
static bool lower_equals(const char *s, size_t n, const char *kw)
{
    size_t i = 0;
    while (i < n) {
        uint32_t c;
        i += utf8_get(s + i, &c);
        char l = py_lower_ascii(c);
        if (!l || *kw == '\0' || l != *kw) {
            return false;
        }
        kw++;
    }
    return *kw == '\0';
}

static bool keyword_value(const char *s, size_t n, enum keywords kw, int64_t type, int64_t *out)
{
    for (int v = 0; v < 256; v++) {
        const char *name = NULL;
        if (kw == KW_TYPE) {
            name = mpota_part_type_name((uint8_t)v);
        } else if (type >= 0 && type < 256) {
            name = mpota_part_subtype_name((uint8_t)type, (uint8_t)v);
        }
        if (name && lower_equals(s, n, name)) {
            *out = v;
            return true;
        }
    }
    return false;
}

// gen's parse_int(v, keywords): strip K/M suffixes (each multiplies), then
// int(x, 0), then, only if that fails, a keyword (so "factoryK" is 0).
static enum num_result parse_num(const char *s, size_t n, enum keywords kw, int64_t type,
                                 int64_t *out)
{
    unsigned shifts[2] = {0, 0};  // K (x2^10) and M (x2^20) suffix counts
    while (n) {
        size_t at = utf8_last(s, n);
        uint32_t c;
        utf8_get(s + at, &c);
        char l = py_lower_ascii(c);
        if (l != 'k' && l != 'm') {
            break;
        }
        shifts[l == 'm']++;
        n = at;
    }
    if (shifts[0] + shifts[1] > MAX_SUFFIXES) {
        return NUM_INVALID;
    }
    int64_t v;
    enum num_result r = py_int(s, n, &v);
    if (r == NUM_INVALID && kw != KW_NONE && keyword_value(s, n, kw, type, &v)) {
        r = NUM_OK;
    }
    if (r != NUM_OK) {
        return r;
    }
    uint64_t bits = (uint64_t)shifts[0] * 10 + (uint64_t)shifts[1] * 20;
    if (v != 0) {
        uint64_t mag = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
        if (bits >= 40 || mag > ((uint64_t)NUM_LIMIT >> bits)) {
            return NUM_RANGE;
        }
        v = v < 0 ? -(int64_t)(mag << bits) : (int64_t)(mag << bits);
    }
    *out = v;
    return NUM_OK;
}

/// Rows ///

struct row {
    char *name;  // full name (UTF-8, not cut), for the duplicate check
    size_t name_len;
    uint32_t line;
    int64_t type;
    int64_t subtype;
    bool has_offset;
    int64_t offset;
    int64_t size;
    uint32_t flags;
};

struct field {
    const char *s;
    size_t n;
};

static int line_error(struct mpota_diag *d, int err, uint32_t line, const char *name, size_t name_len)
{
    mpota_diag_label(d, name, name_len < MPOTA_PART_LABEL_LEN ? name_len : MPOTA_PART_LABEL_LEN);
    return mpota_diag_set(d, err, 0, 0, line);
}

static bool is_primary(int64_t type, int64_t subtype)
{
    return (type == MPOTA_PART_TYPE_BOOTLOADER || type == MPOTA_PART_TYPE_PARTITION_TABLE) &&
           subtype == MPOTA_PART_SUBTYPE_PRIMARY;
}

// PartitionDefinition.from_csv for one stripped, non-comment line.
// The six comma-separated fields of a row, stripped as Python strips them;
// missing ones empty.
static void split_fields(const char *s, size_t n, struct field f[6])
{
    size_t nf = 0, start = 0;
    for (size_t i = 0; i <= n && nf < 6; i++) {
        if (i == n || s[i] == ',') {
            f[nf].s = s + start;
            f[nf].n = i - start;
            py_strip(&f[nf].s, &f[nf].n);
            nf++;
            start = i + 1;
        }
    }
    for (; nf < 6; nf++) {
        f[nf].s = "";
        f[nf].n = 0;
    }
}

// Type and subtype: 0, or the CSV error code.
static int row_types(const struct field f[6], struct row *r)
{
    enum num_result nr;
    if (f[1].n == 0) {
        return MPOTA_ERR_CSV_TYPE;
    }
    if ((nr = parse_num(f[1].s, f[1].n, KW_TYPE, 0, &r->type)) != NUM_OK) {
        return nr == NUM_RANGE ? MPOTA_ERR_CSV_NUMBER : MPOTA_ERR_CSV_TYPE;
    }
    if (f[2].n == 0) {
        if (r->type == MPOTA_PART_TYPE_APP) {
            return MPOTA_ERR_CSV_SUBTYPE;
        }
        r->subtype = MPOTA_PART_SUBTYPE_UNDEFINED;
    } else if ((nr = parse_num(f[2].s, f[2].n, KW_SUBTYPE, r->type, &r->subtype)) != NUM_OK) {
        return nr == NUM_RANGE ? MPOTA_ERR_CSV_NUMBER : MPOTA_ERR_CSV_SUBTYPE;
    }
    return 0;
}

// Offset: the bootloader and the table itself come from the options.
static int row_offset(const struct field *f, const struct mpota_part_csv_opts *o,
                      uint32_t table_offset, struct row *r)
{
    r->has_offset = true;
    if (r->type == MPOTA_PART_TYPE_BOOTLOADER && r->subtype == MPOTA_PART_SUBTYPE_PRIMARY) {
        if (!o->has_bootloader_offset) {
            return MPOTA_ERR_CSV_BOOTLOADER;
        }
        r->offset = o->bootloader_offset;
    } else if (r->type == MPOTA_PART_TYPE_BOOTLOADER &&
               r->subtype == MPOTA_PART_SUBTYPE_BL_RECOVERY) {
        if (!o->has_recovery_offset) {
            return MPOTA_ERR_CSV_BOOTLOADER;
        }
        r->offset = o->recovery_offset;
    } else if (r->type == MPOTA_PART_TYPE_PARTITION_TABLE &&
               r->subtype == MPOTA_PART_SUBTYPE_PRIMARY) {
        r->offset = table_offset;
    } else if (f->n == 0) {
        r->has_offset = false;
    } else if (parse_num(f->s, f->n, KW_NONE, 0, &r->offset) != NUM_OK) {
        return MPOTA_ERR_CSV_NUMBER;
    }
    return 0;
}

// Size: every bootloader row is as big as the space before the table.
static int row_size(const struct field *f, const struct mpota_part_csv_opts *o,
                    uint32_t table_offset, struct row *r)
{
    if (r->type == MPOTA_PART_TYPE_BOOTLOADER) {
        if (!o->has_bootloader_offset) {
            return MPOTA_ERR_CSV_BOOTLOADER;
        }
        r->size = (int64_t)table_offset - o->bootloader_offset;
    } else if (r->type == MPOTA_PART_TYPE_PARTITION_TABLE) {
        r->size = TABLE_SECTOR;
    } else if (f->n == 0) {
        return MPOTA_ERR_CSV_SIZE;
    } else if (parse_num(f->s, f->n, KW_NONE, 0, &r->size) != NUM_OK) {
        return MPOTA_ERR_CSV_NUMBER;
    }
    return 0;
}

// Flags: exact, case-sensitive names between ':'; empty pieces are fine.
static int row_flags(const struct field *f, struct row *r)
{
    r->flags = 0;
    const char *fl = f->s;
    size_t left = f->n;
    for (;;) {
        const char *colon = memchr(fl, ':', left);
        size_t len = colon ? (size_t)(colon - fl) : left;
        if (len == 9 && memcmp(fl, "encrypted", 9) == 0) {
            r->flags |= MPOTA_PART_FLAG_ENCRYPTED;
        } else if (len == 8 && memcmp(fl, "readonly", 8) == 0) {
            r->flags |= MPOTA_PART_FLAG_READONLY;
        } else if (len != 0) {
            return MPOTA_ERR_CSV_FLAG;
        }
        if (!colon) {
            return 0;
        }
        fl = colon + 1;
        left -= len + 1;
    }
}

static int parse_row(const char *s, size_t n, uint32_t line, const struct mpota_part_csv_opts *o,
                     uint32_t table_offset, struct row *r, struct mpota_diag *d)
{
    struct field f[6] = {{0}};
    split_fields(s, n, f);
    const char *name = f[0].s;
    size_t name_len = f[0].n;
    r->line = line;
    r->name = malloc(name_len + 1);
    if (!r->name) {
        return MPOTA_ERR_NO_SPACE;
    }
    memcpy(r->name, name, name_len);
    r->name[name_len] = '\0';
    r->name_len = name_len;
    // A NUL in the 16 bytes that become the label cannot be kept in the C
    // string label[] (gen_esp32part would write it and the bytes after it).
    int code = 0;
    if (memchr(name, '\0', name_len < MPOTA_PART_LABEL_LEN ? name_len : MPOTA_PART_LABEL_LEN)) {
        code = MPOTA_ERR_CSV_ENCODING;
    }
    if (!code) {
        code = row_types(f, r);
    }
    if (!code) {
        code = row_offset(&f[3], o, table_offset, r);
    }
    if (!code) {
        code = row_size(&f[4], o, table_offset, r);
    }
    if (!code) {
        code = row_flags(&f[5], r);
    }
    return code ? line_error(d, code, line, name, name_len) : MPOTA_OK;
}

// PartitionTable.from_csv's second pass: empty offsets and negative sizes.
static int place_rows(struct row *rows, uint32_t n, uint32_t table_offset, struct mpota_diag *d)
{
    int64_t last_end = (int64_t)table_offset + TABLE_SECTOR;
    bool first = true;
    for (uint32_t i = 0; i < n; i++) {
        struct row *r = &rows[i];
        if (is_primary(r->type, r->subtype)) {
            continue;  // they do not take part in the running end
        }
        if (r->has_offset && r->offset < last_end) {
            int code = first ? MPOTA_ERR_TABLE_BELOW_START : MPOTA_ERR_TABLE_OVERLAP;
            line_error(d, code, r->line, r->name, r->name_len);
            return mpota_diag_set(d, code, i * MPOTA_PART_ROW_SIZE,
                                  last_end > UINT32_MAX ? UINT32_MAX : (uint32_t)last_end,
                                  r->offset < 0 ? 0 : (uint32_t)r->offset);
        }
        if (!r->has_offset) {
            int64_t align = r->type == MPOTA_PART_TYPE_APP ? MPOTA_PART_APP_ALIGN : MPOTA_PART_DATA_ALIGN;
            last_end += (align - last_end % align) % align;
            r->offset = last_end;
            r->has_offset = true;
        }
        if (r->size < 0) {
            r->size = -r->size - r->offset;  // "ends at"
        }
        // Python's struct.pack would refuse these later; stop now, while
        // every number stays small enough to add.
        if (r->size < 0) {
            return line_error(d, MPOTA_ERR_CSV_SIZE, r->line, r->name, r->name_len);
        }
        if (r->offset > UINT32_MAX || r->size > UINT32_MAX) {
            return line_error(d, MPOTA_ERR_CSV_NUMBER, r->line, r->name, r->name_len);
        }
        last_end = r->offset + r->size;
        first = false;
    }
    return MPOTA_OK;
}

static int fill_table(const struct row *rows, uint32_t n, struct mpota_table *out,
                      struct mpota_diag *d)
{
    for (uint32_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        // struct.pack("<2sBBLL16sL"): each number must fit its field.
        if (r->type < 0 || r->type > 0xFF || r->subtype < 0 || r->subtype > 0xFF ||
            r->offset < 0 || r->offset > UINT32_MAX) {
            return line_error(d, MPOTA_ERR_CSV_NUMBER, r->line, r->name, r->name_len);
        }
        if (r->size < 0 || r->size > UINT32_MAX) {
            return line_error(d, r->size < 0 ? MPOTA_ERR_CSV_SIZE : MPOTA_ERR_CSV_NUMBER, r->line,
                              r->name, r->name_len);
        }
        struct mpota_partition *p = &out->parts[i];
        p->type = (uint8_t)r->type;
        p->subtype = (uint8_t)r->subtype;
        p->offset = (uint32_t)r->offset;
        p->size = (uint32_t)r->size;
        p->flags = r->flags;
        // "16s" cuts the encoded name at 16 bytes, even mid-character.
        memset(p->label, 0, sizeof(p->label));
        memcpy(p->label, r->name, r->name_len < MPOTA_PART_LABEL_LEN ? r->name_len : MPOTA_PART_LABEL_LEN);
    }
    out->count = n;
    return MPOTA_OK;
}

// PartitionTable.verify's name check works on the full names.
static int check_names(const struct row *rows, uint32_t n, struct mpota_diag *d)
{
    for (uint32_t i = 1; i < n; i++) {
        for (uint32_t j = 0; j < i; j++) {
            if (rows[i].name_len == rows[j].name_len &&
                memcmp(rows[i].name, rows[j].name, rows[i].name_len) == 0) {
                mpota_diag_label(d, rows[i].name, rows[i].name_len < MPOTA_PART_LABEL_LEN ? rows[i].name_len : MPOTA_PART_LABEL_LEN);
                return mpota_diag_set(d, MPOTA_ERR_TABLE_DUPLICATE, i * MPOTA_PART_ROW_SIZE, 0,
                                      rows[i].line);
            }
        }
    }
    return MPOTA_OK;
}

// gen --flash-size: only the partition with the highest offset is looked at
// (the first of equals, as Python's stable reverse sort leaves it).
static int check_flash_size(const struct mpota_table *t, uint32_t flash_size, struct mpota_diag *d)
{
    if (!flash_size || t->count == 0) {
        return MPOTA_OK;
    }
    uint32_t last = 0;
    for (uint32_t i = 1; i < t->count; i++) {
        if (t->parts[i].offset > t->parts[last].offset) {
            last = i;
        }
    }
    const struct mpota_partition *p = &t->parts[last];
    uint64_t end = (uint64_t)p->offset + p->size;
    if (end > flash_size) {
        mpota_diag_label(d, p->label, MPOTA_PART_LABEL_LEN);
        return mpota_diag_set(d, MPOTA_ERR_TABLE_BEYOND_FLASH, last * MPOTA_PART_ROW_SIZE, flash_size,
                              end > UINT32_MAX ? UINT32_MAX : (uint32_t)end);
    }
    return MPOTA_OK;
}

static uint32_t table_offset_of(const struct mpota_part_csv_opts *o)
{
    return o->table_offset ? o->table_offset : MPOTA_PART_TABLE_OFFSET;
}

struct parse_state {
    struct text utf8;     // the decoded input
    struct text line;     // one line after $-expansion
    struct text scratch;  // variable names
    struct row rows[MPOTA_PART_MAX];
    uint32_t n;
};

static int parse_lines(struct parse_state *st, const struct mpota_part_csv_opts *o,
                       uint32_t table_offset, struct mpota_diag *d)
{
    const char *s = st->utf8.p;
    size_t len = st->utf8.len;
    uint32_t line_no = 0;
    for (size_t pos = 0; pos < len;) {
        size_t end;
        size_t next = next_line(s, len, pos, &end);
        line_no++;
        int err = expand_vars(s + pos, end - pos, o, &st->line, &st->scratch);
        pos = next;
        if (err) {
            return line_error(d, err, line_no, "", 0);
        }
        const char *l = st->line.p;
        size_t n = st->line.len;
        // gen's check for an unknown variable looks at the start of the
        // expanded line, before stripping.
        if (n >= 2 && l[0] == '$' && (is_word(l[1]) && !(l[1] >= '0' && l[1] <= '9'))) {
            size_t k = 1;
            while (k < n && is_word(l[k])) {
                k++;
            }
            return line_error(d, MPOTA_ERR_CSV_VARIABLE, line_no, l + 1, k - 1);
        }
        py_strip(&l, &n);
        if (n == 0 || l[0] == '#') {
            continue;
        }
        if (st->n == MPOTA_PART_MAX) {
            mpota_diag_label(d, "", 0);
            return mpota_diag_set(d, MPOTA_ERR_TABLE_TOO_MANY, 0, MPOTA_PART_MAX, MPOTA_PART_MAX + 1);
        }
        err = parse_row(l, n, line_no, o, table_offset, &st->rows[st->n], d);
        if (st->rows[st->n].name) {
            st->n++;
        }
        if (err) {
            return err;
        }
    }
    return MPOTA_OK;
}

static int parse_csv(struct parse_state *st, const void *text, size_t len,
                     const struct mpota_part_csv_opts *o, struct mpota_table *out,
                     struct mpota_diag *d)
{
    uint32_t table_offset = table_offset_of(o);
    if (o->has_bootloader_offset && o->bootloader_offset >= table_offset) {
        mpota_diag_label(d, "bootloader", 10);
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, table_offset, o->bootloader_offset);
    }
    uint32_t bad_line = 1;
    int err = decode_input(text, len, o->keep_bom, &st->utf8, &bad_line);
    if (err) {
        return line_error(d, err, bad_line, "", 0);
    }
    err = parse_lines(st, o, table_offset, d);
    if (!err) {
        err = place_rows(st->rows, st->n, table_offset, d);
    }
    if (!err) {
        err = fill_table(st->rows, st->n, out, d);
    }
    if (!err && !o->no_verify) {
        struct mpota_part_rules rules = {
            .table_offset = table_offset,
            .secure_v1 = o->secure == MPOTA_PART_SECURE_V1,
            .skip_names = true,
        };
        err = mpota_part_table_check(out, &rules, d);
        if (!err) {
            err = check_names(st->rows, st->n, d);
        }
    }
    if (!err) {
        err = check_flash_size(out, o->flash_size, d);
    }
    return err;
}

int mpota_part_csv_parse(const void *text, size_t len, const struct mpota_part_csv_opts *opts,
                         struct mpota_table *out, struct mpota_diag *d)
{
    static const struct mpota_part_csv_opts defaults = {0};
    const struct mpota_part_csv_opts *o = opts ? opts : &defaults;
    memset(out, 0, sizeof(*out));
    mpota_diag_label(d, "", 0);
    mpota_diag_set(d, MPOTA_OK, 0, 0, 0);
    struct parse_state *st = calloc(1, sizeof(*st));
    if (!st) {
        return mpota_diag_set(d, MPOTA_ERR_NO_SPACE, 0, 0, 0);
    }
    int err = parse_csv(st, text, len, o, out, d);
    for (uint32_t i = 0; i < st->n; i++) {
        free(st->rows[i].name);
    }
    free(st->utf8.p);
    free(st->line.p);
    free(st->scratch.p);
    free(st);
    if (err) {
        out->count = 0;
        if (d && d->err != err) {
            mpota_diag_set(d, err, 0, 0, 0);
        }
    }
    return err;
}

int mpota_part_csv_load(const void *data, size_t len, const struct mpota_part_csv_opts *opts,
                        struct mpota_table *out, bool *is_binary, struct mpota_diag *d)
{
    static const struct mpota_part_csv_opts defaults = {0};
    const struct mpota_part_csv_opts *o = opts ? opts : &defaults;
    const uint8_t *b = data;
    bool binary = len >= 2 && b[0] == 0xAA && b[1] == 0x50;
    if (is_binary) {
        *is_binary = binary;
    }
    if (!binary) {
        return mpota_part_csv_parse(data, len, o, out, d);
    }
    int err = mpota_part_table_parse(data, len, o->flash_size, out, d);
    if (!err && !o->no_verify) {
        struct mpota_part_rules rules = {
            .flash_size = o->flash_size,
            .table_offset = table_offset_of(o),
            .secure_v1 = o->secure == MPOTA_PART_SECURE_V1,
        };
        err = mpota_part_table_check(out, &rules, d);
        if (err) {
            out->count = 0;
        }
    }
    return err;
}

/// Writing (PartitionDefinition.to_csv) ///

struct sink {
    char *buf;
    size_t cap;
    size_t len;
};

static void put(struct sink *s, const char *str, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s->len + 1 < s->cap) {
            s->buf[s->len] = str[i];
        }
        s->len++;
    }
}

static void put_str(struct sink *s, const char *str)
{
    put(s, str, strlen(str));
}

static void put_fmt_u32(struct sink *s, const char *fmt, uint32_t v)
{
    char tmp[16];
    int n = snprintf(tmp, sizeof(tmp), fmt, (unsigned long)v);
    put(s, tmp, n > 0 ? (size_t)n : 0);
}

// gen's addr_format(size, True): whole MiB as "<n>M", whole KiB as "<n>K".
static void put_size(struct sink *s, uint32_t size)
{
    if (size % 0x100000 == 0) {
        put_fmt_u32(s, "%luM", size / 0x100000);
    } else if (size % 0x400 == 0) {
        put_fmt_u32(s, "%luK", size / 0x400);
    } else {
        put_fmt_u32(s, "0x%lx", size);
    }
}

size_t mpota_part_csv_write(const struct mpota_table *t, char *buf, size_t cap)
{
    struct sink s = {buf, cap, 0};
    put_str(&s, "# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\n");
    for (uint32_t i = 0; i < t->count && i < MPOTA_PART_MAX; i++) {
        const struct mpota_partition *p = &t->parts[i];
        size_t n = 0;
        while (n < MPOTA_PART_LABEL_LEN && p->label[n]) {
            n++;
        }
        put(&s, p->label, n);
        put_str(&s, ",");
        const char *type = mpota_part_type_name(p->type);
        if (type) {
            put_str(&s, type);
        } else {
            put_fmt_u32(&s, "%lu", p->type);
        }
        put_str(&s, ",");
        const char *sub = mpota_part_subtype_name(p->type, p->subtype);
        if (sub) {
            put_str(&s, sub);
        } else {
            put_fmt_u32(&s, "%lu", p->subtype);
        }
        put_fmt_u32(&s, ",0x%lx,", p->offset);
        put_size(&s, p->size);
        put_str(&s, ",");
        bool enc = p->flags & MPOTA_PART_FLAG_ENCRYPTED;
        bool ro = p->flags & MPOTA_PART_FLAG_READONLY;
        put_str(&s, enc && ro ? "encrypted:readonly" : enc ? "encrypted" : ro ? "readonly" : "");
        put_str(&s, "\n");
    }
    if (cap) {
        buf[s.len < cap ? s.len : cap - 1] = '\0';
    }
    return s.len;
}
