// The inflate stage of `mpota flash update` (update_inflate.h).
#include "update_inflate.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void update_inflate_begin(struct update_inflate *u, mpota_session_t *s)
{
    update_inflate_end(u);
    memset(u, 0, sizeof(*u));
    u->session = s;
}

void update_inflate_expect(struct update_inflate *u, const char *who,
                           enum mpota_stream_kind kind)
{
    if (!u->stated) {
        u->stated = who;
        u->stated_kind = kind;
    }
}

static int refuse(struct update_inflate *u, int err, const char *label)
{
    mpota_diag_set(&u->diag, err, 0, 0, 0);
    mpota_diag_label(&u->diag, label, MPOTA_DIAG_LABEL_MAX);
    return err;
}

int update_inflate_encoding(struct update_inflate *u, const char *coding)
{
    if (!coding[0] || strcasecmp(coding, "identity") == 0) {
        return MPOTA_OK;
    }
    bool gzip = strcasecmp(coding, "gzip") == 0 || strcasecmp(coding, "x-gzip") == 0;
    if (!gzip && strcasecmp(coding, "deflate") != 0) {
        // br, zstd, compress, or a list of codings: bytes this tool cannot
        // read would reach the session as an image.
        char label[MPOTA_DIAG_LABEL_MAX + 1];
        snprintf(label, sizeof(label), "Content-Encoding: %s", coding);
        return refuse(u, MPOTA_ERR_INFLATE_HEADER, label);
    }
    if (!u->stated) {
        u->stated_by_server = true;
    }
    update_inflate_expect(u, gzip ? "the server (Content-Encoding: gzip)"
                                  : "the server (Content-Encoding: deflate)",
                          gzip ? MPOTA_STREAM_GZIP : MPOTA_STREAM_ZLIB);
    return MPOTA_OK;
}

int update_inflate_size(struct update_inflate *u, uint64_t total)
{
    u->has_size = true;
    u->size = total;
    // Already known to be the image itself (a length stated late): say it now.
    return u->routed && !u->on ? mpota_session_declare_size(u->session, total) : MPOTA_OK;
}

static int to_session(void *ctx, const uint8_t *p, uint32_t n)
{
    return mpota_session_write(ctx, p, n);
}

// The first bytes (k) deny what was said of the source: which kind they are.
static int denied(struct update_inflate *u, enum mpota_stream_kind k)
{
    char label[MPOTA_DIAG_LABEL_MAX + 1];
    const char *want = mpota_stream_kind_name(u->stated_kind);
    if (k == MPOTA_STREAM_OTHER) {
        int n = snprintf(label, sizeof(label), "first bytes");
        for (unsigned i = 0; i < u->held_len; i++) {
            n += snprintf(label + n, sizeof(label) - (size_t)n, " %02X", u->held[i]);
        }
        snprintf(label + n, sizeof(label) - (size_t)n, ", not %s", want);
    } else {
        snprintf(label, sizeof(label), "%s, not %s", mpota_stream_kind_name(k), want);
    }
    return refuse(u, MPOTA_ERR_INFLATE_HEADER, label);
}

// The first bytes said the source is k (MORE: it ended before they could):
// through the inflate stage, or into the session with the source's size.
static int route(struct update_inflate *u, enum mpota_stream_kind k)
{
    u->routed = true;
    if (u->stated && k != u->stated_kind && k != MPOTA_STREAM_MORE) {
        return denied(u, k);
    }
    enum mpota_stream_kind kind = u->stated ? u->stated_kind : k;
    if (kind == MPOTA_STREAM_GZIP || kind == MPOTA_STREAM_ZLIB) {
        // The slot bounds the output: a bomb stops there.
        const struct mpota_partition *t = mpota_session_target(u->session);
        const struct mpota_inflate_zlib_cfg cfg = {kind, t ? t->size : 1, t ? t->label : NULL,
                                                   to_session, u->session};
        u->on = true;
        u->kind = kind;
        int rc = mpota_inflate_zlib_begin(&u->z, &cfg);
        return rc ? rc : mpota_inflate_zlib_push(&u->z, u->held, u->held_len);
    }
    int rc = u->has_size ? mpota_session_declare_size(u->session, u->size) : MPOTA_OK;
    return rc ? rc : mpota_session_write(u->session, u->held, u->held_len);
}

// Holds the first bytes until they tell what the source is, then routes it.
// *used: how many of p it took.
static int sniff(struct update_inflate *u, const uint8_t *p, uint32_t n, uint32_t *used)
{
    uint32_t room = MPOTA_STREAM_SNIFF_LEN - u->held_len;
    *used = n < room ? n : room;
    memcpy(u->held + u->held_len, p, *used);
    u->held_len = (uint8_t)(u->held_len + *used);
    enum mpota_stream_kind k = mpota_stream_kind(u->held, u->held_len);
    return k == MPOTA_STREAM_MORE ? MPOTA_OK : route(u, k);
}

int update_inflate_write(struct update_inflate *u, uint64_t off, const uint8_t *p, uint32_t n)
{
    if (!u->routed || u->on) {
        uint64_t at = update_inflate_taken(u);
        if (off != at) {
            // In order only: what the stage took cannot be taken back.
            mpota_diag_set(&u->diag, MPOTA_ERR_BAD_STATE, (uint32_t)off, (uint32_t)at, 0);
            return MPOTA_ERR_BAD_STATE;
        }
    }
    if (!u->routed) {
        uint32_t used;
        int rc = sniff(u, p, n, &used);
        if (rc || used == n) {
            return rc;
        }
        p += used;
        n -= used;
        off += used;
    }
    return u->on ? mpota_inflate_zlib_push(&u->z, p, n)
                 : mpota_session_write_at(u->session, (uint32_t)off, p, n);
}

int update_inflate_finish(struct update_inflate *u)
{
    // Fewer bytes than the magic needs: what was said of the source decides.
    int rc = u->routed ? MPOTA_OK : route(u, mpota_stream_kind(u->held, u->held_len));
    return rc || !u->on ? rc : mpota_inflate_zlib_finish(&u->z);
}

void update_inflate_restart(struct update_inflate *u)
{
    update_inflate_end(u);
    if (u->stated_by_server) {
        u->stated = NULL;  // the new answer says its own Content-Encoding
        u->stated_by_server = false;
    }
    u->routed = u->on = u->has_size = false;
    u->held_len = 0;
    memset(&u->diag, 0, sizeof(u->diag));
}

uint64_t update_inflate_taken(const struct update_inflate *u)
{
    if (!u->routed) {
        return u->held_len;  // held here, routed with the next bytes
    }
    return u->on ? mpota_inflate_zlib_in(&u->z) : mpota_session_offset(u->session);
}

const struct mpota_diag *update_inflate_diag(const struct update_inflate *u, int rc)
{
    const struct mpota_diag *sd = mpota_session_diag(u->session);
    if (sd->err == rc) {
        return sd;
    }
    const struct mpota_diag *zd = mpota_inflate_zlib_diag(&u->z);
    return u->on && zd->err == rc ? zd : &u->diag;
}

void update_inflate_end(struct update_inflate *u)
{
    mpota_inflate_zlib_end(&u->z);
}
