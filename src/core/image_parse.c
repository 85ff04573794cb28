// The push parser for ESP app images (SPEC §4.1-4.9). It knows nothing of
// flash: bytes come in chunks of any size, it walks header -> segment headers
// -> segment data -> zero padding -> checksum byte -> appended SHA-256, and it
// checks what the bootloader checks in the order the bootloader checks it.
// The state is a handful of counters plus a 24-byte assembly buffer; nothing
// points into the caller's data between calls.
#include <string.h>

#include "mpota/bytes.h"
#include "mpota/hash.h"
#include "mpota/image.h"

enum {
    ST_HEADER,    // assembling the 24-byte header in buf
    ST_SEG_HDR,   // assembling an 8-byte segment header in buf
    ST_SEG_DATA,  // inside a segment's data
    ST_PAD,       // zero padding before the checksum byte
    ST_CHECKSUM,  // the checksum byte
    ST_HASH,      // the appended SHA-256
    ST_DONE,      // image complete; further bytes are trailing
    ST_FAILED,    // a problem that leaves the structure unreadable
};

// flags
#define F_HEADER 0x01u
#define F_DESC_KNOWN 0x02u
#define F_DESC_PRESENT 0x04u
#define F_COMPLETE 0x08u
#define F_HASH_BAD 0x10u
#define F_PADDED_END 0x20u  // digest[] holds the digest of the image padded to 4 KiB

// Secure Boot V2 signs the image padded to the next 4 KiB (sig.h): the
// digest at that point is taken from the same pass, like the image hash.
#define SIGNED_ALIGN 4096u

// Records the first problem; a fatal one also stops the walk.
static void problem(mpota_image_parser_t *p, int err, uint32_t off, uint32_t exp,
                    uint32_t act, bool fatal)
{
    if (!p->err) {
        p->err = err;
        p->err_off = off;
        p->err_exp = exp;
        p->err_act = act;
    }
    if (fatal) {
        p->state = ST_FAILED;
    }
}

static int report(const mpota_image_parser_t *p, struct mpota_diag *d)
{
    if (p->err) {
        return mpota_diag_set(d, p->err, p->err_off, p->err_exp, p->err_act);
    }
    return MPOTA_OK;
}

void mpota_image_parser_init(mpota_image_parser_t *p, uint16_t expected_chip,
                             uint32_t flash_addr, struct mpota_image_info *info)
{
    memset(p, 0, sizeof(*p));
    p->expected_chip = expected_chip;
    p->flash_addr = flash_addr;
    p->info = info;
    p->chip = MPOTA_CHIP_ANY;
    p->state = ST_HEADER;
    if (info) {
        memset(info, 0, sizeof(*info));
    }
    mpota_sha256_start(&p->sha);
}

static void desc_decided(mpota_image_parser_t *p, bool present)
{
    p->flags |= F_DESC_KNOWN | (present ? F_DESC_PRESENT : 0);
    p->events |= MPOTA_IMAGE_EV_APP_DESC;
    if (p->info) {
        p->info->app_desc_present = present;
    }
}

// Feeds the description window. esp_app_desc_t is read from image offset 0x20
// whatever the segment layout (as esp_ota_get_partition_description does);
// elf2image always puts it at the start of segment 0 (SPEC §4.7).
static void feed_desc(mpota_image_parser_t *p, uint32_t start, const uint8_t *b, size_t n)
{
    const uint32_t lo = MPOTA_APP_DESC_OFFSET, hi = MPOTA_APP_DESC_OFFSET + MPOTA_APP_DESC_LEN;
    uint32_t end = start + (uint32_t)n;
    if (end <= lo || start >= hi) {
        return;
    }
    for (uint32_t at = start > lo ? start : lo; at < end && at < hi; at++) {
        uint32_t o = at - lo;
        uint8_t v = b[at - start];
        if (o < 4) {
            p->desc_magic |= (uint32_t)v << (8 * o);
        }
        if (p->info) {
            mpota_app_desc_put(&p->info->app_desc, o, v);
            if (o < MPOTA_BOOTLOADER_DESC_LEN) {
                mpota_bootloader_desc_put(&p->info->bootloader_desc, o, v);
            }
        }
    }
    // A bootloader image starts its first (RAM) segment with the 80-byte
    // esp_bootloader_desc_t, magic byte 0x50 (SPEC §4.8).
    const uint32_t bd_end = lo + MPOTA_BOOTLOADER_DESC_LEN;
    if (p->info && start < bd_end && end >= bd_end) {
        p->info->bootloader_desc_present =
            p->seg0_ram && (p->desc_magic & 0xFFu) == MPOTA_BOOTLOADER_DESC_MAGIC;
    }
    if (!(p->flags & F_DESC_KNOWN)) {
        if (end >= lo + 4 && p->desc_magic != MPOTA_APP_DESC_MAGIC) {
            desc_decided(p, false);
        } else if (end >= hi) {
            desc_decided(p, true);
        }
    }
}

// Hashes a span that lies within [0, checksum byte] and advances pos.
static void consume(mpota_image_parser_t *p, const uint8_t *b, size_t n)
{
    mpota_sha256_update(&p->sha, b, n);
    feed_desc(p, p->pos, b, n);
    p->pos += (uint32_t)n;
}

// The running hash, cloned (never copied: on ESP32 the context holds engine
// state) and finished into digest[].
static void snapshot_digest(mpota_image_parser_t *p)
{
    mpota_sha256_t at;
    mpota_sha256_clone(&at, &p->sha);
    mpota_sha256_finish(&at, p->digest);
}

// At the image padded to 4 KiB: what a Secure Boot V2 block signs. digest[]
// is free again (the appended hash was compared before the image completed).
static void padded_end(mpota_image_parser_t *p)
{
    snapshot_digest(p);
    p->flags |= F_PADDED_END;
}

static void complete(mpota_image_parser_t *p)
{
    p->state = ST_DONE;
    p->flags |= F_COMPLETE;
    p->left = (SIGNED_ALIGN - p->pos % SIGNED_ALIGN) % SIGNED_ALIGN;  // padding before the sector
    if (!p->left) {
        padded_end(p);
    }
    p->events |= MPOTA_IMAGE_EV_COMPLETE;
    if (!(p->flags & F_DESC_KNOWN)) {
        desc_decided(p, false);  // image shorter than 0x120 bytes
    }
    if (p->info) {
        p->info->complete = true;
        p->info->image_len = p->pos;
    }
}

static void header_done(mpota_image_parser_t *p)
{
    const uint8_t *h = p->buf;
    p->seg_count = h[1];
    p->chip = mpota_le16(h + 12);
    p->hash_appended = h[23];
    p->flags |= F_HEADER;
    p->events |= MPOTA_IMAGE_EV_HEADER;
    if (p->info) {
        mpota_image_header_decode(h, &p->info->header);
    }
    // SPEC §4.9 step 3: chip id, then segment count. A foreign chip does not
    // stop the walk (the rest is still readable), a bad count does.
    if (p->expected_chip != MPOTA_CHIP_ANY && p->chip != p->expected_chip) {
        problem(p, MPOTA_ERR_IMAGE_CHIP, 12, p->expected_chip, p->chip, false);
    }
    if (p->seg_count == 0 || p->seg_count > MPOTA_IMAGE_MAX_SEGMENTS) {
        problem(p, MPOTA_ERR_IMAGE_SEGMENT_COUNT, 1, MPOTA_IMAGE_MAX_SEGMENTS, p->seg_count,
                true);
        return;
    }
    // esptool refuses anything but 0/1 here; IDF only tests for 1.
    if (p->hash_appended > 1) {
        problem(p, MPOTA_ERR_IMAGE_HASH_FLAG, 23, 1, p->hash_appended, true);
        return;
    }
    p->state = ST_SEG_HDR;
    p->left = MPOTA_IMAGE_SEG_HEADER_LEN;
}

static void data_done(mpota_image_parser_t *p)
{
    p->seg_index++;
    if (p->seg_index < p->seg_count) {
        p->state = ST_SEG_HDR;
        p->left = MPOTA_IMAGE_SEG_HEADER_LEN;
        return;
    }
    p->checksum_off = mpota_image_checksum_end(p->pos) - 1u;
    if (p->info) {
        p->info->checksum_off = p->checksum_off;
    }
    p->left = p->checksum_off - p->pos;
    p->state = p->left ? ST_PAD : ST_CHECKSUM;
}

static void seg_header_done(mpota_image_parser_t *p)
{
    uint32_t hdr_off = p->pos - MPOTA_IMAGE_SEG_HEADER_LEN;
    uint32_t load = mpota_le32(p->buf), len = mpota_le32(p->buf + 4);
    bool mapped = mpota_chip_is_mapped_addr(p->chip, load);
    if (p->info) {
        struct mpota_image_segment *s = &p->info->segments[p->seg_index];
        s->load_addr = load;
        s->data_len = len;
        s->file_off = hdr_off;
        p->info->segments_seen = (uint8_t)(p->seg_index + 1u);
    }
    if (p->seg_index == 0) {
        p->seg0_ram = !mapped;
    }
    if (!mpota_image_seg_len_ok(len)) {
        problem(p, MPOTA_ERR_IMAGE_SEGMENT_LEN, hdr_off, 0, len, true);
        return;
    }
    // SPEC §4.9 step 5: the load range must not wrap.
    if (load > UINT32_MAX - len) {
        problem(p, MPOTA_ERR_IMAGE_WRAP, hdr_off, 0, load, true);
        return;
    }
    // SPEC §4.9: the MMU maps whole pages, so a mapped segment's data must sit
    // at the same offset within its flash page as within its address page.
    if (mapped) {
        uint32_t flash = p->flash_addr + p->pos;
        if (flash % MPOTA_IMAGE_MMU_PAGE != load % MPOTA_IMAGE_MMU_PAGE) {
            problem(p, MPOTA_ERR_IMAGE_SEGMENT_MAP, hdr_off, flash % MPOTA_IMAGE_MMU_PAGE, load,
                    false);
        }
    }
    p->seg_end = p->pos + len;
    p->left = len;
    p->state = ST_SEG_DATA;
    if (len == 0) {
        data_done(p);
    }
}

static size_t min_sz(size_t a, uint32_t b)
{
    return a < b ? a : b;
}

// The 24-byte header (SPEC §4.2); a wrong first byte fails at once.
static size_t take_header(mpota_image_parser_t *p, const uint8_t *b, size_t len)
{
    if (p->pos == 0 && b[0] != MPOTA_IMAGE_MAGIC) {
        problem(p, MPOTA_ERR_IMAGE_MAGIC, 0, MPOTA_IMAGE_MAGIC, b[0], true);
        return 0;
    }
    size_t n = min_sz(len, MPOTA_IMAGE_HEADER_LEN - p->pos);
    memcpy(p->buf + p->pos, b, n);
    consume(p, b, n);
    if (p->pos == MPOTA_IMAGE_HEADER_LEN) {
        header_done(p);
    }
    return n;
}

// A segment header: load address and length.
static size_t take_seg_header(mpota_image_parser_t *p, const uint8_t *b, size_t len)
{
    size_t n = min_sz(len, p->left);
    memcpy(p->buf + (MPOTA_IMAGE_SEG_HEADER_LEN - p->left), b, n);
    consume(p, b, n);
    p->left -= (uint32_t)n;
    if (!p->left) {
        seg_header_done(p);
    }
    return n;
}

// Segment data, XORed into the checksum (SPEC §4.5: headers excluded).
static size_t take_seg_data(mpota_image_parser_t *p, const uint8_t *b, size_t len)
{
    size_t n = min_sz(len, p->left);
    uint8_t x = p->checksum;
    for (size_t i = 0; i < n; i++) {
        x ^= b[i];
    }
    p->checksum = x;
    consume(p, b, n);
    p->left -= (uint32_t)n;
    if (!p->left) {
        data_done(p);
    }
    return n;
}

// The zero padding before the checksum byte.
static size_t take_pad(mpota_image_parser_t *p, const uint8_t *b, size_t len)
{
    size_t n = min_sz(len, p->left);
    for (size_t i = 0; i < n; i++) {
        // Not a bootloader check, but the hash covers it (SPEC §4.6).
        if (b[i] && p->info) {
            p->info->padding_nonzero = true;
        }
    }
    consume(p, b, n);
    p->left -= (uint32_t)n;
    if (!p->left) {
        p->state = ST_CHECKSUM;
    }
    return n;
}

// The checksum byte, and with it the image's own SHA-256 (SPEC §4.6).
static size_t take_checksum(mpota_image_parser_t *p, const uint8_t *b, size_t len)
{
    (void)len;  // one byte
    uint8_t calc = (uint8_t)(MPOTA_IMAGE_CHECKSUM_SEED ^ p->checksum);
    p->stored_checksum = b[0];
    consume(p, b, 1);
    // The image's SHA-256 covers everything through this
    // byte. Finish a copy, so the running hash goes on over the whole
    // stream (mpota_image_parser_stream_digest): one pass serves both.
    snapshot_digest(p);
    if (p->info) {
        p->info->checksum_stored = b[0];
        p->info->checksum_calc = calc;
        memcpy(p->info->hash_calc, p->digest, sizeof(p->digest));
    }
    if (b[0] != calc) {
        problem(p, MPOTA_ERR_IMAGE_CHECKSUM, p->checksum_off, calc, b[0], false);
    }
    if (p->hash_appended) {
        p->state = ST_HASH;
        p->left = MPOTA_IMAGE_HASH_LEN;
    } else {
        complete(p);
    }
    return 1;
}

// The appended SHA-256, compared byte by byte.
static size_t take_hash(mpota_image_parser_t *p, const uint8_t *b, size_t len)
{
    size_t n = min_sz(len, p->left);
    for (size_t i = 0; i < n; i++) {
        uint32_t k = MPOTA_IMAGE_HASH_LEN - p->left + (uint32_t)i;
        if (b[i] != p->digest[k]) {
            p->flags |= F_HASH_BAD;
        }
        if (p->info) {
            p->info->hash_stored[k] = b[i];
        }
    }
    mpota_sha256_update(&p->sha, b, n);
    p->pos += (uint32_t)n;
    p->left -= (uint32_t)n;
    if (!p->left) {
        if (p->flags & F_HASH_BAD) {
            problem(p, MPOTA_ERR_IMAGE_HASH, p->checksum_off + 1u, 0, 0, false);
        }
        complete(p);
    }
    return n;
}

// After the image (trailing bytes: hashed into the stream digest), or after
// a failure: all of it is taken.
static size_t take_rest(mpota_image_parser_t *p, const uint8_t *b, size_t len)
{
    if (p->state != ST_DONE) {
        return len;
    }
    size_t pad = (p->flags & F_PADDED_END) ? 0 : min_sz(len, p->left);
    mpota_sha256_update(&p->sha, b, pad);
    p->left -= (uint32_t)pad;
    if (!(p->flags & F_PADDED_END) && !p->left) {
        padded_end(p);
    }
    mpota_sha256_update(&p->sha, b + pad, len - pad);
    return len;
}

int mpota_image_parser_push(mpota_image_parser_t *p, const void *data, size_t len,
                            struct mpota_diag *d)
{
    const uint8_t *b = data;
    p->total = len > UINT32_MAX - p->total ? UINT32_MAX : p->total + (uint32_t)len;
    if (p->info) {
        p->info->total_len = p->total;
    }
    while (len) {
        size_t n;
        switch (p->state) {
        case ST_HEADER:
            n = take_header(p, b, len);
            break;
        case ST_SEG_HDR:
            n = take_seg_header(p, b, len);
            break;
        case ST_SEG_DATA:
            n = take_seg_data(p, b, len);
            break;
        case ST_PAD:
            n = take_pad(p, b, len);
            break;
        case ST_CHECKSUM:
            n = take_checksum(p, b, len);
            break;
        case ST_HASH:
            n = take_hash(p, b, len);
            break;
        default:
            n = take_rest(p, b, len);
            break;
        }
        if (p->state == ST_FAILED) {
            break;
        }
        b += n;
        len -= n;
    }
    return report(p, d);
}

uint32_t mpota_image_parser_min_len(const mpota_image_parser_t *p)
{
    uint32_t data_end;
    uint32_t later_headers = 0;
    switch (p->state) {
    case ST_HEADER: {
        // Before byte 1 we do not know the count; an image has at least one.
        uint32_t count = (p->pos >= 2 && p->buf[1]) ? p->buf[1] : 1u;
        data_end = MPOTA_IMAGE_HEADER_LEN + count * MPOTA_IMAGE_SEG_HEADER_LEN;
        return mpota_image_checksum_end(data_end);
    }
    case ST_SEG_HDR:
        later_headers = (uint32_t)(p->seg_count - p->seg_index - 1u) * MPOTA_IMAGE_SEG_HEADER_LEN;
        data_end = p->pos + p->left + later_headers;
        break;
    case ST_SEG_DATA:
        later_headers = (uint32_t)(p->seg_count - p->seg_index - 1u) * MPOTA_IMAGE_SEG_HEADER_LEN;
        data_end = p->seg_end + later_headers;
        break;
    case ST_PAD:
    case ST_CHECKSUM:
    case ST_HASH:
        data_end = p->checksum_off;
        break;
    default:  // ST_DONE: pos stops at the image end; ST_FAILED: nothing more to say
        return p->pos;
    }
    return mpota_image_checksum_end(data_end) + (p->hash_appended ? MPOTA_IMAGE_HASH_LEN : 0u);
}

int mpota_image_parser_finish(mpota_image_parser_t *p, struct mpota_diag *d)
{
    if (p->state != ST_DONE && p->state != ST_FAILED) {
        problem(p, MPOTA_ERR_IMAGE_TRUNCATED, p->pos, mpota_image_parser_min_len(p), p->pos,
                true);
    }
    return report(p, d);
}

unsigned mpota_image_parser_events(mpota_image_parser_t *p)
{
    unsigned ev = p->events;
    p->events = 0;
    return ev;
}

bool mpota_image_parser_header_known(const mpota_image_parser_t *p)
{
    return (p->flags & F_HEADER) != 0;
}

bool mpota_image_parser_app_desc_known(const mpota_image_parser_t *p, bool *present)
{
    if (present) {
        *present = (p->flags & F_DESC_PRESENT) != 0;
    }
    return (p->flags & F_DESC_KNOWN) != 0;
}

bool mpota_image_parser_complete(const mpota_image_parser_t *p)
{
    return (p->flags & F_COMPLETE) != 0;
}

int mpota_image_parser_error(const mpota_image_parser_t *p)
{
    return p->err;
}

int mpota_image_parse(const uint8_t *buf, size_t len, uint16_t expected_chip,
                      struct mpota_image_info *info, struct mpota_diag *d)
{
    mpota_image_parser_t p;
    mpota_image_parser_init(&p, expected_chip, 0, info);
    (void)mpota_image_parser_push(&p, buf, len, NULL);
    int rc = mpota_image_parser_finish(&p, d);
    mpota_image_parser_release(&p);
    return rc;
}

bool mpota_image_parser_len_known(const mpota_image_parser_t *p)
{
    switch (p->state) {
    case ST_SEG_DATA:
        return p->seg_index + 1u >= p->seg_count;
    case ST_PAD:
    case ST_CHECKSUM:
    case ST_HASH:
    case ST_DONE:
        return true;
    default:
        return false;
    }
}

bool mpota_image_parser_padded_digest(const mpota_image_parser_t *p,
                                      uint8_t out[MPOTA_IMAGE_HASH_LEN])
{
    if (!(p->flags & F_PADDED_END)) {
        return false;
    }
    memcpy(out, p->digest, MPOTA_IMAGE_HASH_LEN);
    return true;
}

void mpota_image_parser_stream_digest(mpota_image_parser_t *p, uint8_t out[MPOTA_IMAGE_HASH_LEN])
{
    mpota_sha256_finish(&p->sha, out);
}

void mpota_image_parser_release(mpota_image_parser_t *p)
{
    mpota_sha256_free(&p->sha);
}
