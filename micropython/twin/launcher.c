// mpota-twin: an emulated ESP32 that runs MicroPython OTA scripts.
//
//   mpota-twin --flash FLASH --fs DIR [--stock] [--max-boots N] [-v] [SCRIPT.py]
//
// --stock: the firmware micropython.org ships, without the mpota module (see
// MPOTA_TWIN_STOCK_ENV in twin.h); without it, a firmware built with mpota.
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
// boot's interpreter); 1 if FLASH cannot boot; 2 for usage errors.
// Everything the scripts print, tracebacks included, goes to stdout; the
// launcher's own messages go to stderr.
#define _XOPEN_SOURCE 700  // realpath, fork, setenv

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/host/device.h"
#include "mpota/err.h"
#include "twin.h"

#define VM_NAME "mpota-twin-vm"
#define VM_ENV "MPOTA_TWIN_VM"  // overrides the interpreter's path (tests)

static const char usage[] =
    "usage: mpota-twin --flash FLASH --fs DIR [--stock] [--max-boots N] [-v] [SCRIPT.py]\n";

struct options {
    const char *flash;   // absolute
    const char *fs;      // absolute
    const char *script;  // absolute, or NULL
    long max_boots;      // 0 = no limit
    bool verbose;
    bool stock;  // --stock
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

// Step 1 of a boot. Returns 0, or 1 after saying why the flash cannot boot.
static int bootloader(const struct options *o, long boot)
{
    struct mpota_device dev;
    int rc = mpota_device_open(&dev, o->flash);
    if (rc) {
        fprintf(stderr, "mpota-twin: cannot open %s as an emulated flash (%s)\n", o->flash,
                mpota_err_name(rc));
        return 1;
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
        mpota_diag_format(&d, text, sizeof(text));
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

int main(int argc, char **argv)
{
    struct options o = {0};
    int rc = parse(argc, argv, &o);
    if (rc) {
        if (rc == 2) {
            fputs(usage, stderr);
        }
        return rc;
    }
    char *vm = vm_path();
    if (!vm || access(vm, X_OK) != 0) {
        fprintf(stderr, "mpota-twin: the interpreter %s is missing; run `make twin`\n",
                vm ? vm : VM_NAME);
        return 1;
    }
    // Ctrl-C reaches the interpreter (same process group), which stops the
    // script; the launcher just reports how the boot ended.
    signal(SIGINT, SIG_IGN);
    for (long boot = 1;; boot++) {
        if (bootloader(&o, boot) != 0) {
            return 1;
        }
        int status = run_app(&o, vm, boot);
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
        if (o.verbose) {
            fprintf(stderr, "mpota-twin: boot %ld ended with a reset\n", boot);
        }
        if (o.max_boots && boot >= o.max_boots) {
            fprintf(stderr, "mpota-twin: stopped after %ld boots\n", boot);
            return MPOTA_TWIN_EXIT_RESET;
        }
    }
}
