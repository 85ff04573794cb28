// Secure Boot V2 signature verification on the host (issue 12's numbers):
// for each scheme espsecure signs with (tests/vectors/sbv2: rsa.bin,
// ec256.bin, ec384.bin), the time of one mpota_sig_block_verify (the block's
// digest check and the mbedTLS signature check) and of one whole
// mpota_sig_check_area (read the block back from a RAM flash, trust, for
// P-384 the SHA-384 of the image, verify), and the heap mbedTLS takes during
// one verify. Prints one JSON document on stdout.
//
// usage: bench_sig [--reps R] [--budget SECONDS] [--vectors DIR]
//
// Time: each run repeats the call for about `budget` seconds (the count is
// fixed per scheme from one timed call), R runs, interleaved by scheme;
// microseconds per call, median and best of the runs. CLOCK_MONOTONIC.
//
// Heap: mbedTLS allocates its big numbers with calloc/free. The host's
// libmbedcrypto (Debian's 2.28) is built without MBEDTLS_PLATFORM_MEMORY, so
// mbedtls_platform_set_calloc_free is not there; instead this program defines
// malloc, calloc, realloc and free itself. ELF symbol interposition makes
// every shared library, libmbedcrypto included, call these; they hand the
// work to glibc's __libc_* functions and, while a measurement is on, keep
// each block's requested size in a table to count live and peak bytes.
#define _GNU_SOURCE

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flash_emu.h"
#include "host_file.h"
#include "mpota/hash.h"
#include "mpota/image.h"
#include "mpota/sig.h"

// --- counting allocator ----------------------------------------------------------

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

#define TRACK_SLOTS (1u << 16)  // open addressing; cleared before each measurement
#define TOMBSTONE ((void *)1)

static struct {
    bool on;
    bool overflow;
    size_t live, peak;
    uint64_t allocs;
    uint32_t used;  // slots ever taken since the clear (tombstones too)
    void *ptr[TRACK_SLOTS];
    size_t size[TRACK_SLOTS];
} heap;

static uint32_t slot_of(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 48) & (TRACK_SLOTS - 1u);
}

static void track_add(void *p, size_t n)
{
    if (!p) {
        return;
    }
    if (heap.used >= TRACK_SLOTS / 2u) {
        heap.overflow = true;
        return;
    }
    uint32_t i = slot_of(p);
    while (heap.ptr[i] && heap.ptr[i] != TOMBSTONE) {
        i = (i + 1u) & (TRACK_SLOTS - 1u);
    }
    heap.used += heap.ptr[i] == NULL;
    heap.ptr[i] = p;
    heap.size[i] = n;
    heap.allocs++;
    heap.live += n;
    if (heap.live > heap.peak) {
        heap.peak = heap.live;
    }
}

// Forgets p if it was allocated while counting (a block from before is not
// in the table and is left alone).
static void track_remove(const void *p)
{
    if (!p) {
        return;
    }
    for (uint32_t i = slot_of(p); heap.ptr[i]; i = (i + 1u) & (TRACK_SLOTS - 1u)) {
        if (heap.ptr[i] == p) {
            heap.live -= heap.size[i];
            heap.ptr[i] = TOMBSTONE;
            return;
        }
    }
}

static void heap_start(void)
{
    memset(heap.ptr, 0, sizeof(heap.ptr));
    heap.live = heap.peak = 0;
    heap.allocs = 0;
    heap.used = 0;
    heap.overflow = false;
    heap.on = true;
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    if (heap.on) {
        track_add(p, n);
    }
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    if (heap.on) {
        track_add(p, n * size);  // glibc refused an overflowing product: p is NULL
    }
    return p;
}

void *realloc(void *old, size_t n)
{
    void *p = __libc_realloc(old, n);
    if (heap.on && (p || n == 0)) {
        track_remove(old);
        track_add(p, n);
    }
    return p;
}

void free(void *p)
{
    if (heap.on) {
        track_remove(p);
    }
    __libc_free(p);
}

// --- the vectors ------------------------------------------------------------------

#define MAX_REPS 101
#define FLASH_BYTES (64u * 1024u)

struct scheme {
    const char *file;
    uint8_t *buf;
    size_t len;
    uint32_t sector;  // where the signature sector starts
    struct mpota_sig_block block;
    uint8_t digest[MPOTA_SIG_DIGEST_MAX];
    uint8_t padded_sha256[32];
    struct mpota_flash_emu emu;
    struct mpota_area area;
    struct mpota_sig_trust trust;
    long iters[2];  // per run: verify, check_area
    double us[2][MAX_REPS];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Reads the file, its block 0 and the digests it signs; puts it on a RAM
// flash that trusts its key. 0 or -1 (said on stderr).
static int scheme_open(struct scheme *s, const char *dir)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/sbv2/%s", dir, s->file);
    s->buf = mpota_host_read_file(path, &s->len);
    struct mpota_image_info info;
    struct mpota_diag d = {0};
    if (!s->buf || mpota_image_parse(s->buf, s->len, MPOTA_CHIP_ANY, &info, &d) != MPOTA_OK) {
        fprintf(stderr, "bench_sig: cannot read the signed image %s\n", path);
        return -1;
    }
    s->sector = mpota_sig_sector_offset(info.image_len);
    if (s->len > FLASH_BYTES || s->sector + MPOTA_SIG_SECTOR_SIZE > s->len ||
        mpota_sig_block_read(s->buf + s->sector, s->sector, 0, &s->block, &d) != MPOTA_OK ||
        mpota_flash_emu_open_ram(&s->emu, FLASH_BYTES) != 0 ||
        mpota_flash_emu_load(&s->emu, 0, s->buf, (uint32_t)s->len) != 0 ||
        mpota_area_init(&s->area, &s->emu.flash, 0, FLASH_BYTES, true) != 0) {
        fprintf(stderr, "bench_sig: %s: no signature block 0 or no flash\n", s->file);
        return -1;
    }
    mpota_sha256_t h;
    mpota_sha256_start(&h);
    mpota_sha256_update(&h, s->buf, s->sector);
    mpota_sha256_finish(&h, s->padded_sha256);
    if (s->block.digest_len == 48) {
        if (mpota_sig_sha384_area(&s->area, s->sector, s->digest) != 0) {
            return -1;
        }
    } else {
        memcpy(s->digest, s->padded_sha256, 32);
    }
    return mpota_sig_trust_add(&s->trust, s->block.key_digest, NULL) == MPOTA_OK ? 0 : -1;
}

// One call of the measured kind: 0 = the backend check of block 0,
// 1 = the whole check of the image on flash.
static int call(struct scheme *s, int kind)
{
    struct mpota_diag d = {0};
    if (kind == 0) {
        return mpota_sig_block_verify(&s->block, s->digest, s->block.digest_len, s->sector, &d);
    }
    return mpota_sig_check_area(&s->area, s->sector, (uint32_t)s->len, s->padded_sha256,
                                &s->trust, &d);
}

static int timed_run(struct scheme *s, int kind, int rep)
{
    double t0 = now_s();
    for (long i = 0; i < s->iters[kind]; i++) {
        int rc = call(s, kind);
        if (rc != MPOTA_OK) {
            fprintf(stderr, "bench_sig: %s: %s failed: %d\n", s->file,
                    kind ? "mpota_sig_check_area" : "mpota_sig_block_verify", rc);
            return -1;
        }
    }
    s->us[kind][rep] = (now_s() - t0) * 1e6 / (double)s->iters[kind];
    return 0;
}

static void print_times(const struct scheme *s, int kind, int reps)
{
    double sorted[MAX_REPS];
    memcpy(sorted, s->us[kind], sizeof(double) * (size_t)reps);
    qsort(sorted, (size_t)reps, sizeof(double), cmp_double);
    printf("{\"iters_per_run\": %ld, \"us_median\": %.2f, \"us_best\": %.2f, \"us_runs\": [",
           s->iters[kind], sorted[reps / 2], sorted[0]);
    for (int k = 0; k < reps; k++) {
        printf("%s%.2f", k ? ", " : "", s->us[kind][k]);
    }
    printf("]}");
}

static int print_heap(struct scheme *s, int kind)
{
    heap_start();
    int rc = call(s, kind);
    heap.on = false;
    printf("{\"peak_bytes\": %zu, \"allocations\": %" PRIu64 ", \"live_after\": %zu}", heap.peak,
           heap.allocs, heap.live);
    return rc == MPOTA_OK && !heap.overflow ? 0 : -1;
}

int main(int argc, char **argv)
{
    int reps = 11;
    double budget = 0.1;
    const char *dir = MPOTA_VECTORS_DIR;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--reps") == 0) {
            reps = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--budget") == 0) {
            budget = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--vectors") == 0) {
            dir = argv[i + 1];
        } else {
            fprintf(stderr, "usage: bench_sig [--reps R] [--budget SECONDS] [--vectors DIR]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS || !(budget > 0)) {
        fprintf(stderr, "bench_sig: --reps 1..%d, --budget > 0\n", MAX_REPS);
        return 2;
    }
    static struct scheme schemes[] = {{.file = "rsa.bin"}, {.file = "ec256.bin"},
                                      {.file = "ec384.bin"}};
    enum { N = sizeof(schemes) / sizeof(schemes[0]) };
    for (int i = 0; i < N; i++) {
        struct scheme *s = &schemes[i];
        if (scheme_open(s, dir)) {
            return 1;
        }
        for (int kind = 0; kind < 2; kind++) {  // calibrate on the second of two calls
            s->iters[kind] = 1;
            if (timed_run(s, kind, 0) || timed_run(s, kind, 0)) {
                return 1;
            }
            double n = budget * 1e6 / s->us[kind][0];
            s->iters[kind] = n < 1 ? 1 : (long)n;
        }
    }
    for (int k = 0; k < reps; k++) {
        for (int i = 0; i < N; i++) {
            for (int kind = 0; kind < 2; kind++) {
                if (timed_run(&schemes[i], kind, k)) {
                    return 1;
                }
            }
        }
    }
    int status = 0;
    printf("{\"reps\": %d, \"budget_s\": %g, \"heap_method\": \"malloc/calloc/realloc/free "
           "interposed in the executable, requested bytes\", \"schemes\": {",
           reps, budget);
    for (int i = 0; i < N; i++) {
        struct scheme *s = &schemes[i];
        printf("%s\n  \"%s\": {\"file\": \"%s\", \"image_bytes\": %" PRIu32 ", \"verify\": ",
               i ? "," : "", mpota_sig_scheme_name(s->block.scheme), s->file, s->sector);
        print_times(s, 0, reps);
        printf(",\n   \"check_area\": ");
        print_times(s, 1, reps);
        printf(",\n   \"heap_verify\": ");
        status |= print_heap(s, 0);
        printf(",\n   \"heap_check_area\": ");
        status |= print_heap(s, 1);
        printf("}");
    }
    printf("\n }}\n");
    for (int i = 0; i < N; i++) {
        mpota_flash_emu_close(&schemes[i].emu);
        free(schemes[i].buf);
    }
    if (status) {
        fprintf(stderr, "bench_sig: a heap measurement failed (call error or table full)\n");
    }
    return status ? 1 : 0;
}
