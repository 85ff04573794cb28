// mpota flash update: a whole OTA update of the emulated device from a file,
// an http(s) URL or a manifest, through the update session.
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "device.h"
#include "flash_model.h"
#include "host_file.h"
#include "http_curl.h"
#include "manifest.h"
#include "mpota/hash.h"
#include "mpota/mpver.h"
#include "mpota/session.h"

// Bytes per read of a file source; 0 would read nothing.
static const struct cli_value chunk_size = {.kind = CLI_SIZE, .min = 1, .max = 16u << 20};
// 0 would mean the default (MPOTA_HTTP_DEFAULT_RETRIES), so it is not a value.
static const struct cli_value retry_count = {.kind = CLI_NUMBER, .min = 1, .max = 1000};

struct update_args {
    const char *flash, *source;
    const char *sha, *md5, *length, *chunk, *cacert, *user, *retries;
    bool sidecar, no_verify, reboot, confirm, json, same_project, no_downgrade, secure_version,
        insecure;
};

static bool is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

// Everything the update needs to know before the first byte.
struct plan {
    char *firmware;  // resolved path or URL of the app image
    struct mpota_manifest manifest;  // what a manifest said (empty without one)
    struct mpota_update_opts opts;
    struct mpota_http_opts http;
    char why[2048];  // a failure in the CLI's own words, where no diag says it (side files)
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
};

static int feed(struct run *r, uint64_t off, const uint8_t *data, size_t len)
{
    int rc = off == mpota_session_offset(&r->session)
                 ? mpota_session_write(&r->session, data, (uint32_t)len)
                 : mpota_session_write_at(&r->session, (uint32_t)off, data, (uint32_t)len);
    if (!rc) {
        r->bytes += len;
        progress_show(&r->progress, mpota_session_offset(&r->session), false);
    }
    return rc;
}

static int update_from_file(struct run *r, const char *path, uint32_t chunk,
                            struct mpota_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        mpota_diag_set(d, MPOTA_ERR_FILE, 0, 0, 0);
        mpota_diag_label(d, path, 16);
        return MPOTA_ERR_FILE;
    }
    uint8_t *buf = malloc(chunk);
    int rc = MPOTA_OK;
    size_t n;
    uint64_t off = 0;
    while (buf && !rc && (n = fread(buf, 1, chunk, f)) > 0) {
        rc = feed(r, off, buf, n);
        off += n;
    }
    if (!buf || ferror(f)) {
        rc = mpota_diag_set(d, MPOTA_ERR_FILE, 0, 0, 0);
        mpota_diag_label(d, path, 16);
    }
    free(buf);
    fclose(f);
    return rc;
}

// The MicroPython version in a local image file ("" if none). False if the
// file cannot be read (the update itself then says why).
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
    while (!mpota_mpver_done(&scan) && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
        mpota_mpver_push(&scan, buf, n);
    }
    bool ok = !ferror(f);
    fclose(f);
    snprintf(out, MPOTA_MPVER_MAX + 1, "%s", mpota_mpver_version(&scan));
    return ok;
}

// HTTP sink callbacks: the session is the sink.
static int on_length(void *ctx, uint64_t total)
{
    struct run *r = ctx;
    r->progress.total = total;
    // The session checks it against the slot once the first bytes have said
    // what the file is (a full firmware.bin gets "extract the app"), before
    // anything is erased.
    return mpota_session_declare_size(&r->session, total);
}

static int on_data(void *ctx, uint64_t off, const uint8_t *data, size_t len)
{
    return feed(ctx, off, data, len);
}

static int on_restart(void *ctx)
{
    struct run *r = ctx;
    return mpota_session_restart(&r->session);
}

static uint64_t resume_offset(void *ctx)
{
    struct run *r = ctx;
    return mpota_session_offset(&r->session);
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
                fprintf(stderr, "mpota: %s: %s\n", where, r.error);
            }
            return NULL;
        }
        return body;
    }
    uint8_t *buf = cli_read_file(where, len);
    if (!buf) {
        mpota_diag_set(d, MPOTA_ERR_FILE, 0, 0, 0);
        mpota_diag_label(d, where, 16);
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
                mpota_diag_format(&d, why, why_size);
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
            char *text = read_side_file(side, &p->http, why, sizeof(why));
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
                used += (size_t)snprintf(p->why + used, sizeof(p->why) - used, "\n  %s: %s",
                                         side, why);
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
static int make_plan(const struct update_args *a, struct plan *p, struct mpota_diag *d)
{
    p->manifest.chip = MPOTA_CHIP_ANY;  // no manifest: no chip said
    p->http.url = a->source;
    p->http.cacert = a->cacert;
    p->http.insecure = a->insecure;
    p->http.userpwd = a->user;
    if (a->retries) {
        uint32_t n;
        if (!cli_parse_size(a->retries, &n)) {
            return MPOTA_ERR_INVALID_ARG;
        }
        p->http.retries = n;
    }
    if (cli_has_ext(a->source, ".json")) {
        size_t len;
        char *text = fetch_small(a->source, &p->http, &len, d);
        if (!text) {
            return d->err;
        }
        int rc = mpota_manifest_parse(text, len, &p->manifest, d);
        free(text);
        if (rc) {
            return rc;
        }
        if (is_url(a->source)) {
            char url[MPOTA_HTTP_URL_SIZE];
            rc = mpota_http_resolve(a->source, p->manifest.firmware, url, sizeof(url), d);
            p->firmware = rc ? NULL : strdup(url);
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

// `c`: the flash operations of the update itself (through set_boot), not of
// the reboot and confirm that may follow.
static void print_report(const struct run *r, const struct plan *p, int rc,
                         const struct mpota_diag *d, const struct mpota_image_info *info,
                         const struct mpota_flash_emu_counters *c,
                         const struct mpota_boot_report *boot, double wall_s, bool json)
{
    const struct mpota_partition *t = mpota_session_target(&r->session);
    double modeled = mpota_flash_model_seconds(c, NULL);
    if (!json) {
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
               (unsigned long long)c->progs, (unsigned long long)c->reads, modeled, wall_s);
        if (boot && boot->booted) {
            printf("rebooted into %s\n", boot->booted->label);
        }
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddBoolToObject(root, "ok", rc == 0);
    if (rc) {
        char text[512];
        mpota_diag_format(d, text, sizeof(text));
        cJSON_AddStringToObject(root, "error", p->why[0] ? p->why : text);
        cJSON_AddStringToObject(root, "code", mpota_err_name(rc));
    }
    cJSON_AddStringToObject(root, "source", p->firmware ? p->firmware : "");
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
    cJSON_AddNumberToObject(root, "modeled_device_s", modeled);
    cJSON_AddNumberToObject(root, "wall_s", wall_s);
    if (boot && boot->booted) {
        cJSON_AddStringToObject(root, "booted", boot->booted->label);
    }
    cli_print_json(root);
}

int cmd_update(const struct cli_cmd *cmd, int argc, char **argv)
{
    struct update_args a = {0};
    const char *pos[2] = {0};
    const struct cli_opt opts[] = {
        {.name = "--sha256", .value = &a.sha, .arg = "HEX", .check = &cli_sha256_value,
         .help = "the SHA-256 the image must have (overrides a manifest or side file)"},
        {.name = "--md5", .value = &a.md5, .arg = "HEX", .check = &cli_md5_value,
         .help = "the MD5 the image must have"},
        {.name = "--length", .value = &a.length, .arg = "SIZE", .check = &cli_length_value,
         .help = "the bytes the image must have"},
        {.name = "--sidecar", .flag = &a.sidecar,
         .help = "take the expected hash from a side file beside the app image: <image>.sha "
                 "(sha256sum format), else <image>.md5"},
        {.name = "--no-verify", .flag = &a.no_verify,
         .help = "do not read back each flash write to compare it"},
        {.name = "--reboot", .flag = &a.reboot, .help = "boot the device after the update"},
        {.name = "--confirm", .flag = &a.confirm, .needs = "--reboot",
         .help = "mark the new app valid once it has booted"},
        {.name = "--json", .flag = &a.json, .help = "print the report as JSON"},
        {.name = "--chunk", .value = &a.chunk, .arg = "SIZE", .check = &chunk_size,
         .help = "bytes per read of a file SOURCE (default 4K)"},
        {.name = "--same-project", .flag = &a.same_project,
         .help = "refuse an image of another project than the running app's"},
        {.name = "--no-downgrade", .flag = &a.no_downgrade,
         .help = "refuse an image with an older version than the running app's"},
        {.name = "--secure-version", .flag = &a.secure_version,
         .help = "refuse an image with a lower secure version than the running app's"},
        {.name = "--cacert", .value = &a.cacert, .arg = "PEM",
         .help = "verify the https server with this CA certificate file"},
        {.name = "--insecure", .flag = &a.insecure, .help = "do not verify the https server"},
        {.name = "--user", .value = &a.user, .arg = "USER:PASS", .help = "HTTP basic auth"},
        {.name = "--retries", .value = &a.retries, .arg = "N", .check = &retry_count,
         .help = "times a dropped download is resumed (default 5)"},
        {0}};
    int status = cli_parse(cmd, argc, argv, opts, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    uint32_t chunk = 4096;
    if (a.chunk) {
        cli_parse_size(a.chunk, &chunk);  // checked by cli_parse
    }
    a.flash = pos[0];
    a.source = pos[1];

    static struct mpota_device dev;
    if (access(a.flash, F_OK) != 0) {
        return cli_fail("%s does not exist; make one with `mpota flash new`", a.flash);
    }
    if (mpota_device_open(&dev, a.flash) != 0) {
        return cli_fail("cannot open %s as an emulated flash", a.flash);
    }
    if (dev.table_err) {
        mpota_device_close(&dev);
        return cli_fail_diag(&dev.table_diag);
    }
    double t0 = now_s();
    static struct run r;
    static struct plan p;
    r.dev = &dev;
    mpota_device_ctx(&dev, &r.ctx);
    r.running = mpota_device_running_partition(&dev);
    r.progress.on = !a.json && isatty(STDERR_FILENO);
    r.progress.start = r.progress.last = t0;

    struct mpota_diag d = {0};
    int rc = make_plan(&a, &p, &d);
    if (!rc && p.manifest.chip != MPOTA_CHIP_ANY && dev.chip != MPOTA_CHIP_ANY &&
        p.manifest.chip != dev.chip) {
        rc = mpota_diag_set(&d, MPOTA_ERR_IMAGE_CHIP, 0, dev.chip, p.manifest.chip);
    }
    // The running app's description, for the policies.
    static struct mpota_image_info running_info;
    if (!rc && r.running && p.opts.policy) {
        struct mpota_area ra;
        if (mpota_area_init(&ra, &dev.emu.flash, r.running->offset, r.running->size, true) == 0 &&
            mpota_image_verify_area(&ra, MPOTA_CHIP_ANY, &running_info, NULL) == 0 &&
            running_info.app_desc_present) {
            p.opts.running_desc = &running_info.app_desc;
        }
    }
    // The MicroPython versions, for --no-downgrade when the app descriptions
    // carry none (official builds). A local file's is read now, so the rule
    // is applied before anything is erased; a download's at end.
    static char running_mpver[MPOTA_MPVER_MAX + 1], image_mpver[MPOTA_MPVER_MAX + 1];
    if (!rc && (p.opts.policy & MPOTA_POLICY_NO_DOWNGRADE)) {
        struct mpota_area ra;
        if (r.running &&
            mpota_area_init(&ra, &dev.emu.flash, r.running->offset, r.running->size, true) == 0 &&
            mpota_mpver_read_area(&ra, ra.size, running_mpver) == 0) {
            p.opts.running_micropython_version = running_mpver;
        }
        if (!is_url(p.firmware) && read_file_mpver(p.firmware, image_mpver)) {
            p.opts.image_micropython_version = image_mpver;
        }
    }
    if (!rc) {
        rc = mpota_session_begin(&r.session, &r.ctx, r.running, NULL, &p.opts, &d);
    }
    r.progress.total = p.opts.expected_size;
    struct mpota_http_result hres = {0};
    if (!rc) {
        if (is_url(p.firmware)) {
            struct mpota_http_sink sink = {&r, on_length, on_data, on_restart, resume_offset};
            p.http.url = p.firmware;
            rc = mpota_http_fetch(&p.http, &sink, &hres, &d);
        } else {
            rc = update_from_file(&r, p.firmware, chunk, &d);
        }
        // A refusal from the sink carries the session's own words.
        if (rc && mpota_session_diag(&r.session)->err == rc) {
            d = *mpota_session_diag(&r.session);
        }
    }
    progress_show(&r.progress, mpota_session_offset(&r.session), true);
    static struct mpota_image_info info;
    if (!rc) {
        rc = mpota_session_end(&r.session, &info);
        if (!rc) {
            rc = mpota_session_set_boot(&r.session);
        }
        if (rc) {
            d = *mpota_session_diag(&r.session);
        }
    }
    if (rc) {
        // Leave the slot empty; otadata and the running app are untouched.
        (void)mpota_session_abort(&r.session);
    }
    struct mpota_flash_emu_counters update_ops = dev.emu.count;
    struct mpota_boot_report boot = {0};
    if (!rc && a.reboot) {
        rc = mpota_device_boot(&dev, &boot);
        if (!rc && a.confirm) {
            rc = mpota_boot_mark_valid(&r.ctx);
        }
        if (rc) {
            mpota_diag_set(&d, rc, 0, 0, 0);
        }
    }
    print_report(&r, &p, rc, &d, &info, &update_ops, a.reboot ? &boot : NULL, now_s() - t0,
                 a.json);
    free(p.firmware);
    mpota_manifest_free(&p.manifest);
    mpota_device_close(&dev);
    if (rc) {
        if (hres.error[0]) {
            fprintf(stderr, "mpota: %s\n", hres.error);
        }
        int st = p.why[0] ? cli_fail("%s", p.why) : cli_fail_diag(&d);
        if (rc == MPOTA_ERR_NO_OTA_SLOTS) {
            cli_print_ota_layout_advice(stderr, dev.chip);
        }
        return st;
    }
    return CLI_OK;
}
