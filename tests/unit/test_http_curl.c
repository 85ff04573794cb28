// The HTTP client (src/host/http_curl.c) against a real nginx on 127.0.0.1
// (tests/integration/nginx_rig.sh) and, for dropped, reset and stalled
// transfers, a TCP proxy that breaks connections on purpose
// (tests/integration/cut_proxy.py). What each request looked like is read
// from nginx's access log, so "resumed at the sink's offset" is checked on
// the server's side. Every download is compared byte for byte and by SHA-256.
//
// nginx, the proxy and the rig's watcher are stopped at the end; if this
// process dies first, the watcher and the proxy notice and stop themselves.
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host_file.h"
#include "http_curl.h"
#include "mpota/hash.h"
#include "testutil.h"

extern char **environ;

#define APP_LEN (1024u * 1024u)
#define CHANGE_LEN (256u * 1024u)
#define BIG_TXT_LEN (100u * 1024u)
#define ENC_LEN (600u * 1024u)  // enc.bin; enc.bin.gz (other bytes: nothing decodes them) is smaller
#define SMALL_TXT "{\"firmware\": \"app.bin\", \"version\": \"1.2.3\"}\n"
#define RIG_PASSWORD "s3cret"

struct rig {
    char dir[64];          // mkdtemp: everything below lives here
    char run[128];         // nginx prefix, conf, logs, cert
    char doc[128];         // served files
    char scripts[PATH_MAX]; // tests/integration
    char cert[160];
    bool up;               // nginx runs
    bool tls;              // its HTTPS port is up
    bool python;           // python3 is there for the proxy
    int port, tls_port;
    uint8_t *app;          // content of app.bin
    uint8_t *change2;      // what change.bin becomes in the If-Range test
    uint8_t *enc;          // enc.bin, then enc.bin.gz (ENC_LEN / 2 bytes)
    pid_t proxy_pid;       // 0 = none running
    int proxy_port;
    char proxy_log[160];
};

/// Helpers ///

static void sha256(const uint8_t *data, size_t len, uint8_t out[MPOTA_SHA256_LEN])
{
    mpota_sha256_t h;
    mpota_sha256_start(&h);
    mpota_sha256_update(&h, data, len);
    mpota_sha256_finish(&h, out);
}

static void fill(uint8_t *buf, size_t len, uint64_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)rng_next(&seed);
    }
}

static struct rig *need_rig(void **state)
{
    struct rig *g = *state;
    if (!g->up) {
        fail_msg("nginx did not start (is the Debian package nginx-light installed?)");
    }
    return g;
}

static void url_of(char *out, size_t n, const char *scheme, int port, const char *path)
{
    snprintf(out, n, "%s://127.0.0.1:%d%s", scheme, port, path);
}

static bool contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

// A port on 127.0.0.1 where nothing listens (bound, then released).
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/// The access log ///

static long log_size(const struct rig *g)
{
    char path[200];
    snprintf(path, sizeof(path), "%s/access.log", g->run);
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

// Copies into lines[] the access-log lines written since `mark` for `uri`,
// waiting up to 2 s for `want` of them (nginx logs a request when it ends).
static int log_lines(const struct rig *g, long mark, const char *uri, char lines[][256], int max, int want)
{
    char path[200], key[160];
    snprintf(path, sizeof(path), "%s/access.log", g->run);
    snprintf(key, sizeof(key), "GET %s ", uri);
    int n = 0;
    for (int tries = 0; tries < 40; tries++) {
        n = 0;
        FILE *f = fopen(path, "r");
        if (f) {
            fseek(f, mark, SEEK_SET);
            char line[256];
            while (fgets(line, sizeof(line), f) && n < max) {
                if (strncmp(line, key, strlen(key)) == 0) {
                    snprintf(lines[n++], 256, "%s", line);
                }
            }
            fclose(f);
        }
        if (n >= want) {
            break;
        }
        sleep_ms(50);
    }
    return n;
}

/// A sink that keeps the file in memory and records what it was asked ///

struct tsink {
    uint8_t *buf;
    size_t cap;
    uint64_t len;            // bytes held from offset 0
    uint64_t length;         // last on_length value (UINT64_MAX: none)
    unsigned length_calls, restarts, data_calls;
    bool gap;                // data arrived beyond what is held
    uint64_t align;          // resume_offset rounds down to this (0 = exact)
    uint64_t asked[16];      // values resume_offset returned, in order
    unsigned n_asked;
    uint64_t fail_after;     // on_data fails once it would hold more (0 = never)
    int fail_err;
    uint64_t refuse_over;    // on_length refuses a larger file (0 = never)
    char coding[32];         // the last on_encoding value
    unsigned coding_calls;
    bool refuse_coding;      // on_encoding refuses anything but ""
    void (*on_first_data)(struct tsink *t);
    void *hook_ctx;
};

static int t_length(void *ctx, uint64_t total)
{
    struct tsink *t = ctx;
    t->length_calls++;
    t->length = total;
    return t->refuse_over && total > t->refuse_over ? MPOTA_ERR_SLOT_TOO_SMALL : 0;
}

static int t_data(void *ctx, uint64_t off, const uint8_t *data, size_t len)
{
    struct tsink *t = ctx;
    if (t->data_calls++ == 0 && t->on_first_data) {
        t->on_first_data(t);
    }
    if (off > t->len) {
        t->gap = true;
        return MPOTA_ERR_INVALID_ARG;
    }
    if (t->fail_after && off + len > t->fail_after) {
        return t->fail_err;
    }
    if (off + len > t->cap) {
        return MPOTA_ERR_NO_SPACE;
    }
    memcpy(t->buf + off, data, len);
    t->len = off + len;
    return 0;
}

static int t_encoding(void *ctx, const char *coding)
{
    struct tsink *t = ctx;
    t->coding_calls++;
    snprintf(t->coding, sizeof(t->coding), "%s", coding);
    return t->refuse_coding && coding[0] ? MPOTA_ERR_INFLATE_HEADER : 0;
}

static int t_restart(void *ctx)
{
    struct tsink *t = ctx;
    t->restarts++;
    t->len = 0;
    return 0;
}

static uint64_t t_held(void *ctx)
{
    struct tsink *t = ctx;
    uint64_t v = t->align ? t->len - t->len % t->align : t->len;
    if (t->n_asked < 16) {
        t->asked[t->n_asked++] = v;
    }
    return v;
}

static struct tsink tsink_new(size_t cap)
{
    struct tsink t = {0};
    t.buf = calloc(1, cap);
    assert_non_null(t.buf);
    t.cap = cap;
    t.length = UINT64_MAX;
    return t;
}

static struct mpota_http_sink as_sink(struct tsink *t)
{
    return (struct mpota_http_sink){t, t_length, t_data, t_restart, t_held, t_encoding};
}

// The sink holds exactly `want`: same length, same bytes, same SHA-256.
static void assert_holds(const struct tsink *t, const uint8_t *want, size_t want_len)
{
    assert_false(t->gap);
    assert_int_equal(t->len, want_len);
    uint8_t a[MPOTA_SHA256_LEN], b[MPOTA_SHA256_LEN];
    sha256(t->buf, (size_t)t->len, a);
    sha256(want, want_len, b);
    assert_memory_equal(a, b, sizeof(a));
    assert_memory_equal(t->buf, want, want_len);
}

static struct mpota_http_opts fast_opts(const char *url)
{
    // Short timeouts and delays keep the failure cases fast.
    return (struct mpota_http_opts){.url = url, .connect_timeout_s = 2, .stall_timeout_s = 2,
                                    .retry_delay_ms = 10};
}

/// The proxy ///

static void proxy_stop(struct rig *g)
{
    if (g->proxy_pid > 0) {
        kill(g->proxy_pid, SIGTERM);
        waitpid(g->proxy_pid, NULL, 0);
        g->proxy_pid = 0;
    }
}

// Starts cut_proxy.py in front of target_port; returns its port. extra is
// NULL or one more option ("--range-shift", "--inject-range") with its value.
// A "drip" sends a byte every 0.2 s: well inside any stall window.
static int proxy_start_ex(struct rig *g, int target_port, long cut_after, int cut_conns, const char *mode,
                          const char *extra, long extra_val)
{
    if (!g->python) {
        fail_msg("python3 is not installed (the cut proxy needs it): install the Debian package python3");
    }
    proxy_stop(g);
    char script[PATH_MAX + 32], port_file[160], target[16], after[24], conns[16], val[24];
    snprintf(script, sizeof(script), "%s/cut_proxy.py", g->scripts);
    snprintf(port_file, sizeof(port_file), "%s/proxy.port", g->run);
    snprintf(g->proxy_log, sizeof(g->proxy_log), "%s/proxy.log", g->run);
    snprintf(target, sizeof(target), "%d", target_port);
    snprintf(after, sizeof(after), "%ld", cut_after);
    snprintf(conns, sizeof(conns), "%d", cut_conns);
    snprintf(val, sizeof(val), "%ld", extra_val);
    unlink(port_file);
    unlink(g->proxy_log);
    char *argv[] = {"python3", script, "--target-port", target, "--port-file", port_file,
                    "--cut-after", after, "--cut-conns", conns, "--mode", (char *)mode,
                    "--timeout", "40", "--log", g->proxy_log, "--drip-interval", "0.2",
                    (char *)extra, val, NULL};
    assert_int_equal(posix_spawnp(&g->proxy_pid, "python3", NULL, NULL, argv, environ), 0);
    // Under load (ctest -j, sanitizers) Python can take many seconds to start:
    // wait for as long as it is alive, up to a minute, not a fixed 5 s.
    for (int i = 0; i < 1200; i++) {
        int st;
        if (waitpid(g->proxy_pid, &st, WNOHANG) == g->proxy_pid) {
            g->proxy_pid = 0;
            fail_msg("cut_proxy.py exited (status %d) before it listened", st);
        }
        FILE *f = fopen(port_file, "r");
        if (f) {
            int port = 0;
            int ok = fscanf(f, "%d", &port);
            fclose(f);
            if (ok == 1 && port > 0) {
                g->proxy_port = port;
                return port;
            }
        }
        sleep_ms(50);
    }
    fail_msg("cut_proxy.py did not start");
    return 0;
}

static int proxy_start(struct rig *g, int target_port, long cut_after, int cut_conns, const char *mode)
{
    return proxy_start_ex(g, target_port, cut_after, cut_conns, mode, NULL, 0);
}

// How many connections the proxy broke, from its log.
static int proxy_broken(const struct rig *g, const char *how)
{
    int n = 0;
    for (int tries = 0; tries < 200; tries++) {  // up to 10 s: the log may lag under load
        n = 0;
        FILE *f = fopen(g->proxy_log, "r");
        if (f) {
            char line[256];
            while (fgets(line, sizeof(line), f)) {
                n += strstr(line, how) != NULL;
            }
            fclose(f);
        }
        if (n) {
            break;
        }
        sleep_ms(50);
    }
    return n;
}

static int teardown_proxy(void **state)
{
    proxy_stop(*state);
    return 0;
}

/// Group setup: docroot, nginx ///

static void find_scripts(struct rig *g)
{
    const char *src = getenv("MPOTA_SRC");
    if (src) {
        snprintf(g->scripts, sizeof(g->scripts), "%s/tests/integration", src);
        return;
    }
    // CMake compiles with absolute source paths: tests/unit/<this file>.
    snprintf(g->scripts, sizeof(g->scripts), "%s", __FILE__);
    char *slash = strrchr(g->scripts, '/');
    if (slash) {
        strcpy(slash, "/../integration");
    }
}

static void put_file(const struct rig *g, const char *name, const void *data, size_t len)
{
    char path[200];
    snprintf(path, sizeof(path), "%s/%s", g->doc, name);
    if (mpota_host_write_file(path, data, len) != 0) {
        fail_msg("cannot write %s", path);
    }
}

static int group_setup(void **state)
{
    // Only 127.0.0.1 is used: make sure no proxy from the environment is.
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    unsetenv("http_proxy");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");

    struct rig *g = calloc(1, sizeof(*g));
    if (!g) {
        return -1;
    }
    *state = g;
    snprintf(g->dir, sizeof(g->dir), "/tmp/mpota-http-XXXXXX");
    if (!mkdtemp(g->dir)) {
        return -1;
    }
    snprintf(g->run, sizeof(g->run), "%s/run", g->dir);
    snprintf(g->doc, sizeof(g->doc), "%s/doc", g->dir);
    snprintf(g->cert, sizeof(g->cert), "%s/cert.pem", g->run);
    mkdir(g->run, 0700);
    mkdir(g->doc, 0700);
    find_scripts(g);

    g->app = malloc(APP_LEN);
    g->change2 = malloc(CHANGE_LEN + 4096);
    g->enc = malloc(ENC_LEN + ENC_LEN / 2);
    uint8_t *change = malloc(CHANGE_LEN);
    char *big = malloc(BIG_TXT_LEN);
    if (!g->app || !g->change2 || !g->enc || !change || !big) {
        return -1;
    }
    fill(g->app, APP_LEN, 1);
    fill(change, CHANGE_LEN, 2);
    fill(g->change2, CHANGE_LEN + 4096, 3);
    memset(big, 'x', BIG_TXT_LEN);
    put_file(g, "app.bin", g->app, APP_LEN);
    put_file(g, "change.bin", change, CHANGE_LEN);
    put_file(g, "small.txt", SMALL_TXT, strlen(SMALL_TXT));
    put_file(g, "big.txt", big, BIG_TXT_LEN);
    put_file(g, "empty.bin", "", 0);
    fill(g->enc, ENC_LEN + ENC_LEN / 2, 4);
    put_file(g, "enc.bin", g->enc, ENC_LEN);
    put_file(g, "enc.bin.gz", g->enc + ENC_LEN, ENC_LEN / 2);
    free(change);
    free(big);

    g->python = system("python3 -c 'import sys' >/dev/null 2>&1") == 0;

    char cmd[PATH_MAX + 512];
    snprintf(cmd, sizeof(cmd), "bash '%s/nginx_rig.sh' start '%s' '%s' %ld 90 >'%s/rig.out' 2>&1",
             g->scripts, g->run, g->doc, (long)getpid(), g->dir);
    int rc = system(cmd);
    int status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    if (status != 0) {
        snprintf(cmd, sizeof(cmd), "cat '%s/rig.out' >&2", g->dir);
        (void)system(cmd);
        print_error("nginx_rig.sh start failed (exit %d)\n", status);
        return -1;
    }
    char ports[200];
    snprintf(ports, sizeof(ports), "%s/ports", g->run);
    FILE *f = fopen(ports, "r");
    if (!f || fscanf(f, "%d %d", &g->port, &g->tls_port) != 2) {
        if (f) {
            fclose(f);
        }
        return -1;
    }
    fclose(f);
    g->up = true;
    g->tls = g->tls_port != 0;
    return 0;
}

static int group_teardown(void **state)
{
    struct rig *g = *state;
    if (!g) {
        return 0;
    }
    proxy_stop(g);
    char cmd[PATH_MAX + 512];
    if (g->up) {
        snprintf(cmd, sizeof(cmd), "bash '%s/nginx_rig.sh' stop '%s'", g->scripts, g->run);
        (void)system(cmd);
    }
    if (g->dir[0] && strncmp(g->dir, "/tmp/mpota-http-", 16) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g->dir);
        (void)system(cmd);
    }
    free(g->app);
    free(g->change2);
    free(g->enc);
    free(g);
    return 0;
}

/// URL resolution (no server needed) ///

static void test_resolve(void **state)
{
    (void)state;
    char out[256];
    struct mpota_diag d = {0};
    const char *base = "http://h.example:8080/fw/v1/manifest.json?x=1";
    assert_int_equal(mpota_http_resolve(base, "app.bin", out, sizeof(out), &d), 0);
    assert_string_equal(out, "http://h.example:8080/fw/v1/app.bin");
    assert_int_equal(mpota_http_resolve(base, "../v2/app.bin", out, sizeof(out), &d), 0);
    assert_string_equal(out, "http://h.example:8080/fw/v2/app.bin");
    assert_int_equal(mpota_http_resolve(base, "/app.bin", out, sizeof(out), &d), 0);
    assert_string_equal(out, "http://h.example:8080/app.bin");
    assert_int_equal(mpota_http_resolve(base, "https://cdn.example/a.bin", out, sizeof(out), &d), 0);
    assert_string_equal(out, "https://cdn.example/a.bin");
    assert_int_equal(mpota_http_resolve(base, "app%20v2.bin", out, sizeof(out), &d), 0);
    assert_string_equal(out, "http://h.example:8080/fw/v1/app%20v2.bin");

    assert_int_equal(mpota_http_resolve(base, "file:///etc/passwd", out, sizeof(out), &d),
                     MPOTA_ERR_INVALID_ARG);
    assert_string_equal(d.label, "url");
    assert_int_equal(mpota_http_resolve("manifest.json", "app.bin", out, sizeof(out), &d),
                     MPOTA_ERR_INVALID_ARG);
    assert_string_equal(d.label, "base url");
    assert_int_equal(mpota_http_resolve(base, "app.bin", out, 10, &d), MPOTA_ERR_NO_SPACE);
    assert_int_equal(d.expected, 10);
    assert_int_equal(d.actual, strlen("http://h.example:8080/fw/v1/app.bin") + 1);
}

static void test_invalid_args(void **state)
{
    (void)state;
    struct tsink t = tsink_new(16);
    struct mpota_http_sink s = as_sink(&t);
    struct mpota_http_opts o = fast_opts(NULL);
    struct mpota_http_result r;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_http_fetch(&o, &s, &r, &d), MPOTA_ERR_INVALID_ARG);
    o.url = "ftp://127.0.0.1/app.bin";  // only http and https
    assert_int_equal(mpota_http_fetch(&o, &s, &r, &d), MPOTA_ERR_INVALID_ARG);
    assert_true(r.error[0] != '\0');
    o.url = "file:///etc/hostname";
    assert_int_equal(mpota_http_fetch(&o, &s, &r, &d), MPOTA_ERR_INVALID_ARG);
    assert_int_equal(t.data_calls, 0);
    free(t.buf);
}

/// One download: its URL, sink, options and results ///

struct fetch {
    const struct rig *g;
    char url[128];
    struct tsink t;
    struct mpota_http_sink s;
    struct mpota_http_opts o;
    struct mpota_http_result r;
    struct mpota_diag d;
    long mark;              // the access log's size before the download
    char lines[4][256];     // fetch_log's access-log lines
};

// Sets up *f in place (f->s points at f->t) for scheme://127.0.0.1:port/path:
// a sink of `cap` bytes, fast_opts, an empty diag, the access-log mark. Any
// proxy must already be started. fetch_done frees the sink's buffer.
static void fetch_init(struct fetch *f, const struct rig *g, const char *scheme, int port, const char *path,
                       size_t cap)
{
    f->g = g;
    url_of(f->url, sizeof(f->url), scheme, port, path);
    f->t = tsink_new(cap);
    f->s = as_sink(&f->t);
    f->o = fast_opts(f->url);
    f->d = (struct mpota_diag){0};
    f->mark = log_size(g);
}

static void fetch_done(struct fetch *f)
{
    free(f->t.buf);
}

// Fetches (without a diag) and expects app.bin, whole and unchanged.
static void fetch_app(struct fetch *f)
{
    assert_int_equal(mpota_http_fetch(&f->o, &f->s, &f->r, NULL), 0);
    assert_holds(&f->t, f->g->app, APP_LEN);
}

// Waits for the `n` access-log lines for `uri` since the mark, into f->lines.
static void fetch_log(struct fetch *f, const char *uri, int n)
{
    assert_int_equal(log_lines(f->g, f->mark, uri, f->lines, 4, n), n);
}

// An access-log line asked for "bytes=OFF-" and was answered with `status`.
static void assert_ranged(const char *line, uint64_t off, const char *status)
{
    char want[64];
    snprintf(want, sizeof(want), "range=bytes=%llu- ", (unsigned long long)off);
    assert_true(contains(line, want));
    assert_true(contains(line, status));
}

static void need_tls(const struct rig *g)
{
    if (!g->tls) {
        fail_msg("no HTTPS port: is the Debian package openssl installed?");
    }
}

/// Plain downloads ///

static void test_plain_download(void **state)
{
    struct rig *g = need_rig(state);
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/files/app.bin", APP_LEN);
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), 0);
    assert_holds(&f.t, g->app, APP_LEN);
    assert_int_equal(f.r.status, 200);
    assert_int_equal(f.r.total, APP_LEN);
    assert_int_equal(f.r.end, APP_LEN);
    assert_int_equal(f.r.received, APP_LEN);
    assert_int_equal(f.r.attempts, 1);
    assert_int_equal(f.r.resumes, 0);
    assert_int_equal(f.r.restarts, 0);
    assert_int_equal(f.t.length_calls, 1);
    assert_int_equal(f.t.length, APP_LEN);
    assert_string_equal(f.r.effective_url, f.url);
    assert_string_equal(f.r.error, "");
    fetch_log(&f, "/files/app.bin", 1);
    assert_true(contains(f.lines[0], "range=- ifrange=- status=200"));
    fetch_done(&f);
}

static void test_empty_file(void **state)
{
    struct rig *g = need_rig(state);
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/files/empty.bin", 16);
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, NULL), 0);
    assert_int_equal(f.t.length_calls, 1);
    assert_int_equal(f.t.length, 0);
    assert_int_equal(f.t.data_calls, 0);
    assert_int_equal(f.r.total, 0);
    fetch_done(&f);
}

static void test_redirect_followed(void **state)
{
    struct rig *g = need_rig(state);
    char final[128];
    url_of(final, sizeof(final), "http", g->port, "/files/app.bin");
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/redirect/app.bin", APP_LEN);
    fetch_app(&f);
    assert_string_equal(f.r.effective_url, final);
    assert_int_equal(f.r.status, 200);
    fetch_log(&f, "/redirect/app.bin", 1);
    assert_true(contains(f.lines[0], "status=302"));
    fetch_done(&f);
}

static void test_too_many_redirects(void **state)
{
    struct rig *g = need_rig(state);
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/loop/app.bin", 16);
    f.o.max_redirects = 3;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_HTTP_REDIRECT);
    assert_int_equal(f.d.expected, 3);
    assert_int_equal(f.r.attempts, 1);
    assert_int_equal(f.t.data_calls, 0);
    assert_true(contains(f.r.error, "edirect"));
    fetch_done(&f);
}

static void test_404_is_status_error(void **state)
{
    struct rig *g = need_rig(state);
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/files/nope.bin", 16);
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_HTTP_STATUS);
    assert_int_equal(f.d.err, MPOTA_ERR_HTTP_STATUS);
    assert_int_equal(f.d.actual, 404);
    assert_int_equal(f.r.status, 404);
    assert_int_equal(f.r.attempts, 1);  // not retried: the server answered
    assert_int_equal(f.t.data_calls, 0);  // the error page never reaches the sink
    assert_int_equal(f.t.length_calls, 0);
    assert_true(contains(f.r.error, "HTTP 404"));
    char text[256];
    mpota_host_diag_format(&f.d, text, sizeof(text));
    assert_true(contains(text, "HTTP 404"));
    fetch_done(&f);
}

static void test_dead_server_fails_fast(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof(url), "http", dead_port(), "/files/app.bin");
    struct tsink t = tsink_new(16);
    struct mpota_http_sink s = as_sink(&t);
    struct mpota_http_opts o = {.url = url};  // defaults: 5 retries, 500 ms delay
    struct mpota_http_result r;
    struct mpota_diag d = {0};
    assert_int_equal(mpota_http_fetch(&o, &s, &r, &d), MPOTA_ERR_NET);
    assert_int_equal(r.attempts, 1);  // never reached a server: not retried
    assert_int_equal(r.status, 0);
    assert_true(r.seconds < 2.0);
    assert_true(contains(r.error, "onnect"));  // curl's "Failed to connect ... Connection refused"
    print_message("dead server: %s\n", r.error);
    free(t.buf);
}

/// Resuming ///

static void test_resume_after_cut(void **state)
{
    struct rig *g = need_rig(state);
    // The first two connections are closed after 300,000 response bytes.
    int port = proxy_start(g, g->port, 300000, 2, "cut");
    struct fetch f;
    fetch_init(&f, g, "http", port, "/files/app.bin", APP_LEN);
    f.t.align = 4096;  // holds only whole 4 KiB pages: resumes below what it got
    f.o.retries = 3;
    fetch_app(&f);
    assert_int_equal(f.r.attempts, 3);
    assert_int_equal(f.r.resumes, 2);
    assert_int_equal(f.r.restarts, 0);
    assert_int_equal(f.t.restarts, 0);
    assert_int_equal(f.t.length_calls, 1);
    assert_true(f.r.received > APP_LEN);  // the bytes above each page boundary came twice
    assert_int_equal(proxy_broken(g, ": cut after"), 2);

    // The sink was asked before each attempt; the resumed requests started
    // exactly there (server's view), with If-Range guarding the version.
    assert_int_equal(f.t.n_asked, 3);
    assert_int_equal(f.t.asked[0], 0);
    assert_true(f.t.asked[1] > 0 && f.t.asked[1] % 4096 == 0 && f.t.asked[1] < 300000);
    assert_true(f.t.asked[2] > f.t.asked[1] && f.t.asked[2] % 4096 == 0);
    fetch_log(&f, "/files/app.bin", 3);
    assert_true(contains(f.lines[0], "range=- ifrange=- status=200"));
    for (int i = 1; i <= 2; i++) {
        assert_ranged(f.lines[i], f.t.asked[i], "status=206");
        assert_false(contains(f.lines[i], "ifrange=- "));
    }
    print_message("resume: %u attempts, restarted at %llu and %llu, %.2f s\n", f.r.attempts,
                  (unsigned long long)f.t.asked[1], (unsigned long long)f.t.asked[2], f.r.seconds);
    fetch_done(&f);
}

static void test_resume_through_redirect(void **state)
{
    struct rig *g = need_rig(state);
    // Redirects are relative, so they stay on the proxy; each attempt is a
    // 302 then the file, and the 206's Content-Range must still be read.
    int port = proxy_start(g, g->port, 400000, 1, "cut");
    char final[128];
    url_of(final, sizeof(final), "http", port, "/files/app.bin");
    struct fetch f;
    fetch_init(&f, g, "http", port, "/redirect/app.bin", APP_LEN);
    fetch_app(&f);
    assert_int_equal(f.r.attempts, 2);
    assert_int_equal(f.r.resumes, 1);
    assert_int_equal(f.r.restarts, 0);
    assert_int_equal(f.r.status, 206);
    assert_string_equal(f.r.effective_url, final);
    fetch_log(&f, "/files/app.bin", 2);
    assert_ranged(f.lines[1], f.t.asked[1], "status=206");
    fetch_done(&f);
}

static void test_resume_https_after_reset(void **state)
{
    struct rig *g = need_rig(state);
    need_tls(g);
    // A TCP reset in the middle of the TLS stream.
    int port = proxy_start(g, g->tls_port, 200000, 1, "rst");
    struct fetch f;
    fetch_init(&f, g, "https", port, "/files/app.bin", APP_LEN);
    f.o.cacert = g->cert;
    fetch_app(&f);
    assert_int_equal(f.r.attempts, 2);
    assert_int_equal(f.r.resumes, 1);
    assert_int_equal(proxy_broken(g, ": reset after"), 1);
    fetch_log(&f, "/files/app.bin", 2);
    assert_true(f.t.asked[1] > 0);
    assert_ranged(f.lines[1], f.t.asked[1], "status=206");
    fetch_done(&f);
}

static void test_range_ignored_restarts_from_zero(void **state)
{
    struct rig *g = need_rig(state);
    int port = proxy_start(g, g->port, 300000, 1, "cut");
    struct fetch f;
    fetch_init(&f, g, "http", port, "/norange/app.bin", APP_LEN);
    fetch_app(&f);
    assert_int_equal(f.r.attempts, 2);
    assert_int_equal(f.r.resumes, 1);
    assert_int_equal(f.r.restarts, 1);
    assert_int_equal(f.t.restarts, 1);
    assert_int_equal(f.t.length_calls, 2);  // told again after the restart
    assert_true(f.r.received > APP_LEN);
    fetch_log(&f, "/norange/app.bin", 2);
    assert_true(f.t.asked[1] > 0);
    assert_ranged(f.lines[1], f.t.asked[1], "status=200");  // Range ignored: the whole file again
    fetch_done(&f);
}

// Replaces change.bin on the server while the first attempt runs.
static void change_file(struct tsink *t)
{
    const struct rig *g = t->hook_ctx;
    char tmp[200], path[200];
    snprintf(tmp, sizeof(tmp), "%s/.change.tmp", g->doc);
    snprintf(path, sizeof(path), "%s/change.bin", g->doc);
    assert_int_equal(mpota_host_write_file(tmp, g->change2, CHANGE_LEN + 4096), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static void test_misplaced_206_refetches_whole(void **state)
{
    struct rig *g = need_rig(state);
    // A server that answers "bytes=N-" from 1000 bytes earlier: splicing that
    // in at N would corrupt the file. The client must drop it and start over.
    int port = proxy_start_ex(g, g->port, 300000, 1, "cut", "--range-shift", 1000);
    struct fetch f;
    fetch_init(&f, g, "http", port, "/files/app.bin", APP_LEN);
    fetch_app(&f);
    assert_int_equal(f.r.attempts, 3);
    assert_int_equal(f.r.resumes, 1);
    assert_int_equal(f.r.restarts, 1);
    assert_int_equal(f.t.restarts, 1);
    fetch_log(&f, "/files/app.bin", 3);
    assert_ranged(f.lines[1], f.t.asked[1] - 1000, "status=206");
    assert_true(contains(f.lines[2], "range=- ifrange=- status=200"));
    fetch_done(&f);
}

static void test_206_to_a_whole_file_request(void **state)
{
    struct rig *g = need_rig(state);
    // The proxy adds "Range: bytes=1000-" to requests without a Range.
    int port = proxy_start_ex(g, g->port, 0, 0, "cut", "--inject-range", 1000);
    struct fetch f;
    fetch_init(&f, g, "http", port, "/files/app.bin", APP_LEN);
    f.o.retries = 1;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_NET);
    assert_int_equal(f.t.data_calls, 0);
    print_message("206 to a whole-file request: %s\n", f.r.error);
    assert_true(contains(f.r.error, "partial answer"));
    assert_true(contains(f.r.error, "request for the whole file"));
    assert_true(contains(f.r.error, "bytes 1000-1048575/1048576"));
    assert_false(contains(f.r.error, "continue at byte 0"));
    fetch_done(&f);
}

static void test_short_206_pieces_continue(void **state)
{
    struct rig *g = need_rig(state);
    // A server that answers every resume with at most 200,000 bytes, cleanly.
    // Such pieces are progress, not failures: 1 retry is enough.
    int port = proxy_start_ex(g, g->port, 300000, 1, "cut", "--range-piece", 200000);
    struct fetch f;
    fetch_init(&f, g, "http", port, "/files/app.bin", APP_LEN);
    f.o.retries = 1;
    fetch_app(&f);
    // The cut attempt, then pieces of 200,000 from where the sink stood.
    uint64_t pieces = (APP_LEN - f.t.asked[1] + 199999) / 200000;
    assert_true(pieces >= 3);
    assert_int_equal(f.r.attempts, 1 + pieces);
    assert_int_equal(f.r.resumes, pieces);
    assert_int_equal(f.r.restarts, 0);
    assert_int_equal(f.t.length_calls, 1);
    fetch_done(&f);
}

static void test_file_changed_between_attempts(void **state)
{
    struct rig *g = need_rig(state);
    int port = proxy_start(g, g->port, 100000, 1, "cut");
    struct fetch f;
    fetch_init(&f, g, "http", port, "/files/change.bin", CHANGE_LEN + 4096);
    f.t.on_first_data = change_file;
    f.t.hook_ctx = g;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, NULL), 0);
    // If-Range saw another version: the new file came whole, not spliced.
    assert_holds(&f.t, g->change2, CHANGE_LEN + 4096);
    assert_int_equal(f.r.attempts, 2);
    assert_int_equal(f.r.restarts, 1);
    assert_int_equal(f.t.length, CHANGE_LEN + 4096);
    fetch_log(&f, "/files/change.bin", 2);
    assert_true(contains(f.lines[1], "range=bytes="));
    assert_false(contains(f.lines[1], "ifrange=- "));
    assert_true(contains(f.lines[1], "status=200"));
    fetch_done(&f);
}

static void test_truncated_until_retries_run_out(void **state)
{
    struct rig *g = need_rig(state);
    // Every connection ends after 150,000 bytes although Content-Length says more.
    int port = proxy_start(g, g->port, 150000, -1, "cut");
    struct fetch f;
    fetch_init(&f, g, "http", port, "/files/app.bin", APP_LEN);
    f.o.retries = 2;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_NET);
    assert_int_equal(f.r.attempts, 3);
    assert_int_equal(f.r.resumes, 2);
    assert_int_equal(f.d.actual, 3);
    assert_int_equal(f.d.expected, APP_LEN);
    assert_int_equal(f.d.offset, f.r.end);
    assert_true(contains(f.r.error, "gave up after 3 attempts"));
    assert_int_equal(proxy_broken(g, ": cut after"), 3);
    // What it got is a correct prefix, never corrupted.
    assert_false(f.t.gap);
    assert_true(f.t.len > 300000 && f.t.len < APP_LEN);
    assert_int_equal(f.t.len, f.r.end);
    assert_memory_equal(f.t.buf, g->app, (size_t)f.t.len);
    print_message("truncated: %s\n", f.r.error);
    fetch_done(&f);
}

static void test_stall_detected_then_resumed(void **state)
{
    struct rig *g = need_rig(state);
    int port = proxy_start(g, g->port, 200000, 1, "stall");
    struct fetch f;
    fetch_init(&f, g, "http", port, "/files/app.bin", APP_LEN);
    f.o.stall_timeout_s = 1;
    fetch_app(&f);
    assert_int_equal(f.r.attempts, 2);
    assert_int_equal(f.r.resumes, 1);
    assert_int_equal(proxy_broken(g, ": stalled after"), 1);
    assert_true(f.r.seconds >= 0.9 && f.r.seconds < 4.0);  // about the stall window, not the default 20 s
    print_message("stall: detected and resumed in %.2f s\n", f.r.seconds);
    fetch_done(&f);
}

static void test_drip_is_too_slow_then_resumed(void **state)
{
    struct rig *g = need_rig(state);
    // Five bytes a second after 100 kB: the stall timer alone never fires.
    int port = proxy_start(g, g->port, 100000, 1, "drip");
    struct fetch f;
    fetch_init(&f, g, "http", port, "/files/app.bin", APP_LEN);
    f.o.stall_timeout_s = 1;
    f.o.min_speed = 10000;
    fetch_app(&f);
    assert_int_equal(f.r.attempts, 2);
    assert_int_equal(f.r.resumes, 1);
    assert_false(f.r.deadline_passed);
    assert_true(f.r.seconds < 4.0);  // one or two windows, not the drip's 900 000 s
    assert_int_equal(proxy_broken(g, ": dripped"), 1);
    print_message("drip: abandoned and resumed in %.2f s\n", f.r.seconds);
    fetch_done(&f);
}

static void test_deadline_ends_the_whole_fetch(void **state)
{
    struct rig *g = need_rig(state);
    int port = proxy_start(g, g->port, 100000, -1, "drip");
    struct fetch f;
    fetch_init(&f, g, "http", port, "/files/app.bin", APP_LEN);
    f.o.stall_timeout_s = 1;
    f.o.min_speed = 10000;
    f.o.retries = 1000;  // only the deadline can end it
    f.o.deadline_s = 3;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_NET);
    print_message("deadline: %s (%.2f s)\n", f.r.error, f.r.seconds);
    assert_true(f.r.deadline_passed);
    assert_true(f.r.seconds >= 2.9 && f.r.seconds < 4.5);
    assert_true(contains(f.r.error, "deadline of 3 s"));
    assert_true(f.r.attempts >= 2);
    assert_int_equal(f.d.actual, f.r.attempts);
    assert_int_equal(f.d.expected, APP_LEN);
    // What it got is a correct prefix.
    assert_false(f.t.gap);
    assert_memory_equal(f.t.buf, g->app, (size_t)f.t.len);
    fetch_done(&f);
}

static void test_slow_is_not_stalled(void **state)
{
    struct rig *g = need_rig(state);
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/slow/app.bin", APP_LEN);
    f.o.stall_timeout_s = 2;  // nginx pauses ~1 s between bursts
    fetch_app(&f);
    assert_int_equal(f.r.attempts, 1);
    assert_true(f.r.seconds > 2.0);  // 1 MiB at 256 KiB/s: longer than the stall window
    fetch_done(&f);
}

static void test_resume_from_earlier_run(void **state)
{
    struct rig *g = need_rig(state);
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/files/app.bin", APP_LEN);
    memcpy(f.t.buf, g->app, 500000);
    f.t.len = 500000;
    fetch_app(&f);
    assert_int_equal(f.r.attempts, 1);
    assert_int_equal(f.r.resumes, 1);
    assert_int_equal(f.r.received, APP_LEN - 500000);
    assert_int_equal(f.t.length, APP_LEN);
    fetch_log(&f, "/files/app.bin", 1);
    assert_true(contains(f.lines[0], "range=bytes=500000- ifrange=- status=206"));
    fetch_done(&f);
}

static void test_already_complete(void **state)
{
    struct rig *g = need_rig(state);
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/files/app.bin", APP_LEN);
    memcpy(f.t.buf, g->app, APP_LEN);
    f.t.len = APP_LEN;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, NULL), 0);  // 416 "bytes */1048576"
    assert_int_equal(f.r.status, 416);
    assert_int_equal(f.t.data_calls, 0);
    assert_int_equal(f.t.length, APP_LEN);
    assert_int_equal(f.r.end, APP_LEN);
    assert_holds(&f.t, g->app, APP_LEN);
    fetch_done(&f);
}

static void test_416_beyond_the_end(void **state)
{
    struct rig *g = need_rig(state);
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/files/app.bin", 2 * APP_LEN);
    f.t.len = 2 * APP_LEN;  // "holds" more than the file has: another file's data
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_HTTP_RANGE);
    assert_int_equal(f.d.offset, 2 * APP_LEN);
    assert_int_equal(f.d.actual, APP_LEN);
    assert_int_equal(f.r.attempts, 1);
    assert_int_equal(f.t.data_calls, 0);
    assert_true(contains(f.r.error, "416"));
    fetch_done(&f);
}

static void test_restart_refused_without_on_restart(void **state)
{
    struct rig *g = need_rig(state);
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/norange/app.bin", APP_LEN);
    memcpy(f.t.buf, g->app, 1000);
    f.t.len = 1000;
    f.s.on_restart = NULL;  // a sink that cannot start over
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_HTTP_RANGE);
    assert_false(f.r.sink_refused);  // the fetch's own refusal, in d
    assert_int_equal(f.d.offset, 1000);
    assert_int_equal(f.t.data_calls, 0);  // nothing written over what it holds
    assert_int_equal(f.t.len, 1000);
    fetch_done(&f);
}

/// The sink's errors ///

static void test_sink_error_aborts_unchanged(void **state)
{
    struct rig *g = need_rig(state);
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/files/app.bin", APP_LEN);
    f.t.fail_after = 100000;
    f.t.fail_err = MPOTA_ERR_FLASH_IO;
    f.d = (struct mpota_diag){.err = MPOTA_ERR_FLASH_IO, .offset = 0x1234};  // as the sink left it
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_FLASH_IO);
    assert_int_equal(f.d.err, MPOTA_ERR_FLASH_IO);
    assert_int_equal(f.d.offset, 0x1234);
    assert_true(f.r.sink_refused);  // the caller reads the sink's record
    assert_int_equal(f.r.attempts, 1);
    assert_true(f.t.len <= 100000);
    fetch_done(&f);
}

/// Content-Encoding ///

// The body is handed on as sent, never decoded: with Accept-Encoding: gzip
// nginx's gzip_static sends enc.bin.gz (Content-Encoding: gzip), without it
// enc.bin; the sink hears the encoding before the length.
static void test_encoding_passed_through(void **state)
{
    struct rig *g = need_rig(state);
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/gzip/enc.bin", ENC_LEN);
    f.o.accept_gzip = true;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), 0);
    assert_holds(&f.t, g->enc + ENC_LEN, ENC_LEN / 2);
    assert_string_equal(f.t.coding, "gzip");
    assert_int_equal(f.t.coding_calls, 1);
    assert_int_equal(f.t.length, ENC_LEN / 2);
    fetch_log(&f, "/gzip/enc.bin", 1);
    assert_true(contains(f.lines[0], "range=- ifrange=- status=200"));
    assert_true(contains(f.lines[0], " ae=gzip ce=gzip "));
    fetch_done(&f);

    fetch_init(&f, g, "http", g->port, "/gzip/enc.bin", ENC_LEN);
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), 0);
    assert_holds(&f.t, g->enc, ENC_LEN);
    assert_string_equal(f.t.coding, "");
    fetch_log(&f, "/gzip/enc.bin", 1);
    assert_true(contains(f.lines[0], " ae=- ce=- "));
    fetch_done(&f);

    // An encoding the sink refuses stops the fetch before any data.
    fetch_init(&f, g, "http", g->port, "/saysbr/enc.bin", ENC_LEN);
    f.t.refuse_coding = true;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_INFLATE_HEADER);
    assert_true(f.r.sink_refused);
    assert_string_equal(f.t.coding, "br");
    assert_int_equal(f.t.data_calls, 0);
    assert_int_equal(f.t.length_calls, 0);
    fetch_done(&f);
}

// nginx answers a ranged request for a gzip_static file with the whole file
// (200): the sink restarts and hears the encoding again.
static void test_encoded_file_restarts_after_a_cut(void **state)
{
    struct rig *g = need_rig(state);
    int port = proxy_start(g, g->port, 100000, 1, "cut");
    struct fetch f;
    fetch_init(&f, g, "http", port, "/gzip/enc.bin", ENC_LEN);
    f.o.accept_gzip = true;
    f.o.retries = 3;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), 0);
    assert_holds(&f.t, g->enc + ENC_LEN, ENC_LEN / 2);
    assert_int_equal(f.r.attempts, 2);
    assert_int_equal(f.t.restarts, 1);
    assert_int_equal(f.t.coding_calls, 2);
    assert_string_equal(f.t.coding, "gzip");
    fetch_log(&f, "/gzip/enc.bin", 2);
    assert_true(contains(f.lines[1], "range=bytes="));
    assert_true(contains(f.lines[1], " ae=gzip ce=gzip "));
    assert_true(contains(f.lines[1], "status=200"));
    fetch_done(&f);
}

static void test_length_refused(void **state)
{
    struct rig *g = need_rig(state);
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/files/app.bin", 16);
    f.t.refuse_over = 4096;  // "the slot is smaller"
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, NULL), MPOTA_ERR_SLOT_TOO_SMALL);
    assert_int_equal(f.t.length, APP_LEN);
    assert_int_equal(f.t.data_calls, 0);
    assert_true(f.r.sink_refused);
    assert_int_equal(f.r.attempts, 1);
    fetch_done(&f);
}

/// Basic auth ///

static int auth_fetch(const struct rig *g, const char *url, const char *userpwd, struct mpota_diag *d)
{
    struct tsink t = tsink_new(APP_LEN);
    struct mpota_http_sink s = as_sink(&t);
    struct mpota_http_opts o = fast_opts(url);
    o.userpwd = userpwd;
    struct mpota_http_result r;
    int rc = mpota_http_fetch(&o, &s, &r, d);
    if (rc == 0) {
        assert_holds(&t, g->app, APP_LEN);
        assert_false(contains(r.effective_url, RIG_PASSWORD));
    } else {
        assert_int_equal(t.data_calls, 0);
        assert_int_equal(r.status, 401);
        assert_true(contains(r.error, "credentials"));
    }
    free(t.buf);
    return rc;
}

static void test_basic_auth(void **state)
{
    struct rig *g = need_rig(state);
    char url[128];
    struct mpota_diag d = {0};
    url_of(url, sizeof(url), "http", g->port, "/auth/app.bin");
    assert_int_equal(auth_fetch(g, url, "mpota:" RIG_PASSWORD, &d), 0);
    assert_int_equal(auth_fetch(g, url, "mpota:wrong", &d), MPOTA_ERR_HTTP_STATUS);
    assert_int_equal(d.actual, 401);
    assert_int_equal(auth_fetch(g, url, NULL, &d), MPOTA_ERR_HTTP_STATUS);
    assert_int_equal(d.actual, 401);
    snprintf(url, sizeof(url), "http://mpota:%s@127.0.0.1:%d/auth/app.bin", RIG_PASSWORD, g->port);
    assert_int_equal(auth_fetch(g, url, NULL, &d), 0);
}

// The access-log line of the last request for uri since mark.
static void last_log_line(const struct rig *g, long mark, const char *uri, char line[256])
{
    char lines[8][256];
    int n = log_lines(g, mark, uri, lines, 8, 1);
    assert_true(n >= 1);
    snprintf(line, 256, "%s", lines[n - 1]);
}

static void test_credentials_stay_on_their_origin(void **state)
{
    struct rig *g = need_rig(state);
    need_tls(g);
    char line[256], port_is[32];
    snprintf(port_is, sizeof(port_is), "port=%d ", g->tls_port);
    struct fetch f;

    // A redirect to another origin (http -> https on another port): the
    // credentials stay behind.
    fetch_init(&f, g, "http", g->port, "/cross/app.bin", APP_LEN);
    f.o.userpwd = "mpota:" RIG_PASSWORD;
    f.o.cacert = g->cert;
    fetch_app(&f);
    last_log_line(g, f.mark, "/cross/app.bin", line);
    assert_true(contains(line, "user=mpota"));
    last_log_line(g, f.mark, "/files/app.bin", line);
    assert_true(contains(line, port_is));
    assert_true(contains(line, "user=-"));
    fetch_done(&f);

    // A URL on another origin than the one the credentials are for (a
    // manifest's firmware on a CDN): none sent.
    char origin[128];
    url_of(origin, sizeof(origin), "http", g->port, "/auth/manifest.json");
    fetch_init(&f, g, "https", g->tls_port, "/files/app.bin", APP_LEN);
    f.o.userpwd = "mpota:" RIG_PASSWORD;
    f.o.auth_origin = origin;
    f.o.cacert = g->cert;
    fetch_app(&f);
    last_log_line(g, f.mark, "/files/app.bin", line);
    assert_true(contains(line, "user=-"));
    fetch_done(&f);
    // If that server wants credentials, the 401 says why none were sent.
    fetch_init(&f, g, "https", g->tls_port, "/auth/app.bin", APP_LEN);
    f.o.userpwd = "mpota:" RIG_PASSWORD;
    f.o.auth_origin = origin;
    f.o.cacert = g->cert;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_HTTP_STATUS);
    assert_int_equal(f.r.status, 401);
    assert_true(contains(f.r.error, "credentials were not sent"));
    fetch_done(&f);

    // The same origin (another path, scheme and host in capitals) gets them.
    snprintf(origin, sizeof(origin), "HTTP://127.0.0.1:%d/auth/manifest.json", g->port);
    fetch_init(&f, g, "http", g->port, "/auth/app.bin", APP_LEN);
    f.o.userpwd = "mpota:" RIG_PASSWORD;
    f.o.auth_origin = origin;
    fetch_app(&f);
    last_log_line(g, f.mark, "/auth/app.bin", line);
    assert_true(contains(line, "status=200"));
    assert_true(contains(line, "user=mpota"));
    fetch_done(&f);
}

/// HTTPS ///

static void test_https_verification(void **state)
{
    struct rig *g = need_rig(state);
    need_tls(g);
    struct fetch f;
    fetch_init(&f, g, "https", g->tls_port, "/files/app.bin", APP_LEN);

    // The system CAs do not know the self-signed certificate.
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_TLS);
    assert_int_equal(f.r.attempts, 1);
    assert_int_equal(f.t.data_calls, 0);
    assert_true(contains(f.r.error, "certificate"));
    print_message("https without cacert: %s\n", f.r.error);

    f.o.cacert = g->cert;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), 0);
    assert_holds(&f.t, g->app, APP_LEN);

    f.t.len = 0;
    f.o.cacert = NULL;
    f.o.insecure = true;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), 0);
    assert_holds(&f.t, g->app, APP_LEN);

    // A cacert that does not exist is a TLS setup failure, not a silent fallback.
    f.t.len = 0;
    f.o.insecure = false;
    f.o.cacert = "/nonexistent/ca.pem";
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_TLS);
    fetch_done(&f);
}

static void test_https_to_http_redirect(void **state)
{
    struct rig *g = need_rig(state);
    need_tls(g);
    char final[128];
    url_of(final, sizeof(final), "http", g->port, "/files/app.bin");
    struct fetch f;
    fetch_init(&f, g, "https", g->tls_port, "/downgrade/app.bin", APP_LEN);
    f.o.cacert = g->cert;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_HTTP_REDIRECT);
    assert_int_equal(f.t.data_calls, 0);
    print_message("https -> http: %s\n", f.r.error);
    assert_true(contains(f.r.error, final));

    f.o.cacert = NULL;
    f.o.insecure = true;  // allowed when the caller gave up on TLS anyway
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), 0);
    assert_holds(&f.t, g->app, APP_LEN);
    assert_string_equal(f.r.effective_url, final);

    // https -> https redirects are fine.
    f.t.len = 0;
    url_of(f.url, sizeof(f.url), "https", g->tls_port, "/redirect/app.bin");
    f.o.insecure = false;
    f.o.cacert = g->cert;
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), 0);
    assert_holds(&f.t, g->app, APP_LEN);
    fetch_done(&f);
}

static void test_redirect_out_of_http(void **state)
{
    struct rig *g = need_rig(state);
    struct fetch f;
    fetch_init(&f, g, "http", g->port, "/tofile/app.bin", APP_LEN);
    assert_int_equal(mpota_http_fetch(&f.o, &f.s, &f.r, &f.d), MPOTA_ERR_HTTP_REDIRECT);
    assert_int_equal(f.t.data_calls, 0);
    print_message("http -> file: %s\n", f.r.error);
    assert_true(contains(f.r.error, "not http or https"));
    assert_true(contains(f.r.error, "file:///etc/hostname"));
    assert_false(contains(f.r.error, "from https"));
    fetch_done(&f);
}

/// Small files ///

static void test_get_small(void **state)
{
    struct rig *g = need_rig(state);
    char url[128];
    struct mpota_http_opts o = fast_opts(url);
    struct mpota_http_result r;
    struct mpota_diag d = {0};
    char *body = (char *)"sentinel";
    size_t len = 99;

    url_of(url, sizeof(url), "http", g->port, "/files/small.txt");
    assert_int_equal(mpota_http_get_small(&o, &body, &len, &r, &d), 0);
    assert_int_equal(len, strlen(SMALL_TXT));
    assert_string_equal(body, SMALL_TXT);
    free(body);

    url_of(url, sizeof(url), "http", g->port, "/redirect/empty.bin");
    assert_int_equal(mpota_http_get_small(&o, &body, &len, NULL, &d), 0);
    assert_int_equal(len, 0);
    assert_string_equal(body, "");
    free(body);

    url_of(url, sizeof(url), "http", g->port, "/files/big.txt");
    assert_int_equal(mpota_http_get_small(&o, &body, &len, &r, &d), MPOTA_ERR_HTTP_TOO_LARGE);
    assert_null(body);
    assert_int_equal(len, 0);
    assert_int_equal(d.expected, MPOTA_HTTP_SMALL_MAX);
    assert_int_equal(d.actual, BIG_TXT_LEN);

    url_of(url, sizeof(url), "http", g->port, "/files/missing.json");
    assert_int_equal(mpota_http_get_small(&o, &body, &len, &r, &d), MPOTA_ERR_HTTP_STATUS);
    assert_null(body);
    assert_int_equal(d.actual, 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_invalid_args),
        cmocka_unit_test(test_plain_download),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_redirect_followed),
        cmocka_unit_test(test_too_many_redirects),
        cmocka_unit_test(test_404_is_status_error),
        cmocka_unit_test(test_dead_server_fails_fast),
        cmocka_unit_test_teardown(test_resume_after_cut, teardown_proxy),
        cmocka_unit_test_teardown(test_resume_through_redirect, teardown_proxy),
        cmocka_unit_test_teardown(test_resume_https_after_reset, teardown_proxy),
        cmocka_unit_test_teardown(test_range_ignored_restarts_from_zero, teardown_proxy),
        cmocka_unit_test_teardown(test_misplaced_206_refetches_whole, teardown_proxy),
        cmocka_unit_test_teardown(test_206_to_a_whole_file_request, teardown_proxy),
        cmocka_unit_test_teardown(test_short_206_pieces_continue, teardown_proxy),
        cmocka_unit_test_teardown(test_file_changed_between_attempts, teardown_proxy),
        cmocka_unit_test_teardown(test_truncated_until_retries_run_out, teardown_proxy),
        cmocka_unit_test_teardown(test_stall_detected_then_resumed, teardown_proxy),
        cmocka_unit_test_teardown(test_drip_is_too_slow_then_resumed, teardown_proxy),
        cmocka_unit_test_teardown(test_deadline_ends_the_whole_fetch, teardown_proxy),
        cmocka_unit_test(test_slow_is_not_stalled),
        cmocka_unit_test(test_resume_from_earlier_run),
        cmocka_unit_test(test_already_complete),
        cmocka_unit_test(test_416_beyond_the_end),
        cmocka_unit_test(test_restart_refused_without_on_restart),
        cmocka_unit_test(test_sink_error_aborts_unchanged),
        cmocka_unit_test(test_length_refused),
        cmocka_unit_test(test_encoding_passed_through),
        cmocka_unit_test_teardown(test_encoded_file_restarts_after_a_cut, teardown_proxy),
        cmocka_unit_test(test_basic_auth),
        cmocka_unit_test(test_credentials_stay_on_their_origin),
        cmocka_unit_test(test_https_verification),
        cmocka_unit_test(test_https_to_http_redirect),
        cmocka_unit_test(test_redirect_out_of_http),
        cmocka_unit_test(test_get_small),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
