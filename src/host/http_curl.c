// HTTP(S) downloads over libcurl: see http_curl.h.
#define _POSIX_C_SOURCE 200809L

#include "http_curl.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

_Static_assert(MPOTA_HTTP_ERROR_SIZE >= CURL_ERROR_SIZE, "curl writes CURL_ERROR_SIZE bytes");

// libcurl must be initialised once per process before any other call; this
// flag is the only state kept between calls.
static bool curl_ready;

static bool ensure_curl(void)
{
    if (!curl_ready) {
        curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    }
    return curl_ready;
}

// One download: what carries over between attempts, and the current
// attempt's view of its answer.
struct xfer {
    const struct mpota_http_opts *o;
    const struct mpota_http_sink *s;
    struct mpota_http_result *r;
    CURL *curl;

    // Across attempts.
    uint64_t total;        // stated length of the current file, or MPOTA_HTTP_LEN_UNKNOWN
    bool length_told;      // on_length() was called for the current file
    uint64_t pos;          // offset of the next byte handed to on_data()
    bool whole_next;       // the server botched a range: ask for the whole file
    char validator[128];   // strong ETag or Last-Modified of the file, for If-Range
    char coding[32];       // the file's Content-Encoding ("" = none), once coding_known
    bool coding_known;

    // Per attempt.
    uint64_t held;         // what the sink said it holds before the request
    uint64_t start;        // Range start sent; 0 = no Range header
    uint64_t got;          // bytes handed to on_data() in this attempt
    bool answered;         // a status line arrived
    char location[MPOTA_HTTP_URL_SIZE]; // the last Location header, to name a refused redirect
    double last_rx;        // when something last arrived (or the connection came up)
    curl_off_t rx_seen;    // body bytes counted by the progress callback so far
    bool stalled;          // aborted: nothing arrived for stall_timeout_s
    double window_start;   // the current speed window began (connected, or the last window ended)
    curl_off_t window_rx;  // rx_seen when it began
    bool too_slow;         // aborted: the last window averaged under min_speed
    curl_off_t slow_bytes; // what arrived in that window
    double slow_seconds;   // and how long it was
    double deadline;       // now_s() when the whole fetch must end
    bool overdue;          // aborted: the deadline passed
    bool auth_withheld;    // userpwd not sent: url is on another origin than auth_origin
    bool judged;           // the final answer's headers were checked
    bool complete;         // 416 said the sink holds the whole file already
    bool mismatch;         // a 206 that does not continue where asked
    int sink_err;          // a sink callback's error: stop, return it unchanged
    int fail;              // our own fatal verdict, with fail_diag
    struct mpota_diag fail_diag;
    char curl_error[CURL_ERROR_SIZE];
};

enum outcome {
    OUT_DONE,        // the sink holds the whole file
    OUT_FAILED,      // give up now, error set
    OUT_RETRY,       // a failed attempt: count it, wait, try again
    OUT_RETRY_NOW,   // a failed attempt that waiting cannot help (server botched a range)
    OUT_MORE,        // a clean but short answer: continue without counting a failure
};

static uint32_t clamp32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static unsigned or_default(unsigned v, unsigned def)
{
    return v ? v : def;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

// Copies url into out without any user:password, so results and messages
// can be printed; "" if it does not parse.
static void url_for_display(const char *url, char *out, size_t out_size)
{
    CURLU *u = curl_url();
    char *clean = NULL;
    if (u && url && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        curl_url_get(u, CURLUPART_URL, &clean, 0);
    }
    snprintf(out, out_size, "%s", clean ? clean : "");
    curl_free(clean);
    curl_url_cleanup(u);
}

// Whether two URLs share scheme, host and port (default ports filled in).
// false if either does not parse: credentials then stay at home.
static bool same_origin(const char *a, const char *b)
{
    static const CURLUPart parts[] = {CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT};
    CURLU *ua = curl_url(), *ub = curl_url();
    bool same = ua && ub && curl_url_set(ua, CURLUPART_URL, a, 0) == CURLUE_OK &&
                curl_url_set(ub, CURLUPART_URL, b, 0) == CURLUE_OK;
    for (size_t i = 0; same && i < sizeof(parts) / sizeof(parts[0]); i++) {
        char *va = NULL, *vb = NULL;
        same = curl_url_get(ua, parts[i], &va, CURLU_DEFAULT_PORT) == CURLUE_OK &&
               curl_url_get(ub, parts[i], &vb, CURLU_DEFAULT_PORT) == CURLUE_OK &&
               strcasecmp(va, vb) == 0;
        curl_free(va);
        curl_free(vb);
    }
    curl_url_cleanup(ua);
    curl_url_cleanup(ub);
    return same;
}

// Our own verdict on the answer: fatal, no retry.
static int fail(struct xfer *x, int err, uint32_t off, uint32_t expected, uint32_t actual)
{
    x->fail = err;
    mpota_diag_set(&x->fail_diag, err, off, expected, actual);
    return 1;
}

// Digits only: no sign, no spaces, no overflow (what strtoull would let by).
static const char *parse_u64(const char *p, uint64_t *v)
{
    if (*p < '0' || *p > '9') {
        return NULL;
    }
    uint64_t n = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned dgt = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - dgt) / 10u) {
            return NULL;
        }
        n = n * 10u + dgt;
    }
    *v = n;
    return p;
}

// Content-Range: "bytes FIRST-LAST/LENGTH", "bytes FIRST-LAST/*" or
// "bytes */LENGTH" (RFC 9110 §14.4). Unstated parts come back as
// MPOTA_HTTP_LEN_UNKNOWN.
static bool parse_content_range(const char *v, uint64_t *first, uint64_t *last, uint64_t *len)
{
    *first = *last = *len = MPOTA_HTTP_LEN_UNKNOWN;
    if (!v || strncmp(v, "bytes ", 6) != 0) {
        return false;
    }
    const char *p = v + 6;
    if (*p == '*') {
        p++;
    } else {
        if (!(p = parse_u64(p, first)) || *p++ != '-' || !(p = parse_u64(p, last)) ||
            *last < *first) {
            return false;
        }
    }
    if (*p++ != '/') {
        return false;
    }
    if (*p == '*') {
        p++;
    } else if (!(p = parse_u64(p, len))) {
        return false;
    }
    return *p == '\0';
}

// The value of a header of the last answer (after redirects), or NULL.
static const char *header(CURL *c, const char *name)
{
    struct curl_header *h;
    if (curl_easy_header(c, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK) {
        return NULL;
    }
    return h->value;
}

// Remembers what identifies this version of the file, so a resume can ask
// "only if it is still the same" (If-Range). Weak ETags are not allowed
// there (RFC 9110 §13.1.5), so those fall back to Last-Modified.
static void keep_validator(struct xfer *x)
{
    const char *etag = header(x->curl, "ETag");
    const char *lm = header(x->curl, "Last-Modified");
    const char *v = (etag && strncmp(etag, "W/", 2) != 0) ? etag : lm;
    x->validator[0] = '\0';
    if (v && strlen(v) < sizeof(x->validator)) {
        strcpy(x->validator, v);
    }
}

static int tell_length(struct xfer *x, uint64_t len)
{
    x->total = len;
    x->r->total = len;
    if (x->length_told) {
        return 0;
    }
    x->length_told = true;
    int rc = x->s->on_length ? x->s->on_length(x->s->ctx, len) : 0;
    if (rc < 0) {
        x->sink_err = rc;
        return 1;
    }
    return 0;
}

// This answer's Content-Encoding (curl decodes nothing: CURLOPT_ACCEPT_ENCODING
// is never set), so ranges count the bytes as sent.
static const char *answer_coding(struct xfer *x)
{
    const char *v = header(x->curl, "Content-Encoding");
    return v ? v : "";
}

// The file's encoding is known from this answer: the sink hears it.
static int tell_encoding(struct xfer *x)
{
    snprintf(x->coding, sizeof(x->coding), "%s", answer_coding(x));
    x->coding_known = true;
    int rc = x->s->on_encoding ? x->s->on_encoding(x->s->ctx, x->coding) : 0;
    if (rc < 0) {
        x->sink_err = rc;
        return 1;
    }
    return 0;
}

// A 206: it must continue exactly where we asked, for the same file length
// and encoding.
static int judge_partial(struct xfer *x)
{
    const char *cr = header(x->curl, "Content-Range");
    uint64_t first, last, len;
    bool ok = x->start > 0 && parse_content_range(cr, &first, &last, &len) &&
              first == x->start && last != MPOTA_HTTP_LEN_UNKNOWN &&
              (len == MPOTA_HTTP_LEN_UNKNOWN || last < len) &&
              (x->total == MPOTA_HTTP_LEN_UNKNOWN || len == MPOTA_HTTP_LEN_UNKNOWN || len == x->total);
    // Bytes of another encoding of the file would be spliced into this one.
    bool same_coding = !x->coding_known || strncasecmp(answer_coding(x), x->coding,
                                                       sizeof(x->coding) - 1) == 0;
    if (ok && !same_coding) {
        x->mismatch = true;
        x->whole_next = true;
        snprintf(x->r->error, sizeof(x->r->error),
                 "HTTP 206 with Content-Encoding \"%.40s\" continues a file sent as \"%s\"; "
                 "asking for the whole file again", answer_coding(x), x->coding);
        return 1;
    }
    if (!ok) {
        // Splicing bytes from another offset or another file would corrupt
        // the image; drop this answer and fetch the whole file instead.
        x->mismatch = true;
        x->whole_next = true;
        if (x->start == 0) {
            snprintf(x->r->error, sizeof(x->r->error),
                     "the server sent a partial answer (HTTP 206, Content-Range \"%s\") to a "
                     "request for the whole file; asking again", cr ? cr : "(none)");
        } else {
            snprintf(x->r->error, sizeof(x->r->error),
                     "HTTP 206 with Content-Range \"%s\" does not continue at byte %" PRIu64
                     "; asking for the whole file again", cr ? cr : "(none)", x->start);
        }
        return 1;
    }
    if (!x->validator[0]) {
        keep_validator(x);
    }
    x->pos = x->start;
    x->r->end = x->start;
    if (!x->coding_known && tell_encoding(x)) {
        return 1;
    }
    return len != MPOTA_HTTP_LEN_UNKNOWN ? tell_length(x, len) : 0;
}

// A 200: the whole file from byte 0, whatever we asked for.
static int judge_whole(struct xfer *x)
{
    bool restarted = x->held > 0;
    if (restarted) {
        // Range ignored, or If-Range saw a new version: what the sink holds
        // is useless (or of another file) and must go before byte 0 arrives.
        if (!x->s->on_restart) {
            snprintf(x->r->error, sizeof(x->r->error),
                     "the server sent the whole file again instead of resuming at byte %" PRIu64
                     ", and the receiver cannot start over", x->held);
            return fail(x, MPOTA_ERR_HTTP_RANGE, clamp32(x->held), 0, 0);
        }
        x->r->restarts++;
        int rc = x->s->on_restart(x->s->ctx);
        if (rc < 0) {
            x->sink_err = rc;
            return 1;
        }
    }
    curl_off_t cl = -1;
    uint64_t len = curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl >= 0
                       ? (uint64_t)cl
                       : MPOTA_HTTP_LEN_UNKNOWN;
    // A sink that holds nothing hears the length again only if it changed.
    if (restarted || len != x->total) {
        x->length_told = false;
    }
    x->pos = 0;
    x->r->end = 0;
    x->total = len;
    x->r->total = len;
    keep_validator(x);
    if (tell_encoding(x)) {
        return 1;
    }
    return len != MPOTA_HTTP_LEN_UNKNOWN ? tell_length(x, len) : 0;
}

// Checks the final answer's status and headers before its first body byte
// (or at its end when it has no body). Returns 0 to take the body, 1 to stop
// the transfer; the flags in x say why.
static int judge_answer(struct xfer *x)
{
    long status = 0;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    x->judged = true;
    x->r->status = status;
    if (status == 206) {
        return judge_partial(x);
    }
    if (status == 200) {
        return judge_whole(x);
    }
    char url[MPOTA_HTTP_URL_SIZE];
    url_for_display(x->r->effective_url[0] ? x->r->effective_url : x->o->url, url, sizeof(url));
    if (status == 416 && x->start > 0) {
        uint64_t first, last, len;
        bool parsed = parse_content_range(header(x->curl, "Content-Range"), &first, &last, &len);
        // Asking for the bytes after the end of a file we already hold
        // whole: nothing left to fetch.
        if (parsed && first == MPOTA_HTTP_LEN_UNKNOWN && len == x->start &&
            (x->total == MPOTA_HTTP_LEN_UNKNOWN || x->total == len)) {
            x->complete = true;
            x->pos = x->start;
            x->r->end = x->start;
            tell_length(x, len);
            return 1;
        }
        // Reason first, URL last: a long URL is what gets cut.
        if (parsed && len != MPOTA_HTTP_LEN_UNKNOWN) {
            snprintf(x->r->error, sizeof(x->r->error),
                     "HTTP 416: no data at byte %" PRIu64 ", the file has %" PRIu64 " bytes: %.160s",
                     x->start, len, url);
        } else {
            snprintf(x->r->error, sizeof(x->r->error), "HTTP 416: no data at byte %" PRIu64 ": %.160s",
                     x->start, url);
        }
        return fail(x, MPOTA_ERR_HTTP_RANGE, clamp32(x->start), 0,
                    parsed && len != MPOTA_HTTP_LEN_UNKNOWN ? clamp32(len) : 0);
    }
    snprintf(x->r->error, sizeof(x->r->error), "HTTP %ld%s: %.160s", status,
             status == 401 && x->auth_withheld
                 ? " (credentials were not sent: they go only to the server they were given for)"
             : status == 401 || status == 407 ? " (the server wants other credentials, user:password)"
             : status == 403                ? " (access forbidden)"
             : status == 404                ? " (no such file)"
                                            : "",
             url);
    return fail(x, MPOTA_ERR_HTTP_STATUS, clamp32(x->start), 0, (uint32_t)(status > 0 ? status : 0));
}

static size_t on_header(char *line, size_t size, size_t n, void *p)
{
    struct xfer *x = p;
    size_t len = size * n;
    x->last_rx = now_s();
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        x->answered = true;
    } else if (len > 9 && strncasecmp(line, "Location:", 9) == 0) {
        // curl's header API no longer sees it once a redirect is refused.
        size_t i = 9, end = len;
        while (i < end && (line[i] == ' ' || line[i] == '\t')) {
            i++;
        }
        while (end > i && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' ')) {
            end--;
        }
        if (end - i < sizeof(x->location)) {
            memcpy(x->location, line + i, end - i);
            x->location[end - i] = '\0';
        }
    }
    return len;
}

// Watchdog: the deadline, a stall, a crawl. curl's own low-speed check
// averages over a window of several seconds, so a stall after a fast burst
// would be noticed late; the stall check counts from the last byte. The
// speed check averages over whole stall windows, so a server that drips a
// byte a second (never silent for long) is abandoned too. Connecting has its
// own timeout; both windows start once connected.
static int on_progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    (void)ulnow;
    struct xfer *x = p;
    double t = now_s();
    if (t >= x->deadline) {
        x->overdue = true;
        return 1;  // curl stops with CURLE_ABORTED_BY_CALLBACK
    }
    curl_off_t ready = 0;
    curl_easy_getinfo(x->curl, CURLINFO_PRETRANSFER_TIME_T, &ready);
    // dlnow starts again at 0 for the request a redirect leads to.
    if (ready == 0 || dlnow < x->window_rx) {
        x->window_start = t;
        x->window_rx = dlnow;
    }
    if (ready == 0 || dlnow != x->rx_seen) {
        x->rx_seen = dlnow;
        x->last_rx = t;
    }
    if (ready == 0) {
        return 0;
    }
    double window = (double)or_default(x->o->stall_timeout_s, MPOTA_HTTP_DEFAULT_STALL_TIMEOUT_S);
    if (t - x->last_rx >= window) {
        x->stalled = true;
        return 1;
    }
    if (t - x->window_start >= window) {
        curl_off_t got = dlnow - x->window_rx;
        double span = t - x->window_start;
        if ((double)got < span * (double)or_default(x->o->min_speed, MPOTA_HTTP_DEFAULT_MIN_SPEED)) {
            x->too_slow = true;
            x->slow_bytes = got;
            x->slow_seconds = span;
            return 1;
        }
        x->window_start = t;
        x->window_rx = dlnow;
    }
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *p)
{
    struct xfer *x = p;
    size_t len = size * n;
    if (!x->judged && judge_answer(x) != 0) {
        return 0;  // anything but len makes curl stop with CURLE_WRITE_ERROR
    }
    if (len == 0) {
        return 0;
    }
    int rc = x->s->on_data(x->s->ctx, x->pos, (const uint8_t *)data, len);
    if (rc < 0) {
        x->sink_err = rc;
        return 0;
    }
    x->pos += len;
    x->got += len;
    x->r->received += len;
    x->r->end = x->pos;
    return len;
}

// Options that stay the same for every attempt.
static bool setup(struct xfer *x)
{
    const struct mpota_http_opts *o = x->o;
    CURL *c = x->curl;
    bool https = strncasecmp(o->url, "https:", 6) == 0;
    CURLcode e = CURLE_OK;
#define SET(opt, val) \
    if (e == CURLE_OK) e = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_URL, o->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    // A redirect may never leave TLS unless the caller already gave up on it.
    SET(CURLOPT_REDIR_PROTOCOLS_STR, https && !o->insecure ? "https" : "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, (long)or_default(o->max_redirects, MPOTA_HTTP_DEFAULT_MAX_REDIRECTS));
    SET(CURLOPT_CONNECTTIMEOUT, (long)or_default(o->connect_timeout_s, MPOTA_HTTP_DEFAULT_CONNECT_TIMEOUT_S));
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, x);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_USERAGENT, "mpota");
    SET(CURLOPT_ERRORBUFFER, x->curl_error);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    // Bodies stay as sent (the default, said here because ranges depend on it).
    SET(CURLOPT_HTTP_CONTENT_DECODING, 0L);
    if (o->cacert) {
        SET(CURLOPT_CAINFO, o->cacert);
    }
    if (o->insecure) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    // Credentials go only to the origin they were given for; libcurl also
    // drops them on a redirect to another origin (CURLOPT_UNRESTRICTED_AUTH
    // stays off).
    x->auth_withheld = o->userpwd && !same_origin(o->url, o->auth_origin ? o->auth_origin : o->url);
    if (o->userpwd && !x->auth_withheld) {
        SET(CURLOPT_USERPWD, o->userpwd);
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    }
#undef SET
    return e == CURLE_OK;
}

static bool is_tls_verify_error(CURLcode cc)
{
    switch (cc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return true;
    default:
        return false;
    }
}

// What a finished perform means, once the flags the callbacks set are read.
static enum outcome verdict_from_flags(struct xfer *x, int *err, struct mpota_diag *d, bool *decided)
{
    *decided = true;
    if (x->sink_err) {
        *err = x->sink_err;  // the sink's own error and diag, untouched
        x->r->sink_refused = true;
        return OUT_FAILED;
    }
    if (x->fail) {
        *err = x->fail;
        if (d) {
            *d = x->fail_diag;
        }
        return OUT_FAILED;
    }
    if (x->complete) {
        return OUT_DONE;
    }
    if (x->mismatch) {
        return OUT_RETRY_NOW;
    }
    *decided = false;
    return OUT_FAILED;
}

// The deadline passed: MPOTA_ERR_NET, with where it stopped and the last
// failed attempt's trouble.
static int deadline_passed(struct xfer *x, struct mpota_diag *d)
{
    struct mpota_http_result *r = x->r;
    char last[MPOTA_HTTP_ERROR_SIZE], total[32] = "an unstated length";
    snprintf(last, sizeof(last), "%s", r->error);
    if (x->total != MPOTA_HTTP_LEN_UNKNOWN) {
        snprintf(total, sizeof(total), "%" PRIu64, x->total);
    }
    r->deadline_passed = true;
    int n = snprintf(r->error, sizeof(r->error),
                     "not finished within the deadline of %u s: at byte %" PRIu64 " of %s after %u "
                     "attempt%s",
                     or_default(x->o->deadline_s, MPOTA_HTTP_DEFAULT_DEADLINE_S), r->end, total,
                     r->attempts, r->attempts == 1 ? "" : "s");
    if (last[0] && n > 0 && (size_t)n < sizeof(r->error)) {
        snprintf(r->error + n, sizeof(r->error) - (size_t)n, " (before: %.120s)", last);
    }
    return mpota_diag_set(d, MPOTA_ERR_NET, clamp32(r->end),
                          x->total == MPOTA_HTTP_LEN_UNKNOWN ? 0 : clamp32(x->total), r->attempts);
}

// One request from the sink's resume point. *err and d are set on OUT_FAILED.
// A fresh attempt: from the held offset (or 0), nothing heard yet.
static void reset_attempt(struct xfer *x)
{
    x->start = x->whole_next ? 0 : x->held;
    x->pos = x->start;
    x->got = 0;
    x->answered = x->judged = x->complete = x->mismatch = false;
    x->location[0] = '\0';
    x->stalled = x->too_slow = false;
    x->rx_seen = x->window_rx = 0;
    x->last_rx = x->window_start = now_s();
    x->sink_err = x->fail = 0;
    x->curl_error[0] = '\0';
    x->r->attempts++;
}

// One request (with Range and If-Range when resuming) run to its end; the
// effective URL and status are recorded. Returns curl's code.
static CURLcode perform_request(struct xfer *x)
{
    char range[32];
    char if_range[sizeof(x->validator) + 16];
    struct curl_slist *headers = NULL;
    if (x->start > 0) {
        x->r->resumes++;
        snprintf(range, sizeof(range), "%" PRIu64 "-", x->start);
        if (x->validator[0]) {
            snprintf(if_range, sizeof(if_range), "If-Range: %s", x->validator);
            headers = curl_slist_append(headers, if_range);
        }
    }
    if (x->o->accept_gzip) {
        headers = curl_slist_append(headers, "Accept-Encoding: gzip");
    }
    curl_easy_setopt(x->curl, CURLOPT_RANGE, x->start > 0 ? range : NULL);
    curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, headers);
    // on_progress ends the attempt at the deadline; this backstop also
    // covers name lookup and connecting, a little later so it rarely decides.
    long left_ms = (long)((x->deadline - x->last_rx) * 1000.0);
    curl_easy_setopt(x->curl, CURLOPT_TIMEOUT_MS, (left_ms > 0 ? left_ms : 0L) + 250L);
    CURLcode cc = curl_easy_perform(x->curl);
    curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);

    char *eff = NULL;
    if (curl_easy_getinfo(x->curl, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff) {
        url_for_display(eff, x->r->effective_url, sizeof(x->r->effective_url));
    }
    long status = 0;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    x->r->status = status;
    return cc;
}

// The request ended without a curl error: done, or the answer stopped short.
static enum outcome ended_cleanly(struct xfer *x, int *err, struct mpota_diag *d)
{
    bool decided;
    enum outcome oc;
    if (!x->judged) {
        // An answer without a body: judge it now (empty file, 404 without page).
        judge_answer(x);
        oc = verdict_from_flags(x, err, d, &decided);
        if (decided) {
            return oc;
        }
    }
    if (x->total == MPOTA_HTTP_LEN_UNKNOWN || x->pos >= x->total) {
        return OUT_DONE;
    }
    snprintf(x->r->error, sizeof(x->r->error),
             "the answer ended at byte %" PRIu64 " of %" PRIu64, x->pos, x->total);
    return x->got > 0 ? OUT_MORE : OUT_RETRY;
}

// The request ended with curl error cc: what to tell, and whether to retry.
static enum outcome ended_in_error(struct xfer *x, CURLcode cc, int *err, struct mpota_diag *d)
{
    if (x->overdue || (cc == CURLE_OPERATION_TIMEDOUT && now_s() >= x->deadline)) {
        *err = deadline_passed(x, d);  // r->error still says what slowed the earlier attempts
        return OUT_FAILED;
    }
    const char *why = x->curl_error[0] ? x->curl_error : curl_easy_strerror(cc);
    snprintf(x->r->error, sizeof(x->r->error), "%s", why);
    if (cc == CURLE_ABORTED_BY_CALLBACK && x->stalled) {
        snprintf(x->r->error, sizeof(x->r->error), "nothing received for %u s at byte %" PRIu64,
                 or_default(x->o->stall_timeout_s, MPOTA_HTTP_DEFAULT_STALL_TIMEOUT_S), x->pos);
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK && x->too_slow) {
        snprintf(x->r->error, sizeof(x->r->error),
                 "too slow: %" PRId64 " B in %.1f s at byte %" PRIu64 ", under the minimum of %u B/s",
                 (int64_t)x->slow_bytes, x->slow_seconds, x->pos,
                 or_default(x->o->min_speed, MPOTA_HTTP_DEFAULT_MIN_SPEED));
    }
    if (cc == CURLE_TOO_MANY_REDIRECTS) {
        unsigned max = or_default(x->o->max_redirects, MPOTA_HTTP_DEFAULT_MAX_REDIRECTS);
        *err = mpota_diag_set(d, MPOTA_ERR_HTTP_REDIRECT, 0, max, max + 1u);
        return OUT_FAILED;
    }
    if (cc == CURLE_UNSUPPORTED_PROTOCOL && x->answered) {
        // The only way an answer leads to a protocol we refuse: a redirect
        // from https to http, or to something that is not HTTP at all.
        // A Location that changes the scheme is absolute, so it shows as is.
        char shown[MPOTA_HTTP_URL_SIZE];
        url_for_display(x->location, shown, sizeof(shown));
        if (strncasecmp(x->location, "http:", 5) == 0) {
            snprintf(x->r->error, sizeof(x->r->error),
                     "refused redirect from https to plain http: %.200s", shown);
        } else {
            // url_for_display knows only what curl parses: show the scheme at least.
            snprintf(x->r->error, sizeof(x->r->error),
                     "refused redirect to %.200s: not http or https",
                     shown[0] ? shown : x->location[0] ? "a URL of another scheme" : "an unstated URL");
        }
        *err = mpota_diag_set(d, MPOTA_ERR_HTTP_REDIRECT, 0,
                              or_default(x->o->max_redirects, MPOTA_HTTP_DEFAULT_MAX_REDIRECTS), 0);
        return OUT_FAILED;
    }
    if (cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT) {
        *err = mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
        mpota_diag_label(d, "url", 3);
        return OUT_FAILED;
    }
    if (is_tls_verify_error(cc) || (cc == CURLE_SSL_CONNECT_ERROR && x->r->attempts == 1)) {
        *err = mpota_diag_set(d, MPOTA_ERR_TLS, 0, 0, 0);
        return OUT_FAILED;
    }
    if (!x->answered && x->r->attempts == 1) {
        // Never reached an HTTP server: wrong host or port, or it is down.
        *err = mpota_diag_set(d, MPOTA_ERR_NET, clamp32(x->pos), 0, 1);
        return OUT_FAILED;
    }
    return OUT_RETRY;
}

static enum outcome attempt(struct xfer *x, int *err, struct mpota_diag *d)
{
    reset_attempt(x);
    CURLcode cc = perform_request(x);
    bool decided;
    enum outcome oc = verdict_from_flags(x, err, d, &decided);
    if (decided) {
        return oc;
    }
    return cc == CURLE_OK ? ended_cleanly(x, err, d) : ended_in_error(x, cc, err, d);
}

static uint64_t sink_holds(const struct xfer *x)
{
    return x->s->resume_offset ? x->s->resume_offset(x->s->ctx) : x->pos;
}

// Retries are used up: MPOTA_ERR_NET with the last attempt's reason.
static int give_up(struct xfer *x, struct mpota_diag *d)
{
    struct mpota_http_result *r = x->r;
    char last[MPOTA_HTTP_ERROR_SIZE];
    snprintf(last, sizeof(last), "%s", r->error);
    snprintf(r->error, sizeof(r->error), "%.200s (gave up after %u attempts)", last, r->attempts);
    return mpota_diag_set(d, MPOTA_ERR_NET, clamp32(r->end),
                          x->total == MPOTA_HTTP_LEN_UNKNOWN ? 0 : clamp32(x->total), r->attempts);
}

// Doubling delay before retry number `failures`: a server that is restarting
// gets time to come back.
static unsigned retry_wait_ms(unsigned first_ms, unsigned failures)
{
    unsigned wait = first_ms;
    for (unsigned i = 1; i < failures && wait < MPOTA_HTTP_MAX_RETRY_DELAY_MS; i++) {
        wait *= 2u;
    }
    return wait < MPOTA_HTTP_MAX_RETRY_DELAY_MS ? wait : MPOTA_HTTP_MAX_RETRY_DELAY_MS;
}

// Attempts until the file is whole, a failure is final, the retries are
// spent or the deadline passes. Returns 0 or the failure (its record in d).
static int attempts(struct xfer *x, struct mpota_diag *d)
{
    unsigned retries = or_default(x->o->retries, MPOTA_HTTP_DEFAULT_RETRIES);
    unsigned delay = or_default(x->o->retry_delay_ms, MPOTA_HTTP_DEFAULT_RETRY_DELAY_MS);
    unsigned failures = 0;
    bool after_more = false;
    uint64_t prev_held = 0;
    for (;;) {
        uint64_t held = sink_holds(x);
        if (x->length_told && x->total != MPOTA_HTTP_LEN_UNKNOWN && held == x->total &&
            x->r->attempts > 0) {
            return 0;  // the last attempt ended right at the end of the file
        }
        if (now_s() >= x->deadline) {
            return deadline_passed(x, d);
        }
        // A short answer counts as progress only if the sink kept some of it.
        if (after_more && held <= prev_held && ++failures > retries) {
            return give_up(x, d);
        }
        x->held = prev_held = held;
        int err = 0;
        enum outcome oc = attempt(x, &err, d);
        after_more = oc == OUT_MORE;
        if (oc == OUT_DONE || oc == OUT_FAILED) {
            return oc == OUT_DONE ? 0 : err;
        }
        if (oc == OUT_MORE) {
            continue;
        }
        if (++failures > retries) {
            return give_up(x, d);
        }
        if (oc == OUT_RETRY) {
            double left_ms = (x->deadline - now_s()) * 1000.0;
            unsigned wait = retry_wait_ms(delay, failures);
            sleep_ms(left_ms <= 0 ? 0u : left_ms < wait ? (unsigned)left_ms + 1u : wait);
        }
    }
}

int mpota_http_fetch(const struct mpota_http_opts *o, const struct mpota_http_sink *s,
                     struct mpota_http_result *r, struct mpota_diag *d)
{
    struct mpota_http_result local;
    if (!r) {
        r = &local;
    }
    memset(r, 0, sizeof(*r));
    r->total = MPOTA_HTTP_LEN_UNKNOWN;
    if (!o || !o->url || !s || !s->on_data) {
        mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
        mpota_diag_label(d, !o || !o->url ? "url" : "sink", 4);
        return MPOTA_ERR_INVALID_ARG;
    }
    double t0 = now_s();
    CURL *c = ensure_curl() ? curl_easy_init() : NULL;
    if (!c) {
        snprintf(r->error, sizeof(r->error), "libcurl could not be initialised");
        return mpota_diag_set(d, MPOTA_ERR_NET, 0, 0, 0);
    }
    struct xfer x = {.o = o, .s = s, .r = r, .curl = c, .total = MPOTA_HTTP_LEN_UNKNOWN,
                     .deadline = t0 + or_default(o->deadline_s, MPOTA_HTTP_DEFAULT_DEADLINE_S)};
    int err = 0;
    if (!setup(&x)) {
        snprintf(r->error, sizeof(r->error), "libcurl refused an option (URL or certificate path?)");
        err = mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
        mpota_diag_label(d, "url", 3);
        curl_easy_cleanup(c);
        return err;
    }

    err = attempts(&x, d);
    if (err == 0) {
        r->error[0] = '\0';
    }
    r->seconds = now_s() - t0;
    curl_easy_cleanup(c);
    return err;
}

/// Small files ///

// A growing buffer as a sink; refuses anything over MPOTA_HTTP_SMALL_MAX.
struct small_sink {
    char *buf;
    size_t len;
    uint64_t stated;
};

static int small_length(void *ctx, uint64_t total)
{
    struct small_sink *ss = ctx;
    ss->stated = total;
    return total > MPOTA_HTTP_SMALL_MAX ? MPOTA_ERR_HTTP_TOO_LARGE : 0;
}

static int small_data(void *ctx, uint64_t off, const uint8_t *data, size_t len)
{
    struct small_sink *ss = ctx;
    if (off > ss->len || off + len > MPOTA_HTTP_SMALL_MAX) {
        return MPOTA_ERR_HTTP_TOO_LARGE;
    }
    char *grown = realloc(ss->buf, (size_t)off + len + 1u);
    if (!grown) {
        return MPOTA_ERR_NO_SPACE;
    }
    ss->buf = grown;
    memcpy(ss->buf + off, data, len);
    ss->len = (size_t)off + len;
    return 0;
}

static int small_restart(void *ctx)
{
    struct small_sink *ss = ctx;
    ss->len = 0;
    return 0;
}

static uint64_t small_held(void *ctx)
{
    const struct small_sink *ss = ctx;
    return ss->len;
}

int mpota_http_get_small(const struct mpota_http_opts *o, char **body, size_t *len,
                         struct mpota_http_result *r, struct mpota_diag *d)
{
    if (!body || !len) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
    }
    *body = NULL;
    *len = 0;
    struct small_sink ss = {0};
    const struct mpota_http_sink sink = {&ss, small_length, small_data, small_restart, small_held,
                                         NULL};
    int err = mpota_http_fetch(o, &sink, r, d);
    if (err == 0 && !ss.buf) {
        ss.buf = malloc(1);  // an empty file is a valid, empty string
        if (!ss.buf) {
            err = mpota_diag_set(d, MPOTA_ERR_NO_SPACE, 0, 1, 0);
        }
    }
    if (err == MPOTA_ERR_HTTP_TOO_LARGE || err == MPOTA_ERR_NO_SPACE) {
        // Our own sink's errors: fetch passed them through without a diag.
        if (err == MPOTA_ERR_HTTP_TOO_LARGE) {
            mpota_diag_set(d, err, 0, MPOTA_HTTP_SMALL_MAX,
                           ss.stated != MPOTA_HTTP_LEN_UNKNOWN ? clamp32(ss.stated) : 0);
        } else {
            mpota_diag_set(d, err, 0, 0, clamp32((uint64_t)ss.len + 1u));
        }
        if (r) {
            snprintf(r->error, sizeof(r->error), "%s: more than %u bytes",
                     err == MPOTA_ERR_HTTP_TOO_LARGE ? "file too large" : "out of memory",
                     MPOTA_HTTP_SMALL_MAX);
        }
    }
    if (err) {
        free(ss.buf);
        return err;
    }
    ss.buf[ss.len] = '\0';
    *body = ss.buf;
    *len = ss.len;
    return 0;
}

/// URLs ///

int mpota_http_resolve(const char *base, const char *ref, char *out, size_t out_size,
                       struct mpota_diag *d)
{
    if (!base || !ref || !out) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
    }
    if (out_size) {
        out[0] = '\0';
    }
    if (!ensure_curl()) {
        return mpota_diag_set(d, MPOTA_ERR_NET, 0, 0, 0);
    }
    CURLU *u = curl_url();
    char *scheme = NULL, *full = NULL;
    int err = 0;
    if (!u || curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK) {
        err = mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
        mpota_diag_label(d, "base url", 8);
    } else if (curl_url_set(u, CURLUPART_URL, ref, 0) != CURLUE_OK ||  // relative to base
               curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
               (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
               curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
        err = mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
        mpota_diag_label(d, "url", 3);
    } else if (strlen(full) >= out_size) {
        err = mpota_diag_set(d, MPOTA_ERR_NO_SPACE, 0, clamp32(out_size), clamp32(strlen(full) + 1u));
    } else {
        memcpy(out, full, strlen(full) + 1u);
    }
    curl_free(scheme);
    curl_free(full);
    curl_url_cleanup(u);
    return err;
}
