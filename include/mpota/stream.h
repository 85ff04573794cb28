// What a stream is, from its first bytes (issue 13): an app image, a gzip or
// zlib stream, or a detools delta patch. A front end asks before the update
// session sees a byte, so that it can route the stream through the stage
// that turns it into an image (inflate, delta) or straight into the session.
//
// Only the magic is read; whether the rest is valid is each stage's job, and
// a stream of none of these kinds goes to the session, whose pre-flight says
// what the file is.
#ifndef MPOTA_STREAM_H
#define MPOTA_STREAM_H

#include <stddef.h>
#include <stdint.h>

enum mpota_stream_kind {
    MPOTA_STREAM_MORE = 0,  // too few bytes to tell yet: call again with more
    MPOTA_STREAM_OTHER,     // none of the kinds below
    MPOTA_STREAM_APP,       // ESP app image magic 0xE9 (SPEC §4.1)
    MPOTA_STREAM_GZIP,      // gzip member, deflate: 1F 8B 08 (RFC 1952 §2.3.1)
    MPOTA_STREAM_ZLIB,      // zlib header: deflate, window <= 32 KiB, header check
                            // (RFC 1950 §2.2); a preset dictionary is left to the
                            // stage to refuse
    MPOTA_STREAM_DETOOLS,   // detools sequential patch: header byte 0x00..0x06
                            // (bit 7 and the type bits 0, a known compression; delta.h)
};

// Bytes that always suffice to tell: with this many, MPOTA_STREAM_MORE is
// never returned.
#define MPOTA_STREAM_SNIFF_LEN 3u

// The kind of a stream that starts with the n bytes at p (p may be NULL when
// n is 0). MPOTA_STREAM_MORE only while n < MPOTA_STREAM_SNIFF_LEN and the
// bytes so far could still start a gzip or zlib header; a whole stream
// shorter than that is MPOTA_STREAM_OTHER once the caller knows it ended.
enum mpota_stream_kind mpota_stream_kind(const uint8_t *p, size_t n);

// "app image", "gzip", "zlib", "detools patch", "other", "unknown" (MORE):
// for reports and labels.
const char *mpota_stream_kind_name(enum mpota_stream_kind k);

#endif
