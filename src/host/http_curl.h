// HTTP(S) downloads for the host tools, over libcurl.
//
// mpota_http_fetch() downloads one file into a caller-supplied sink that
// receives bytes at absolute file offsets. It resumes a dropped transfer with
// `Range: bytes=N-` from where the sink says it holds data, and never lets a
// server that ignores Range corrupt the result: a full (200) answer to a
// ranged request makes the sink restart from 0 first. It knows nothing of
// flash or of the update engine; the sink connects the two.
//
// Conventions (as in the rest of mpota):
// - Every object is caller-owned; nothing here keeps a pointer after a call
//   returns. The only global state is libcurl's, initialised once on first
//   use (curl_global_init) and never torn down. Not thread-safe.
// - Options zeroed out mean "use the defaults" (the MPOTA_HTTP_DEFAULT_*).
// - Functions return 0 or a negative enum mpota_err and fill the diag
//   (which may be NULL); an error a sink callback returns is passed back
//   unchanged and the diag is left as the sink left it.
// - Only http:// and https:// URLs are used, for the first request and for
//   every redirect.
#ifndef MPOTA_HTTP_CURL_H
#define MPOTA_HTTP_CURL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host_err.h"

#define MPOTA_HTTP_DEFAULT_RETRIES 5u
#define MPOTA_HTTP_DEFAULT_CONNECT_TIMEOUT_S 10u
#define MPOTA_HTTP_DEFAULT_STALL_TIMEOUT_S 20u
#define MPOTA_HTTP_DEFAULT_MIN_SPEED 1024u  // bytes per second, averaged over the stall window
#define MPOTA_HTTP_DEFAULT_DEADLINE_S 600u
#define MPOTA_HTTP_DEFAULT_MAX_REDIRECTS 10u
#define MPOTA_HTTP_DEFAULT_RETRY_DELAY_MS 500u
#define MPOTA_HTTP_MAX_RETRY_DELAY_MS 8000u  // the doubling retry delay stops growing here

// Size of the text buffers in struct mpota_http_result (both NUL-terminated).
#define MPOTA_HTTP_ERROR_SIZE 256u  // = libcurl's CURL_ERROR_SIZE
#define MPOTA_HTTP_URL_SIZE 1024u

// The most mpota_http_get_small() accepts: manifests and hash side files.
#define MPOTA_HTTP_SMALL_MAX (64u * 1024u)

// A length the server never stated (chunked answer without Content-Range).
#define MPOTA_HTTP_LEN_UNKNOWN UINT64_MAX

/// Options ///

// What to fetch and how hard to try. Zero every field you do not set.
struct mpota_http_opts {
    // The file's URL, http:// or https://. Required. "user:password@host"
    // credentials in it are used as with userpwd.
    const char *url;

    // PEM file with the CA certificate(s) to trust instead of the system's
    // store, e.g. the self-signed certificate of a local update server.
    // NULL = the system CA store.
    const char *cacert;

    // true = do not verify the server's certificate or host name, and allow a
    // redirect from https to http. Only for test servers: it gives up every
    // protection TLS offers.
    bool insecure;

    // "user:password" for HTTP basic auth, or NULL. Sent only to the origin
    // (scheme, host and port) of auth_origin: not to another origin a
    // redirect leads to, nor to a url on another origin; in clear text over
    // http.
    const char *userpwd;

    // The URL the user gave, when url was found through it (a manifest's
    // firmware, a side file): only a url on its origin gets userpwd, as a
    // redirect would. NULL = url itself.
    const char *auth_origin;

    // How many failed attempts are retried, in total, before giving up:
    // drops, truncated bodies, stalls, resets. 0 = MPOTA_HTTP_DEFAULT_RETRIES.
    // Not retried: a first attempt that got no HTTP answer at all (wrong
    // host or port, server down, TLS failure: retrying rarely helps, and the
    // user should hear it at once), HTTP error statuses and sink errors.
    unsigned retries;

    // Seconds to wait for the TCP (and TLS) connection.
    // 0 = MPOTA_HTTP_DEFAULT_CONNECT_TIMEOUT_S.
    unsigned connect_timeout_s;

    // An attempt that, once connected, receives nothing for this many
    // seconds, or less than min_speed bytes/s on average over that many
    // seconds, is abandoned (and retried). Checked about once a second.
    // 0 = MPOTA_HTTP_DEFAULT_STALL_TIMEOUT_S.
    unsigned stall_timeout_s;

    // The slowest average (bytes per second over stall_timeout_s) an
    // attempt may keep: a server dripping a byte a second never stalls, but
    // would never finish either. 0 = MPOTA_HTTP_DEFAULT_MIN_SPEED.
    unsigned min_speed;

    // Seconds the whole fetch may take, retries and the waits between them
    // included; then it fails with MPOTA_ERR_NET (r->deadline_passed).
    // 0 = MPOTA_HTTP_DEFAULT_DEADLINE_S.
    unsigned deadline_s;

    // Redirects (301, 302, 303, 307, 308) followed per attempt.
    // 0 = MPOTA_HTTP_DEFAULT_MAX_REDIRECTS.
    unsigned max_redirects;

    // Wait before the first retry, doubled before each further one up to
    // MPOTA_HTTP_MAX_RETRY_DELAY_MS. 0 = MPOTA_HTTP_DEFAULT_RETRY_DELAY_MS.
    unsigned retry_delay_ms;

    // true = send `Accept-Encoding: gzip`, so a server that keeps a .gz
    // beside the file (nginx gzip_static) sends that. Bodies are never
    // decoded here, whatever the server sends: on_data gets the bytes as
    // sent and ranges count them (the sink decodes; see on_encoding).
    bool accept_gzip;
};

/// The sink ///

// Where the bytes go. Callbacks get ctx as their first argument. Data
// arrives in order within one answer; after a resume it continues at the
// offset resume_offset() returned, and after on_restart() at 0.
struct mpota_http_sink {
    void *ctx;

    // Optional. The file's full length (Content-Length of a 200, or the
    // total of a 206's Content-Range) as soon as the server states it, before
    // the first on_data() of that answer. Called once per file: again only
    // after on_restart(), or while the sink holds nothing if the server now
    // states another length. Return 0, or a negative error to refuse (e.g.
    // larger than the slot): the fetch stops and returns it.
    int (*on_length)(void *ctx, uint64_t total);

    // Required. len > 0 bytes of the file at absolute offset off. Return 0,
    // or a negative error: the fetch stops at once, is not retried, and
    // returns that error unchanged.
    int (*on_data)(void *ctx, uint64_t off, const uint8_t *data, size_t len);

    // Optional. The server is sending the file from byte 0 again (it ignored
    // Range, or the file changed since the first attempt): discard
    // everything held, and expect on_length() and on_data() from offset 0.
    // Return 0 or a negative error (stops the fetch). If NULL, a restart
    // fails with MPOTA_ERR_HTTP_RANGE instead.
    int (*on_restart)(void *ctx);

    // Optional. How many bytes from offset 0 the sink holds for good; a
    // resumed request asks for the file from there. Asked before every
    // attempt, the first included, so a sink holding part of the file from an
    // earlier run resumes it (without If-Range: the caller vouches that it is
    // the same file). It may be less than what was delivered (data buffered
    // but not yet written); it must not be more. NULL = everything delivered
    // in this fetch.
    uint64_t (*resume_offset)(void *ctx);

    // Optional. The Content-Encoding of the file as the server sends it ("",
    // or the header's value, e.g. "gzip"), before on_length() of an answer
    // that sends the file from byte 0 (a 200), or of the first answer if it
    // continues a file held from an earlier run. The data is in that
    // encoding, undecoded. A 206 whose encoding differs from the file's is
    // dropped unread, as one for another range (the whole file is asked
    // for). Return 0 or a negative error (stops the fetch). If NULL, the
    // encoding is not looked at.
    int (*on_encoding)(void *ctx, const char *coding);
};

/// Result ///

// What happened, for progress reports and for the error message. Filled on
// success and on failure.
struct mpota_http_result {
    long status;          // HTTP status of the last answer; 0 if none arrived
    uint64_t total;       // the file's length, or MPOTA_HTTP_LEN_UNKNOWN
    uint64_t end;         // offset just past the last byte given to on_data (= total on success)
    uint64_t received;    // body bytes given to on_data over all attempts, repeats included
    unsigned attempts;    // requests made
    unsigned resumes;     // of them, requests with Range: bytes=N- (N > 0)
    unsigned restarts;    // on_restart() calls
    double seconds;       // wall time of the whole call
    bool deadline_passed; // gave up because deadline_s ran out
    // A sink callback refused: the error returned is the sink's, and the
    // sink's own record says why (the fetch left d untouched).
    bool sink_refused;
    // The URL of the last answer after redirects, credentials removed.
    char effective_url[MPOTA_HTTP_URL_SIZE];
    // One line on the last failure (libcurl's text, or which status or header
    // was wrong, and after how many attempts); "" on success. Front ends
    // print it after the diag text.
    char error[MPOTA_HTTP_ERROR_SIZE];
};

/// Functions ///

// Downloads o->url into the sink.
//
// Resuming: after a drop, the next attempt sends `Range: bytes=N-` with N =
// s->resume_offset(), plus `If-Range` with the first answer's strong ETag (or
// its Last-Modified), so a file replaced on the server comes back whole
// instead of spliced. Answers to a ranged request:
//   206 whose Content-Range starts at N (and, once the length is known,
//       states the same length)      -> data continues at N
//   206 starting elsewhere or with another length -> the answer is dropped
//       unread and from then on this fetch asks for the whole file, without
//       Range (counts as a failed attempt); the 200 it gets restarts the sink
//   200                              -> on_restart(), then the file from 0
//   416 stating a length equal to N  -> the sink already has the whole file: success
//   other 416                        -> MPOTA_ERR_HTTP_RANGE
// An attempt that ends cleanly but short of the stated length (a server
// answering ranges in pieces) is continued without counting as a failure.
//
// Redirects: followed up to max_redirects, http->https and https->https
// always, https->http only with insecure (a downgrade would expose the file
// and credentials to anyone on the path): MPOTA_ERR_HTTP_REDIRECT.
// Credentials go along only to the origin (scheme, host, port) they were for.
//
// Returns 0 once the sink holds the whole file (the stated length, or up to a
// clean end when no length was stated). Errors:
//   MPOTA_ERR_INVALID_ARG    missing url/on_data, malformed or non-http(s) URL
//   MPOTA_ERR_NET            no connection, drops or crawls until retries ran
//                            out, or the deadline passed (r->deadline_passed)
//                            (diag: offset = r->end, expected = length or 0,
//                            actual = attempts)
//   MPOTA_ERR_HTTP_STATUS    an answer other than 200/206 (diag actual = status)
//   MPOTA_ERR_HTTP_RANGE     416, or a restart the sink cannot take
//                            (diag offset = requested start, actual = length or 0)
//   MPOTA_ERR_HTTP_REDIRECT  too many redirects, https->http refused, or a
//                            redirect to a URL that is not http(s)
//   MPOTA_ERR_TLS            certificate not verified / TLS handshake failed
//   any error from a sink callback, unchanged
// r may be NULL when the caller needs no report.
int mpota_http_fetch(const struct mpota_http_opts *o, const struct mpota_http_sink *s,
                     struct mpota_http_result *r, struct mpota_diag *d);

// Fetches a small text file (a manifest, a .sha256 or .md5 side file) whole
// into a malloc'd buffer with a NUL after the last byte; the caller frees
// *body. At most MPOTA_HTTP_SMALL_MAX bytes: a longer file (stated or
// received) gives MPOTA_ERR_HTTP_TOO_LARGE (diag expected = the limit, actual
// = the stated length, or 0 if not stated). On error *body is NULL and *len
// 0. Same options, retries and errors as mpota_http_fetch(); r may be NULL.
int mpota_http_get_small(const struct mpota_http_opts *o, char **body, size_t *len,
                         struct mpota_http_result *r, struct mpota_diag *d);

// Resolves ref against base as a browser does (RFC 3986, by libcurl's URL
// parser): "app.bin" next to the manifest, "../v2/app.bin", "/fw/app.bin",
// or an absolute URL that replaces base. Writes the NUL-terminated result
// into out. The result must be http(s); characters such as spaces must be
// percent-encoded in ref. Returns 0, MPOTA_ERR_INVALID_ARG (diag label
// "base url" or "url") or MPOTA_ERR_NO_SPACE (expected = out_size,
// actual = bytes needed).
int mpota_http_resolve(const char *base, const char *ref, char *out, size_t out_size,
                       struct mpota_diag *d);

#endif
