// heatshrink encoder with an optimal parse (heatshrink_enc.h).
//
// Why only the longest match matters: let cost[i] be the fewest bits for
// in[i..len) after in[0..i). cost never grows with i (drop the first
// literal, or shorten the first copy by one byte: a copy of one byte where
// that beats a literal, else a literal, no dearer than the copy was), so of
// all copies at i the longest leaves the cheapest rest, and each position
// only chooses between a literal and its longest copy.
#include "heatshrink_enc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mpota/err.h"

#define NO_POS (-1)

struct parse {
    uint8_t *v;          // 2^w zeros (the decoder's first window), then the input
    size_t v_len;
    size_t zeros;        // 2^w
    unsigned w, l;
    uint16_t *match_len;  // per input byte: its longest copy (0: a literal), later the choice
    uint16_t *match_dist; // that copy's distance, 1..2^w
    uint64_t *cost;       // per input byte and one past the end: bits from here on
    int32_t *head;        // per two-byte key: its latest position in v
    int32_t *prev;        // per position modulo 2^w: the one before it with its key
    uint16_t *run;        // per position: equal bytes from there (capped at 2^l + 1)
    int32_t *run_head;    // per run key (byte, run, the byte after): as head
    int32_t *run_prev;    // as prev, for run keys
};

static unsigned key_at(const struct parse *p, size_t at)
{
    return (unsigned)p->v[at] << 8 | p->v[at + 1];
}

static size_t max_copy(const struct parse *p, size_t at)
{
    size_t left = p->v_len - at, most = (size_t)1 << p->l;
    return left < most ? left : most;
}

// Extends the copy from c, known to agree for `known` bytes, and keeps it if
// it is the longest yet. true once it reaches max: nothing can beat it.
static bool consider(const struct parse *p, size_t at, size_t c, size_t known, size_t max,
                     size_t *best, unsigned *dist)
{
    const uint8_t *from = p->v + c, *want = p->v + at;
    size_t n = known;
    while (n < max && from[n] == want[n]) {
        n++;
    }
    if (n > *best) {
        *best = n;
        *dist = (unsigned)(at - c);
    }
    return n == max;
}

// The longest copy for v[at..] from at most 2^w back (every earlier
// position with the same first two bytes, nearest first); 0 if under 2.
static unsigned copy_by_pairs(const struct parse *p, size_t at, unsigned *dist)
{
    size_t max = max_copy(p, at), best = 0, mask = p->zeros - 1;
    if (max < 2) {
        return 0;
    }
    for (int32_t c = p->head[key_at(p, at)]; c != NO_POS && at - (size_t)c <= p->zeros;
         c = p->prev[(size_t)c & mask]) {
        // A byte that differs where the best ends: this one cannot beat it.
        if (p->v[(size_t)c + best] == p->v[at + best] &&
            consider(p, at, (size_t)c, 2, max, &best, dist)) {
            break;
        }
    }
    return (unsigned)best;
}

static unsigned run_key(const struct parse *p, size_t at)
{
    unsigned k = p->run[at];
    return ((unsigned)p->v[at] * 40503u + k * 65599u + p->v[at + k]) & 0xFFFFu;
}

// The same inside a run of k equal bytes (the byte before is one of them):
// one back gives exactly k; only an earlier run of exactly k of that byte,
// followed by the same byte, gives more. Most of a diff is such runs of 0.
static unsigned copy_in_run(const struct parse *p, size_t at, unsigned *dist)
{
    size_t max = max_copy(p, at), k = p->run[at], best = k, mask = p->zeros - 1;
    *dist = 1;
    if (k >= max) {
        return (unsigned)max;
    }
    const uint8_t *want = p->v + at;
    for (int32_t c = p->run_head[run_key(p, at)]; c != NO_POS && at - (size_t)c <= p->zeros;
         c = p->run_prev[(size_t)c & mask]) {
        const uint8_t *from = p->v + c;
        // Another key in the bucket, or a byte that differs where the best ends.
        bool fits = p->run[c] == k && from[0] == want[0] && from[k] == want[k] &&
                    from[best] == want[best];
        if (fits && consider(p, at, (size_t)c, k + 1, max, &best, dist)) {
            break;
        }
    }
    return (unsigned)best;
}

static void insert(struct parse *p, size_t at)
{
    size_t slot = at & (p->zeros - 1);
    unsigned k = key_at(p, at);
    p->prev[slot] = p->head[k];
    p->head[k] = (int32_t)at;
    // A run that reaches the end, or is capped, is never followed by a byte
    // a copy could go on with.
    if (at + p->run[at] < p->v_len && p->run[at] <= (1u << p->l)) {
        k = run_key(p, at);
        p->run_prev[slot] = p->run_head[k];
        p->run_head[k] = (int32_t)at;
    }
}

// run[] from the end.
static void measure_runs(struct parse *p)
{
    uint16_t cap = (uint16_t)((1u << p->l) + 1u);
    p->run[p->v_len - 1] = 1;
    for (size_t at = p->v_len - 1; at-- > 0;) {
        bool same = p->v[at] == p->v[at + 1];
        p->run[at] = same && p->run[at + 1] < cap ? (uint16_t)(p->run[at + 1] + 1u)
                                                  : same ? cap : 1u;
    }
}

// A copy of one byte, for the one pair of parameters (window 2^4,
// lookahead 2^3) where its 8 bits beat a literal's 9.
static unsigned copy_one(const struct parse *p, size_t at, unsigned *dist)
{
    for (size_t d = 1; d <= p->zeros; d++) {
        if (p->v[at - d] == p->v[at]) {
            *dist = (unsigned)d;
            return 1;
        }
    }
    return 0;
}

// match_len/match_dist for every input byte. Positions before a search are
// in the chains; the window's zeros count as earlier positions.
static void find_matches(struct parse *p)
{
    for (size_t at = 0; at + 1 < p->v_len; at++) {
        if (at >= p->zeros) {
            unsigned dist = 0;
            unsigned n = p->v[at - 1] == p->v[at] ? copy_in_run(p, at, &dist)
                                                  : copy_by_pairs(p, at, &dist);
            if (n < 2 && 1u + p->w + p->l < 9u) {
                n = copy_one(p, at, &dist);
            }
            p->match_len[at - p->zeros] = (uint16_t)n;
            p->match_dist[at - p->zeros] = (uint16_t)dist;
        }
        insert(p, at);
    }
}

// cost[] from the end; match_len[i] is left non-zero only where the copy
// beats the literal.
static void choose(struct parse *p, size_t len)
{
    uint64_t copy_bits = 1u + p->w + p->l;
    p->cost[len] = 0;
    for (size_t i = len; i-- > 0;) {
        uint64_t literal = 9u + p->cost[i + 1];
        unsigned n = p->match_len[i];
        if (n && copy_bits + p->cost[i + n] < literal) {
            p->cost[i] = copy_bits + p->cost[i + n];
        } else {
            p->cost[i] = literal;
            p->match_len[i] = 0;
        }
    }
}

struct bits {
    struct mpota_buf *out;
    uint64_t acc;
    unsigned n;
};

static void put_bits(struct bits *b, uint32_t v, unsigned n)
{
    b->acc = b->acc << n | (v & ((1u << n) - 1u));
    b->n += n;
    while (b->n >= 8) {
        b->n -= 8;
        mpota_buf_byte(b->out, (uint8_t)(b->acc >> b->n));
    }
}

static void write_stream(const struct parse *p, const uint8_t *in, size_t len,
                         struct mpota_buf *out)
{
    struct bits b = {out, 0, 0};
    for (size_t i = 0; i < len;) {
        unsigned n = p->match_len[i];
        if (n) {
            put_bits(&b, 0, 1);
            put_bits(&b, p->match_dist[i] - 1u, p->w);
            put_bits(&b, n - 1u, p->l);
            i += n;
        } else {
            put_bits(&b, 1u << 8 | in[i], 9);
            i++;
        }
    }
    if (b.n) {
        put_bits(&b, 0, 8 - b.n);  // zero padding: no item fits in it
    }
}

static void parse_free(struct parse *p)
{
    free(p->v);
    free(p->match_len);
    free(p->match_dist);
    free(p->cost);
    free(p->head);
    free(p->prev);
    free(p->run);
    free(p->run_head);
    free(p->run_prev);
}

int mpota_heatshrink_encode(const uint8_t *in, size_t len, unsigned window_sz2,
                            unsigned lookahead_sz2, struct mpota_buf *out, uint64_t *bits)
{
    if (window_sz2 < MPOTA_HEATSHRINK_MIN_WINDOW_SZ2 ||
        window_sz2 > MPOTA_HEATSHRINK_MAX_WINDOW_SZ2 ||
        lookahead_sz2 < MPOTA_HEATSHRINK_MIN_LOOKAHEAD_SZ2 || lookahead_sz2 >= window_sz2 ||
        len > (size_t)INT32_MAX - (1u << window_sz2)) {
        return MPOTA_ERR_INVALID_ARG;
    }
    struct parse p = {.zeros = (size_t)1 << window_sz2, .w = window_sz2, .l = lookahead_sz2};
    p.v_len = p.zeros + len;
    p.v = calloc(p.v_len, 1);
    p.match_len = calloc(len + 1, sizeof(*p.match_len));
    p.match_dist = calloc(len + 1, sizeof(*p.match_dist));
    p.cost = malloc((len + 1) * sizeof(*p.cost));
    p.head = malloc(65536 * sizeof(*p.head));
    p.prev = malloc(p.zeros * sizeof(*p.prev));
    p.run = malloc(p.v_len * sizeof(*p.run));
    p.run_head = malloc(65536 * sizeof(*p.run_head));
    p.run_prev = malloc(p.zeros * sizeof(*p.run_prev));
    if (!p.v || !p.match_len || !p.match_dist || !p.cost || !p.head || !p.prev || !p.run ||
        !p.run_head || !p.run_prev) {
        parse_free(&p);
        return MPOTA_ERR_NO_SPACE;
    }
    if (len) {
        memcpy(p.v + p.zeros, in, len);
    }
    for (size_t k = 0; k < 65536; k++) {
        p.head[k] = p.run_head[k] = NO_POS;
    }
    measure_runs(&p);
    find_matches(&p);
    choose(&p, len);
    if (bits) {
        *bits = p.cost[0];
    }
    write_stream(&p, in, len, out);
    parse_free(&p);
    return out->failed ? MPOTA_ERR_NO_SPACE : MPOTA_OK;
}
