// Modeled end-to-end update time for a full, a gzip and a delta update of one
// release pair (issue 13), over three links.
//
//   bench_transfer OLD.bin NEW.bin NEW.bin.gz PATCH [--json]
//
// Each update runs for real on the bench rig: OLD is the running app in
// ota_0, the new image goes to ota_1 through the session -- raw, inflated by
// zlib (what the host's inflate stage does), or made by the core's patch
// applier from OLD on flash -- fed 1 KiB of transferred bytes at a time. The
// flash operations each piece causes are timed with the flash model; a
// piece's operations start when it has arrived and the flash is free, so
// the download overlaps erase and program as the session's erase-ahead
// allows. Then end() (read-back verify) and set_boot. CPU time for hashing,
// inflating and patching is not modeled (the ESP32's SHA engine and a
// decoder run well above these links' rates; stated in BENCH.md).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "bench_rig.h"
#include "flash_model.h"
#include "host_file.h"
#include "mpota/delta.h"
#include "mpota/hash.h"
#include "mpota/image.h"
#include "mpota/session.h"

#define PIECE 1024u  // transferred bytes per step

struct buf {
    uint8_t *p;
    size_t n;
};
#define N_LINKS 3

static const double link_bps[N_LINKS] = {20e6, 1e6, 100e3};
static const char *const link_names[N_LINKS] = {"20 Mbit/s", "1 Mbit/s", "100 kbit/s"};

enum kind { RAW, GZIP, DELTA, N_KINDS };
static const char *const kind_names[N_KINDS] = {"raw", "gzip", "delta"};

// One update's timeline: when the flash is free after each piece.
struct timeline {
    struct bench_rig *rig;
    struct mpota_flash_emu_counters mark;
    double arrived_bits;  // transferred so far
    double flash_free[N_LINKS];
    double flash_s;       // modeled flash time of all pieces
};

static double take_flash_s(struct timeline *t)
{
    struct mpota_flash_emu_counters c = bench_counters_since(t->rig, &t->mark);
    t->mark = t->rig->emu.count;
    return mpota_flash_model_seconds(&c, NULL);
}

// A piece of n transferred bytes has been handled: advance every link's clock.
static void piece_done(struct timeline *t, size_t n)
{
    double dt = take_flash_s(t);
    t->arrived_bits += 8.0 * (double)n;
    t->flash_s += dt;
    for (int i = 0; i < N_LINKS; i++) {
        double arrival = t->arrived_bits / link_bps[i];
        double start = t->flash_free[i] > arrival ? t->flash_free[i] : arrival;
        t->flash_free[i] = start + dt;
    }
}

struct feed {
    mpota_session_t *s;
    z_stream z;
    mpota_delta_t d;
    uint8_t window[256];
};

static int to_session(void *ctx, const uint8_t *p, uint32_t n)
{
    return mpota_session_write(ctx, p, n);
}

// One piece through the kind's stage into the session.
static int feed_piece(struct feed *f, enum kind k, const uint8_t *p, uint32_t n)
{
    if (k == RAW) {
        return mpota_session_write(f->s, p, n);
    }
    if (k == DELTA) {
        return mpota_delta_push(&f->d, p, n);
    }
    uint8_t out[4096];
    f->z.next_in = (Bytef *)p;
    f->z.avail_in = n;
    while (f->z.avail_in) {
        f->z.next_out = out;
        f->z.avail_out = sizeof(out);
        int zr = inflate(&f->z, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END) {
            return MPOTA_ERR_INFLATE_CORRUPT;
        }
        int rc = mpota_session_write(f->s, out, (uint32_t)(sizeof(out) - f->z.avail_out));
        if (rc || zr == Z_STREAM_END) {
            return rc;
        }
    }
    return 0;
}

struct result {
    size_t transferred;
    double flash_s, end_s, total_s[N_LINKS];
};

static int run(enum kind k, const struct buf *old, const struct buf *new_img,
               const struct buf *src, struct result *res)
{
    struct bench_rig r;
    if (bench_rig_open(&r, BENCH_SLOT_USED)) {
        return -1;
    }
    struct mpota_area from;
    int rc = mpota_flash_emu_load(&r.emu, r.running->offset, old->p, (uint32_t)old->n);
    rc = rc ? rc : mpota_area_init(&from, r.ctx.flash, r.running->offset, r.running->size, true);
    struct mpota_update_opts opts = {.expected_size = (uint32_t)new_img->n, .has_sha256 = true};
    mpota_sha256_t h;
    mpota_sha256_start(&h);
    mpota_sha256_update(&h, new_img->p, new_img->n);
    mpota_sha256_finish(&h, opts.sha256);
    mpota_session_t s;
    struct feed f = {.s = &s};
    struct mpota_diag d = {0};
    rc = rc ? rc : mpota_session_begin(&s, &r.ctx, r.running, NULL, &opts, &d);
    if (!rc && k == GZIP) {
        rc = inflateInit2(&f.z, 15 + 16) == Z_OK ? 0 : MPOTA_ERR_INFLATE_HEADER;
    }
    if (!rc && k == DELTA) {
        uint8_t sha[32];
        uint32_t from_len = 0;
        rc = mpota_image_digest_area(&from, r.ctx.chip, sha, &from_len, &d);
        const struct mpota_delta_cfg cfg = {.from = &from, .from_len = from_len,
                                            .patch_len = (uint32_t)src->n,
                                            .to_max = r.target->size, .window = f.window,
                                            .window_size = sizeof(f.window),
                                            .sink = to_session, .sink_ctx = &s};
        rc = rc ? rc : mpota_delta_begin(&f.d, &cfg);
    }
    struct timeline t = {.rig = &r, .mark = r.emu.count};
    for (size_t off = 0; off < src->n && !rc; off += PIECE) {
        uint32_t n = (uint32_t)(src->n - off < PIECE ? src->n - off : PIECE);
        rc = feed_piece(&f, k, src->p + off, n);
        piece_done(&t, n);
    }
    rc = rc ? rc : k == DELTA ? mpota_delta_finish(&f.d) : 0;
    rc = rc ? rc : mpota_session_end(&s, NULL);
    rc = rc ? rc : mpota_session_set_boot(&s);
    rc = rc ? rc : bench_rig_boots_target(&r);
    res->transferred = src->n;
    res->flash_s = t.flash_s;
    res->end_s = take_flash_s(&t);
    for (int i = 0; i < N_LINKS; i++) {
        res->total_s[i] = t.flash_free[i] + res->end_s;
    }
    if (k == GZIP) {
        inflateEnd(&f.z);
    }
    if (rc) {
        fprintf(stderr, "bench_transfer: %s update failed: %d\n", kind_names[k], rc);
    }
    bench_rig_close(&r);
    return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
    bool json = argc == 6 && strcmp(argv[5], "--json") == 0;
    if (argc != 5 && !json) {
        fprintf(stderr, "usage: bench_transfer OLD.bin NEW.bin NEW.bin.gz PATCH [--json]\n");
        return 2;
    }
    struct buf files[4];
    for (int i = 0; i < 4; i++) {
        files[i].p = mpota_host_read_file(argv[i + 1], &files[i].n);
        if (!files[i].p) {
            fprintf(stderr, "bench_transfer: cannot read %s\n", argv[i + 1]);
            return 1;
        }
    }
    struct result res[N_KINDS];
    const struct buf *src[N_KINDS] = {&files[1], &files[2], &files[3]};
    for (int k = 0; k < N_KINDS; k++) {
        if (run((enum kind)k, &files[0], &files[1], src[k], &res[k])) {
            return 1;
        }
    }
    printf(json ? "{\"links_bps\": [%.0f, %.0f, %.0f], \"updates\": {" : "", link_bps[0],
           link_bps[1], link_bps[2]);
    for (int k = 0; k < N_KINDS; k++) {
        const struct result *x = &res[k];
        if (json) {
            printf("%s\"%s\": {\"transferred\": %zu, \"flash_s\": %.3f, \"end_s\": %.3f, "
                   "\"total_s\": [%.3f, %.3f, %.3f]}",
                   k ? ", " : "", kind_names[k], x->transferred, x->flash_s, x->end_s,
                   x->total_s[0], x->total_s[1], x->total_s[2]);
        } else {
            printf("%-6s %9zu B  flash %.2f s  end %.2f s", kind_names[k], x->transferred,
                   x->flash_s, x->end_s);
            for (int i = 0; i < N_LINKS; i++) {
                printf("  %s %.1f s", link_names[i], x->total_s[i]);
            }
            printf("\n");
        }
    }
    printf(json ? "}}\n" : "");
    for (int i = 0; i < 4; i++) {
        free(files[i].p);
    }
    return 0;
}
