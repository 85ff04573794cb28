// mpota-twin: an emulated ESP32 that runs MicroPython OTA scripts.
//
//   mpota-twin --flash FLASH --fs DIR [--stock] [--max-boots N] [--stats FILE] [-v]
//              [SCRIPT.py]
//
// --stock: the firmware micropython.org ships, without the mpota module (see
// MPOTA_TWIN_STOCK_ENV in twin.h); without it, a firmware built with mpota.
//
// --stats FILE: when the run ends, however it ends (exit, uncaught exception,
// --max-boots, a power cut in the bootloader or in a boot), FILE gets JSON
// for the whole run, every boot and every bootloader run:
//   sector_erases, block_erases, programs (program calls), program_bytes,
//   program_pages (256-byte page programs), reads (read calls), bytes_read:
//     the emulated flash's counters (flash_emu.h), summed over every flash
//     opened in the run: the bootloader's, and each mpota.Device of each
//     boot (esp32.Partition and the ota package open those too);
//   modeled_s: device time of those operations under the flash model
//     (flash_model.h, W25Q32JV: 45 ms per sector erase, 150 ms per block
//     erase, 0.4 ms per page program, reads at 6.65 MB/s);
//   peak_heap: the most MicroPython GC heap in use, in bytes, sampled right
//     after a full collection before every flash operation of a boot, when a
//     Device opens and at a reset: the live heap (as the collector finds it,
//     the twin's own modules included) at those moments, not garbage, and
//     not what a boot holds only between flash operations. null if no boot
//     took a sample (no flash operation from MicroPython);
//   heap_samples (0: peak_heap is null), boots (bootloader runs),
//     flash_opens (the flash mapped anew: once per bootloader run, once per
//     mpota.Device), exit_status (this program's), and bootloader: the
//     bootloader runs' own share of the counters and modeled_s.
// Each boot keeps its counts in its slot of an accumulator this program holds
// (MPOTA_TWIN_STATS_ENV in twin.h); FILE is written beside itself and renamed
// into place. A sample collects the heap whenever it changed since the last
// one: measure wall time without --stats.
//
// The reboot loop. Each boot is what a reset of the chip does:
//  1. the bootloader: mpota_device_boot() on FLASH -- boot selection with its
//     otadata writes (PENDING_VERIFY -> ABORTED, NEW -> PENDING_VERIFY, the
//     initial record) and the running-app sidecar (src/host/device.c);
//  2. the app: a fresh MicroPython process (mpota-twin-vm, beside this
//     program) started in DIR, running the frozen _twin_boot.py: DIR becomes
//     "/", boot.py runs, then SCRIPT (first boot only) or main.py.
// machine.reset() ends that process with MPOTA_TWIN_EXIT_RESET and the loop
// boots again. A process per boot loses all RAM state, exactly like a reset.
//
// Exit status: the boot's status when it ends without a reset (0, 1 after an
// uncaught exception, sys.exit's code); MPOTA_TWIN_EXIT_RESET when the N-th
// boot (--max-boots) ended with a reset; 75 after an injected power cut
// (MPOTA_FLASH_FAIL_AFTER, counted per process: the bootloader run and each
// boot's interpreter); 1 if FLASH cannot boot, or if --stats FILE cannot be
// written (checked before the first boot; a run that ended with 0 but could
// not write FILE at the end exits 1); 2 for usage errors.
// Everything the scripts print, tracebacks included, goes to stdout; the
// launcher's own messages go to stderr.
#define _XOPEN_SOURCE 700  // realpath, fork, setenv, mkstemp

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/host/device.h"
#include "../../src/host/flash_model.h"
#include "../../src/host/host_err.h"
#include "mpota/err.h"
#include "twin.h"

#define VM_NAME "mpota-twin-vm"
#define VM_ENV "MPOTA_TWIN_VM"  // overrides the interpreter's path (tests)

static const char usage[] =
    "usage: mpota-twin --flash FLASH --fs DIR [--stock] [--max-boots N] [--stats FILE] [-v]\n"
    "                  [SCRIPT.py]\n";

struct options {
    char *flash;   // absolute (malloc'd, as the two below)
    char *fs;      // absolute
    char *script;  // absolute, or NULL
    long max_boots;      // 0 = no limit
    bool verbose;
    bool stock;  // --stock
    const char *stats;  // --stats FILE, or NULL
};

static char *absolute(const char *path)
{
    char *abs = realpath(path, NULL);
    if (!abs) {
        fprintf(stderr, "mpota-twin: %s: %s\n", path, strerror(errno));
    }
    return abs;
}

static int parse(int argc, char **argv, struct options *o)
{
    const char *flash = NULL, *fs = NULL, *script = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--flash") == 0 && i + 1 < argc) {
            flash = argv[++i];
        } else if (strcmp(a, "--fs") == 0 && i + 1 < argc) {
            fs = argv[++i];
        } else if (strcmp(a, "--max-boots") == 0 && i + 1 < argc) {
            char *end;
            o->max_boots = strtol(argv[++i], &end, 10);
            if (*end || o->max_boots < 1) {
                return 2;
            }
        } else if (strcmp(a, "--stats") == 0 && i + 1 < argc && argv[i + 1][0]) {
            o->stats = argv[++i];
        } else if (strcmp(a, "--stock") == 0) {
            o->stock = true;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            o->verbose = true;
        } else if (a[0] == '-' || script) {
            return 2;
        } else {
            script = a;
        }
    }
    if (!flash || !fs) {
        return 2;
    }
    o->flash = absolute(flash);
    o->fs = absolute(fs);
    o->script = script ? absolute(script) : NULL;
    return o->flash && o->fs && (!script || o->script) ? 0 : 1;
}

static void options_free(struct options *o)
{
    free(o->flash);
    free(o->fs);
    free(o->script);
}

// The interpreter: $MPOTA_TWIN_VM, else mpota-twin-vm beside this program.
static char *vm_path(void)
{
    const char *env = getenv(VM_ENV);
    if (env && *env) {
        return strdup(env);
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        return NULL;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *(slash ? slash + 1 : self) = '\0';
    size_t len = strlen(self) + sizeof(VM_NAME);
    char *path = malloc(len);
    if (path) {
        snprintf(path, len, "%s%s", self, VM_NAME);
    }
    return path;
}

/// --stats ///

static struct {
    const char *path;  // FILE; NULL: no --stats
    int fd;            // the accumulator (unlinked): one struct mpota_twin_stats per boot
    long boots;        // bootloader runs
    uint64_t opens;    // the bootloader's flash opens
    struct mpota_flash_emu_counters boot;  // the bootloader's counts
} run_stats = {.fd = -1};

static int stats_error(const char *what)
{
    fprintf(stderr, "mpota-twin: --stats %s: %s: %s\n", run_stats.path, what, strerror(errno));
    return 1;
}

// A new file beside `path` (mkstemp: never through a link), or -1.
static int create_beside(const char *path, char **tmp)
{
    size_t n = strlen(path) + 8;
    *tmp = malloc(n);
    if (!*tmp) {
        return -1;
    }
    snprintf(*tmp, n, "%s.XXXXXX", path);
    int fd = mkstemp(*tmp);
    if (fd < 0) {
        free(*tmp);
        *tmp = NULL;
    }
    return fd;
}

// Before the first boot: FILE must be writable where it is, and the
// accumulator is created there (unlinked at once: nothing is left behind).
static int stats_begin(const char *path)
{
    run_stats.path = path;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return stats_error("cannot write");
    }
    char *tmp;
    int fd = create_beside(path, &tmp);
    if (fd < 0) {
        return stats_error("cannot write in its folder");
    }
    unlink(tmp);
    free(tmp);
    run_stats.fd = fd;
    return 0;
}

// The accumulator holds one slot per boot; boot (from 1) gets slot boot - 1,
// zeroed, before its interpreter starts.
static int stats_slot_for(long boot)
{
    off_t size = (off_t)boot * (off_t)sizeof(struct mpota_twin_stats);
    return ftruncate(run_stats.fd, size) == 0 ? 0 : stats_error("accumulator");
}

static void json_counts(FILE *f, const struct mpota_flash_emu_counters *c, const char *in)
{
    fprintf(f,
            "%s\"sector_erases\": %" PRIu64 ",\n%s\"block_erases\": %" PRIu64 ",\n"
            "%s\"programs\": %" PRIu64 ",\n%s\"program_bytes\": %" PRIu64 ",\n"
            "%s\"program_pages\": %" PRIu64 ",\n%s\"reads\": %" PRIu64 ",\n"
            "%s\"bytes_read\": %" PRIu64 ",\n%s\"modeled_s\": %.6f",
            in, c->sector_erases, in, c->block_erases, in, c->progs, in, c->prog_bytes, in,
            c->prog_pages, in, c->reads, in, c->read_bytes, in,
            mpota_flash_model_seconds(c, &mpota_flash_model_w25q32jv));
}

// The end of the run: sums the slots and the bootloader's counts, writes
// FILE (beside it, then renamed). Returns 0, or 1 after saying why not.
static int stats_end(int status)
{
    if (!run_stats.path) {
        return 0;
    }
    struct mpota_flash_emu_counters all = run_stats.boot;
    uint64_t opens = run_stats.opens, samples = 0, peak = 0;
    struct mpota_twin_stats slot;
    for (off_t off = 0;; off += (off_t)sizeof(slot)) {
        ssize_t n = pread(run_stats.fd, &slot, sizeof(slot), off);
        if (n != (ssize_t)sizeof(slot)) {
            break;  // the end (a short slot cannot happen: ftruncate sizes them)
        }
        mpota_twin_counters_add(&all, &slot.count, NULL);
        opens += slot.flash_opens;
        samples += slot.heap_samples;
        peak = slot.peak_heap > peak ? slot.peak_heap : peak;
    }
    char *tmp;
    int fd = create_beside(run_stats.path, &tmp);
    if (fd < 0) {
        return stats_error("cannot write in its folder");
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return stats_error("write");
    }
    fputs("{\n", f);
    json_counts(f, &all, "  ");
    if (samples) {
        fprintf(f, ",\n  \"peak_heap\": %" PRIu64, peak);
    } else {
        fputs(",\n  \"peak_heap\": null", f);
    }
    fprintf(f,
            ",\n  \"heap_samples\": %" PRIu64 ",\n  \"boots\": %ld,\n"
            "  \"flash_opens\": %" PRIu64 ",\n  \"exit_status\": %d,\n  \"bootloader\": {\n",
            samples, run_stats.boots, opens, status);
    json_counts(f, &run_stats.boot, "    ");
    fputs("\n  }\n}\n", f);
    // 0644 like any new file (mkstemp makes 0600), less the umask.
    mode_t mask = umask(0);
    umask(mask);
    int ok = fchmod(fd, 0644 & ~mask) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, run_stats.path) != 0) {
        int saved = errno;
        unlink(tmp);
        free(tmp);
        errno = saved;
        return stats_error("write");
    }
    free(tmp);
    return 0;
}

// A power cut in the bootloader ends this process: FILE first.
static void bootloader_cut(void *arg)
{
    struct mpota_device *dev = arg;
    mpota_twin_counters_add(&run_stats.boot, &dev->emu.count, NULL);
    stats_end(MPOTA_FLASH_EMU_EXIT_CODE);
    mpota_flash_emu_cut_exit(&dev->emu);
}

// Step 1 of a boot. Returns 0, or 1 after saying why the flash cannot boot.
static int bootloader(const struct options *o, long boot)
{
    run_stats.boots = boot;
    struct mpota_device dev;
    int rc = mpota_device_open(&dev, o->flash);
    if (rc) {
        fprintf(stderr, "mpota-twin: cannot open %s as an emulated flash (%s)\n", o->flash,
                mpota_host_err_name(rc));
        return 1;
    }
    if (run_stats.path) {
        run_stats.opens++;
        dev.emu.on_cut = bootloader_cut;  // opening only reads: nothing to cut yet
        dev.emu.on_cut_arg = &dev;
    }
    struct mpota_boot_report report;
    struct mpota_diag d = dev.table_diag;
    rc = mpota_device_boot(&dev, &report);
    if (rc) {
        if (rc != dev.table_err) {
            memset(&d, 0, sizeof(d));
            mpota_diag_set(&d, rc, 0, 0, 0);
        }
        char text[512];
        mpota_host_diag_format(&d, text, sizeof(text));
        fprintf(stderr, "mpota-twin: boot %ld: %s\n", boot, text);
    } else if (o->verbose) {
        fprintf(stderr, "mpota-twin: boot %ld: %s", boot, report.booted->label);
        for (unsigned i = 0; i < report.n_writes; i++) {
            const struct mpota_boot_write *w = &report.writes[i];
            const char *state = mpota_otadata_state_name(w->entry.ota_state);
            fprintf(stderr, "%s otadata[%u] = {seq %lu, %s}", i ? "," : ";", w->sector,
                    (unsigned long)w->entry.ota_seq, state ? state : "?");
        }
        fputc('\n', stderr);
    }
    mpota_twin_counters_add(&run_stats.boot, &dev.emu.count, NULL);
    mpota_device_close(&dev);
    return rc ? 1 : 0;
}

// Step 2: the interpreter for one boot. Returns its wait status, or -1.
static int run_app(const struct options *o, const char *vm, long boot)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("mpota-twin: fork");
        return -1;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        if (chdir(o->fs) != 0) {
            perror("mpota-twin: chdir");
            _exit(1);
        }
        setenv(MPOTA_TWIN_FLASH_ENV, o->flash, 1);
        if (o->stock) {
            setenv(MPOTA_TWIN_STOCK_ENV, "1", 1);
        } else {
            unsetenv(MPOTA_TWIN_STOCK_ENV);
        }
        if (run_stats.path) {
            char v[48];
            snprintf(v, sizeof(v), "%d:%ld", run_stats.fd, boot - 1);
            setenv(MPOTA_TWIN_STATS_ENV, v, 1);
        } else {
            unsetenv(MPOTA_TWIN_STATS_ENV);
        }
        if (boot == 1 && o->script) {
            setenv(MPOTA_TWIN_SCRIPT_ENV, o->script, 1);
        } else {
            unsetenv(MPOTA_TWIN_SCRIPT_ENV);
        }
        // Only the frozen modules beyond the filesystem (no ~/.micropython).
        setenv("MICROPYPATH", ".frozen", 1);
        dup2(STDOUT_FILENO, STDERR_FILENO);  // one console, as on the device
        char *args[] = {(char *)vm, "-m", "_twin_boot", NULL};
        execv(vm, args);
        fprintf(stdout, "mpota-twin: cannot run %s: %s\n", vm, strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("mpota-twin: waitpid");
            return -1;
        }
    }
    return status;
}

// The reboot loop. Returns the exit status.
static int run(const struct options *o, const char *vm)
{
    for (long boot = 1;; boot++) {
        if (bootloader(o, boot) != 0) {
            return 1;
        }
        if (run_stats.path && stats_slot_for(boot) != 0) {
            return 1;
        }
        int status = run_app(o, vm, boot);
        if (status < 0) {
            return 1;
        }
        if (WIFSIGNALED(status)) {
            return 128 + WTERMSIG(status);
        }
        int code = WEXITSTATUS(status);
        if (code != MPOTA_TWIN_EXIT_RESET) {
            return code;
        }
        if (o->verbose) {
            fprintf(stderr, "mpota-twin: boot %ld ended with a reset\n", boot);
        }
        if (o->max_boots && boot >= o->max_boots) {
            fprintf(stderr, "mpota-twin: stopped after %ld boots\n", boot);
            return MPOTA_TWIN_EXIT_RESET;
        }
    }
}

int main(int argc, char **argv)
{
    struct options o = {0};
    int rc = parse(argc, argv, &o);
    char *vm = rc ? NULL : vm_path();
    if (rc == 2) {
        fputs(usage, stderr);
    } else if (!rc && (!vm || access(vm, X_OK) != 0)) {
        fprintf(stderr, "mpota-twin: the interpreter %s is missing; run `make twin`\n",
                vm ? vm : VM_NAME);
        rc = 1;
    } else if (!rc && o.stats && stats_begin(o.stats) != 0) {
        rc = 1;
    } else if (!rc) {
        // Ctrl-C reaches the interpreter (same process group), which stops
        // the script; the launcher just reports how the boot ended.
        signal(SIGINT, SIG_IGN);
        rc = run(&o, vm);
        if (stats_end(rc) != 0 && rc == 0) {
            rc = 1;
        }
    }
    free(vm);
    options_free(&o);
    return rc;
}
