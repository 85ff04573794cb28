// The host front ends' own error codes and their words: CSV and layout
// (part_csv.c, part_layout.c) and transport (http_curl.c, manifest.c, files).
// The core never returns these; they share enum mpota_err's ranges so a code
// alone still tells where it came from, and struct mpota_diag carries them.
#ifndef MPOTA_HOST_ERR_H
#define MPOTA_HOST_ERR_H

#include "mpota/err.h"

enum mpota_host_err {
    // Partition CSV and layouts: -54 .. -66 (beside the core's table codes)
    MPOTA_ERR_CSV_TYPE = -54,           // unknown type keyword
    MPOTA_ERR_CSV_SUBTYPE = -55,        // unknown subtype keyword / missing app subtype
    MPOTA_ERR_CSV_NUMBER = -56,         // a number does not parse
    MPOTA_ERR_CSV_FLAG = -57,           // unknown flag name
    MPOTA_ERR_CSV_SIZE = -58,           // size missing or not positive
    MPOTA_ERR_LAYOUT_NO_ROOM = -59,     // requested layout does not fit the flash
    MPOTA_ERR_LAYOUT_APP_TOO_BIG = -60, // app does not fit the slot (expected = slot, actual = app)
    MPOTA_ERR_CSV_VARIABLE = -63,       // $NAME at the start of a line names no environment variable
    MPOTA_ERR_CSV_ENCODING = -64,       // text not valid UTF-8/16/32, or a NUL in a partition name
    MPOTA_ERR_CSV_BOOTLOADER = -65,     // bootloader row needs the bootloader offset option
    MPOTA_ERR_LAYOUT_OPTION = -66,      // a layout option is out of range (label = option name)

    // Transport: -160 .. -179
    MPOTA_ERR_NET = -160,            // connection failed / dropped and retries exhausted
    MPOTA_ERR_HTTP_STATUS = -161,    // server answered with an error status (actual = status)
    MPOTA_ERR_FILE = -162,           // a local file cannot be read / written
    MPOTA_ERR_MANIFEST = -163,       // manifest JSON missing keys or malformed
    MPOTA_ERR_TLS = -164,            // server certificate not verified / TLS handshake failed
    MPOTA_ERR_HTTP_RANGE = -165,     // 416, or a resume the server or sink cannot honour (offset = start, actual = length)
    MPOTA_ERR_HTTP_REDIRECT = -166,  // too many redirects (expected = limit), or https -> http refused
    MPOTA_ERR_HTTP_TOO_LARGE = -167, // small file over the limit (expected = limit, actual = stated length or 0)

    // Signing keys and signing (sig_keys.c, sig_sign.c): -200 .. -209
    MPOTA_ERR_SIG_CRYPTO = -200,     // mbedTLS failed (label = what, actual = its error, negated)
    MPOTA_ERR_SIG_CUT = -201,        // the file ends inside the signature sector (actual = bytes of it there)
    MPOTA_ERR_SIG_KEY_FORMAT = -202, // not a PEM key mbedTLS reads (label = why)
    MPOTA_ERR_SIG_KEY_SIZE = -203,   // an RSA key of other than 3072 bits (actual = bits)
    MPOTA_ERR_SIG_KEY_TYPE = -204,   // a key Secure Boot V2 has no scheme for (label = type or curve)
    MPOTA_ERR_SIG_KEY_PUBLIC = -205, // a public key where signing needs the private one
    MPOTA_ERR_SIG_TOO_MANY = -206,   // more blocks than a sector holds (expected = 3, actual)
    MPOTA_ERR_SIG_MIXED = -207,      // blocks of two schemes in one sector (label = the two)
    MPOTA_ERR_SIG_SIGNED = -208,     // signing a signed image without append (actual = blocks)
};

// mpota_diag_format() and mpota_err_name() for every code, the host's and
// the core's: what host programs (the CLI, the twin's launcher, tests) print.
size_t mpota_host_diag_format(const struct mpota_diag *d, char *buf, size_t buf_len);
const char *mpota_host_err_name(int err);

#endif
