// mpota flash update: a whole OTA update of the emulated device from a file,
// an http(s) URL or a manifest, through the update session.
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cmd_image_sig.h"
#include "device.h"
#include "flash_model.h"
#include "host_file.h"
#include "http_curl.h"
#include "manifest.h"
#include "mpota/hash.h"
#include "mpota/mpver.h"
#include "mpota/session.h"
#include "update_delta.h"
#include "update_inflate.h"

// Bytes per read of a file source; 0 would read nothing.
static const struct cli_value chunk_size = {.kind = CLI_SIZE, .min = 1, .max = 16u << 20};
// 0 would mean the default (MPOTA_HTTP_DEFAULT_RETRIES), so it is not a value.
static const struct cli_value retry_count = {.kind = CLI_NUMBER, .min = 1, .max = 1000};
// Likewise: 0 would mean the library's default.
static const struct cli_value bytes_per_s = {.kind = CLI_NUMBER, .min = 1, .max = 1u << 30};
static const struct cli_value window_seconds = {.kind = CLI_NUMBER, .min = 1, .max = 3600};
static const struct cli_value deadline_seconds = {.kind = CLI_NUMBER, .min = 1, .max = 7 * 86400};

struct update_args {
    const char *flash, *source;
    const char *sha, *md5, *length, *chunk, *cacert, *user, *retries, *min_speed, *stall_window,
        *deadline;
    bool sidecar, no_verify, reboot, confirm, json, same_project, no_downgrade, secure_version,
        insecure, require_signature, one_block, full;
    const char *keys[SIG_TRUST_MAX + 1], *key_digests[SIG_TRUST_MAX + 1];  // --key, --key-digest
};

static bool is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

// s as it may be printed: a URL's "user:password@" becomes "user:***@";
// anything else (a path, a URL without a password) is copied unchanged.
// Returns out.
static const char *shown(const char *s, char *out, size_t out_size)
{
    static const char scheme_chars[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-";
    const char *sep = strstr(s, "://");
    const char *auth = sep && strspn(s, scheme_chars) == (size_t)(sep - s) ? sep + 3 : NULL;
    size_t auth_len = auth ? strcspn(auth, "/?#") : 0;
    const char *at = NULL;  // the last '@' of the authority ends the user info
    for (size_t i = 0; i < auth_len; i++) {
        at = auth[i] == '@' ? auth + i : at;
    }
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon) {
        snprintf(out, out_size, "%.*s***%s", (int)(colon + 1 - s), s, at);
    } else {
        snprintf(out, out_size, "%s", s);
    }
    return out;
}

// Everything the update needs to know before the first byte.
struct plan {
    char *firmware;  // resolved path or URL of the app image
    struct mpota_manifest manifest;  // what a manifest said (empty without one)
    struct mpota_update_opts opts;
    struct mpota_http_opts http;
    char why[2048];  // a failure in the CLI's own words, where no diag says it (side files)
    struct sig_trust keys;          // --key, --key-digest, read before the device is opened
    struct sig_trust trusted;       // what opts.trust holds, each key with where it came from
    struct mpota_sig_trust trust;   // opts.trust
    unsigned deadline_s;  // --deadline, or the default
    double deadline_at;   // now_s() by when every download must be done
    char *image;          // the manifest's full image, when a patch is taken instead
};

// Progress on a terminal: bytes, rate, ETA. Quiet otherwise.
struct progress {
    bool on;
    double start, last;
    uint64_t total;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// The HTTP options for the next download: --deadline covers the manifest,
// the side files and the firmware together, so each gets what is left, to
// the nearest second (at least one, to say that the time ran out).
static const struct mpota_http_opts *http_with_time_left(struct plan *p)
{
    double left = p->deadline_at - now_s();
    p->http.deadline_s = left < 1.5 ? 1u : (unsigned)(left + 0.5);
    return &p->http;
}

static void progress_show(struct progress *p, uint64_t done, bool final)
{
    if (!p->on) {
        return;
    }
    double t = now_s();
    if (!final && t - p->last < 0.1) {
        return;
    }
    p->last = t;
    double rate = done / (t - p->start > 1e-6 ? t - p->start : 1e-6);
    char d[32], tot[32];
    fprintf(stderr, "\r%s", cli_group(done, d));
    if (p->total) {
        int width = 30, fill = (int)(width * (double)done / (double)p->total);
        fprintf(stderr, " / %s B [", cli_group(p->total, tot));
        for (int i = 0; i < width; i++) {
            fputc(i < fill ? '#' : '.', stderr);
        }
        fprintf(stderr, "] %3d%%", (int)(100.0 * (double)done / (double)p->total));
    } else {
        fprintf(stderr, " B");
    }
    fprintf(stderr, "  %.1f MB/s", rate / 1e6);
    if (p->total && rate > 0 && done < p->total) {
        fprintf(stderr, "  ETA %.0f s", (double)(p->total - done) / rate);
    }
    fprintf(stderr, final ? "\n" : "   ");
}

// The update being driven: device, session, counters.
struct run {
    struct mpota_device *dev;
    mpota_session_t session;
    struct mpota_boot_ctx ctx;
    const struct mpota_partition *running;
    struct progress progress;
    uint64_t bytes;
    struct plan *plan;  // its why takes the sink's own refusals
    struct update_delta delta;  // when the source is a patch
    struct update_inflate src;  // otherwise: the image, or gzip/zlib of it
};

// Source bytes kept for good (a patch's, a compressed file's, or the
// image's): where a dropped download resumes, and what progress counts.
static uint64_t source_taken(const struct run *r)
{
    return r->delta.on ? r->delta.taken : update_inflate_taken(&r->src);
}

// The session owns the position of an image: in order or not, it places the
// bytes at off. A patch and a compressed image go in order (a resumed
// download asks for the bytes from the source's own offset).
static int feed(struct run *r, uint64_t off, const uint8_t *data, size_t len)
{
    int rc;
    if (r->delta.on) {
        rc = off == r->delta.taken ? update_delta_push(&r->delta, data, (uint32_t)len)
                                   : mpota_diag_set(&r->delta.d.diag, MPOTA_ERR_BAD_STATE,
                                                    (uint32_t)off, r->delta.taken, 0);
    } else {
        rc = update_inflate_write(&r->src, off, data, (uint32_t)len);
    }
    if (!rc) {
        r->bytes += len;
        progress_show(&r->progress, source_taken(r), false);
    }
    return rc;
}

// Why the sink refused rc: the session's record, or the patch applier's.
static const struct mpota_diag *sink_diag(const struct run *r, int rc)
{
    return r->delta.on ? update_delta_diag(&r->delta, rc) : update_inflate_diag(&r->src, rc);
}

// A file error also goes to why (the whole path and the OS reason: the
// diag's label holds 16 characters).
static int update_from_file(struct run *r, const char *path, uint32_t chunk,
                            struct mpota_diag *d, char *why, size_t why_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_size, "cannot read %s: %s", path, strerror(errno));
        mpota_diag_set(d, MPOTA_ERR_FILE, 0, 0, 0);
        mpota_diag_label(d, path, 16);
        return MPOTA_ERR_FILE;
    }
    // A file's size is known before its first byte: when the file is the
    // image itself, the session checks it against the slot at pre-flight,
    // before anything is erased.
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && !r->delta.on) {
        update_inflate_size(&r->src, (uint64_t)st.st_size);
        r->progress.total = (uint64_t)st.st_size;
    }
    uint8_t *buf = malloc(chunk);
    int rc = MPOTA_OK;
    size_t n;
    uint64_t off = 0;
    while (buf && !rc && (n = fread(buf, 1, chunk, f)) > 0) {
        rc = feed(r, off, buf, n);
        off += n;
    }
    if (rc) {
        *d = *sink_diag(r, rc);  // the session or the patch refused
    } else if (!buf || ferror(f)) {
        snprintf(why, why_size, "cannot read %s: %s", path, strerror(buf ? errno : ENOMEM));
        rc = mpota_diag_set(d, MPOTA_ERR_FILE, 0, 0, 0);
        mpota_diag_label(d, path, 16);
    }
    free(buf);
    fclose(f);
    return rc;
}

// The MicroPython version in a local image file ("" if none). False if the
// file cannot be read (the update itself then says why) or is compressed
// (the version is read from the slot at the end, as a download's).
static bool read_file_mpver(const char *path, char out[MPOTA_MPVER_MAX + 1])
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return false;
    }
    mpota_mpver_scan_t scan;
    mpota_mpver_init(&scan);
    uint8_t buf[65536];
    size_t n;
    bool ok = true;
    for (bool first = true; ok && !mpota_mpver_done(&scan) && (n = fread(buf, 1, sizeof(buf), f)) > 0;
         first = false) {
        enum mpota_stream_kind k = first ? mpota_stream_kind(buf, n) : MPOTA_STREAM_APP;
        ok = k != MPOTA_STREAM_GZIP && k != MPOTA_STREAM_ZLIB;
        mpota_mpver_push(&scan, buf, n);
    }
    ok = ok && !ferror(f);
    fclose(f);
    snprintf(out, MPOTA_MPVER_MAX + 1, "%s", mpota_mpver_version(&scan));
    return ok;
}

// HTTP sink callbacks: the session is the sink.
static int on_length(void *ctx, uint64_t total)
{
    struct run *r = ctx;
    if (total > UINT32_MAX) {
        // The session's numbers are 32-bit and would show this clamped: say
        // it here with the real one. No flash holds it, whatever the file is.
        const struct mpota_partition *t = mpota_session_target(&r->session);
        char said[32], holds[32];
        snprintf(r->plan->why, sizeof(r->plan->why),
                 "the server says the file is %s B; the slot %s holds %s B: this is not an app "
                 "image for this device; check the URL",
                 cli_group(total, said), t ? t->label : "", cli_group(t ? t->size : 0, holds));
        return MPOTA_ERR_SLOT_TOO_SMALL;
    }
    r->progress.total = total;
    if (r->delta.on) {
        // The patch's length, which the applier was given: a server that
        // says otherwise serves another file.
        return total == r->delta.patch_len
                   ? MPOTA_OK
                   : mpota_diag_set(&r->delta.d.diag, MPOTA_ERR_EXPECT_LENGTH, 0,
                                    r->delta.patch_len, (uint32_t)total);
    }
    // If the file is the image itself, the session checks it against the
    // slot once the first bytes have said what the file is (a full
    // firmware.bin gets "extract the app"), before anything is erased.
    return update_inflate_size(&r->src, total);
}

// A patch is applied as sent; an image may come gzip'd (update_inflate.c).
static int on_encoding(void *ctx, const char *coding)
{
    struct run *r = ctx;
    if (!r->delta.on) {
        return update_inflate_encoding(&r->src, coding);
    }
    if (!coding[0] || strcasecmp(coding, "identity") == 0) {
        return MPOTA_OK;
    }
    mpota_diag_set(&r->delta.d.diag, MPOTA_ERR_INFLATE_HEADER, 0, 0, 0);
    mpota_diag_label(&r->delta.d.diag, "Content-Encoding on a patch", MPOTA_DIAG_LABEL_MAX);
    return MPOTA_ERR_INFLATE_HEADER;
}

static int on_data(void *ctx, uint64_t off, const uint8_t *data, size_t len)
{
    return feed(ctx, off, data, len);
}

static int on_restart(void *ctx)
{
    struct run *r = ctx;
    int rc = mpota_session_restart(&r->session);
    update_inflate_restart(&r->src);
    if (!rc && r->delta.on) {
        rc = update_delta_begin(&r->delta, &r->session, &r->ctx, r->running,
                                r->delta.patch_len);
    }
    return rc;
}

static uint64_t resume_offset(void *ctx)
{
    return source_taken(ctx);
}

// Reads a small text file from a path or URL (manifest, side file).
static char *fetch_small(const char *where, const struct mpota_http_opts *http, size_t *len,
                         struct mpota_diag *d)
{
    if (is_url(where)) {
        struct mpota_http_opts o = *http;
        o.url = where;
        char *body = NULL;
        struct mpota_http_result r;
        if (mpota_http_get_small(&o, &body, len, &r, d) != 0) {
            if (r.error[0]) {
                char url[MPOTA_HTTP_URL_SIZE];
                fprintf(stderr, "mpota: %s: %s\n", shown(where, url, sizeof(url)), r.error);
            }
            return NULL;
        }
        return body;
    }
    uint8_t *buf = mpota_host_read_file(where, len);
    if (!buf) {
        int err = errno;  // the caller says it, with the whole path
        mpota_diag_set(d, MPOTA_ERR_FILE, 0, 0, 0);
        mpota_diag_label(d, where, 16);
        errno = err;
        return NULL;
    }
    char *text = realloc(buf, *len + 1);
    text[*len] = '\0';
    return text;
}

// Reads a side file quietly: its text, or NULL with why it could not be had.
static char *read_side_file(const char *where, const struct mpota_http_opts *http, char *why,
                            size_t why_size)
{
    size_t len = 0;
    if (is_url(where)) {
        struct mpota_http_opts o = *http;
        o.url = where;
        char *body = NULL;
        struct mpota_http_result r;
        struct mpota_diag d = {0};
        if (mpota_http_get_small(&o, &body, &len, &r, &d) != 0) {
            if (r.error[0]) {
                snprintf(why, why_size, "%s", r.error);
            } else {
                cli_diag_text(&d, why, why_size);
            }
            return NULL;
        }
        return body;
    }
    uint8_t *buf = mpota_host_read_file(where, &len);
    if (!buf) {
        snprintf(why, why_size, "%s", strerror(errno));
        return NULL;
    }
    char *text = realloc(buf, len + 1);
    text[len] = '\0';
    return text;
}

// --sidecar: the checksum file published beside the firmware. ota32 and
// most projects publish "<name>.sha" beside "<name>.bin" (sha256sum format),
// others "<name>.bin.sha"; loboris "<name>.md5" / "<name>.bin.md5". The first
// that reads and parses wins. On failure p->why lists every file tried and
// why each failed.
static bool load_sidecar(struct plan *p)
{
    const char *fw = p->firmware;
    size_t n = strlen(fw);
    // The stem: the name without ".bin" (in a URL, before any query).
    size_t stem = n;
    const char *q = is_url(fw) ? strchr(fw, '?') : NULL;
    size_t name_end = q ? (size_t)(q - fw) : n;
    if (name_end >= 4 && strncasecmp(fw + name_end - 4, ".bin", 4) == 0) {
        stem = name_end - 4;
    }
    static const char *const exts[] = {".sha", ".md5"};
    size_t used = (size_t)snprintf(p->why, sizeof(p->why),
                                   "no usable checksum file beside the firmware (--sidecar); tried:");
    for (int e = 0; e < 2; e++) {
        for (int form = 0; form < 2; form++) {
            size_t base = form == 0 ? stem : name_end;
            if (form == 1 && base == stem) {
                continue;  // no ".bin" to keep: one form only
            }
            char *side = malloc(n + 8);
            snprintf(side, n + 8, "%.*s%s%s", (int)base, fw, exts[e], fw + name_end);
            char why[MPOTA_HTTP_ERROR_SIZE] = "";
            char *text = read_side_file(side, http_with_time_left(p), why, sizeof(why));
            bool ok = false;
            if (text) {
                ok = e == 0 ? mpota_sidecar_sha256(text, p->opts.sha256)
                            : mpota_sidecar_md5(text, p->opts.md5);
                if (!ok) {
                    snprintf(why, sizeof(why), "no %s digest on its first line",
                             e == 0 ? "64-hex-digit SHA-256" : "32-hex-digit MD5");
                }
            }
            free(text);
            if (ok) {
                (e == 0 ? &p->opts.has_sha256 : &p->opts.has_md5)[0] = true;
                p->why[0] = '\0';  // found: nothing to say
                free(side);
                return true;
            }
            if (used < sizeof(p->why)) {
                char url[MPOTA_HTTP_URL_SIZE];
                used += (size_t)snprintf(p->why + used, sizeof(p->why) - used, "\n  %s: %s",
                                         shown(side, url, sizeof(url)), why);
            }
            free(side);
        }
    }
    if (used < sizeof(p->why)) {
        snprintf(p->why + used, sizeof(p->why) - used,
                 "\npublish \"<name>.sha\" (sha256sum output) beside the firmware, "
                 "or pass --sha256 instead of --sidecar");
    }
    return false;
}

// Where the app image is, and what to expect of it: from the options, a
// manifest and side files.
// A manifest SOURCE: read it (file or URL), resolve its firmware (over https
// only from https, unless --insecure), and take its hash, length and the
// facts it states about the image.
static int plan_from_manifest(const struct update_args *a, struct plan *p, struct mpota_diag *d)
{
    size_t len;
    char *text = fetch_small(a->source, http_with_time_left(p), &len, d);
    if (!text) {
        if (d->err == MPOTA_ERR_FILE) {
            snprintf(p->why, sizeof(p->why), "cannot read %s: %s", a->source,
                     strerror(errno));
        }
        return d->err;
    }
    int rc = mpota_manifest_parse(text, len, &p->manifest, d);
    free(text);
    if (rc) {
        // The manifest's own sentence names the key; the diag label cannot.
        char url[MPOTA_HTTP_URL_SIZE];
        snprintf(p->why, sizeof(p->why), "%s: %s", shown(a->source, url, sizeof(url)),
                 p->manifest.error);
        return rc;
    }
    if (is_url(a->source)) {
        char url[MPOTA_HTTP_URL_SIZE];
        rc = mpota_http_resolve(a->source, p->manifest.firmware, url, sizeof(url), d);
        p->firmware = rc ? NULL : strdup(url);
        // As for a redirect: leaving TLS would let anyone on the path
        // read or change the firmware.
        if (!rc && !a->insecure && strncmp(a->source, "https:", 6) == 0 &&
            strncasecmp(url, "http:", 5) == 0) {
            char m[MPOTA_HTTP_URL_SIZE], f[MPOTA_HTTP_URL_SIZE];
            snprintf(p->why, sizeof(p->why),
                     "the manifest %s names its firmware over plain http (%s): refused, as "
                     "anyone on the path could read or change it; publish the firmware over "
                     "https, or pass --insecure to allow it",
                     shown(a->source, m, sizeof(m)), shown(url, f, sizeof(f)));
            rc = mpota_diag_set(d, MPOTA_ERR_HTTP_REDIRECT, 0, 0, 0);
        }
    } else {
        p->firmware = mpota_manifest_resolve_path(a->source, p->manifest.firmware);
    }
    p->opts.has_sha256 = p->manifest.has_sha256;
    memcpy(p->opts.sha256, p->manifest.sha256, 32);
    p->opts.expected_size = p->manifest.length;
    // The manifest's extra keys describe the image: checked at pre-flight.
    p->opts.expect_version = p->manifest.version[0] ? p->manifest.version : NULL;
    p->opts.expect_project = p->manifest.project[0] ? p->manifest.project : NULL;
    p->opts.has_expect_secure_version = p->manifest.has_secure_version;
    p->opts.expect_secure_version = p->manifest.secure_version;
    return rc;
}

// What the update is: the source (a manifest, side files) and what the
// options add, which win over both.
static int make_plan(const struct update_args *a, struct plan *p, struct mpota_diag *d)
{
    p->manifest.chip = MPOTA_CHIP_ANY;  // no manifest: no chip said
    p->http.url = a->source;
    p->http.cacert = a->cacert;
    p->http.insecure = a->insecure;
    p->http.userpwd = a->user;
    // Credentials are for the server the user named, not for wherever its
    // manifest points (a local manifest is the user's own word).
    p->http.auth_origin = is_url(a->source) ? a->source : NULL;
    if (a->retries) {
        uint32_t n;
        if (!cli_parse_size(a->retries, &n)) {
            return MPOTA_ERR_INVALID_ARG;
        }
        p->http.retries = n;
    }
    // Checked by cli_parse.
    uint32_t n;
    p->http.min_speed = a->min_speed && cli_parse_size(a->min_speed, &n) ? n : 0;
    p->http.stall_timeout_s = a->stall_window && cli_parse_size(a->stall_window, &n) ? n : 0;
    p->deadline_s =
        a->deadline && cli_parse_size(a->deadline, &n) ? n : MPOTA_HTTP_DEFAULT_DEADLINE_S;
    p->deadline_at = now_s() + p->deadline_s;
    if (cli_has_ext(a->source, ".json")) {
        int rc = plan_from_manifest(a, p, d);
        if (rc) {
            return rc;
        }
    } else {
        p->firmware = strdup(a->source);
    }
    if (a->sidecar && !load_sidecar(p)) {
        return MPOTA_ERR_MANIFEST;  // p->why says which files were tried
    }
    // Explicit options win over the manifest and side files.
    if (a->sha) {
        p->opts.has_sha256 = true;
        cli_parse_hex(a->sha, p->opts.sha256, 32);
    }
    if (a->md5) {
        p->opts.has_md5 = true;
        cli_parse_hex(a->md5, p->opts.md5, 16);
    }
    if (a->length) {
        cli_parse_size(a->length, &p->opts.expected_size);
    }
    p->opts.no_verify = a->no_verify;
    p->opts.policy = (a->same_project ? MPOTA_POLICY_SAME_PROJECT : 0) |
                     (a->no_downgrade ? MPOTA_POLICY_NO_DOWNGRADE : 0) |
                     (a->secure_version ? MPOTA_POLICY_SECURE_VERSION : 0);
    return MPOTA_OK;
}

// The stage that made the image, when the source was not the image itself:
// a patch, or a compressed file.
static void report_source_text(const struct run *r, int rc)
{
    char b1[32], b2[32];
    if (r->delta.on) {
        char h[65];
        cli_hex(r->delta.base_sha, 32, h);
        printf("delta: a %s B patch onto the running image (%s B, SHA-256 %.16s...)\n",
               cli_group(r->delta.patch_len, b1), cli_group(r->delta.base_len, b2), h);
    }
    if (r->src.on && rc == 0) {
        printf("compressed: %s, %s B unpacked to %s B\n", mpota_stream_kind_name(r->src.kind),
               cli_group(mpota_inflate_zlib_in(&r->src.z), b1),
               cli_group(mpota_inflate_zlib_out(&r->src.z), b2));
    }
}

static void report_source_json(const struct run *r, cJSON *root)
{
    if (r->delta.on) {
        char h[65];
        cJSON *delta = cJSON_AddObjectToObject(root, "delta");
        cli_hex(r->delta.base_sha, 32, h);
        cJSON_AddStringToObject(delta, "base_sha256", h);
        cJSON_AddNumberToObject(delta, "base_len", r->delta.base_len);
        cJSON_AddNumberToObject(delta, "patch_bytes", r->delta.patch_len);
        cJSON_AddNumberToObject(delta, "image_bytes", mpota_delta_to_size(&r->delta.d));
    }
    if (r->src.on) {
        // "bytes" is the image's; these are the file's (taken so far, and
        // what the session took of its output).
        cJSON *z = cJSON_AddObjectToObject(root, "compressed");
        cJSON_AddStringToObject(z, "format", mpota_stream_kind_name(r->src.kind));
        cJSON_AddNumberToObject(z, "bytes", (double)mpota_inflate_zlib_in(&r->src.z));
        cJSON_AddNumberToObject(z, "image_bytes", (double)mpota_inflate_zlib_out(&r->src.z));
    }
}

// `c`: the flash operations of the update itself (through set_boot), not of
// the reboot and confirm that may follow.
static void report_text(const struct run *r, int rc, const struct mpota_image_info *info,
                        const struct mpota_flash_emu_counters *c,
                        const struct mpota_boot_report *boot, double wall_s)
{
    const struct mpota_partition *t = mpota_session_target(&r->session);
    char b[32];
    if (rc == 0) {
        printf("updated %s: %s %s, %s B\n", t ? t->label : "?",
               info->app_desc_present ? info->app_desc.project_name : "app",
               info->app_desc_present ? info->app_desc.version : "",
               cli_group(info->image_len, b));
    }
    printf("update: %llu block erases, %llu sector erases, %llu programs, %llu reads; "
           "modeled device time %.2f s; wall %.2f s\n",
           (unsigned long long)c->block_erases, (unsigned long long)c->sector_erases,
           (unsigned long long)c->progs, (unsigned long long)c->reads,
           mpota_flash_model_seconds(c, NULL), wall_s);
    report_source_text(r, rc);
    if (boot && boot->booted) {
        printf("rebooted into %s\n", boot->booted->label);
    }
}

static void print_report(const struct run *r, const struct plan *p, int rc,
                         const struct mpota_diag *d, const struct mpota_image_info *info,
                         const struct mpota_flash_emu_counters *c,
                         const struct mpota_boot_report *boot, double wall_s, bool json)
{
    if (!json) {
        report_text(r, rc, info, c, boot, wall_s);
        return;
    }
    const struct mpota_partition *t = mpota_session_target(&r->session);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddBoolToObject(root, "ok", rc == 0);
    if (rc) {
        char text[512];
        cli_diag_text(d, text, sizeof(text));
        cJSON_AddStringToObject(root, "error", p->why[0] ? p->why : text);
        cJSON_AddStringToObject(root, "code", mpota_host_err_name(rc));
    }
    char source[MPOTA_HTTP_URL_SIZE];
    cJSON_AddStringToObject(root, "source",
                            p->firmware ? shown(p->firmware, source, sizeof(source)) : "");
    if (t) {
        cJSON_AddStringToObject(root, "slot", t->label);
    }
    cJSON_AddNumberToObject(root, "bytes", (double)mpota_session_offset(&r->session));
    uint8_t sha[32];
    if (rc == 0 && mpota_session_sha256(&r->session, sha) == 0) {
        char h[65];
        cli_hex(sha, 32, h);
        cJSON_AddStringToObject(root, "sha256", h);
        cJSON_AddNumberToObject(root, "image_len", info->image_len);
        if (info->app_desc_present) {
            cJSON_AddStringToObject(root, "version", info->app_desc.version);
            cJSON_AddStringToObject(root, "project_name", info->app_desc.project_name);
        }
    }
    cJSON *ops = cJSON_AddObjectToObject(root, "flash_ops");
    cJSON_AddNumberToObject(ops, "block_erases", (double)c->block_erases);
    cJSON_AddNumberToObject(ops, "sector_erases", (double)c->sector_erases);
    cJSON_AddNumberToObject(ops, "erase", (double)(c->block_erases + c->sector_erases));
    cJSON_AddNumberToObject(ops, "program", (double)c->progs);
    cJSON_AddNumberToObject(ops, "program_bytes", (double)c->prog_bytes);
    cJSON_AddNumberToObject(ops, "read", (double)c->reads);
    cJSON_AddNumberToObject(ops, "read_bytes", (double)c->read_bytes);
    if (p->opts.trust && (p->trust.count || p->trust.required)) {
        cJSON_AddItemToObject(root, "trusted", sig_trust_json(&p->trusted));
    }
    report_source_json(r, root);
    cJSON_AddNumberToObject(root, "modeled_device_s", mpota_flash_model_seconds(c, NULL));
    cJSON_AddNumberToObject(root, "wall_s", wall_s);
    if (boot && boot->booted) {
        cJSON_AddStringToObject(root, "booted", boot->booted->label);
    }
    cli_print_json(root);
}

// The keys the image must be signed by (docs/DESIGN.md §8): with secure boot
// the eFuse keys (revoked ones stay listed and refuse), else a signed
// running app's own, always (ESP-IDF's signed-on-update rule); then --key
// and --key-digest. p->trusted lists them with where each came from.
static int plan_trust(const struct run *r, struct plan *p, const struct update_args *a,
                      struct mpota_diag *d)
{
    struct mpota_sig_trust *t = &p->trust;
    const char *own = "the running app";
    struct mpota_area ra;
    if (r->ctx.secure_boot && p->keys.n) {
        snprintf(p->why, sizeof(p->why),
                 "this device has secure boot: its bootloader starts only images signed by the "
                 "keys in its eFuses, so --key and --key-digest cannot add one; leave them out");
        return MPOTA_ERR_INVALID_ARG;
    }
    if (r->ctx.secure_boot) {
        // Secure boot: the eFuse keys decide, as the bootloader will.
        *t = *r->ctx.secure_boot;
        own = "eFuse";
    } else if (r->running && mpota_area_init(&ra, &r->dev->emu.flash, r->running->offset,
                                             r->running->size, true) == 0) {
        int n = mpota_sig_trust_add_running(t, &ra, d);
        if (n < 0) {
            return n;
        }
    }
    t->required = t->required || a->require_signature;
    t->first_block_only = t->first_block_only || a->one_block;
    for (unsigned i = 0; i < p->keys.n; i++) {
        int rc = mpota_sig_trust_add(t, p->keys.digest[i], d);
        if (rc) {
            return rc;
        }
    }
    p->trusted.n = t->count;
    for (unsigned i = 0; i < t->count; i++) {
        memcpy(p->trusted.digest[i], t->keys[i], MPOTA_SIG_KEY_DIGEST_LEN);
        unsigned k = 0;
        while (k < p->keys.n && memcmp(p->keys.digest[k], t->keys[i], MPOTA_SIG_KEY_DIGEST_LEN)) {
            k++;
        }
        p->trusted.from[i] = k < p->keys.n              ? p->keys.from[k]
                             : (t->revoked >> i) & 1u ? "eFuse, revoked"
                                                      : own;
    }
    p->opts.trust = t;
    return MPOTA_OK;
}

// A patch instead of the image: the manifest's patch made from the running
// image (unless --full), or a local SOURCE that is a patch itself. The
// session's expectations (sha, length) stay the new image's.
static int plan_delta(struct run *r, struct plan *p, const struct update_args *a,
                      struct mpota_diag *d)
{
    struct update_delta *u = &r->delta;
    if (!a->full && update_delta_pick(u, r->dev, r->running, &p->manifest)) {
        char *url;
        if (is_url(a->source)) {
            char buf[MPOTA_HTTP_URL_SIZE];
            int rc = mpota_http_resolve(a->source, u->chosen->url, buf, sizeof(buf), d);
            if (rc) {
                return rc;
            }
            url = strdup(buf);
        } else {
            url = mpota_manifest_resolve_path(a->source, u->chosen->url);
        }
        p->image = p->firmware;
        p->firmware = url;
        u->on = true;
        u->patch_len = u->chosen->length;
    } else if (!is_url(p->firmware) && update_delta_looks_like_patch(p->firmware)) {
        struct stat st;
        if (stat(p->firmware, &st) != 0 || st.st_size <= 0 || st.st_size > UINT32_MAX) {
            return MPOTA_OK;  // the file's own error comes when it is read
        }
        u->on = true;
        u->patch_len = (uint32_t)st.st_size;
    }
    return MPOTA_OK;
}

// Whether a path or URL names a .gz file (a URL's query and fragment aside).
static bool named_gz(const char *s)
{
    size_t n = is_url(s) ? strcspn(s, "?#") : strlen(s);
    return n >= 3 && strncasecmp(s + n - 3, ".gz", 3) == 0;
}

// What says the image comes compressed, before its first byte: the
// manifest's "compression", or the name. The first bytes must agree.
static void plan_compression(struct run *r, const struct plan *p)
{
    update_inflate_begin(&r->src, &r->session);
    if (r->delta.on) {
        return;  // the patch is the source: it is applied as it is
    }
    if (p->manifest.gzip) {
        update_inflate_expect(&r->src, "the manifest (\"compression\": \"gzip\")",
                              MPOTA_STREAM_GZIP);
    }
    if (named_gz(p->firmware)) {
        update_inflate_expect(&r->src, "the file name (.gz)", MPOTA_STREAM_GZIP);
    }
}

// The plan (manifest, side files, expectations), the chip a manifest names,
// the facts the policies compare with, then the session's begin().
static int begin_update(struct run *r, struct plan *p, const struct update_args *a,
                        struct mpota_diag *d)
{
    const struct mpota_device *dev = r->dev;
    int rc = make_plan(a, p, d);
    if (!rc && p->manifest.chip != MPOTA_CHIP_ANY && dev->chip != MPOTA_CHIP_ANY &&
        p->manifest.chip != dev->chip) {
        rc = mpota_diag_set(d, MPOTA_ERR_IMAGE_CHIP, 0, dev->chip, p->manifest.chip);
    }
    // What the policies compare with: the running app's facts, and for
    // --no-downgrade a local file's MicroPython version (read now, so the
    // rule applies before anything is erased; a download's at end).
    static struct mpota_app_desc running_desc;
    static char running_mpver[MPOTA_MPVER_MAX + 1], image_mpver[MPOTA_MPVER_MAX + 1];
    struct mpota_area ra;
    if (!rc && r->running && p->opts.policy &&
        mpota_area_init(&ra, &dev->emu.flash, r->running->offset, r->running->size, true) == 0) {
        mpota_update_opts_read_running(&p->opts, &ra, &running_desc, running_mpver);
    }
    if (!rc && (p->opts.policy & MPOTA_POLICY_NO_DOWNGRADE) && !is_url(p->firmware) &&
        read_file_mpver(p->firmware, image_mpver)) {
        p->opts.image_micropython_version = image_mpver;
    }
    if (!rc) {
        rc = plan_trust(r, p, a, d);
    }
    if (!rc) {
        rc = plan_delta(r, p, a, d);
    }
    if (!rc) {
        rc = mpota_session_begin(&r->session, &r->ctx, r->running, NULL, &p->opts, d);
    }
    if (!rc) {
        plan_compression(r, p);
    }
    if (!rc && r->delta.on) {
        rc = update_delta_begin(&r->delta, &r->session, &r->ctx, r->running, r->delta.patch_len);
        if (rc) {
            *d = *update_delta_diag(&r->delta, rc);
        }
    }
    return rc;
}

// Moves the image into the session: a download (resumed, within the
// deadline) or a local file. On failure d is the record of the stage that
// refused: the session's (its sink callbacks, a file's bytes) or the fetch's.
static int transfer(struct run *r, struct plan *p, uint32_t chunk, struct mpota_http_result *hres,
                    struct mpota_diag *d)
{
    int rc;
    if (is_url(p->firmware)) {
        struct mpota_http_sink sink = {r, on_length, on_data, on_restart, resume_offset,
                                       on_encoding};
        p->http.url = p->firmware;
        // A patch is taken as it is; an image as app.bin.gz where the server
        // keeps one (nginx gzip_static): fewer bytes, the same image checked.
        p->http.accept_gzip = !r->delta.on;
        rc = mpota_http_fetch(http_with_time_left(p), &sink, hres, d);
        if (hres->sink_refused) {
            *d = *sink_diag(r, rc);  // else d is the fetch's own
        }
        if (hres->deadline_passed) {
            // The diag would blame the retries; the clock ran out.
            snprintf(p->why, sizeof(p->why),
                     "the update did not finish within --deadline (%u s, manifest and side "
                     "files included); allow more time with --deadline SECONDS, or check the "
                     "server and the connection", p->deadline_s);
        }
    } else {
        rc = update_from_file(r, p->firmware, chunk, d, p->why, sizeof(p->why));
    }
    if (!rc && (rc = r->delta.on ? update_delta_finish(&r->delta)
                                 : update_inflate_finish(&r->src)) != 0) {
        *d = *sink_diag(r, rc);
    }
    return rc;
}

// end() (the image verified on flash), then set_boot(). With --reboot the
// device's sidecar is written first: a full disk stops the update before
// otadata selects the new app, not at the reboot.
static int finish_and_switch(struct run *r, struct plan *p, const struct update_args *a,
                             struct mpota_image_info *info, struct mpota_diag *d)
{
    int rc = mpota_session_end(&r->session, info);
    if (!rc && a->reboot && (rc = mpota_device_save_state(r->dev)) != 0) {
        cli_device_error(r->dev, a->flash, rc, p->why, sizeof(p->why));
    }
    if (!rc) {
        rc = mpota_session_set_boot(&r->session);
    }
    if (rc && !p->why[0]) {
        *d = *mpota_session_diag(&r->session);
    }
    return rc;
}

// --reboot: the bootloader's selection runs; with --confirm the app that now
// runs is marked valid.
static int reboot_device(struct run *r, struct plan *p, const struct update_args *a,
                         struct mpota_boot_report *boot, struct mpota_diag *d)
{
    int rc = mpota_device_boot(r->dev, boot);
    if (!rc && a->confirm) {
        mpota_device_ctx(r->dev, &r->ctx);  // the app that runs now
        rc = mpota_boot_mark_valid(&r->ctx);
    }
    if (rc) {
        mpota_diag_set(d, rc, 0, 0, 0);
        if (rc == MPOTA_ERR_FILE) {
            cli_device_error(r->dev, a->flash, rc, p->why, sizeof(p->why));
        }
    }
    return rc;
}

static bool signature_refusal(int rc)
{
    return rc == MPOTA_ERR_SIG_MISSING || rc == MPOTA_ERR_SIG_CORRUPT ||
           rc == MPOTA_ERR_SIG_SCHEME || rc == MPOTA_ERR_SIG_DIGEST ||
           rc == MPOTA_ERR_SIG_INVALID || rc == MPOTA_ERR_SIG_UNTRUSTED ||
           rc == MPOTA_ERR_SIG_REVOKED;
}

// After a signature refusal, the facts: the keys that signed a local file
// and the keys the device trusts.
static void explain_signature(const struct plan *p)
{
    size_t len = 0;
    uint8_t *buf = p->firmware && !is_url(p->firmware) ? mpota_host_read_file(p->firmware, &len)
                                                       : NULL;
    struct mpota_image_info info;
    if (buf && mpota_image_parse(buf, len, MPOTA_CHIP_ANY, &info, NULL) == MPOTA_OK) {
        struct mpota_sig_report rep;
        mpota_sig_report(buf, len, info.image_len, &rep);
        if (rep.count) {
            fprintf(stderr, "signed by (signature sector at 0x%X):\n", rep.sector_offset);
            sig_print_blocks(stderr, &rep);
        }
    }
    free(buf);
    fprintf(stderr, "trusted:%s\n", p->trusted.n ? "" : " no key (--require-signature)");
    for (unsigned i = 0; i < p->trusted.n; i++) {
        char key[2 * MPOTA_SIG_KEY_DIGEST_LEN + 1];
        cli_hex(p->trusted.digest[i], MPOTA_SIG_KEY_DIGEST_LEN, key);
        fprintf(stderr, "  key digest %s (%s)\n", key, p->trusted.from[i]);
    }
}

// A refusal on stderr: the transfer's last trouble, the sentence, then what
// helps with it. Returns CLI_REFUSED.
static int print_refusal(const struct run *r, const struct plan *p, int rc,
                         const struct mpota_diag *d, const struct mpota_http_result *hres,
                         bool json)
{
    if (hres->error[0]) {
        fprintf(stderr, "mpota: %s\n", hres->error);
    }
    int st = p->why[0] ? cli_fail("%s", p->why) : cli_fail_diag(d);
    if (rc == MPOTA_ERR_NO_OTA_SLOTS) {
        cli_print_ota_layout_advice(stderr, r->dev->chip);
    }
    if (signature_refusal(rc) && !json) {
        explain_signature(p);
    }
    if (rc == MPOTA_ERR_INFLATE_HEADER && r->src.stated && !r->src.on) {
        // Who said it, since the bytes say otherwise.
        fprintf(stderr, "mpota: %s says the firmware is %s\n", r->src.stated,
                mpota_stream_kind_name(r->src.stated_kind));
    }
    return st;
}

// The command line of `mpota flash update`: options into *a, FLASH and
// SOURCE into pos. Returns cli_parse's status.
static int parse_update_args(const struct cli_cmd *cmd, int argc, char **argv,
                             struct update_args *a, const char *pos[2])
{
    const struct cli_opt opts[] = {
        {.name = "--sha256", .value = &a->sha, .arg = "HEX", .check = &cli_sha256_value,
         .help = "the SHA-256 the image must have (overrides a manifest or side file)"},
        {.name = "--md5", .value = &a->md5, .arg = "HEX", .check = &cli_md5_value,
         .help = "the MD5 the image must have"},
        {.name = "--length", .value = &a->length, .arg = "SIZE", .check = &cli_length_value,
         .help = "the bytes the image must have"},
        {.name = "--sidecar", .flag = &a->sidecar,
         .help = "take the expected hash from a side file beside the app image: <image>.sha "
                 "(sha256sum format), else <image>.md5"},
        {.name = "--no-verify", .flag = &a->no_verify,
         .help = "do not read back each flash write to compare it"},
        {.name = "--reboot", .flag = &a->reboot, .help = "boot the device after the update"},
        {.name = "--confirm", .flag = &a->confirm, .needs = "--reboot",
         .help = "mark the new app valid once it has booted"},
        {.name = "--json", .flag = &a->json, .help = "print the report as JSON"},
        {.name = "--chunk", .value = &a->chunk, .arg = "SIZE", .check = &chunk_size,
         .help = "bytes per read of a file SOURCE (default 4K)"},
        {.name = "--same-project", .flag = &a->same_project,
         .help = "refuse an image of another project than the running app's"},
        {.name = "--no-downgrade", .flag = &a->no_downgrade,
         .help = "refuse an image with an older version than the running app's"},
        {.name = "--secure-version", .flag = &a->secure_version,
         .help = "refuse an image with a lower secure version than the running app's"},
        {.name = "--cacert", .value = &a->cacert, .arg = "PEM",
         .help = "verify the https server with this CA certificate file"},
        {.name = "--insecure", .flag = &a->insecure,
         .help = "do not verify the https server, and allow plain http after https (a redirect, "
                 "a manifest's firmware)"},
        {.name = "--user", .value = &a->user, .arg = "USER:PASS",
         .help = "HTTP basic auth, sent only to SOURCE's scheme, host and port"},
        {.name = "--retries", .value = &a->retries, .arg = "N", .check = &retry_count,
         .help = "times a dropped download is resumed (default 5)"},
        {.name = "--min-speed", .value = &a->min_speed, .arg = "BYTES", .check = &bytes_per_s,
         .help = "abandon (and resume) an attempt that averages fewer than BYTES per second over "
                 "the stall window (default 1024)"},
        {.name = "--stall-window", .value = &a->stall_window, .arg = "SECONDS",
         .check = &window_seconds,
         .help = "abandon (and resume) an attempt that receives nothing, or too little, for this "
                 "long (default 20)"},
        {.name = "--deadline", .value = &a->deadline, .arg = "SECONDS", .check = &deadline_seconds,
         .help = "give up a download that has not finished in this long, retries included; the "
                 "manifest and side files count too (default 600)"},
        {.name = "--key", .values = a->keys, .repeat = SIG_TRUST_MAX, .arg = "PEM",
         .help = "the image must be signed (Secure Boot V2) by this key or another trusted one "
                 "(a PEM public or private key); a signed running app's keys are always trusted"},
        {.name = "--key-digest", .values = a->key_digests, .repeat = SIG_TRUST_MAX, .arg = "HEX",
         .check = &cli_sha256_value,
         .help = "trust the key with this digest (espsecure digest_sbv2_public_key), as --key"},
        {.name = "--require-signature", .flag = &a->require_signature,
         .help = "refuse an image without a valid Secure Boot V2 signature, even when no key is "
                 "trusted"},
        {.name = "--one-block", .flag = &a->one_block,
         .help = "read only the first signature block, as ESP32 (rev 3) and ESP32-C2 do"},
        {.name = "--full", .flag = &a->full,
         .help = "take the manifest's full image even when it offers a patch made from the "
                 "running image"},
        {0}};
    return cli_parse(cmd, argc, argv, opts, pos);
}

int cmd_update(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct update_args a = {0};
    const char *pos[2] = {0};
    int status = parse_update_args(cmd, argc, argv, &a, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    uint32_t chunk = 4096;
    if (a.chunk) {
        cli_parse_size(a.chunk, &chunk);  // checked by cli_parse
    }
    a.flash = pos[0];
    a.source = pos[1];
    static struct plan p;
    if (!sig_trust_load(&p.keys, a.keys, a.key_digests)) {
        return CLI_REFUSED;  // the key file's problem is said
    }

    static struct mpota_device dev;
    if (access(a.flash, F_OK) != 0) {
        return cli_fail("%s does not exist; make one with `mpota flash new`", a.flash);
    }
    // Locked until the end: a second command waits, or is told the device is busy.
    int open_rc = mpota_device_open_locked(&dev, a.flash, MPOTA_DEVICE_LOCK_WAIT_MS);
    if (open_rc != 0) {
        return cli_fail_device(&dev, a.flash, open_rc);
    }
    if (dev.table_err) {
        mpota_device_close(&dev);
        return cli_fail_diag(&dev.table_diag);
    }
    double t0 = now_s();
    static struct run r;
    r.plan = &p;
    r.dev = &dev;
    mpota_device_ctx(&dev, &r.ctx);
    r.running = mpota_device_running_partition(&dev);
    r.progress.on = !a.json && isatty(STDERR_FILENO);
    r.progress.start = r.progress.last = t0;

    struct mpota_diag d = {0};
    int rc = begin_update(&r, &p, &a, &d);
    // Progress counts the source's bytes: a compressed one's own size comes
    // with its first byte (file size, Content-Length), never the image's.
    r.progress.total = r.src.stated ? 0 : p.opts.expected_size;
    struct mpota_http_result hres = {0};
    if (!rc) {
        rc = transfer(&r, &p, chunk, &hres, &d);
    }
    progress_show(&r.progress, source_taken(&r), true);
    static struct mpota_image_info info;
    if (!rc) {
        rc = finish_and_switch(&r, &p, &a, &info, &d);
    }
    if (rc) {
        // Leave the slot empty; otadata and the running app are untouched.
        (void)mpota_session_abort(&r.session);
    }
    struct mpota_flash_emu_counters update_ops = dev.emu.count;
    struct mpota_boot_report boot = {0};
    if (!rc && a.reboot) {
        rc = reboot_device(&r, &p, &a, &boot, &d);
    }
    print_report(&r, &p, rc, &d, &info, &update_ops, a.reboot ? &boot : NULL, now_s() - t0,
                 a.json);
    int st = rc ? print_refusal(&r, &p, rc, &d, &hres, a.json) : CLI_OK;
    update_inflate_end(&r.src);
    free(p.firmware);
    free(p.image);
    mpota_manifest_free(&p.manifest);
    mpota_device_close(&dev);
    return st;
}
