// What is this file? Recognises app images, bootloader images, partition
// tables, otadata, combined firmware (bootloader + table + app, as
// micropython.org ships it) and whole-flash dumps, from a whole file or from
// its first bytes only: an update must refuse the wrong file before it erases
// anything.
#include <string.h>

#include "mpota/bytes.h"
#include "mpota/image.h"
#include "mpota/otadata.h"
#include "mpota/part.h"

// SPEC §3.2: a used entry has seq != 0xFFFFFFFF and crc == crc(seq).
static bool otadata_entry_used(const uint8_t *e)
{
    return mpota_le32(e) != 0xFFFFFFFFu && mpota_le32(e + 28) == mpota_otadata_crc(mpota_le32(e));
}

#define OTADATA_ENTRY 32u
#define OTADATA_SECTOR 0x1000u

// One or two entries at 0 and 0x1000 with the rest of each sector erased, or
// a blank 8 KiB partition (SPEC §3.1).
static bool is_otadata(const uint8_t *b, size_t len)
{
    if (len < OTADATA_ENTRY || len > MPOTA_OTADATA_SIZE) {
        return false;
    }
    if (len == MPOTA_OTADATA_SIZE && mpota_all_ff(b, len)) {
        return true;
    }
    bool used = false;
    for (uint32_t s = 0; s < len; s += OTADATA_SECTOR) {
        size_t n = len - s < OTADATA_SECTOR ? len - s : OTADATA_SECTOR;
        const uint8_t *sec = b + s;
        if (n >= OTADATA_ENTRY && otadata_entry_used(sec)) {
            used = true;
        } else if (!mpota_all_ff(sec, n < OTADATA_ENTRY ? n : OTADATA_ENTRY)) {
            return false;
        }
        if (n > OTADATA_ENTRY && !mpota_all_ff(sec + OTADATA_ENTRY, n - OTADATA_ENTRY)) {
            return false;
        }
    }
    return used;
}

static bool table_row_at(const uint8_t *b, size_t len, size_t off)
{
    // SPEC §2.1: entry magic 0x50AA, bytes AA 50 on flash.
    return off + MPOTA_PART_ROW_SIZE <= len && b[off] == 0xAA && b[off + 1] == 0x50;
}

// A partition table: entry rows, then an optional MD5 row (EB EB), then the
// all-0xFF end marker or the end of the buffer (SPEC §2.4-2.5). Recognition
// only; mpota_part_table_parse() validates.
static bool is_table(const uint8_t *b, size_t len)
{
    if (!table_row_at(b, len, 0)) {
        return false;
    }
    size_t max = len < MPOTA_PART_TABLE_MAX_LEN ? len : MPOTA_PART_TABLE_MAX_LEN;
    for (size_t off = 0; off + MPOTA_PART_ROW_SIZE <= max; off += MPOTA_PART_ROW_SIZE) {
        const uint8_t *r = b + off;
        if (r[0] == 0xAA && r[1] == 0x50) {
            continue;
        }
        if ((r[0] == 0xEB && r[1] == 0xEB) || mpota_all_ff(r, MPOTA_PART_ROW_SIZE)) {
            return true;
        }
        return false;
    }
    return true;  // ran out of input inside the rows
}

// Offset (absolute flash address) of the first app partition in the table at
// b[table_off] whose image, mapped into the buffer at flash address base,
// starts with 0xE9; if the buffer does not reach any app, the first app
// partition. MPOTA_IMAGE_NO_OFFSET if the table lists no app.
static uint32_t first_app(const uint8_t *b, size_t len, size_t table_off, uint32_t base)
{
    uint32_t first = MPOTA_IMAGE_NO_OFFSET;
    size_t end = table_off + MPOTA_PART_TABLE_MAX_LEN;
    for (size_t off = table_off; table_row_at(b, len, off) && off < end;
         off += MPOTA_PART_ROW_SIZE) {
        const uint8_t *r = b + off;
        if (r[2] != MPOTA_PART_TYPE_APP) {
            continue;
        }
        uint32_t flash = mpota_le32(r + 4);
        if (flash < base) {
            continue;
        }
        uint32_t at = flash - base;
        if (first == MPOTA_IMAGE_NO_OFFSET) {
            first = at;
        }
        if (at < len && b[at] == MPOTA_IMAGE_MAGIC) {
            return at;
        }
    }
    return first;
}

// What an image's header and segment headers say, as far as the buffer goes.
struct img_head {
    bool valid;         // header (as far as present) is sane
    uint16_t chip;
    bool seg0_known;
    bool any_mapped;
    bool walked;        // every segment header lies within the buffer
    uint32_t end;       // end of the last segment's data (when walked)
    uint32_t image_len; // through checksum and hash (when walked)
    bool app_desc;      // 0xABCD5432 at 0x20
    bool boot_desc;     // 0x50 at 0x20
};

// rec gets the record of the first bytes (mpota_image_head_read), which the
// header fields and the description's magic are taken from.
static void read_head(const uint8_t *b, size_t len, struct img_head *h,
                      struct mpota_image_head *rec)
{
    memset(h, 0, sizeof(*h));
    h->chip = MPOTA_CHIP_ANY;
    mpota_image_head_read(b, len, rec);
    if (len < 1 || b[0] != MPOTA_IMAGE_MAGIC) {
        return;
    }
    h->valid = true;
    if (len < MPOTA_IMAGE_HEADER_LEN) {
        return;
    }
    uint8_t count = rec->header.segment_count;
    h->chip = rec->header.chip_id;
    if (count == 0 || count > MPOTA_IMAGE_MAX_SEGMENTS || rec->header.hash_appended > 1) {
        h->valid = false;
        return;
    }
    size_t off = MPOTA_IMAGE_HEADER_LEN;
    uint8_t i;
    for (i = 0; i < count && off + MPOTA_IMAGE_SEG_HEADER_LEN <= len; i++) {
        uint32_t load = mpota_le32(b + off), slen = mpota_le32(b + off + 4);
        if (!mpota_image_seg_len_ok(slen)) {
            h->valid = false;
            return;
        }
        bool mapped = mpota_chip_is_mapped_addr(h->chip, load);
        h->seg0_known = true;
        h->any_mapped |= mapped;
        off += MPOTA_IMAGE_SEG_HEADER_LEN + slen;
    }
    h->walked = i == count;
    h->end = (uint32_t)off;
    h->image_len = mpota_image_checksum_end(h->end) +
                   (rec->header.hash_appended ? MPOTA_IMAGE_HASH_LEN : 0u);
    if (len >= MPOTA_APP_DESC_OFFSET + 4) {
        uint32_t magic = rec->app_desc.magic_word;
        h->app_desc = magic == MPOTA_APP_DESC_MAGIC;
        h->boot_desc = (magic & 0xFFu) == MPOTA_BOOTLOADER_DESC_MAGIC;
    }
}

enum guess { G_NONE, G_APP, G_BOOTLOADER };

// App or bootloader? elf2image puts an app's first flash-mapped segment first
// (its DROM, holding esp_app_desc_t); a bootloader has no mapped segment at
// all and starts with its DRAM segment (holding esp_bootloader_desc_t from
// IDF v5.2 on). Too short to tell -> app: that is what the caller hopes for.
static enum guess classify(const struct img_head *h, bool *sure)
{
    *sure = true;
    if (!h->valid) {
        return G_NONE;
    }
    if (h->app_desc || h->any_mapped) {
        return G_APP;
    }
    if (!h->seg0_known) {
        *sure = false;
        return G_APP;
    }
    if (h->boot_desc) {
        return G_BOOTLOADER;
    }
    if (!mpota_chip_has_tables(h->chip)) {
        // No memory map for this chip: RAM vs flash cannot be told apart.
        *sure = false;
        return G_APP;
    }
    if (!h->walked) {
        *sure = false;  // a later segment might still be mapped
    }
    return G_BOOTLOADER;
}

static void set_unknown(struct mpota_image_ident *out)
{
    out->kind = MPOTA_IMAGE_KIND_UNKNOWN;
    out->chip = MPOTA_CHIP_ANY;
    out->app_offset = MPOTA_IMAGE_NO_OFFSET;
    out->table_offset = MPOTA_IMAGE_NO_OFFSET;
    out->bootloader_offset = MPOTA_IMAGE_NO_OFFSET;
    out->head_only = false;
}

// Is len a plausible whole-flash size (a power of two of at least 1 MiB)?
static bool flash_sized(size_t len)
{
    return len >= 0x100000u && (len & (len - 1)) == 0;
}

// A bootloader image at buffer offset `at`, which lives at flash address
// boot_flash: finds the table (at flash 0x8000, SPEC §1) and the app, and
// says whether this is a bootloader alone, a combined image or a dump.
static void after_bootloader(const uint8_t *b, size_t len, size_t at, uint32_t boot_flash,
                             const struct img_head *h, struct mpota_image_ident *out)
{
    out->bootloader_offset = (uint32_t)at;
    // Buffer offset 0 holds flash address (boot_flash - at).
    uint32_t base = boot_flash - (uint32_t)at;
    size_t table = MPOTA_PART_TABLE_OFFSET - base;
    if (!table_row_at(b, len, table)) {
        // Non-default table offsets: any sector after the bootloader, below
        // the first 64 KiB where apps start.
        size_t from = h->walked ? ((at + h->end + 0xFFFu) & ~(size_t)0xFFFu) : table;
        for (table = from; table + MPOTA_PART_ROW_SIZE <= len && table < 0x10000u - base;
             table += 0x1000u) {
            if (table_row_at(b, len, table)) {
                break;
            }
        }
    }
    if (table_row_at(b, len, table) && is_table(b + table, len - table)) {
        out->table_offset = (uint32_t)table;
        out->app_offset = first_app(b, len, table, base);
        if (out->app_offset == MPOTA_IMAGE_NO_OFFSET && len < table + MPOTA_PART_TABLE_MAX_LEN) {
            // The buffer stops inside the table, before any app row.
            out->app_offset = 0x10000u - base;
            out->head_only = true;
        }
        if (base == 0 && (at != 0 || flash_sized(len))) {
            out->kind = MPOTA_IMAGE_KIND_FLASH_DUMP;
        } else {
            out->kind = MPOTA_IMAGE_KIND_COMBINED;
        }
        return;
    }
    out->kind = MPOTA_IMAGE_KIND_BOOTLOADER;
    // Too short to reach the default table: could still be a combined image,
    // unless the buffer ends exactly where the bootloader image ends (a
    // bootloader .bin on its own).
    bool exact = h->walked && at + h->image_len == len;
    out->head_only = !exact && len < MPOTA_PART_TABLE_OFFSET - base + MPOTA_PART_ROW_SIZE;
    if (out->head_only) {
        out->app_offset = 0x10000u - base;  // where the first app usually is
    }
}

// mpota_image_identify(); rec gets the record of the image it found first.
static void identify(const uint8_t *b, size_t len, struct mpota_image_ident *out,
                     struct mpota_image_head *rec)
{
    set_unknown(out);
    if (!b || len == 0) {
        out->head_only = true;
        return;
    }
    if (len >= 2 && b[0] == 0xAA && b[1] == 0x50 &&
        (len < MPOTA_PART_ROW_SIZE || is_table(b, len))) {
        out->kind = MPOTA_IMAGE_KIND_PART_TABLE;
        out->table_offset = 0;
        out->head_only = len < MPOTA_PART_ROW_SIZE;
        return;
    }
    if (is_otadata(b, len)) {
        out->kind = MPOTA_IMAGE_KIND_OTADATA;
        return;
    }

    struct img_head h;
    read_head(b, len, &h, rec);
    if (h.valid) {
        bool sure;
        enum guess g = classify(&h, &sure);
        out->chip = h.chip;
        if (g == G_APP) {
            out->kind = MPOTA_IMAGE_KIND_APP;
            out->app_offset = 0;
            out->head_only = !sure;
            return;
        }
        if (g == G_BOOTLOADER) {
            // A file starting with the bootloader is written at the
            // bootloader's flash address.
            after_bootloader(b, len, 0, mpota_chip_bootloader_offset(h.chip), &h, out);
            out->head_only |= !sure;
            return;
        }
    }

    // A dump of the whole flash from address 0 on a chip whose bootloader
    // sits at 0x1000 or 0x2000: erased bytes, then the bootloader.
    static const uint32_t boot_offsets[] = {0x1000u, 0x2000u};
    for (unsigned i = 0; i < 2; i++) {
        uint32_t at = boot_offsets[i];
        if (!mpota_all_ff(b, len < at ? len : at)) {
            continue;
        }
        if (len <= at) {
            out->head_only = true;  // all 0xFF so far: could be anything
            return;
        }
        read_head(b + at, len - at, &h, rec);
        bool sure;
        if (h.valid && mpota_chip_bootloader_offset(h.chip) == at &&
            classify(&h, &sure) == G_BOOTLOADER) {
            out->chip = h.chip;
            after_bootloader(b, len, at, at, &h, out);
            if (out->kind == MPOTA_IMAGE_KIND_BOOTLOADER) {
                // Erased flash then a bootloader, without a table (yet).
                out->kind = MPOTA_IMAGE_KIND_FLASH_DUMP;
            }
            out->head_only |= !sure;
            return;
        }
    }
}

void mpota_image_identify(const uint8_t *b, size_t len, struct mpota_image_ident *out)
{
    struct mpota_image_head rec;
    identify(b, len, out, &rec);
}

const char *mpota_image_kind_name(enum mpota_image_kind kind)
{
    switch (kind) {
    case MPOTA_IMAGE_KIND_APP:
        return "app";
    case MPOTA_IMAGE_KIND_BOOTLOADER:
        return "bootloader";
    case MPOTA_IMAGE_KIND_COMBINED:
        return "combined";
    case MPOTA_IMAGE_KIND_FLASH_DUMP:
        return "flash-dump";
    case MPOTA_IMAGE_KIND_PART_TABLE:
        return "partition-table";
    case MPOTA_IMAGE_KIND_OTADATA:
        return "otadata";
    default:
        return "unknown";
    }
}

// Step 1 of mpota_image_check_update(): what the file is, the chip, and
// what the parser p says of the header and segment headers in buf.
static int check_identity(mpota_image_parser_t *p, const uint8_t *buf, size_t len,
                          struct mpota_image_head *rec, struct mpota_diag *d)
{
    struct mpota_image_ident id;
    identify(buf, len, &id, rec);
    uint16_t expected_chip = p->expected_chip;

    // A wrong chip is the first thing to say: extracting the app would not help.
    bool imagey = id.kind == MPOTA_IMAGE_KIND_APP || id.kind == MPOTA_IMAGE_KIND_BOOTLOADER ||
                  id.kind == MPOTA_IMAGE_KIND_COMBINED || id.kind == MPOTA_IMAGE_KIND_FLASH_DUMP;
    if (imagey && expected_chip != MPOTA_CHIP_ANY && id.chip != MPOTA_CHIP_ANY &&
        id.chip != expected_chip) {
        uint32_t at = id.bootloader_offset == MPOTA_IMAGE_NO_OFFSET ? 0 : id.bootloader_offset;
        return mpota_diag_set(d, MPOTA_ERR_IMAGE_CHIP, at + 12u, expected_chip, id.chip);
    }
    switch (id.kind) {
    case MPOTA_IMAGE_KIND_APP:
        break;
    case MPOTA_IMAGE_KIND_BOOTLOADER:
        if (!id.head_only) {
            return mpota_diag_set(d, MPOTA_ERR_IMAGE_IS_BOOTLOADER, 0, 0, 0);
        }
        // Starts like a bootloader and is too short to show the table: most
        // likely a combined firmware (what micropython.org ships).
        // fall through
    case MPOTA_IMAGE_KIND_COMBINED:
    case MPOTA_IMAGE_KIND_FLASH_DUMP:
        return mpota_diag_set(d, MPOTA_ERR_IMAGE_IS_COMBINED, 0, id.app_offset, 0);
    case MPOTA_IMAGE_KIND_PART_TABLE:
        return mpota_diag_set(d, MPOTA_ERR_IMAGE_IS_TABLE, 0, 0, 0);
    case MPOTA_IMAGE_KIND_OTADATA:
        return mpota_diag_set(d, MPOTA_ERR_IMAGE_IS_OTADATA, 0, 0, 0);
    default:
        if (buf[0] != MPOTA_IMAGE_MAGIC) {
            return mpota_diag_set(d, MPOTA_ERR_IMAGE_MAGIC, 0, MPOTA_IMAGE_MAGIC, buf[0]);
        }
        break;
    }
    // The parser says what the full parse will say about the header and the
    // segment headers seen so far; of a file that starts with 0xE9 but is
    // not an app, why its header is not sane.
    int err = mpota_image_parser_push(p, buf, len, d);
    return err || id.kind == MPOTA_IMAGE_KIND_APP ? err
                                                   : mpota_diag_set(d, MPOTA_ERR_IMAGE_UNKNOWN, 0, 0, 0);
}

// Apps only (bootloader images have none): the app description where the
// chip requires one (mpota_chip_requires_app_desc).
static int app_desc_rule(uint16_t chip_id, bool present, struct mpota_diag *d)
{
    if (mpota_chip_requires_app_desc(chip_id) && !present) {
        return mpota_diag_set(d, MPOTA_ERR_IMAGE_NO_APP_DESC, MPOTA_APP_DESC_OFFSET,
                              MPOTA_APP_DESC_MAGIC, 0);
    }
    return MPOTA_OK;
}

int mpota_image_check_app(const struct mpota_image_info *info, struct mpota_diag *d)
{
    return app_desc_rule(info->header.chip_id, info->app_desc_present, d);
}

int mpota_image_check_update(mpota_image_parser_t *p, const uint8_t *buf, size_t len,
                             const struct mpota_update_check *q, struct mpota_image_head *head,
                             struct mpota_diag *d)
{
    int rc = buf && len ? check_identity(p, buf, len, head, d) : MPOTA_OK;
    return rc ? rc : mpota_image_check_pushed(p, q, d);
}

int mpota_image_check_pushed(mpota_image_parser_t *p, const struct mpota_update_check *q,
                             struct mpota_diag *d)
{
    int rc = MPOTA_OK;
    if (q->whole) {
        bool present = false;
        rc = mpota_image_parser_finish(p, d);
        (void)mpota_image_parser_app_desc_known(p, &present);
        rc = rc ? rc : app_desc_rule(p->chip, present, d);
    }
    if (!rc && q->slot_size) {
        uint32_t need = mpota_image_parser_min_len(p);
        need = q->size > q->slot_size ? q->size : need;
        if (need > q->slot_size) {
            rc = mpota_diag_set(d, MPOTA_ERR_SLOT_TOO_SMALL, 0, q->slot_size, need);
        }
    }
    return rc;
}

int mpota_image_check_head(const uint8_t *buf, size_t len, uint16_t expected_chip,
                           struct mpota_diag *d)
{
    if (!buf || len == 0) {
        return MPOTA_OK;  // nothing to judge yet
    }
    static const struct mpota_update_check head_only;
    struct mpota_image_head rec;
    mpota_image_parser_t p;
    mpota_image_parser_init(&p, expected_chip, 0, NULL);
    int err = mpota_image_check_update(&p, buf, len, &head_only, &rec, d);
    mpota_image_parser_release(&p);
    return err;
}
