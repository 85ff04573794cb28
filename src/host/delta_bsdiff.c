// bsdiff's search (delta_bsdiff.h), after Colin Percival's "Naive
// differences of executable code" (2003): look for the longest match of
// NEW's next bytes anywhere in OLD; accept it once it beats the alignment
// already being followed by more than 8 bytes; then let the diff of the
// previous match grow forwards and the new one's grow backwards for as long
// as more than half of their bytes agree. Code rebuilt with shifted
// addresses then differs from OLD in a few bytes per word, which the diff
// holds as small numbers that compress well; the rest is extra.
#include "delta_bsdiff.h"

#include <divsufsort.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mpota/err.h"

struct search {
    const uint8_t *old, *new_;
    int64_t old_len, new_len;
    const saidx_t *sa;  // OLD's suffixes in sorted order
};

// The end of the last triple: the NEW byte its diff would go on from, the
// OLD byte under it, and the alignment (OLD position - NEW position) of the
// match it ended with.
struct cursor {
    int64_t scan, pos, offset;
};

struct match {
    int64_t scan, len, pos;  // new_[scan..scan+len) equals old[pos..pos+len)
};

static int64_t common_len(const uint8_t *a, int64_t a_len, const uint8_t *b, int64_t b_len)
{
    int64_t n = a_len < b_len ? a_len : b_len, i = 0;
    while (i < n && a[i] == b[i]) {
        i++;
    }
    return i;
}

// The longest match of new_[at..] in OLD. The binary search stops at the two
// suffixes NEW's bytes sort between; one of them shares the longest prefix.
static int64_t longest_match(const struct search *s, int64_t at, int64_t *pos)
{
    *pos = 0;
    if (s->old_len == 0) {
        return 0;
    }
    const uint8_t *want = s->new_ + at;
    int64_t want_len = s->new_len - at, lo = 0, hi = s->old_len - 1;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2, suffix_len = s->old_len - s->sa[mid];
        int cmp = memcmp(s->old + s->sa[mid], want,
                         (size_t)(suffix_len < want_len ? suffix_len : want_len));
        // A suffix that is a prefix of what is wanted sorts before it.
        if (cmp < 0 || (cmp == 0 && suffix_len < want_len)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    int64_t a = common_len(s->old + s->sa[lo], s->old_len - s->sa[lo], want, want_len);
    int64_t b = common_len(s->old + s->sa[hi], s->old_len - s->sa[hi], want, want_len);
    *pos = a > b ? s->sa[lo] : s->sa[hi];
    return a > b ? a : b;
}

// 1 when NEW's byte i equals OLD's byte at the alignment offset.
static int64_t same_at(const struct search *s, int64_t i, int64_t offset)
{
    int64_t j = i + offset;
    return j >= 0 && j < s->old_len && s->old[j] == s->new_[i];
}

// Moves m to the next match worth a triple: one that the old alignment does
// not explain. old_score counts the bytes of new_[m->scan..m->scan+m->len)
// that the old alignment already gets right. Returns true when a triple
// should end at m->scan (a better match, or the end of NEW).
static bool next_match(const struct search *s, int64_t offset, struct match *m)
{
    int64_t old_score = 0;
    m->scan += m->len;
    int64_t scored = m->scan;
    for (; m->scan < s->new_len; m->scan++) {
        m->len = longest_match(s, m->scan, &m->pos);
        for (; scored < m->scan + m->len; scored++) {
            old_score += same_at(s, scored, offset);
        }
        // All of it is the old alignment going on (skip it whole), or the
        // match gets more than 8 bytes more right than that alignment.
        if ((m->len == old_score && m->len) || m->len > old_score + 8) {
            break;
        }
        old_score -= same_at(s, m->scan, offset);
    }
    return m->len != old_score || m->scan == s->new_len;
}

// How far the diff from (scan, pos) should run, up to limit in NEW: the
// length where twice the agreeing bytes minus the length peaks.
static int64_t extend_forward(const struct search *s, int64_t scan, int64_t pos, int64_t limit)
{
    int64_t agree = 0, best = 0, best_len = 0;
    for (int64_t i = 0; scan + i < limit && pos + i < s->old_len; i++) {
        agree += s->old[pos + i] == s->new_[scan + i];
        if (2 * agree - (i + 1) > best) {
            best = 2 * agree - (i + 1);
            best_len = i + 1;
        }
    }
    return best_len;
}

// The same backwards from the match at (scan, pos), down to floor in NEW.
static int64_t extend_backward(const struct search *s, int64_t scan, int64_t pos, int64_t floor)
{
    int64_t agree = 0, best = 0, best_len = 0;
    for (int64_t i = 1; scan - i >= floor && pos - i >= 0; i++) {
        agree += s->old[pos - i] == s->new_[scan - i];
        if (2 * agree - i > best) {
            best = 2 * agree - i;
            best_len = i;
        }
    }
    return best_len;
}

// The two extensions overlap by `overlap` NEW bytes: how many of them the
// forward one keeps, so that each byte goes where it agrees best.
static int64_t split_overlap(const struct search *s, const struct cursor *c, int64_t fwd,
                             const struct match *m, int64_t back, int64_t overlap)
{
    int64_t score = 0, best = 0, keep = 0;
    int64_t f_scan = c->scan + fwd - overlap, f_pos = c->pos + fwd - overlap;
    int64_t b_scan = m->scan - back, b_pos = m->pos - back;
    for (int64_t i = 0; i < overlap; i++) {
        score += s->new_[f_scan + i] == s->old[f_pos + i];
        score -= s->new_[b_scan + i] == s->old[b_pos + i];
        if (score > best) {
            best = score;
            keep = i + 1;
        }
    }
    return keep;
}

static bool push_triple(struct mpota_delta_triples *out, int64_t diff_len, int64_t extra_len,
                        int64_t adjust)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 1024;
        struct mpota_delta_triple *t = realloc(out->t, cap * sizeof(*t));
        if (!t) {
            return false;
        }
        out->t = t;
        out->cap = cap;
    }
    out->t[out->n++] = (struct mpota_delta_triple){(uint32_t)diff_len, (uint32_t)extra_len, adjust};
    return true;
}

// Ends a triple at the match m: the previous match's diff grown forwards,
// the bytes no match explains as extra, and the jump to m's diff (m grown
// backwards), where the next triple starts.
static bool end_triple(const struct search *s, struct cursor *c, const struct match *m,
                       struct mpota_delta_triples *out)
{
    bool last = m->scan == s->new_len;
    int64_t fwd = extend_forward(s, c->scan, c->pos, m->scan);
    int64_t back = last ? 0 : extend_backward(s, m->scan, m->pos, c->scan);
    int64_t overlap = c->scan + fwd - (m->scan - back);
    if (overlap > 0) {
        int64_t keep = split_overlap(s, c, fwd, m, back, overlap);
        fwd += keep - overlap;
        back -= keep;
    }
    int64_t extra = m->scan - back - (c->scan + fwd);
    // Nothing reads OLD after the last triple: its adjustment is 0, one byte.
    int64_t adjust = last ? 0 : (m->pos - back) - (c->pos + fwd);
    *c = (struct cursor){m->scan - back, m->pos - back, m->pos - m->scan};
    return push_triple(out, fwd, extra, adjust);
}

int mpota_delta_bsdiff(const uint8_t *old, size_t old_len, const uint8_t *new_, size_t new_len,
                       struct mpota_delta_triples *out)
{
    *out = (struct mpota_delta_triples){0};
    if (old_len > MPOTA_DELTA_BSDIFF_MAX_LEN || new_len > MPOTA_DELTA_BSDIFF_MAX_LEN) {
        return MPOTA_ERR_INVALID_ARG;
    }
    saidx_t *sa = malloc((old_len ? old_len : 1) * sizeof(*sa));
    if (!sa || (old_len && divsufsort(old, sa, (saidx_t)old_len) != 0)) {
        free(sa);
        return MPOTA_ERR_NO_SPACE;
    }
    const struct search s = {old, new_, (int64_t)old_len, (int64_t)new_len, sa};
    struct cursor c = {0, 0, 0};
    struct match m = {0, 0, 0};
    bool ok = true;
    while (ok && m.scan < s.new_len) {
        if (next_match(&s, c.offset, &m)) {
            ok = end_triple(&s, &c, &m, out);
        }
    }
    free(sa);
    if (!ok) {
        mpota_delta_triples_free(out);
        return MPOTA_ERR_NO_SPACE;
    }
    return MPOTA_OK;
}

void mpota_delta_triples_free(struct mpota_delta_triples *t)
{
    free(t->t);
    *t = (struct mpota_delta_triples){0};
}
