// Image builder (image_build.h): elf2image's layout (SPEC §4.10) written from
// the SPEC's description, plus generators for test apps, bootloaders and
// whole-flash images.
#include "image_build.h"
#include "chip_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpota/bytes.h"
#include "mpota/hash.h"
#include "mpota/part.h"

// A segment being laid out; owns its data.
struct seg {
    uint32_t addr;
    uint8_t *data;
    uint32_t len;
    const char *name;
};

// A growing output buffer.
struct obuf {
    uint8_t *b;
    size_t len, cap;
    bool oom;
};

static void ob_reserve(struct obuf *o, size_t need)
{
    if (o->oom || need <= o->cap) {
        return;
    }
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < need) {
        cap *= 2;
    }
    uint8_t *nb = realloc(o->b, cap);
    if (!nb) {
        o->oom = true;
        return;
    }
    o->b = nb;
    o->cap = cap;
}

static void ob_put(struct obuf *o, const void *p, size_t n)
{
    ob_reserve(o, o->len + n);
    if (!o->oom) {
        memcpy(o->b + o->len, p, n);
        o->len += n;
    }
}

static void ob_fill(struct obuf *o, uint8_t v, size_t n)
{
    ob_reserve(o, o->len + n);
    if (!o->oom) {
        memset(o->b + o->len, v, n);
        o->len += n;
    }
}

static void segs_free(struct seg *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].data);
    }
    free(s);
}

// Appends n zero bytes to a segment's data.
static bool seg_grow(struct seg *s, uint32_t n)
{
    uint8_t *nb = realloc(s->data, (size_t)s->len + n + 1);
    if (!nb) {
        return false;
    }
    memset(nb + s->len, 0, n);
    s->data = nb;
    s->len += n;
    return true;
}

static bool same_types(uint16_t chip, uint32_t a, uint32_t b)
{
    const char *na[16], *nb[16];
    size_t ca = mpota_chip_memory_types(chip, a, na, 16);
    size_t cb = mpota_chip_memory_types(chip, b, nb, 16);
    if (ca != cb) {
        return false;
    }
    for (size_t i = 0; i < ca && i < 16; i++) {
        if (strcmp(na[i], nb[i]) != 0) {
            return false;
        }
    }
    return true;
}

void mpota_image_build_defaults(struct mpota_image_build_opts *o, uint16_t chip_id)
{
    memset(o, 0, sizeof(*o));
    o->chip_id = chip_id;
    o->spi_mode = 2;   // DIO
    o->spi_size = 2;   // 4MB
    o->spi_speed = 0;  // 40m
    o->wp_pin = MPOTA_IMAGE_WP_PIN_DISABLED;
    // CONFIG_<chip>_REV_MAX_FULL defaults of ESP-IDF v5.x.
    switch (chip_id) {
    case MPOTA_CHIP_ESP32:
        o->max_chip_rev_full = 399;
        break;
    case MPOTA_CHIP_ESP32C3:
        o->max_chip_rev_full = 199;
        break;
    default:
        o->max_chip_rev_full = 99;
        break;
    }
    o->append_digest = true;
}

// Appends one segment (header + data) and folds its data into the checksum.
// SPEC §4.10: the ELF SHA-256 is written where it falls inside segment data.
static int save_segment(struct obuf *o, const struct mpota_image_build_opts *opt, struct seg *s,
                        uint8_t *checksum, struct mpota_diag *d)
{
    if (!mpota_image_seg_len_ok(s->len)) {
        return mpota_diag_set(d, MPOTA_ERR_IMAGE_SEGMENT_LEN, (uint32_t)o->len, 0, s->len);
    }
    size_t hdr = o->len;
    if (opt->elf_sha256 && opt->elf_sha256_offset >= hdr &&
        opt->elf_sha256_offset < hdr + MPOTA_IMAGE_SEG_HEADER_LEN + s->len) {
        size_t at = opt->elf_sha256_offset - hdr;
        if (at < MPOTA_IMAGE_SEG_HEADER_LEN || at + 32 > MPOTA_IMAGE_SEG_HEADER_LEN + s->len) {
            return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, opt->elf_sha256_offset, 0, 0);
        }
        at -= MPOTA_IMAGE_SEG_HEADER_LEN;
        for (size_t i = 0; i < 32; i++) {
            if (s->data[at + i]) {
                // elf2image refuses to overwrite non-zero bytes.
                return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, opt->elf_sha256_offset, 0, 0);
            }
        }
        memcpy(s->data + at, opt->elf_sha256, 32);
    }
    uint8_t h[8];
    mpota_put_le32(h, s->addr);
    mpota_put_le32(h + 4, s->len);
    ob_put(o, h, 8);
    ob_put(o, s->data, s->len);
    for (uint32_t i = 0; i < s->len; i++) {
        *checksum ^= s->data[i];
    }
    return MPOTA_OK;
}

// Bytes of padding needed before the next segment header so that the data
// of `addr` lands at file offset == addr mod 64 KiB (SPEC §4.10). The padding
// is itself a segment with its own 8-byte header, hence the second subtraction.
static int64_t pad_needed(size_t pos, uint32_t addr)
{
    const int64_t align = MPOTA_IMAGE_MMU_PAGE, hdr = MPOTA_IMAGE_SEG_HEADER_LEN;
    int64_t past = (int64_t)(addr % MPOTA_IMAGE_MMU_PAGE) - hdr;
    int64_t pad = (align - (int64_t)(pos % MPOTA_IMAGE_MMU_PAGE)) + past;
    if (pad == 0 || pad == align) {
        return 0;
    }
    pad -= hdr;
    if (pad < 0) {
        pad += align;
    }
    return pad;
}

static int cmp_addr(const void *a, const void *b)
{
    const struct seg *x = *(const struct seg *const *)a, *y = *(const struct seg *const *)b;
    if (x->addr != y->addr) {
        return x->addr < y->addr ? -1 : 1;
    }
    return x < y ? -1 : (x > y);  // stable: keep input order on ties
}

static bool named(const struct seg *s, const char *name)
{
    return s->name && strcmp(s->name, name) == 0;
}

// Moves the segment called name to the front of list[0..n).
static void move_first(struct seg **list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (named(list[i], name)) {
            struct seg *s = list[i];
            memmove(list + 1, list, i * sizeof(*list));
            list[0] = s;
            return;
        }
    }
}

// 1. The sections copied, real ones padded to 4 bytes, each merged with the
// previous one where it continues it in memory of the same type. segs holds
// count entries; *n gets how many are used (to free, even on failure).
static int merge_sections(uint16_t chip, const struct mpota_image_section *sections, size_t count,
                          struct seg *segs, size_t *n_out)
{
    int err = MPOTA_OK;
    size_t n = 0;
    for (size_t i = 0; i < count && !err; i++) {
        const struct mpota_image_section *in = &sections[i];
        uint32_t len = in->len;
        uint32_t padded = in->load_addr ? (len + 3u) & ~3u : len;
        struct seg *prev = n ? &segs[n - 1] : NULL;
        if (prev && prev->addr + prev->len == in->load_addr &&
            same_types(chip, prev->addr, in->load_addr)) {
            uint32_t at = prev->len;
            if (!seg_grow(prev, padded)) {
                err = MPOTA_ERR_NO_SPACE;
                break;
            }
            if (len) {
                memcpy(prev->data + at, in->data, len);
            }
            continue;
        }
        struct seg *s = &segs[n++];
        s->addr = in->load_addr;
        s->name = in->name;
        s->data = calloc((size_t)padded + 1, 1);
        s->len = padded;
        if (!s->data) {
            err = MPOTA_ERR_NO_SPACE;
            break;
        }
        if (len) {
            memcpy(s->data, in->data, len);
        }
    }
    *n_out = n;
    return err;
}

// 2. Flash-mapped and RAM segments, each list sorted by address, the app
// and bootloader descriptions first. Two flash segments in one 64 KiB page
// cannot both be mapped.
static int split_mapped(uint16_t chip, struct seg *segs, size_t n, struct seg **flash, size_t *nf_out,
                        struct seg **ram, size_t *nr_out, struct mpota_diag *d)
{
    size_t nf = 0, nr = 0;
    for (size_t i = 0; i < n; i++) {
        if (mpota_chip_is_mapped_addr(chip, segs[i].addr)) {
            flash[nf++] = &segs[i];
        } else {
            ram[nr++] = &segs[i];
        }
    }
    *nf_out = nf;
    *nr_out = nr;
    qsort(flash, nf, sizeof(*flash), cmp_addr);
    qsort(ram, nr, sizeof(*ram), cmp_addr);
    move_first(flash, nf, ".flash.appdesc");
    move_first(ram, nr, ".dram0.bootdesc");
    for (size_t i = 1; i < nf; i++) {
        if (flash[i]->addr / MPOTA_IMAGE_MMU_PAGE == flash[i - 1]->addr / MPOTA_IMAGE_MMU_PAGE) {
            return mpota_diag_set(d, MPOTA_ERR_IMAGE_SEGMENT_MAP, 0, flash[i - 1]->addr,
                                  flash[i]->addr);
        }
    }
    return MPOTA_OK;
}

// 3. The header (SPEC §4.2); byte 1 is rewritten with the final count.
static void put_header(struct obuf *ob, const struct mpota_image_build_opts *o, size_t n)
{
    uint8_t hdr[MPOTA_IMAGE_HEADER_LEN] = {0};
    hdr[0] = MPOTA_IMAGE_MAGIC;
    hdr[1] = (uint8_t)n;
    hdr[2] = o->spi_mode;
    hdr[3] = (uint8_t)((o->spi_size << 4) | (o->spi_speed & 0x0Fu));
    mpota_put_le32(hdr + 4, o->entry_addr);
    hdr[8] = o->wp_pin;
    memcpy(hdr + 9, o->spi_pin_drv, 3);
    mpota_put_le16(hdr + 12, o->chip_id);
    hdr[14] = o->min_chip_rev;
    mpota_put_le16(hdr + 15, o->min_chip_rev_full);
    mpota_put_le16(hdr + 17, o->max_chip_rev_full);
    hdr[23] = o->append_digest ? 1 : 0;
    ob_put(ob, hdr, sizeof(hdr));
}

// 4. Flash segments at their aligned offsets, the padding before each one
// taken from the front of the RAM segments or, failing that, zeros; then
// 5. the remaining RAM segments. *total counts what was written.
static int write_segments(struct obuf *ob, const struct mpota_image_build_opts *o,
                          struct seg **flash, size_t nf, struct seg **ram, size_t nr,
                          uint8_t *checksum, unsigned *total, struct mpota_diag *d)
{
    const uint16_t chip = o->chip_id;
    int err = MPOTA_OK;
    size_t fi = 0, ri = 0;
    while (!err && fi < nf) {
        struct seg *s = flash[fi];
        int64_t pad = pad_needed(ob->len, s->addr);
        if (pad > 0) {
            struct seg piece = {0};
            if (ri < nr && pad > MPOTA_IMAGE_SEG_HEADER_LEN) {
                struct seg *r = ram[ri];
                uint32_t take = (uint64_t)pad < r->len ? (uint32_t)pad : r->len;
                piece.addr = r->addr;
                piece.data = r->data;
                piece.len = take;
                err = save_segment(ob, o, &piece, checksum, d);
                memmove(r->data, r->data + take, r->len - take);
                r->len -= take;
                r->addr += take;
                if (r->len == 0) {
                    ri++;
                }
            } else {
                piece.data = calloc((size_t)pad + 1, 1);
                piece.len = (uint32_t)pad;
                err = piece.data ? save_segment(ob, o, &piece, checksum, d)
                                 : MPOTA_ERR_NO_SPACE;
                free(piece.data);
            }
            (*total)++;
            continue;
        }
        // ESP32 only: an old bootloader left the last page unmapped when a
        // mapped segment ended less than 0x24 bytes past a page boundary.
        if (chip == MPOTA_CHIP_ESP32) {
            size_t end = ob->len + MPOTA_IMAGE_SEG_HEADER_LEN + s->len;
            uint32_t rem = (uint32_t)(end % MPOTA_IMAGE_MMU_PAGE);
            if (rem < 0x24u && !seg_grow(s, 0x24u - rem)) {
                err = MPOTA_ERR_NO_SPACE;
                break;
            }
        }
        err = save_segment(ob, o, s, checksum, d);
        fi++;
        (*total)++;
    }
    // 5. The remaining RAM segments.
    for (; !err && ri < nr; ri++) {
        err = save_segment(ob, o, ram[ri], checksum, d);
        (*total)++;
    }
    return err;
}

// 6. The checksum as the last byte of a 16-byte block, then the digest.
static int finish_image(struct obuf *ob, const struct mpota_image_build_opts *o, uint8_t checksum,
                        unsigned total)
{
    size_t cks = mpota_image_checksum_end((uint32_t)ob->len) - 1u;
    ob_fill(ob, 0, cks - ob->len);
    ob_put(ob, &checksum, 1);
    if (!ob->oom) {
        ob->b[1] = (uint8_t)total;
    }
    if (o->append_digest && !ob->oom) {
        uint8_t dig[MPOTA_SHA256_LEN];
        mpota_sha256_t h;
        mpota_sha256_start(&h);
        mpota_sha256_update(&h, ob->b, ob->len);
        mpota_sha256_finish(&h, dig);
        ob_put(ob, dig, sizeof(dig));
    }
    return ob->oom ? MPOTA_ERR_NO_SPACE : MPOTA_OK;
}

int mpota_image_build(const struct mpota_image_build_opts *o,
                      const struct mpota_image_section *sections, size_t count, uint8_t **out,
                      size_t *out_len, struct mpota_diag *d)
{
    if (!o || !out || !out_len || (count && !sections)) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
    }
    *out = NULL;
    *out_len = 0;
    struct seg *segs = calloc(count ? count : 1, sizeof(*segs));
    if (!segs) {
        return mpota_diag_set(d, MPOTA_ERR_NO_SPACE, 0, 0, 0);
    }
    size_t n = 0;
    int err = merge_sections(o->chip_id, sections, count, segs, &n);
    if (!err && n > MPOTA_IMAGE_MAX_SEGMENTS) {
        err = mpota_diag_set(d, MPOTA_ERR_IMAGE_SEGMENT_COUNT, 1, MPOTA_IMAGE_MAX_SEGMENTS,
                             (uint32_t)n);
    }
    struct seg **flash = calloc(n + 1, sizeof(*flash)), **ram = calloc(n + 1, sizeof(*ram));
    size_t nf = 0, nr = 0;
    if (!err && (!flash || !ram)) {
        err = MPOTA_ERR_NO_SPACE;
    }
    if (!err) {
        err = split_mapped(o->chip_id, segs, n, flash, &nf, ram, &nr, d);
    }
    struct obuf ob = {0};
    put_header(&ob, o, n);
    uint8_t checksum = MPOTA_IMAGE_CHECKSUM_SEED;
    unsigned total = 0;
    if (!err) {
        err = write_segments(&ob, o, flash, nf, ram, nr, &checksum, &total, d);
    }
    if (!err && total > MPOTA_IMAGE_MAX_SEGMENTS) {
        err = mpota_diag_set(d, MPOTA_ERR_IMAGE_SEGMENT_COUNT, 1, MPOTA_IMAGE_MAX_SEGMENTS, total);
    }
    if (!err) {
        err = finish_image(&ob, o, checksum, total);
    }
    free(flash);
    free(ram);
    segs_free(segs, n);
    if (err) {
        free(ob.b);
        if (d && d->err != err) {
            mpota_diag_set(d, err, 0, 0, 0);
        }
        return err;
    }
    *out = ob.b;
    *out_len = ob.len;
    return MPOTA_OK;
}

/// Generators ///

// xorshift64*, so the same seed gives the same image on every host.
static uint64_t prng(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static void fill_random(uint8_t *p, size_t n, uint64_t *s)
{
    size_t i = 0;
    while (i < n) {
        uint64_t v = prng(s);
        for (int k = 0; k < 8 && i < n; k++, v >>= 8) {
            p[i++] = (uint8_t)v;
        }
    }
}

// Where each kind of section lives on a chip (addresses inside the memory
// map regions of chip.c; flash text and rodata in their mapped windows).
struct chip_layout {
    uint16_t chip;
    uint32_t drom, irom, dram, iram;    // app
    uint32_t bl_dram, bl_iram_loader, bl_iram;  // bootloader
};

static const struct chip_layout layouts[] = {
    {MPOTA_CHIP_ESP32, 0x3F400020u, 0x400D0020u, 0x3FFB0000u, 0x40080000u,
     0x3FFF0030u, 0x40078000u, 0x40080400u},
    {MPOTA_CHIP_ESP32S2, 0x3F000020u, 0x40080020u, 0x3FFBE000u, 0x40022000u,
     0x3FFE8000u, 0x40050000u, 0x40058000u},
    {MPOTA_CHIP_ESP32S3, 0x3C000020u, 0x42000020u, 0x3FC90000u, 0x40374000u,
     0x3FCD8000u, 0x403C8000u, 0x403D0000u},
    {MPOTA_CHIP_ESP32C3, 0x3C000020u, 0x42000020u, 0x3FC8A000u, 0x40380000u,
     0x3FCD5000u, 0x403CE000u, 0x403D6000u},
};

static const struct chip_layout *layout_for(uint16_t chip)
{
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
        if (layouts[i].chip == chip) {
            return &layouts[i];
        }
    }
    return NULL;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

// Builds the app for one choice of the IRAM length; the caller adjusts it
// until the total is exact.
// The app description at the start of DROM (app_elf_sha256 left zero for
// patching), or, without one, DROM that cannot pass for one.
static void put_app_desc(const struct mpota_app_spec *s, uint8_t *drom)
{
    if (s->no_app_desc) {
        if (mpota_le32(drom) == MPOTA_APP_DESC_MAGIC) {
            drom[0] ^= 0xFF;  // no accidental description
        }
        return;
    }
    struct mpota_app_desc a = {0};
    a.magic_word = MPOTA_APP_DESC_MAGIC;
    a.secure_version = s->secure_version;
    copy_str(a.version, sizeof(a.version), s->version ? s->version : "v1.0.0");
    copy_str(a.project_name, sizeof(a.project_name),
             s->project_name ? s->project_name : "micropython");
    copy_str(a.time, sizeof(a.time), s->time ? s->time : "12:34:56");
    copy_str(a.date, sizeof(a.date), s->date ? s->date : "Jan  1 2025");
    copy_str(a.idf_ver, sizeof(a.idf_ver), s->idf_ver ? s->idf_ver : "v5.2.2");
    a.max_efuse_blk_rev_full = 0xFFFF;
    mpota_app_desc_encode(&a, drom);
}

// The strings an official build carries its version in, after the
// description, where official builds keep their rodata strings (tens of KiB
// in; here as early as the segment allows).
static int put_micropython_strings(const struct mpota_app_spec *s, uint8_t *drom,
                                   uint32_t drom_len, struct mpota_diag *d)
{
    char text[160];
    int n = snprintf(text, sizeof(text),
                     "MicroPython-%s-xtensa-IDFv5.0.4-with-newlib4.1.0%c"
                     "MicroPython v%s on 2024-06-02%c; Generic ESP32 module with ESP32",
                     s->micropython_version, 0, s->micropython_version, 0);
    uint32_t at = MPOTA_APP_DESC_LEN + 0x40u;
    if (n < 0 || at > drom_len || (uint32_t)n + 1u > drom_len - at) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, (uint32_t)n, drom_len);
    }
    memcpy(drom + at, text, (size_t)n + 1u);
    return MPOTA_OK;
}

static int build_app_once(const struct mpota_app_spec *s, const struct chip_layout *L,
                          uint32_t drom_len, uint32_t irom_len, uint32_t dram_len,
                          uint32_t iram_len, uint8_t **out, size_t *out_len, struct mpota_diag *d)
{
    uint64_t st = s->seed ^ 0xA5A5A5A5DEADBEEFull;
    uint8_t *drom = calloc(drom_len + 1, 1), *irom = calloc(irom_len + 1, 1);
    uint8_t *dram = calloc(dram_len + 1, 1), *iram = calloc(iram_len + 1, 1);
    int err = MPOTA_OK;
    if (!drom || !irom || !dram || !iram) {
        err = mpota_diag_set(d, MPOTA_ERR_NO_SPACE, 0, 0, 0);
        goto out;
    }
    fill_random(drom, drom_len, &st);
    fill_random(irom, irom_len, &st);
    fill_random(dram, dram_len, &st);
    fill_random(iram, iram_len, &st);

    uint8_t elf_sha[32];
    put_app_desc(s, drom);
    if (s->micropython_version && (err = put_micropython_strings(s, drom, drom_len, d))) {
        goto out;
    }
    if (s->elf_sha256) {
        memcpy(elf_sha, s->elf_sha256, 32);
    } else {
        // Stand-in for the ELF's SHA-256: a digest of the section contents.
        mpota_sha256_t h;
        mpota_sha256_start(&h);
        mpota_sha256_update(&h, drom, drom_len);
        mpota_sha256_update(&h, irom, irom_len);
        mpota_sha256_update(&h, dram, dram_len);
        mpota_sha256_update(&h, iram, iram_len);
        mpota_sha256_finish(&h, elf_sha);
    }

    struct mpota_image_section secs[4];
    size_t n = 0;
    secs[n++] = (struct mpota_image_section){L->drom, drom, drom_len, ".flash.appdesc"};
    secs[n++] = (struct mpota_image_section){L->dram, dram, dram_len, ".dram0.data"};
    secs[n++] = (struct mpota_image_section){L->iram, iram, iram_len, ".iram0.text"};
    if (irom_len) {
        secs[n++] = (struct mpota_image_section){L->irom, irom, irom_len, ".flash.text"};
    }
    struct mpota_image_build_opts o;
    mpota_image_build_defaults(&o, s->chip_id);
    o.entry_addr = L->iram;
    o.append_digest = !s->no_hash;
    if (!s->no_app_desc) {
        o.elf_sha256 = elf_sha;
        o.elf_sha256_offset = MPOTA_APP_DESC_ELF_SHA_OFFSET;
    }
    err = mpota_image_build(&o, secs, n, out, out_len, d);
out:
    free(drom);
    free(irom);
    free(dram);
    free(iram);
    return err;
}

int mpota_image_build_app(const struct mpota_app_spec *s, uint8_t **out, size_t *out_len,
                          struct mpota_diag *d)
{
    const struct chip_layout *L = s ? layout_for(s->chip_id) : NULL;
    if (!L || !out || !out_len || s->total_size % 16u || s->total_size < 0x200u ||
        s->total_size > 0x400000u) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, s ? s->total_size : 0);
    }
    const uint32_t N = s->total_size;
    uint32_t drom, irom, dram, iram;
    if (N >= 0x40000u) {
        // MicroPython-like proportions. IRAM is the slack: its front fills
        // the gap before the IROM page and its tail (written last) absorbs
        // the difference to the requested size.
        dram = 0x2000u;
        iram = 0x14000u + (N / 32u & ~3u);
        drom = (N * 22u / 100u) & ~3u;
        irom = (N - drom - dram - iram - 0x100u) & ~3u;
    } else {
        // Too small for a second mapped page: DROM, DRAM and IRAM only.
        dram = 0x40u;
        drom = MPOTA_APP_DESC_LEN + ((N / 4u) & ~3u);
        irom = 0;
        iram = 4;
    }
    // The length grows one for one with iram (all else fixed), so a couple of
    // corrections land on N exactly.
    for (int tries = 0; tries < 8; tries++) {
        uint8_t *img = NULL;
        size_t len = 0;
        int err = build_app_once(s, L, drom, irom, dram, iram, &img, &len, d);
        if (err) {
            return err;
        }
        if (len == N) {
            *out = img;
            *out_len = len;
            return MPOTA_OK;
        }
        free(img);
        int64_t next = (int64_t)iram + (int64_t)N - (int64_t)len;
        if (next < 4) {
            // Shrink the DROM instead; keep the description in it.
            int64_t shrink = 4 - next;
            if ((int64_t)drom - shrink < (int64_t)MPOTA_APP_DESC_LEN + 4) {
                break;
            }
            drom -= (uint32_t)((shrink + 3) & ~3);
            next = 4;
        }
        iram = (uint32_t)next;
    }
    return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, N, 0);
}

int mpota_image_build_bootloader(const struct mpota_bootloader_spec *s, uint8_t **out,
                                 size_t *out_len, struct mpota_diag *d)
{
    const struct chip_layout *L = s ? layout_for(s->chip_id) : NULL;
    if (!L || !out || !out_len) {
        return mpota_diag_set(d, MPOTA_ERR_INVALID_ARG, 0, 0, 0);
    }
    uint32_t size = s->size ? s->size : 0x6000u;
    uint32_t dram_len = ((size / 6u) & ~3u) + MPOTA_BOOTLOADER_DESC_LEN;
    uint32_t loader_len = (size / 3u) & ~3u;
    uint32_t iram_len = (size / 2u) & ~3u;
    uint8_t *dram = calloc(dram_len, 1), *loader = calloc(loader_len + 1, 1);
    uint8_t *iram = calloc(iram_len + 1, 1);
    int err;
    if (!dram || !loader || !iram) {
        err = mpota_diag_set(d, MPOTA_ERR_NO_SPACE, 0, 0, 0);
        goto out;
    }
    uint64_t st = s->seed ^ 0xB007B007ull;
    fill_random(dram, dram_len, &st);
    fill_random(loader, loader_len, &st);
    fill_random(iram, iram_len, &st);
    if (!s->no_desc) {
        struct mpota_bootloader_desc bd = {0};
        bd.magic_byte = MPOTA_BOOTLOADER_DESC_MAGIC;
        bd.version = s->version;
        copy_str(bd.idf_ver, sizeof(bd.idf_ver), s->idf_ver ? s->idf_ver : "v5.2.2");
        copy_str(bd.date_time, sizeof(bd.date_time),
                 s->date_time ? s->date_time : "Jan  1 2025 12:34:56");
        mpota_bootloader_desc_encode(&bd, dram);
    } else if (dram[0] == MPOTA_BOOTLOADER_DESC_MAGIC) {
        dram[0] = 0;
    }
    struct mpota_image_section secs[] = {
        {L->bl_dram, dram, dram_len, ".dram0.bootdesc"},
        {L->bl_iram_loader, loader, loader_len, ".iram_loader.text"},
        {L->bl_iram, iram, iram_len, ".iram.text"},
    };
    struct mpota_image_build_opts o;
    mpota_image_build_defaults(&o, s->chip_id);
    o.entry_addr = L->bl_iram_loader;
    err = mpota_image_build(&o, secs, 3, out, out_len, d);
out:
    free(dram);
    free(loader);
    free(iram);
    return err;
}

// Copies part at flash address addr into buf, which holds flash [base, base+len).
static int place(uint8_t *buf, size_t len, uint32_t base, const uint8_t *part, size_t part_len,
                 uint32_t addr)
{
    if (!part || !part_len) {
        return MPOTA_OK;
    }
    if (addr < base || addr - base > len || part_len > len - (addr - base)) {
        return MPOTA_ERR_INVALID_ARG;
    }
    memcpy(buf + (addr - base), part, part_len);
    return MPOTA_OK;
}

static int build_flash(const struct mpota_flash_parts *p, uint32_t base, size_t len,
                       uint8_t **out, size_t *out_len)
{
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        return MPOTA_ERR_NO_SPACE;
    }
    memset(buf, 0xFF, len);
    uint32_t boot = mpota_chip_bootloader_offset(p->chip_id);
    uint32_t table = p->table_addr ? p->table_addr : MPOTA_PART_TABLE_OFFSET;
    int err = place(buf, len, base, p->bootloader, p->bootloader_len, boot);
    if (!err) {
        err = place(buf, len, base, p->table, p->table_len, table);
    }
    if (!err) {
        err = place(buf, len, base, p->otadata, p->otadata_len, p->otadata_addr);
    }
    if (!err) {
        err = place(buf, len, base, p->app, p->app_len, p->app_addr);
    }
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    *out_len = len;
    return MPOTA_OK;
}

int mpota_image_build_combined(const struct mpota_flash_parts *p, uint8_t **out,
                               size_t *out_len)
{
    if (!p || !out || !out_len) {
        return MPOTA_ERR_INVALID_ARG;
    }
    uint32_t base = mpota_chip_bootloader_offset(p->chip_id);
    uint32_t table = p->table_addr ? p->table_addr : MPOTA_PART_TABLE_OFFSET;
    size_t end = base + p->bootloader_len;
    if (p->table && table + p->table_len > end) {
        end = table + p->table_len;
    }
    if (p->otadata && p->otadata_addr + p->otadata_len > end) {
        end = p->otadata_addr + p->otadata_len;
    }
    if (p->app && p->app_addr + p->app_len > end) {
        end = p->app_addr + p->app_len;
    }
    return build_flash(p, base, end - base, out, out_len);
}

int mpota_image_build_flash_dump(const struct mpota_flash_parts *p, uint32_t flash_size,
                                 uint8_t **out, size_t *out_len)
{
    if (!p || !out || !out_len || !flash_size) {
        return MPOTA_ERR_INVALID_ARG;
    }
    return build_flash(p, 0, flash_size, out, out_len);
}
