// mpota flash update: a whole OTA update of the emulated device from a file,
// an http(s) URL or a manifest, through the update session.
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "device.h"
#include "flash_model.h"
#include "http_curl.h"
#include "manifest.h"
#include "mpota/hash.h"
#include "mpota/session.h"

static const char update_usage[] =
    "mpota flash update FLASH SOURCE [--sha256 HEX] [--md5 HEX] [--length N] [--sidecar]\n"
    "                   [--no-verify] [--reboot] [--confirm] [--json] [--chunk N]\n"
    "                   [--same-project] [--no-downgrade] [--secure-version]\n"
    "                   [--cacert PEM] [--insecure] [--user USER:PASS] [--retries N]\n"
    "  SOURCE: an app image path, an http(s) URL, or a .json manifest (path or URL)";

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
    struct mpota_diag refusal;  // why a sink callback refused (e.g. Content-Length too big)
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

// HTTP sink callbacks: the session is the sink.
static int on_length(void *ctx, uint64_t total)
{
    struct run *r = ctx;
    const struct mpota_partition *t = mpota_session_target(&r->session);
    r->progress.total = total;
    if (total > t->size) {
        // Content-Length says it cannot fit: refuse before the first byte.
        uint32_t need = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
        mpota_diag_set(&r->refusal, MPOTA_ERR_SLOT_TOO_SMALL, 0, t->size, need);
        mpota_diag_label(&r->refusal, t->label, MPOTA_PART_LABEL_LEN);
        return MPOTA_ERR_SLOT_TOO_SMALL;
    }
    return MPOTA_OK;
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
    if (a->sidecar) {
        // ota32 publishes "<firmware>.sha" (sha256sum format), loboris "<firmware>.md5".
        size_t n = strlen(p->firmware) + 5, len;
        char *side = malloc(n);
        snprintf(side, n, "%s.sha", p->firmware);
        struct mpota_diag sd = {0};
        char *text = fetch_small(side, &p->http, &len, &sd);
        if (text && mpota_sidecar_sha256(text, p->opts.sha256)) {
            p->opts.has_sha256 = true;
        } else {
            free(text);
            snprintf(side, n, "%s.md5", p->firmware);
            text = fetch_small(side, &p->http, &len, &sd);
            if (text && mpota_sidecar_md5(text, p->opts.md5)) {
                p->opts.has_md5 = true;
            } else {
                mpota_diag_set(d, MPOTA_ERR_MANIFEST, 0, 0, 0);
                mpota_diag_label(d, "side file", 16);
                free(text);
                free(side);
                return MPOTA_ERR_MANIFEST;
            }
        }
        free(text);
        free(side);
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
        cJSON_AddStringToObject(root, "error", text);
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

int cmd_update(int argc, char **argv)
{
    struct update_args a = {0};
    const char *pos[2] = {0};
    const struct cli_opt opts[] = {{"--sha256", &a.sha, NULL},
                                   {"--md5", &a.md5, NULL},
                                   {"--length", &a.length, NULL},
                                   {"--chunk", &a.chunk, NULL},
                                   {"--cacert", &a.cacert, NULL},
                                   {"--user", &a.user, NULL},
                                   {"--retries", &a.retries, NULL},
                                   {"--sidecar", NULL, &a.sidecar},
                                   {"--no-verify", NULL, &a.no_verify},
                                   {"--reboot", NULL, &a.reboot},
                                   {"--confirm", NULL, &a.confirm},
                                   {"--json", NULL, &a.json},
                                   {"--same-project", NULL, &a.same_project},
                                   {"--no-downgrade", NULL, &a.no_downgrade},
                                   {"--secure-version", NULL, &a.secure_version},
                                   {"--insecure", NULL, &a.insecure},
                                   {0}};
    uint8_t tmp[32];
    uint32_t chunk = 4096, num;
    if (!cli_parse(argc, argv, opts, pos, 2, 2, update_usage) ||
        (a.sha && !cli_parse_hex(a.sha, tmp, 32)) || (a.md5 && !cli_parse_hex(a.md5, tmp, 16)) ||
        (a.length && !cli_parse_size(a.length, &num)) ||
        (a.chunk && (!cli_parse_size(a.chunk, &chunk) || chunk == 0)) ||
        (a.confirm && !a.reboot)) {
        return cli_usage(update_usage);
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
        // A refusal from the sink carries its own words: the session's, or
        // the Content-Length check's.
        if (rc && r.refusal.err == rc) {
            d = r.refusal;
        } else if (rc && mpota_session_diag(&r.session)->err == rc) {
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
        return cli_fail_diag(&d);
    }
    return CLI_OK;
}
