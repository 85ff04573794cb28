// The host codes' sentences (host_err.h), formatted as the core formats its
// own (mpota_diag_expand), so a host program prints every code one way.
#include <stddef.h>

#include "host_err.h"

struct host_entry {
    int err;
    const char *name;
    const char *text;
};

#define E(code, text) {code, #code, text}

static const struct host_entry catalogue[] = {
    E(MPOTA_ERR_CSV_TYPE, "partition CSV line {act}: unknown partition type for {label} (use app, data, bootloader, partition_table or a number)"),
    E(MPOTA_ERR_CSV_SUBTYPE, "partition CSV line {act}: unknown or missing subtype for {label}"),
    E(MPOTA_ERR_CSV_NUMBER, "partition CSV line {act}: a number for {label} does not parse or is out of range (use decimal, 0x hex, 0o or 0b, with optional K or M; type and subtype 0..255, offsets and sizes below 4 GiB)"),
    E(MPOTA_ERR_CSV_FLAG, "partition CSV line {act}: unknown flag for {label} (use encrypted, readonly)"),
    E(MPOTA_ERR_CSV_SIZE, "partition CSV line {act}: size of {label} is missing or negative (a negative size -X means \"ends at X\", so X must not lie before the offset)"),
    E(MPOTA_ERR_LAYOUT_NO_ROOM, "the layout needs {act} B but the flash holds {exp} B; choose a larger --flash-size or smaller --app-size/--fs-size"),
    E(MPOTA_ERR_LAYOUT_APP_TOO_BIG, "app is {act} B but {label} holds {exp} B; make a table with a larger --app-size (or --fit IMAGE)"),
    E(MPOTA_ERR_CSV_VARIABLE, "partition CSV line {act}: ${label} is not set in the environment"),
    E(MPOTA_ERR_CSV_ENCODING, "partition CSV line {act}: the text is not valid UTF-8 (or UTF-16/32 after a byte-order mark), or a partition name holds a NUL character"),
    E(MPOTA_ERR_CSV_BOOTLOADER, "partition CSV line {act}: bootloader partition {label} needs the primary (or recovery) bootloader offset option, as with gen_esp32part --primary-bootloader-offset"),
    E(MPOTA_ERR_LAYOUT_OPTION, "layout option {label} = {acth} is out of range: flash size a power of two from 2 MiB to 32 MiB, app size a multiple of 64 KiB and at least 1 MiB, fs size a multiple of 4 KiB"),
    E(MPOTA_ERR_NET, "the network transfer failed: the server could not be reached, or the connection dropped until the retries ran out; check the server and the connection, then run the update again"),
    E(MPOTA_ERR_HTTP_STATUS, "the server answered HTTP {act}; check the URL (404), the credentials (401, 403) or the server (5xx)"),
    E(MPOTA_ERR_FILE, "cannot read or write the file {label}"),
    E(MPOTA_ERR_MANIFEST, "the manifest is not valid: it needs \"firmware\" (and \"sha\", \"length\" if known)"),
    E(MPOTA_ERR_TLS, "TLS failed: the server's certificate could not be verified or the handshake failed; give the CA certificate that signed it (cacert), or skip verification (insecure) only for a test server you trust"),
    E(MPOTA_ERR_HTTP_RANGE, "the server cannot resume the download at byte {off}: it refused the range, or sent the whole file again and the receiver cannot start over (the file has {act} B; 0 = not stated); discard the partial download and download again"),
    E(MPOTA_ERR_HTTP_REDIRECT, "redirect refused: more than {exp} redirects, a redirect from https to http (allowed only when verification is off), or a redirect to a URL that is not http or https; use the final URL"),
    E(MPOTA_ERR_HTTP_TOO_LARGE, "the file is larger than {exp} B (stated length {act} B; 0 = not stated), too large for a manifest or hash file; check the URL"),
    E(MPOTA_ERR_SIG_CRYPTO, "mbedTLS failed to {label} (error -{acth}); nothing was written"),
    E(MPOTA_ERR_SIG_CUT, "the signature sector at {offh} is cut short: the file holds {act} of its 4096 B; the file was cut: get it whole again"),
    E(MPOTA_ERR_SIG_KEY_FORMAT, "not a PEM private or public key that mbedTLS reads ({label}); give the key espsecure generate_signing_key made, or the public key its extract_public_key made"),
    E(MPOTA_ERR_SIG_KEY_SIZE, "an RSA key of {act} bits: Secure Boot V2 (espsecure) uses RSA-3072 only; make one with espsecure generate_signing_key --version 2 --scheme rsa3072"),
    E(MPOTA_ERR_SIG_KEY_TYPE, "{label} keys have no Secure Boot V2 scheme: it uses RSA-3072, or ECDSA on P-256 or P-384"),
    E(MPOTA_ERR_SIG_KEY_PUBLIC, "a public key cannot sign: give the private key (the .pem espsecure generate_signing_key made)"),
    E(MPOTA_ERR_SIG_TOO_MANY, "the signature sector would hold {act} blocks; ESP-IDF reads at most {exp}: sign with fewer keys"),
    E(MPOTA_ERR_SIG_MIXED, "the signature sector would mix {label} blocks; ESP-IDF accepts one scheme (and curve) per build: sign with keys of one kind"),
    E(MPOTA_ERR_SIG_SIGNED, "the image is already signed: its signature sector at {offh} holds {act} block(s); --append keeps its blocks and adds yours; to sign it anew, start from the unsigned image"),
};

#undef E

static const struct host_entry *lookup(int err)
{
    for (size_t i = 0; i < sizeof(catalogue) / sizeof(catalogue[0]); i++) {
        if (catalogue[i].err == err) {
            return &catalogue[i];
        }
    }
    return NULL;
}

size_t mpota_host_diag_format(const struct mpota_diag *d, char *buf, size_t buf_len)
{
    const struct host_entry *e = lookup(d->err);
    return e ? mpota_diag_expand(e->text, d, buf, buf_len) : mpota_diag_format(d, buf, buf_len);
}

const char *mpota_host_err_name(int err)
{
    const struct host_entry *e = lookup(err);
    return e ? e->name : mpota_err_name(err);
}
