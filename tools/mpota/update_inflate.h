// The inflate stage of `mpota flash update` (issue 13): the source's first
// bytes say what it is (mpota/stream.h); a gzip or zlib stream goes through
// the inflate stage (inflate_zlib.h) into the session, anything else into the
// session as it is. A file name, a manifest or a server that says the source
// is compressed must be confirmed by those bytes.
//
// The source's own size (a file's, a Content-Length) is the image's only when
// the source is not compressed: it is declared to the session (checked
// against the slot before anything is erased) only once the first bytes have
// said so. A manifest's "length" is the image's and goes in the session's
// options as before.
#ifndef MPOTA_CLI_UPDATE_INFLATE_H
#define MPOTA_CLI_UPDATE_INFLATE_H

#include <stdbool.h>
#include <stdint.h>

#include "inflate_zlib.h"
#include "mpota/session.h"
#include "mpota/stream.h"

struct update_inflate {
    mpota_session_t *session;
    const char *stated;              // who said it is compressed ("the manifest's ..."); NULL: nobody
    enum mpota_stream_kind stated_kind;  // what they said: GZIP or ZLIB
    bool stated_by_server;           // by Content-Encoding: only for the answer that said it
    bool routed;                     // the first bytes have said what the source is
    bool on;                         // compressed: bytes go through the stage ...
    enum mpota_stream_kind kind;     // ... as this (GZIP or ZLIB)
    uint8_t held[MPOTA_STREAM_SNIFF_LEN];  // the first bytes, until they tell
    uint8_t held_len;
    bool has_size;                   // the source's size is known ...
    uint64_t size;                   // ... this
    struct mpota_diag diag;          // the router's own refusals
    mpota_inflate_zlib_t z;
};

// Starts routing a new source into session s (begun). Frees an earlier stage.
void update_inflate_begin(struct update_inflate *u, mpota_session_t *s);

// Someone says the source is compressed (kind GZIP or ZLIB): `who` is said
// when the first bytes disagree. The first to say it is kept.
void update_inflate_expect(struct update_inflate *u, const char *who,
                           enum mpota_stream_kind kind);

// An HTTP answer's Content-Encoding ("" for none): gzip and x-gzip say gzip,
// deflate says zlib (RFC 9110 §8.4.1.2), anything else is refused
// (MPOTA_ERR_INFLATE_HEADER, label the header).
int update_inflate_encoding(struct update_inflate *u, const char *coding);

// The source's size in bytes (file size, Content-Length): declared to the
// session if the source turns out to be the image itself.
int update_inflate_size(struct update_inflate *u, uint64_t total);

// The source's bytes at offset off: in order once compressed (a resumed
// download continues at update_inflate_taken()), anywhere the session takes
// them otherwise.
int update_inflate_write(struct update_inflate *u, uint64_t off, const uint8_t *p, uint32_t n);

// After the source's last byte: a compressed stream must have ended.
int update_inflate_finish(struct update_inflate *u);

// The source is sent again from byte 0: routing starts over (the caller
// restarts the session). What the server said goes with its answer.
void update_inflate_restart(struct update_inflate *u);

// Source bytes kept for good: where a dropped download resumes.
uint64_t update_inflate_taken(const struct update_inflate *u);

// The record of the stage that refused rc: the session's when it refused
// the image, else the inflate stage's, else the router's own.
const struct mpota_diag *update_inflate_diag(const struct update_inflate *u, int rc);

// Frees zlib's state.
void update_inflate_end(struct update_inflate *u);

#endif
