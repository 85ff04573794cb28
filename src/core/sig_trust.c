// Trust in Secure Boot V2 signatures (sig.h): the list of trusted key
// digests, the running app's own keys, and the check of an image on flash
// against the list. Facts and the step at which it runs: docs/DESIGN.md §8.
#include <string.h>

#include "mpota/bytes.h"
#include "mpota/hash.h"
#include "mpota/image.h"
#include "mpota/sig.h"

int mpota_sig_trust_add(struct mpota_sig_trust *t, const uint8_t digest[MPOTA_SIG_KEY_DIGEST_LEN],
                        struct mpota_diag *d)
{
    unsigned slot;
    (void)mpota_sig_trust_has(t, digest, &slot);
    if (slot < t->count) {
        return MPOTA_OK;
    }
    if (t->count >= MPOTA_SIG_TRUST_MAX) {
        return mpota_diag_set(d, MPOTA_ERR_SIG_TRUST_FULL, 0, MPOTA_SIG_TRUST_MAX, t->count + 1u);
    }
    memcpy(t->keys[t->count++], digest, MPOTA_SIG_KEY_DIGEST_LEN);
    return MPOTA_OK;
}

bool mpota_sig_trust_has(const struct mpota_sig_trust *t,
                         const uint8_t digest[MPOTA_SIG_KEY_DIGEST_LEN], unsigned *slot)
{
    unsigned i = 0;
    while (i < t->count && memcmp(t->keys[i], digest, MPOTA_SIG_KEY_DIGEST_LEN) != 0) {
        i++;
    }
    if (slot) {
        *slot = i < t->count ? i : MPOTA_SIG_TRUST_MAX;
    }
    return i < t->count && !(t->revoked & (1u << i));
}

// The image length from the headers alone (esp_image_get_metadata's walk:
// header, then each segment header, skipping the data): no hashing, so
// reading a 1.5 MB app's keys costs a few small reads. 0 if it is not an
// image.
static uint32_t image_len_on_flash(const struct mpota_area *a)
{
    uint8_t raw[MPOTA_IMAGE_HEADER_LEN];
    if (mpota_area_read(a, 0, raw, sizeof(raw)) != 0) {
        return 0;
    }
    struct mpota_image_header h;
    mpota_image_header_decode(raw, &h);
    if (h.magic != MPOTA_IMAGE_MAGIC || h.segment_count == 0 ||
        h.segment_count > MPOTA_IMAGE_MAX_SEGMENTS) {
        return 0;
    }
    uint32_t at = MPOTA_IMAGE_HEADER_LEN;
    for (unsigned i = 0; i < h.segment_count; i++) {
        uint8_t seg[MPOTA_IMAGE_SEG_HEADER_LEN];
        if (at > a->size - sizeof(seg) || mpota_area_read(a, at, seg, sizeof(seg)) != 0) {
            return 0;
        }
        uint32_t len = mpota_le32(seg + 4);
        if (!mpota_image_seg_len_ok(len) || len > a->size - at - sizeof(seg)) {
            return 0;
        }
        at += (uint32_t)sizeof(seg) + len;
    }
    uint32_t end = mpota_image_checksum_end(at) + (h.hash_appended ? MPOTA_IMAGE_HASH_LEN : 0u);
    return end <= a->size ? end : 0;
}

int mpota_sig_trust_add_running(struct mpota_sig_trust *t, const struct mpota_area *running,
                                struct mpota_diag *d)
{
    uint32_t len = image_len_on_flash(running);
    uint32_t sector = mpota_sig_sector_offset(len);
    if (!len || sector > running->size || running->size - sector < MPOTA_SIG_SECTOR_SIZE) {
        return 0;
    }
    int added = 0;
    for (unsigned i = 0; i < MPOTA_SIG_BLOCKS_MAX; i++) {
        uint8_t raw[MPOTA_SIG_BLOCK_SIZE];
        uint32_t off = sector + i * MPOTA_SIG_BLOCK_SIZE;
        int rc = mpota_area_read(running, off, raw, sizeof(raw));
        if (rc) {
            return mpota_diag_set(d, rc, running->off + off, running->flash->size, 0);
        }
        struct mpota_sig_block b;
        if (mpota_sig_block_parse(raw, off, &b, NULL) != MPOTA_OK) {
            continue;
        }
        rc = mpota_sig_trust_add(t, b.key_digest, d);
        if (rc) {
            return rc;
        }
        added++;
        if (t->first_block_only) {
            break;  // ESP-IDF keeps only the first key that reads
        }
    }
    t->required = t->required || added > 0;
    return added;
}

// How telling a refusal is: the user acts on the strongest one.
static int rank(int err)
{
    switch (err) {
    case MPOTA_ERR_SIG_DIGEST:
    case MPOTA_ERR_SIG_INVALID:
    case MPOTA_ERR_SIG_SCHEME:
        return 5;  // a trusted key's block that fails: the image was altered
    case MPOTA_ERR_SIG_REVOKED:
        return 4;
    case MPOTA_ERR_SIG_UNTRUSTED:
        return 3;
    case MPOTA_ERR_SIG_CORRUPT:
        return 2;
    case MPOTA_ERR_SIG_MISSING:
        return 1;
    default:
        return 6;  // flash errors end the check
    }
}

static void short_hex(char out[17], const uint8_t *digest)
{
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 8; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15u];
    }
    out[16] = '\0';
}

// Whether t lets block b (read at image offset off) be checked, else why not.
static int trusted(const struct mpota_sig_trust *t, const struct mpota_sig_block *b, uint32_t off,
                   struct mpota_diag *d)
{
    unsigned slot;
    if (t->count == 0 || mpota_sig_trust_has(t, b->key_digest, &slot)) {
        return MPOTA_OK;
    }
    char fp[17];
    short_hex(fp, b->key_digest);
    bool revoked = slot < MPOTA_SIG_TRUST_MAX;
    unsigned live = 0;
    for (unsigned i = 0; i < t->count; i++) {
        live += !(t->revoked & (1u << i));
    }
    int err = revoked ? MPOTA_ERR_SIG_REVOKED : MPOTA_ERR_SIG_UNTRUSTED;
    mpota_diag_set(d, err, off, revoked ? slot : live, 0);
    mpota_diag_label(d, fp, sizeof(fp));
    return err;
}

// One block, read from flash at image offset off: 0 if t accepts it.
// Not inlined: the 1,216-byte buffer lives only during the check.
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int check_block(const struct mpota_area *slot, uint32_t off, uint32_t sector,
                       const uint8_t *padded_sha256, const struct mpota_sig_trust *t,
                       struct mpota_diag *d)
{
    uint8_t raw[MPOTA_SIG_BLOCK_SIZE];
    int rc = mpota_area_read(slot, off, raw, sizeof(raw));
    if (rc) {
        return mpota_diag_set(d, rc, slot->off + off, slot->flash->size, 0);
    }
    struct mpota_sig_block b;
    rc = mpota_sig_block_parse(raw, off, &b, d);
    if (!rc) {
        rc = trusted(t, &b, off, d);
    }
    if (rc) {
        return rc;
    }
    uint8_t sha384[48];
    const uint8_t *digest = padded_sha256;
    if (b.digest_len == sizeof(sha384)) {
        rc = mpota_sig_sha384_area(slot, sector, sha384);
        if (rc) {
            return mpota_diag_set(d, rc, slot->off, slot->flash->size, 0);
        }
        digest = sha384;
    }
    if (!digest) {
        return mpota_diag_set(d, MPOTA_ERR_SIG_DIGEST, off, 0, 0);
    }
    return mpota_sig_block_verify(&b, digest, b.digest_len, off, d);
}

int mpota_sig_check_area(const struct mpota_area *slot, uint32_t image_len, uint32_t stored,
                         const uint8_t *padded_sha256, const struct mpota_sig_trust *t,
                         struct mpota_diag *d)
{
    if (!t || (t->count == 0 && !t->required)) {
        return MPOTA_OK;
    }
    uint32_t sector = mpota_sig_sector_offset(image_len);
    struct mpota_diag best = {.err = MPOTA_ERR_SIG_MISSING, .offset = sector};
    bool in_slot = sector <= slot->size && slot->size - sector >= MPOTA_SIG_SECTOR_SIZE;
    unsigned blocks = t->first_block_only ? 1u : MPOTA_SIG_BLOCKS_MAX;
    for (unsigned i = 0; in_slot && i < blocks; i++) {
        // A block the data never reached is not there. One cut short reads
        // back with erased bytes, fails its CRC and says so.
        uint32_t off = sector + i * MPOTA_SIG_BLOCK_SIZE;
        if (stored <= off) {
            break;
        }
        struct mpota_diag why = {0};
        int rc = check_block(slot, off, sector, padded_sha256, t, &why);
        if (rc == MPOTA_OK) {
            return MPOTA_OK;
        }
        if (rank(rc) > rank(best.err)) {
            best = why;
        }
        if (rank(rc) > 5) {
            break;
        }
    }
    if (d) {
        *d = best;
    }
    return best.err;
}

int mpota_sig_check_slot(const struct mpota_area *slot, const struct mpota_sig_trust *t,
                         struct mpota_diag *d)
{
    uint32_t len = image_len_on_flash(slot);
    uint32_t sector = mpota_sig_sector_offset(len);
    if (!len || sector > slot->size) {
        return mpota_diag_set(d, MPOTA_ERR_SIG_MISSING, sector, 0, 0);
    }
    uint8_t buf[256], padded[MPOTA_SHA256_LEN];
    mpota_sha256_t h = {0};
    mpota_sha256_start(&h);
    for (uint32_t at = 0; at < sector;) {
        uint32_t n = sector - at < sizeof(buf) ? sector - at : (uint32_t)sizeof(buf);
        int rc = mpota_area_read(slot, at, buf, n);
        if (rc) {
            mpota_sha256_free(&h);
            return mpota_diag_set(d, rc, slot->off + at, slot->flash->size, 0);
        }
        mpota_sha256_update(&h, buf, n);
        at += n;
    }
    mpota_sha256_finish(&h, padded);
    return mpota_sig_check_area(slot, len, slot->size, padded, t, d);
}
