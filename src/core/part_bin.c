// Binary partition tables (SPEC §2): decode, validate, encode, look up.
// Documentation of the public functions is in include/mpota/part.h.
#include <string.h>

#include "mpota/bytes.h"
#include "mpota/hash.h"
#include "mpota/part.h"

#define ROW MPOTA_PART_ROW_SIZE

// SPEC §2.1: magic 0x50AA stored little-endian; SPEC §2.4: MD5 row magic 0xEBEB.
#define MAGIC_ENTRY 0x50AAu
#define MAGIC_MD5 0xEBEBu
#define MD5_OFFSET 16u

static size_t label_len(const char *label)
{
    size_t n = 0;
    while (n < MPOTA_PART_LABEL_LEN && label[n]) {
        n++;
    }
    return n;
}

static void diag_part(struct mpota_diag *d, const struct mpota_partition *p)
{
    mpota_diag_label(d, p->label, MPOTA_PART_LABEL_LEN);
}

static void diag_no_label(struct mpota_diag *d)
{
    mpota_diag_label(d, "", 0);
}

static void decode_row(const uint8_t *row, struct mpota_partition *p)
{
    // SPEC §2.1: <2sBBLL16sL. The label need not be NUL-terminated; like
    // gen_esp32part, keep the bytes before the first NUL only.
    p->type = row[2];
    p->subtype = row[3];
    p->offset = mpota_le32(row + 4);
    p->size = mpota_le32(row + 8);
    memset(p->label, 0, sizeof(p->label));
    size_t n = label_len((const char *)row + 12);
    memcpy(p->label, row + 12, n);
    p->flags = mpota_le32(row + 28);
}

static void encode_row(const struct mpota_partition *p, uint8_t *row)
{
    mpota_put_le16(row, MAGIC_ENTRY);
    row[2] = p->type;
    row[3] = p->subtype;
    mpota_put_le32(row + 4, p->offset);
    mpota_put_le32(row + 8, p->size);
    memset(row + 12, 0, MPOTA_PART_LABEL_LEN);
    memcpy(row + 12, p->label, label_len(p->label));
    mpota_put_le32(row + 28, p->flags);
}

// The rows of the window, up to the end marker, with the MD5 row checked
// against md5 (started by the caller, which ends it on every path).
static int parse_rows(const uint8_t *buf, size_t window, uint32_t flash_size, mpota_md5_t *md5,
                      struct mpota_table *out, struct mpota_diag *d)
{
    bool ended = false;
    uint32_t off = 0;
    for (; off < window; off += ROW) {
        const uint8_t *row = buf + off;
        uint32_t magic = mpota_le16(row);
        if (mpota_all_ff(row, ROW)) {
            ended = true;
            break;
        }
        if (magic == MAGIC_MD5) {
            if (out->md5_present) {
                return mpota_diag_set(d, MPOTA_ERR_TABLE_TWO_MD5, off, 0, 0);
            }
            uint8_t digest[MPOTA_MD5_LEN];
            mpota_md5_finish(md5, digest);
            // Bytes 2..15 are always 0xFF from gen_esp32part; nobody else
            // checks them, but a damaged filler means a damaged table.
            if (!mpota_all_ff(row + 2, MD5_OFFSET - 2) ||
                memcmp(digest, row + MD5_OFFSET, MPOTA_MD5_LEN) != 0) {
                return mpota_diag_set(d, MPOTA_ERR_TABLE_MD5, off, 0, 0);
            }
            out->md5_present = true;
            out->md5_valid = true;
            continue;
        }
        if (magic != MAGIC_ENTRY) {
            return mpota_diag_set(d, MPOTA_ERR_TABLE_MAGIC, off, MAGIC_ENTRY, magic);
        }
        if (out->md5_present) {
            return mpota_diag_set(d, MPOTA_ERR_TABLE_AFTER_MD5, off, 0, 0);
        }
        // 96 rows, one of them the end marker: at most 95 entries can come
        // before it, which is exactly what parts[] holds.
        if (out->count == MPOTA_PART_MAX) {
            return mpota_diag_set(d, MPOTA_ERR_TABLE_NO_END, off, 0, 0);
        }
        mpota_md5_update(md5, row, ROW);
        decode_row(row, &out->parts[out->count++]);
    }
    if (!ended) {
        return mpota_diag_set(d, MPOTA_ERR_TABLE_NO_END, off, 0, 0);
    }
    if (out->count == 0) {
        return mpota_diag_set(d, MPOTA_ERR_TABLE_EMPTY, off, 0, 0);
    }
    // Without a flash size, at least nothing may wrap past 4 GiB: code that
    // adds offset and size in 32 bits must be able to trust the table.
    for (uint32_t i = 0; !flash_size && i < out->count; i++) {
        const struct mpota_partition *p = &out->parts[i];
        if ((uint64_t)p->offset + p->size > UINT32_MAX + (uint64_t)1) {
            diag_part(d, p);
            return mpota_diag_set(d, MPOTA_ERR_TABLE_BEYOND_FLASH, i * ROW, UINT32_MAX, UINT32_MAX);
        }
    }
    struct mpota_part_rules rules = {.flash_size = flash_size};
    return mpota_part_table_check(out, &rules, d);
}

static int parse_table(const uint8_t *buf, size_t len, uint32_t flash_size,
                       struct mpota_table *out, struct mpota_diag *d)
{
    if (len % ROW != 0) {
        return mpota_diag_set(d, MPOTA_ERR_TABLE_LENGTH, 0, ROW, (uint32_t)len);
    }
    // The bootloader reads one 0xC00 window; rows past it are never table rows.
    size_t window = len < MPOTA_PART_TABLE_MAX_LEN ? len : MPOTA_PART_TABLE_MAX_LEN;
    mpota_md5_t md5;
    mpota_md5_start(&md5);
    int rc = parse_rows(buf, window, flash_size, &md5, out, d);
    mpota_md5_free(&md5);  // when no MD5 row finished it
    return rc;
}

int mpota_part_table_parse(const uint8_t *buf, size_t len, uint32_t flash_size,
                           struct mpota_table *out, struct mpota_diag *d)
{
    memset(out, 0, sizeof(*out));
    diag_no_label(d);
    int err = parse_table(buf, len, flash_size, out, d);
    if (err) {
        memset(out, 0, sizeof(*out));  // a refused table has no rows to misuse
    }
    return err;
}

int mpota_part_table_write(const struct mpota_table *t, bool with_md5,
                           uint8_t out[MPOTA_PART_TABLE_MAX_LEN])
{
    // gen_esp32part refuses when rows + MD5 row reach 0xC00: the sector must
    // keep at least one all-0xFF row as the end marker (SPEC §2.5).
    uint32_t rows = t->count + (with_md5 ? 1u : 0u);
    if (t->count > MPOTA_PART_MAX || rows * ROW >= MPOTA_PART_TABLE_MAX_LEN) {
        return MPOTA_ERR_TABLE_TOO_MANY;
    }
    memset(out, 0xFF, MPOTA_PART_TABLE_MAX_LEN);
    for (uint32_t i = 0; i < t->count; i++) {
        encode_row(&t->parts[i], out + i * ROW);
    }
    if (with_md5) {
        uint8_t *row = out + t->count * ROW;
        mpota_md5_t md5;
        mpota_md5_start(&md5);
        mpota_md5_update(&md5, out, t->count * ROW);
        mpota_put_le16(row, MAGIC_MD5);
        mpota_md5_finish(&md5, row + MD5_OFFSET);
    }
    return MPOTA_OK;
}

static bool is_primary_pseudo(const struct mpota_partition *p)
{
    // gen_esp32part exempts these from the below-start rule: they describe
    // the bootloader and the table themselves.
    return (p->type == MPOTA_PART_TYPE_BOOTLOADER || p->type == MPOTA_PART_TYPE_PARTITION_TABLE) &&
           p->subtype == MPOTA_PART_SUBTYPE_PRIMARY;
}

static int check_row(const struct mpota_partition *p, uint32_t row_off,
                     const struct mpota_part_rules *r, struct mpota_diag *d)
{
    // SPEC §2.5: the bootloader's "offset <= chip and size <= chip - offset".
    uint64_t end = (uint64_t)p->offset + p->size;
    if (r->flash_size && end > r->flash_size) {
        diag_part(d, p);
        return mpota_diag_set(d, MPOTA_ERR_TABLE_BEYOND_FLASH, row_off, r->flash_size,
                              end > UINT32_MAX ? UINT32_MAX : (uint32_t)end);
    }
    uint32_t align = p->type == MPOTA_PART_TYPE_APP ? MPOTA_PART_APP_ALIGN : MPOTA_PART_DATA_ALIGN;
    if (p->offset % align) {
        diag_part(d, p);
        return mpota_diag_set(d, MPOTA_ERR_TABLE_ALIGN, row_off, align, p->offset);
    }
    if (p->type == MPOTA_PART_TYPE_APP) {
        // Whole sectors; secure boot v1 puts its signature at the end of a 64 KiB block.
        uint32_t size_align = r->secure_v1 ? MPOTA_PART_APP_ALIGN : MPOTA_PART_DATA_ALIGN;
        if (p->size % size_align) {
            diag_part(d, p);
            return mpota_diag_set(d, MPOTA_ERR_TABLE_ALIGN, row_off, size_align, p->size);
        }
    }
    if (p->type == MPOTA_PART_TYPE_DATA) {
        bool ro = (p->flags & MPOTA_PART_FLAG_READONLY) != 0;
        bool always_rw = p->subtype == MPOTA_PART_SUBTYPE_OTADATA ||
                         p->subtype == MPOTA_PART_SUBTYPE_COREDUMP;
        bool small_rw_nvs = p->subtype == MPOTA_PART_SUBTYPE_NVS && p->size < MPOTA_PART_NVS_RW_MIN && !ro;
        if ((always_rw && ro) || small_rw_nvs) {
            diag_part(d, p);
            return mpota_diag_set(d, MPOTA_ERR_TABLE_READONLY, row_off, MPOTA_PART_NVS_RW_MIN, p->size);
        }
    }
    return MPOTA_OK;
}

static bool same_label(const struct mpota_partition *a, const struct mpota_partition *b)
{
    return strncmp(a->label, b->label, MPOTA_PART_LABEL_LEN) == 0;
}

int mpota_part_table_check(const struct mpota_table *t, const struct mpota_part_rules *rules,
                           struct mpota_diag *d)
{
    static const struct mpota_part_rules none = {0};
    const struct mpota_part_rules *r = rules ? rules : &none;
    uint32_t n = t->count;
    diag_no_label(d);
    if (n > MPOTA_PART_MAX) {
        return mpota_diag_set(d, MPOTA_ERR_TABLE_TOO_MANY, 0, MPOTA_PART_MAX, n);
    }
    for (uint32_t i = 0; i < n; i++) {
        int err = check_row(&t->parts[i], i * ROW, r, d);
        if (err) {
            return err;
        }
    }
    if (!r->skip_names) {
        for (uint32_t i = 1; i < n; i++) {
            for (uint32_t j = 0; j < i; j++) {
                if (same_label(&t->parts[i], &t->parts[j])) {
                    diag_part(d, &t->parts[i]);
                    return mpota_diag_set(d, MPOTA_ERR_TABLE_DUPLICATE, i * ROW, 0, 0);
                }
            }
        }
    }

    // Stable insertion sort of row indices by offset: gen_esp32part walks
    // sorted(offset) and compares each partition with the previous one only,
    // so equal offsets keep table order (it matters for size-0 partitions).
    uint8_t order[MPOTA_PART_MAX];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = i;
        while (j > 0 && t->parts[order[j - 1]].offset > t->parts[i].offset) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = (uint8_t)i;
    }
    uint64_t start = r->table_offset ? (uint64_t)r->table_offset + MPOTA_PART_TABLE_SECTOR : 0;
    const struct mpota_partition *last = NULL;
    for (uint32_t k = 0; k < n; k++) {
        const struct mpota_partition *p = &t->parts[order[k]];
        if (p->offset < start && !is_primary_pseudo(p)) {
            diag_part(d, p);
            return mpota_diag_set(d, MPOTA_ERR_TABLE_BELOW_START, order[k] * ROW, (uint32_t)start,
                                  p->offset);
        }
        if (last && p->offset < (uint64_t)last->offset + last->size) {
            diag_part(d, p);
            return mpota_diag_set(d, MPOTA_ERR_TABLE_OVERLAP, order[k] * ROW,
                                  last->offset + last->size, p->offset);
        }
        last = p;
    }

    // SPEC §2.6: one otadata (and one TEE otadata) of exactly two sectors.
    static const uint8_t ota_kinds[] = {MPOTA_PART_SUBTYPE_OTADATA, MPOTA_PART_SUBTYPE_TEE_OTA};
    for (size_t k = 0; k < sizeof(ota_kinds); k++) {
        const struct mpota_partition *first = NULL;
        for (uint32_t i = 0; i < n; i++) {
            const struct mpota_partition *p = &t->parts[i];
            if (p->type != MPOTA_PART_TYPE_DATA || p->subtype != ota_kinds[k]) {
                continue;
            }
            if (first) {
                diag_part(d, p);
                return mpota_diag_set(d, MPOTA_ERR_TABLE_OTADATA, i * ROW, MPOTA_OTADATA_SIZE, p->size);
            }
            first = p;
        }
        if (first && first->size != MPOTA_OTADATA_SIZE) {
            diag_part(d, first);
            return mpota_diag_set(d, MPOTA_ERR_TABLE_OTADATA, (uint32_t)(first - t->parts) * ROW,
                                  MPOTA_OTADATA_SIZE, first->size);
        }
    }
    return MPOTA_OK;
}

const struct mpota_partition *mpota_part_find_label(const struct mpota_table *t, const char *label)
{
    if (!label) {
        return NULL;
    }
    for (uint32_t i = 0; i < t->count && i < MPOTA_PART_MAX; i++) {
        if (strncmp(t->parts[i].label, label, MPOTA_PART_LABEL_LEN) == 0) {
            return &t->parts[i];
        }
    }
    return NULL;
}

const struct mpota_partition *mpota_part_find(const struct mpota_table *t, uint8_t type,
                                              uint8_t subtype)
{
    for (uint32_t i = 0; i < t->count && i < MPOTA_PART_MAX; i++) {
        const struct mpota_partition *p = &t->parts[i];
        if ((type == MPOTA_PART_TYPE_ANY || p->type == type) &&
            (subtype == MPOTA_PART_SUBTYPE_ANY || p->subtype == subtype)) {
            return p;
        }
    }
    return NULL;
}

const struct mpota_partition *mpota_part_find_at(const struct mpota_table *t, uint32_t addr)
{
    for (uint32_t i = 0; i < t->count && i < MPOTA_PART_MAX; i++) {
        const struct mpota_partition *p = &t->parts[i];
        if (addr >= p->offset && addr - p->offset < p->size) {
            return p;
        }
    }
    return NULL;
}

const struct mpota_partition *mpota_part_ota_slot(const struct mpota_table *t, uint32_t n)
{
    if (n >= MPOTA_PART_SUBTYPE_OTA_MAX - MPOTA_PART_SUBTYPE_OTA_0) {
        return NULL;
    }
    return mpota_part_find(t, MPOTA_PART_TYPE_APP, (uint8_t)(MPOTA_PART_SUBTYPE_OTA_0 + n));
}

uint32_t mpota_part_ota_count(const struct mpota_table *t)
{
    uint32_t n = 0;
    while (mpota_part_ota_slot(t, n)) {
        n++;
    }
    return n;
}

const char *mpota_part_type_name(uint8_t type)
{
    switch (type) {
    case MPOTA_PART_TYPE_APP:
        return "app";
    case MPOTA_PART_TYPE_DATA:
        return "data";
    case MPOTA_PART_TYPE_BOOTLOADER:
        return "bootloader";
    case MPOTA_PART_TYPE_PARTITION_TABLE:
        return "partition_table";
    default:
        return NULL;
    }
}

static const char *app_subtype_name(uint8_t subtype)
{
    static const char ota_names[16][7] = {"ota_0", "ota_1", "ota_2",  "ota_3",  "ota_4",  "ota_5",
                                          "ota_6", "ota_7", "ota_8",  "ota_9",  "ota_10", "ota_11",
                                          "ota_12", "ota_13", "ota_14", "ota_15"};
    if (subtype >= MPOTA_PART_SUBTYPE_OTA_0 && subtype < MPOTA_PART_SUBTYPE_OTA_MAX) {
        return ota_names[subtype - MPOTA_PART_SUBTYPE_OTA_0];
    }
    switch (subtype) {
    case MPOTA_PART_SUBTYPE_FACTORY:
        return "factory";
    case MPOTA_PART_SUBTYPE_TEST:
        return "test";
    case MPOTA_PART_SUBTYPE_TEE_0:
        return "tee_0";
    case MPOTA_PART_SUBTYPE_TEE_0 + 1:
        return "tee_1";
    default:
        return NULL;
    }
}

static const char *data_subtype_name(uint8_t subtype)
{
    switch (subtype) {
    case MPOTA_PART_SUBTYPE_OTADATA:
        return "ota";
    case MPOTA_PART_SUBTYPE_PHY:
        return "phy";
    case MPOTA_PART_SUBTYPE_NVS:
        return "nvs";
    case MPOTA_PART_SUBTYPE_COREDUMP:
        return "coredump";
    case MPOTA_PART_SUBTYPE_NVS_KEYS:
        return "nvs_keys";
    case MPOTA_PART_SUBTYPE_EFUSE:
        return "efuse";
    case MPOTA_PART_SUBTYPE_UNDEFINED:
        return "undefined";
    case MPOTA_PART_SUBTYPE_ESPHTTPD:
        return "esphttpd";
    case MPOTA_PART_SUBTYPE_FAT:
        return "fat";
    case MPOTA_PART_SUBTYPE_SPIFFS:
        return "spiffs";
    case MPOTA_PART_SUBTYPE_LITTLEFS:
        return "littlefs";
    case MPOTA_PART_SUBTYPE_TEE_OTA:
        return "tee_ota";
    default:
        return NULL;
    }
}

const char *mpota_part_subtype_name(uint8_t type, uint8_t subtype)
{
    switch (type) {
    case MPOTA_PART_TYPE_APP:
        return app_subtype_name(subtype);
    case MPOTA_PART_TYPE_DATA:
        return data_subtype_name(subtype);
    case MPOTA_PART_TYPE_BOOTLOADER:
        // SPEC §2.2: primary, ota, recovery
        return subtype == MPOTA_PART_SUBTYPE_PRIMARY       ? "primary"
               : subtype == MPOTA_PART_SUBTYPE_BL_OTA      ? "ota"
               : subtype == MPOTA_PART_SUBTYPE_BL_RECOVERY ? "recovery"
                                                           : NULL;
    case MPOTA_PART_TYPE_PARTITION_TABLE:
        return subtype == MPOTA_PART_SUBTYPE_PRIMARY  ? "primary"
               : subtype == MPOTA_PART_SUBTYPE_BL_OTA ? "ota"
                                                      : NULL;
    default:
        return NULL;
    }
}
