// Host pipeline throughput: an app image in memory -> update session (verify
// on) -> RAM emulated flash, against SHA-256 alone over the same bytes in the
// same process. Wall clock, CLOCK_MONOTONIC, repetitions interleaved so both
// see the same machine state. Prints one JSON document on stdout.
//
// usage: bench_pipeline [--size N] [--reps R] [--mode all|sha256|pipeline|pipeline_noverify]
//
// One mode with --reps 1 is what callgrind runs: the measured work is in
// measure_sha256() / measure_pipeline(), which callgrind's --toggle-collect
// selects, so setup (image building, flash restore) is not counted.
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_rig.h"
#include "mpota/err.h"
#include "mpota/hash.h"
#include "mpota/session.h"

enum mode { M_SHA256, M_PIPELINE, M_PIPELINE_NOVERIFY, N_MODES };
static const char *const mode_names[N_MODES] = {"sha256", "pipeline", "pipeline_noverify"};

#define MAX_REPS 101

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// SHA-256 of the image through the core's mbedTLS glue, in the same chunks
// the session gets.
__attribute__((noinline)) static void measure_sha256(const uint8_t *img, uint32_t len,
                                                     uint8_t out[32])
{
    mpota_sha256_t h;
    mpota_sha256_start(&h);
    for (uint32_t off = 0; off < len; off += BENCH_CHUNK) {
        uint32_t n = len - off < BENCH_CHUNK ? len - off : BENCH_CHUNK;
        mpota_sha256_update(&h, img + off, n);
    }
    mpota_sha256_finish(&h, out);
}

// begin, write in BENCH_CHUNK pieces, end (set_boot is a few bytes of
// otadata plus another verify; it is not part of the stream).
__attribute__((noinline)) static int measure_pipeline(struct bench_rig *r,
                                                      const struct mpota_update_opts *opts,
                                                      const uint8_t *img, uint32_t len)
{
    mpota_session_t s;
    int rc = mpota_session_begin(&s, &r->ctx, r->running, NULL, opts, NULL);
    for (uint32_t off = 0; off < len && !rc; off += BENCH_CHUNK) {
        uint32_t n = len - off < BENCH_CHUNK ? len - off : BENCH_CHUNK;
        rc = mpota_session_write(&s, img + off, n);
    }
    if (!rc) {
        rc = mpota_session_end(&s, NULL);
    }
    if (rc) {
        char text[256];
        mpota_diag_format(mpota_session_diag(&s), text, sizeof(text));
        fprintf(stderr, "bench_pipeline: session failed: %s (%d) %s\n", mpota_err_name(rc), rc,
                text);
    }
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    uint32_t len = 1600000;
    int reps = 9;
    int only = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--size") == 0) {
            len = (uint32_t)strtoul(argv[i + 1], NULL, 0);
        } else if (strcmp(argv[i], "--reps") == 0) {
            reps = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--mode") == 0) {
            for (int m = 0; m < N_MODES; m++) {
                if (strcmp(argv[i + 1], mode_names[m]) == 0) {
                    only = m;
                }
            }
            if (only < 0 && strcmp(argv[i + 1], "all") != 0) {
                fprintf(stderr, "bench_pipeline: unknown mode %s\n", argv[i + 1]);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_pipeline [--size N] [--reps R] [--mode M]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "bench_pipeline: --reps 1..%d\n", MAX_REPS);
        return 2;
    }
    uint8_t *img = bench_app_image(len, 2, "v2.0.0");
    struct bench_rig r;
    if (bench_rig_open(&r, BENCH_SLOT_USED)) {
        return 1;
    }
    // The device as it is before an update, restored before every run.
    uint8_t *before = malloc(r.emu.size);
    if (!before) {
        return 1;
    }
    memcpy(before, r.emu.mem, r.emu.size);

    struct mpota_update_opts opts[N_MODES] = {{0}};
    opts[M_PIPELINE].expected_size = len;
    opts[M_PIPELINE].has_sha256 = true;
    // Setup, not measured (callgrind collects every call of measure_sha256).
    mpota_sha256_t h;
    mpota_sha256_start(&h);
    mpota_sha256_update(&h, img, len);
    mpota_sha256_finish(&h, opts[M_PIPELINE].sha256);
    opts[M_PIPELINE_NOVERIFY] = opts[M_PIPELINE];
    opts[M_PIPELINE_NOVERIFY].no_verify = true;

    static double times[N_MODES][MAX_REPS];
    uint8_t digest[32];
    int status = 0;
    for (int k = 0; k < reps && !status; k++) {
        for (int m = 0; m < N_MODES && !status; m++) {
            if (only >= 0 && m != only) {
                continue;
            }
            double t0 = 0;
            if (m == M_SHA256) {
                t0 = now_s();
                measure_sha256(img, len, digest);
                if (memcmp(digest, opts[M_PIPELINE].sha256, 32) != 0) {
                    status = 1;
                }
            } else {
                memcpy(r.emu.mem, before, r.emu.size);
                mpota_flash_emu_reset_counters(&r.emu);
                t0 = now_s();
                status = measure_pipeline(&r, &opts[m], img, len) ? 1 : 0;
            }
            times[m][k] = now_s() - t0;
        }
    }
    printf("{\"image_bytes\": %" PRIu32 ", \"reps\": %d, \"chunk\": %u, \"modes\": {", len, reps,
           BENCH_CHUNK);
    bool first = true;
    for (int m = 0; m < N_MODES; m++) {
        if (only >= 0 && m != only) {
            continue;
        }
        double sorted[MAX_REPS];
        memcpy(sorted, times[m], sizeof(double) * (size_t)reps);
        qsort(sorted, (size_t)reps, sizeof(double), cmp_double);
        double best = sorted[0], median = sorted[reps / 2];
        printf("%s\n  \"%s\": {\"best_s\": %.6f, \"median_s\": %.6f, \"mb_s_best\": %.2f, "
               "\"mb_s_median\": %.2f, \"times_s\": [",
               first ? "" : ",", mode_names[m], best, median, len / best / 1e6,
               len / median / 1e6);
        for (int k = 0; k < reps; k++) {
            printf("%s%.6f", k ? ", " : "", times[m][k]);
        }
        printf("]}");
        first = false;
    }
    printf("\n }}\n");
    free(before);
    free(img);
    bench_rig_close(&r);
    return status;
}
