// Modeled device time of one update under four erase strategies, counted by
// the same emulated NOR flash and priced by the same timing model
// (src/host/flash_model.h). Prints one JSON document on stdout.
//
//   per_sector   erase 4 KiB, program it, block after block: MicroPython's
//                Partition.writeblocks(n, buf) as glenn20's `ota` package
//                uses it; then set_boot
//   erase_all    erase the whole slot (64 KiB blocks where aligned), then
//                program: esp_ota_begin(OTA_SIZE_UNKNOWN); then set_boot
//   mpota        the real session: begin, write 4 KiB chunks, end (read-back
//                verify), set_boot
//   floor        erase exactly the image's range with the largest aligned
//                erases, program, then set_boot
//
// "then set_boot" is the real mpota_boot_set_boot(): it verifies the image on
// flash the way esp_ota_set_boot_partition does (one full read of the image)
// and writes one otadata record. So every strategy reads the image back once
// for verification; mpota also reads it in end() and does its blank checks.
// (ESP-IDF's esp_ota_end verifies once more before set_boot; erase_all is
// not charged for that read.)
//
// usage: bench_modeled [SIZE...]     image sizes in bytes (default 1.0, 1.6, 2.0 MB)
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_rig.h"
#include "flash_model.h"
#include "mpota/err.h"
#include "mpota/hash.h"
#include "mpota/session.h"

enum strategy { PER_SECTOR, ERASE_ALL, MPOTA, MPOTA_UNKNOWN_LEN, FLOOR, N_STRATEGIES };

static const char *const strategy_names[N_STRATEGIES] = {
    "per_sector", "erase_all", "mpota", "mpota_unknown_len", "floor",
};

// Reads of the whole image for verification, by construction.
static const int strategy_readbacks[N_STRATEGIES] = {1, 1, 2, 2, 1};

#define N_PHASES 4
static const char *const phase_names[N_PHASES] = {"begin", "write", "end", "set_boot"};

struct result {
    struct mpota_flash_emu_counters total;
    struct mpota_flash_emu_counters phase[N_PHASES];  // mpota only
    bool has_phases;
};

static void print_counters(const struct mpota_flash_emu_counters *c)
{
    printf("{\"sector_erases\": %" PRIu64 ", \"block_erases\": %" PRIu64
           ", \"progs\": %" PRIu64 ", \"prog_bytes\": %" PRIu64 ", \"prog_pages\": %" PRIu64
           ", \"reads\": %" PRIu64 ", \"read_bytes\": %" PRIu64
           ", \"erase_s\": %.6f, \"program_s\": %.6f, \"read_s\": %.6f, \"total_s\": %.6f}",
           c->sector_erases, c->block_erases, c->progs, c->prog_bytes, c->prog_pages, c->reads,
           c->read_bytes, mpota_flash_model_erase_s(c, NULL), mpota_flash_model_program_s(c, NULL),
           mpota_flash_model_read_s(c, NULL), mpota_flash_model_seconds(c, NULL));
}

static int fail_rc(const char *what, int rc, const struct mpota_diag *d)
{
    char text[256] = "";
    if (d) {
        mpota_diag_format(d, text, sizeof(text));
    }
    fprintf(stderr, "bench_modeled: %s: %s (%d) %s\n", what, mpota_err_name(rc), rc, text);
    return -1;
}

// Programs the image in BENCH_CHUNK pieces, erasing each 4 KiB sector first
// when per_sector is set.
static int program_chunks(const struct mpota_area *a, const uint8_t *img, uint32_t len,
                          bool per_sector)
{
    for (uint32_t off = 0; off < len; off += BENCH_CHUNK) {
        uint32_t n = len - off < BENCH_CHUNK ? len - off : BENCH_CHUNK;
        int rc = per_sector ? mpota_area_erase(a, off, BENCH_CHUNK) : 0;
        if (!rc) {
            rc = mpota_area_prog(a, off, img + off, n);
        }
        if (rc) {
            return fail_rc("program", rc, NULL);
        }
    }
    return 0;
}

static int run_baseline(struct bench_rig *r, enum strategy st, const uint8_t *img, uint32_t len)
{
    struct mpota_area a;
    int rc = mpota_area_init(&a, &r->emu.flash, r->target->offset, r->target->size, false);
    if (rc) {
        return fail_rc("area", rc, NULL);
    }
    if (st == ERASE_ALL) {
        rc = mpota_area_erase(&a, 0, a.size);
    } else if (st == FLOOR) {
        uint32_t sector = r->emu.flash.sector_size;
        rc = mpota_area_erase(&a, 0, (len + sector - 1) / sector * sector);
    }
    if (rc) {
        return fail_rc("erase", rc, NULL);
    }
    if (program_chunks(&a, img, len, st == PER_SECTOR)) {
        return -1;
    }
    struct mpota_diag d = {0};
    rc = mpota_boot_set_boot(&r->ctx, r->target, &d);
    return rc ? fail_rc("set_boot", rc, &d) : 0;
}

static int run_mpota(struct bench_rig *r, bool declare_len, const uint8_t *img, uint32_t len,
                     struct result *res)
{
    struct mpota_update_opts opts = {.expected_size = declare_len ? len : 0, .has_sha256 = true};
    mpota_sha256_t h;
    mpota_sha256_start(&h);
    mpota_sha256_update(&h, img, len);
    mpota_sha256_finish(&h, opts.sha256);

    mpota_session_t s;
    struct mpota_flash_emu_counters mark = {0};
    struct mpota_diag d = {0};
    int rc = mpota_session_begin(&s, &r->ctx, r->running, NULL, &opts, &d);
    if (rc) {
        return fail_rc("session_begin", rc, &d);
    }
    res->phase[0] = bench_counters_since(r, &mark);
    mark = r->emu.count;
    for (uint32_t off = 0; off < len && !rc; off += BENCH_CHUNK) {
        uint32_t n = len - off < BENCH_CHUNK ? len - off : BENCH_CHUNK;
        rc = mpota_session_write(&s, img + off, n);
    }
    if (rc) {
        return fail_rc("session_write", rc, mpota_session_diag(&s));
    }
    res->phase[1] = bench_counters_since(r, &mark);
    mark = r->emu.count;
    if ((rc = mpota_session_end(&s, NULL)) != 0) {
        return fail_rc("session_end", rc, mpota_session_diag(&s));
    }
    res->phase[2] = bench_counters_since(r, &mark);
    mark = r->emu.count;
    if ((rc = mpota_session_set_boot(&s)) != 0) {
        return fail_rc("session_set_boot", rc, mpota_session_diag(&s));
    }
    res->phase[3] = bench_counters_since(r, &mark);
    res->has_phases = true;
    return 0;
}

static int run_one(uint32_t len, const uint8_t *img, enum bench_slot_state state,
                   enum strategy st, bool first)
{
    struct bench_rig r;
    struct result res = {0};
    if (bench_rig_open(&r, state)) {
        return -1;
    }
    int rc = (st == MPOTA || st == MPOTA_UNKNOWN_LEN)
                 ? run_mpota(&r, st == MPOTA, img, len, &res)
                 : run_baseline(&r, st, img, len);
    res.total = r.emu.count;
    if (!rc) {
        rc = bench_rig_boots_target(&r);
    }
    if (!rc) {
        printf("%s    {\"image_bytes\": %" PRIu32 ", \"slot_state\": \"%s\", \"strategy\": \"%s\", "
               "\"image_readbacks\": %d,\n     \"counts\": ",
               first ? "" : ",\n", len, bench_slot_state_name(state), strategy_names[st],
               strategy_readbacks[st]);
        print_counters(&res.total);
        if (res.has_phases) {
            printf(",\n     \"phases\": {");
            for (int i = 0; i < N_PHASES; i++) {
                printf("%s\n       \"%s\": ", i ? "," : "", phase_names[i]);
                print_counters(&res.phase[i]);
            }
            printf("}");
        }
        printf("}");
    }
    bench_rig_close(&r);
    return rc;
}

int main(int argc, char **argv)
{
    uint32_t sizes[8] = {1000000, 1600000, 2000000};
    int n_sizes = 3;
    if (argc > 1) {
        n_sizes = 0;
        for (int i = 1; i < argc && n_sizes < 8; i++) {
            sizes[n_sizes++] = (uint32_t)strtoul(argv[i], NULL, 0);
        }
    }
    struct bench_rig probe;
    if (bench_rig_open(&probe, BENCH_SLOT_BLANK)) {
        return 1;
    }
    const struct mpota_flash_model *m = &mpota_flash_model_w25q32jv;
    printf("{\"flash_size\": %u, \"chunk\": %u,\n"
           " \"slot\": {\"label\": \"%s\", \"offset\": %" PRIu32 ", \"size\": %" PRIu32 "},\n"
           " \"model\": {\"sector_erase_s\": %g, \"block_erase_s\": %g, \"page_program_s\": %g, "
           "\"read_bytes_per_s\": %g},\n \"runs\": [\n",
           BENCH_FLASH_SIZE, BENCH_CHUNK, probe.target->label, probe.target->offset,
           probe.target->size, m->sector_erase_s, m->block_erase_s, m->page_program_s,
           m->read_bytes_per_s);
    bench_rig_close(&probe);
    int status = 0;
    bool first = true;
    for (int i = 0; i < n_sizes; i++) {
        uint8_t *img = bench_app_image(sizes[i], 2, "v2.0.0");
        for (int state = BENCH_SLOT_BLANK; state <= BENCH_SLOT_USED; state++) {
            for (int st = 0; st < N_STRATEGIES; st++) {
                if (run_one(sizes[i], img, (enum bench_slot_state)state, (enum strategy)st,
                            first)) {
                    status = 1;
                } else {
                    first = false;
                }
            }
        }
        free(img);
    }
    printf("\n ]}\n");
    return status;
}
