// `mpota delta`: detools sequential patches (issue 13). make builds one with
// bsdiff and a compression (src/host/delta_make.c); apply runs one through
// the core's applier, the device's code, onto OLD in an emulated flash
// (src/host/delta_apply.c).
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "delta_apply.h"
#include "delta_make.h"
#include "heatshrink_enc.h"
#include "host_err.h"
#include "mpota/hash.h"

// What `make --compression` offers: those the device applies, then lzma.
static const char *compression_choice(unsigned i)
{
    static const char *const names[] = {"heatshrink", "crle", "none", "lzma", NULL};
    return i < 5 ? names[i] : NULL;
}

static const struct cli_value compression_value = {.kind = CLI_CHOICE,
                                                   .choice = compression_choice};
static const struct cli_value window_value = {.kind = CLI_NUMBER,
                                              .min = MPOTA_HEATSHRINK_MIN_WINDOW_SZ2,
                                              .max = MPOTA_HEATSHRINK_MAX_WINDOW_SZ2};
static const struct cli_value lookahead_value = {.kind = CLI_NUMBER,
                                                 .min = MPOTA_HEATSHRINK_MIN_LOOKAHEAD_SZ2,
                                                 .max = MPOTA_HEATSHRINK_MAX_WINDOW_SZ2 - 1};

static int compression_number(const char *name)
{
    for (int c = 0; mpota_delta_compression_name(c); c++) {
        if (!strcmp(mpota_delta_compression_name(c), name)) {
            return c;
        }
    }
    return -1;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

// Reads a file of at most MPOTA_DELTA_APPLY_MAX_LEN bytes; NULL after saying why.
static uint8_t *read_input(const char *path, size_t *len)
{
    uint8_t *buf = cli_read_file(path, len);
    if (buf && *len > MPOTA_DELTA_APPLY_MAX_LEN) {
        char n[32], max[32];
        cli_fail("%s is %s B; delta patches are for images of up to %s B (32 MiB, the largest "
                 "ESP32 flash)",
                 path, cli_group(*len, n), cli_group(MPOTA_DELTA_APPLY_MAX_LEN, max));
        free(buf);
        return NULL;
    }
    return buf;
}

struct made_report {
    const char *old, *new_, *out;
    size_t old_len, new_len, patch_len;
    const struct mpota_delta_make_opts *o;
    const struct mpota_delta_made *m;
    double seconds;
};

static void print_made(const struct made_report *r, bool json)
{
    const char *name = mpota_delta_compression_name(r->o->compression);
    bool hs = r->o->compression == MPOTA_DELTA_HEATSHRINK;
    double ratio = r->new_len ? (double)r->patch_len / (double)r->new_len : 0.0;
    if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "output", r->out);
        cJSON_AddStringToObject(root, "old", r->old);
        cJSON_AddStringToObject(root, "new", r->new_);
        cJSON_AddNumberToObject(root, "old_size", (double)r->old_len);
        cJSON_AddNumberToObject(root, "new_size", (double)r->new_len);
        cJSON_AddNumberToObject(root, "patch_size", (double)r->patch_len);
        cJSON_AddNumberToObject(root, "ratio", ratio);
        cJSON_AddStringToObject(root, "compression", name);
        cJSON_AddItemToObject(root, "window_sz2", hs ? cJSON_CreateNumber(r->o->window_sz2)
                                                     : cJSON_CreateNull());
        cJSON_AddItemToObject(root, "lookahead_sz2", hs ? cJSON_CreateNumber(r->o->lookahead_sz2)
                                                        : cJSON_CreateNull());
        cJSON_AddNumberToObject(root, "triples", (double)r->m->triples);
        cJSON_AddNumberToObject(root, "diff_bytes", (double)r->m->diff_bytes);
        cJSON_AddNumberToObject(root, "extra_bytes", (double)r->m->extra_bytes);
        cJSON_AddNumberToObject(root, "payload_size", (double)r->m->payload_len);
        cJSON_AddNumberToObject(root, "seconds", r->seconds);
        cli_print_json(root);
        return;
    }
    char p[32], o[32], n[32], df[32], ex[32];
    printf("%s: %s B, a detools sequential patch (%s", r->out, cli_group(r->patch_len, p), name);
    if (hs) {
        printf(", window 2^%u B, lookahead 2^%u B", r->o->window_sz2, r->o->lookahead_sz2);
    }
    printf(")\n  from %s (%s B) to %s (%s B): %.2f %% of the new image, made in %.2f s\n", r->old,
           cli_group(r->old_len, o), r->new_, cli_group(r->new_len, n), 100.0 * ratio,
           r->seconds);
    printf("  bsdiff: %zu triple%s, %s B from the old image plus a diff, %s B extra\n",
           r->m->triples, r->m->triples == 1 ? "" : "s", cli_group(r->m->diff_bytes, df),
           cli_group(r->m->extra_bytes, ex));
}

// The options as make takes them; false after saying why not.
static bool make_opts(const char *comp, const char *window, const char *lookahead,
                      struct mpota_delta_make_opts *o)
{
    o->compression = comp ? compression_number(comp) : MPOTA_DELTA_HEATSHRINK;
    o->window_sz2 = (uint8_t)(window ? atoi(window) : (int)MPOTA_DELTA_HS_WINDOW_SZ2);
    o->lookahead_sz2 = (uint8_t)(lookahead ? atoi(lookahead) : (int)MPOTA_DELTA_HS_LOOKAHEAD_SZ2);
    if ((window || lookahead) && o->compression != MPOTA_DELTA_HEATSHRINK) {
        cli_fail("--heatshrink-window-sz2 and --heatshrink-lookahead-sz2 are for "
                 "--compression heatshrink, not %s", comp);
        return false;
    }
    if (o->lookahead_sz2 >= o->window_sz2) {
        cli_fail("heatshrink's lookahead (2^%u B) must be smaller than its window (2^%u B)",
                 o->lookahead_sz2, o->window_sz2);
        return false;
    }
    return true;
}

static int make_patch(const char *const pos[2], const char *out,
                      const struct mpota_delta_make_opts *o, bool json)
{
    size_t old_len = 0, new_len = 0;
    uint8_t *old = read_input(pos[0], &old_len);
    uint8_t *new_ = old ? read_input(pos[1], &new_len) : NULL;
    struct mpota_buf patch = {0};
    struct mpota_delta_made m;
    int status = CLI_REFUSED;
    if (new_) {
        double t0 = seconds_now();
        int rc = mpota_delta_make(old, old_len, new_, new_len, o, &patch, &m);
        const struct made_report r = {pos[0], pos[1], out, old_len, new_len, patch.len, o, &m,
                                      seconds_now() - t0};
        if (rc) {
            // Sizes and options were checked: only memory can run out.
            cli_fail("out of memory making a patch from %s to %s", pos[0], pos[1]);
        } else if (cli_write_file(out, patch.p, patch.len)) {
            print_made(&r, json);
            status = CLI_OK;
        }
    }
    mpota_buf_free(&patch);
    free(old);
    free(new_);
    return status;
}

static int delta_make(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *pos[2] = {0}, *out = NULL, *comp = NULL, *window = NULL, *lookahead = NULL;
    bool json = false;
    const struct cli_opt opts[] = {
        {.name = "-o", .value = &out, .arg = "PATCH", .required = true,
         .help = "where to write the patch"},
        {.name = "--compression", .value = &comp, .arg = "NAME", .check = &compression_value,
         .help = "how the payload is compressed (default heatshrink); a device applies "
                 "heatshrink, crle and none, and lzma only through the host"},
        {.name = "--heatshrink-window-sz2", .value = &window, .arg = "BITS",
         .check = &window_value,
         .help = "heatshrink's window is 2^BITS bytes (default 8, as detools'); the device "
                 "needs that much RAM"},
        {.name = "--heatshrink-lookahead-sz2", .value = &lookahead, .arg = "BITS",
         .check = &lookahead_value,
         .help = "heatshrink copies up to 2^BITS bytes (default 7, as detools'); below the "
                 "window's BITS"},
        {.name = "--json", .flag = &json, .help = "print JSON"},
        {0}};
    int status = cli_parse(cmd, argc, argv, opts, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    struct mpota_delta_make_opts o = {0};
    return make_opts(comp, window, lookahead, &o) ? make_patch(pos, out, &o, json) : CLI_REFUSED;
}

struct applied_report {
    const char *old, *patch, *out;
    size_t old_len, patch_len;
    const struct mpota_buf *new_;
    const struct mpota_delta_applied *a;
};

// Why the patch was refused: the core's sentence (for lzma, its offsets
// count in the payload as decompressed), into text.
static void refusal_text(const struct applied_report *r, int rc, const struct mpota_diag *d,
                         char *text, size_t cap)
{
    if (rc == MPOTA_ERR_NO_SPACE) {
        snprintf(text, cap, "out of memory applying %s", r->patch);
        return;
    }
    size_t n = cli_diag_text(d, text, cap);
    if (r->a->core_offsets_decompressed && d->offset && n < cap) {
        snprintf(text + n, cap - n, " (patch bytes counted in the lzma payload as decompressed)");
    }
}

static void print_applied(const struct applied_report *r, int rc, const struct mpota_diag *d,
                          bool json)
{
    const char *name = mpota_delta_compression_name(r->a->compression);
    char text[640];
    if (rc) {
        refusal_text(r, rc, d, text, sizeof(text));
    }
    if (!json) {
        char o[32], p[32], n[32];
        if (rc) {
            cli_fail("%s: %s", r->patch, text);
            return;
        }
        printf("%s: %s B, made from %s (%s B) by %s (%s B, %s)\n", r->out,
               cli_group(r->new_->len, n), r->old, cli_group(r->old_len, o), r->patch,
               cli_group(r->patch_len, p), name);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddBoolToObject(root, "ok", rc == 0);
    if (rc) {
        cJSON_AddStringToObject(root, "error", text);
        cJSON_AddStringToObject(root, "code", mpota_host_err_name(rc));
    }
    cJSON_AddItemToObject(root, "output", rc ? cJSON_CreateNull() : cJSON_CreateString(r->out));
    cJSON_AddStringToObject(root, "old", r->old);
    cJSON_AddStringToObject(root, "patch", r->patch);
    cJSON_AddNumberToObject(root, "old_size", (double)r->old_len);
    cJSON_AddNumberToObject(root, "patch_size", (double)r->patch_len);
    cJSON_AddItemToObject(root, "compression",
                          name ? cJSON_CreateString(name) : cJSON_CreateNull());
    if (!rc) {
        uint8_t sha[MPOTA_SHA256_LEN];
        char hex[2 * MPOTA_SHA256_LEN + 1];
        mpota_sha256_t h;
        mpota_sha256_start(&h);
        mpota_sha256_update(&h, r->new_->p, r->new_->len);
        mpota_sha256_finish(&h, sha);
        cli_hex(sha, sizeof(sha), hex);
        cJSON_AddNumberToObject(root, "new_size", (double)r->new_->len);
        cJSON_AddStringToObject(root, "sha256", hex);
    }
    cli_print_json(root);
}

static int delta_apply(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *pos[2] = {0}, *out = NULL;
    bool json = false;
    const struct cli_opt opts[] = {
        {.name = "-o", .value = &out, .arg = "NEW", .required = true,
         .help = "where to write the new image (nothing is written if the patch is refused)"},
        {.name = "--json", .flag = &json, .help = "print JSON"},
        {0}};
    int status = cli_parse(cmd, argc, argv, opts, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    size_t old_len = 0, patch_len = 0;
    uint8_t *old = read_input(pos[0], &old_len);
    uint8_t *patch = old ? cli_read_file(pos[1], &patch_len) : NULL;
    struct mpota_buf new_ = {0};
    struct mpota_delta_applied a;
    struct mpota_diag d = {0};
    status = CLI_REFUSED;
    if (patch) {
        const struct applied_report r = {pos[0], pos[1], out, old_len, patch_len, &new_, &a};
        int rc = mpota_delta_apply(old, old_len, patch, patch_len, &new_, &a, &d);
        if (rc || cli_write_file(out, new_.p, new_.len)) {
            print_applied(&r, rc, &d, json);
            status = rc ? CLI_REFUSED : CLI_OK;
        }
    }
    mpota_buf_free(&new_);
    free(old);
    free(patch);
    return status;
}

static const struct cli_cmd delta_cmds[] = {
    {.group = "delta", .name = "make", .args = "OLD NEW", .min_pos = 2, .max_pos = 2,
     .run = delta_make,
     .summary = "make a detools sequential patch that turns image OLD into NEW (bsdiff, then "
                "heatshrink, crle, none or lzma), as detools create_patch does",
     .details = "detools' apply_patch, `mpota delta apply` and `mpota flash update` apply it; "
                "a device applies heatshrink, crle and none patches."},
    {.group = "delta", .name = "apply", .args = "OLD PATCH", .min_pos = 2, .max_pos = 2,
     .run = delta_apply,
     .summary = "apply a detools sequential patch to image OLD with the device's applier, "
                "as detools apply_patch does",
     .details = "OLD is read from an emulated flash as the running slot is; an lzma patch is "
                "decompressed first. A refused patch writes nothing."},
    {0}};

const struct cli_group cli_delta_group = {"delta", delta_cmds};
