// esp_app_desc_t (SPEC §4.7) and esp_bootloader_desc_t (SPEC §4.8): bytes to
// structs and back, and an app's description read from its slot. Decoding
// is byte-at-a-time so the push parser can feed the description straight
// from the stream without buffering 256 bytes.
#include <string.h>

#include "mpota/bytes.h"
#include "mpota/flash.h"
#include "mpota/image.h"

// esp_app_desc_t field offsets (SPEC §4.7).
enum {
    AD_MAGIC = 0,
    AD_SECURE_VERSION = 4,
    AD_VERSION = 16,
    AD_PROJECT = 48,
    AD_TIME = 80,
    AD_DATE = 96,
    AD_IDF_VER = 112,
    AD_ELF_SHA = 144,
    AD_MIN_EFUSE = 176,
    AD_MAX_EFUSE = 178,
    AD_MMU_PAGE = 180,
    AD_FLASH_MODE = 181,
};

// esp_bootloader_desc_t field offsets (SPEC §4.8).
enum {
    BD_MAGIC = 0,
    BD_SECURE_VERSION = 3,
    BD_VERSION = 4,
    BD_IDF_VER = 8,
    BD_DATE_TIME = 40,
    BD_RESERVED2 = 64,
};

// Sets byte i (little-endian) of a 32- or 16-bit field.
static uint32_t set_byte32(uint32_t v, unsigned i, uint8_t b)
{
    return (v & ~(0xFFu << (8 * i))) | ((uint32_t)b << (8 * i));
}

static uint16_t set_byte16(uint16_t v, unsigned i, uint8_t b)
{
    return (uint16_t)((v & ~(0xFFu << (8 * i))) | ((unsigned)b << (8 * i)));
}

// Stores into a fixed-size string field. The array has one spare byte that is
// never written, so the copy is always NUL-terminated; a NUL inside the field
// ends the string where C code on the device would stop reading.
static void put_str(char *field, uint32_t idx, uint8_t b)
{
    field[idx] = (char)b;
}

void mpota_app_desc_put(struct mpota_app_desc *d, uint32_t off, uint8_t b)
{
    if (off < AD_SECURE_VERSION) {
        d->magic_word = set_byte32(d->magic_word, off - AD_MAGIC, b);
    } else if (off < AD_SECURE_VERSION + 4) {
        d->secure_version = set_byte32(d->secure_version, off - AD_SECURE_VERSION, b);
    } else if (off < AD_VERSION) {
        // reserv1
    } else if (off < AD_PROJECT) {
        put_str(d->version, off - AD_VERSION, b);
    } else if (off < AD_TIME) {
        put_str(d->project_name, off - AD_PROJECT, b);
    } else if (off < AD_DATE) {
        put_str(d->time, off - AD_TIME, b);
    } else if (off < AD_IDF_VER) {
        put_str(d->date, off - AD_DATE, b);
    } else if (off < AD_ELF_SHA) {
        put_str(d->idf_ver, off - AD_IDF_VER, b);
    } else if (off < AD_MIN_EFUSE) {
        d->app_elf_sha256[off - AD_ELF_SHA] = b;
    } else if (off < AD_MAX_EFUSE) {
        d->min_efuse_blk_rev_full = set_byte16(d->min_efuse_blk_rev_full, off - AD_MIN_EFUSE, b);
    } else if (off < AD_MMU_PAGE) {
        d->max_efuse_blk_rev_full = set_byte16(d->max_efuse_blk_rev_full, off - AD_MAX_EFUSE, b);
    } else if (off == AD_MMU_PAGE) {
        d->mmu_page_size = b;
    } else if (off == AD_FLASH_MODE) {
        d->spi_flash_mode = b;
    }
    // 182..255: reserv3 / reserv2
}

int mpota_app_desc_decode(const uint8_t *raw, size_t len, struct mpota_app_desc *out)
{
    memset(out, 0, sizeof(*out));
    size_t n = len < MPOTA_APP_DESC_LEN ? len : MPOTA_APP_DESC_LEN;
    for (size_t i = 0; i < n; i++) {
        mpota_app_desc_put(out, (uint32_t)i, raw[i]);
    }
    if (len < MPOTA_APP_DESC_LEN || out->magic_word != MPOTA_APP_DESC_MAGIC) {
        return MPOTA_ERR_IMAGE_NO_APP_DESC;
    }
    return MPOTA_OK;
}

int mpota_app_desc_read_area(const struct mpota_area *a, struct mpota_app_desc *out)
{
    uint8_t raw[MPOTA_APP_DESC_LEN];
    int rc = mpota_area_read(a, MPOTA_APP_DESC_OFFSET, raw, sizeof(raw));
    return rc ? rc : mpota_app_desc_decode(raw, sizeof(raw), out);
}

// Copies a string into a fixed field: truncated to the field, NUL-padded. A
// string that fills the field has no NUL, as on flash (SPEC §4.7).
static void encode_str(uint8_t *field, size_t field_len, const char *s)
{
    size_t n = strlen(s);
    if (n > field_len) {
        n = field_len;
    }
    memcpy(field, s, n);
    memset(field + n, 0, field_len - n);
}

void mpota_app_desc_encode(const struct mpota_app_desc *d, uint8_t out[MPOTA_APP_DESC_LEN])
{
    memset(out, 0, MPOTA_APP_DESC_LEN);
    mpota_put_le32(out + AD_MAGIC, d->magic_word);
    mpota_put_le32(out + AD_SECURE_VERSION, d->secure_version);
    encode_str(out + AD_VERSION, 32, d->version);
    encode_str(out + AD_PROJECT, 32, d->project_name);
    encode_str(out + AD_TIME, 16, d->time);
    encode_str(out + AD_DATE, 16, d->date);
    encode_str(out + AD_IDF_VER, 32, d->idf_ver);
    memcpy(out + AD_ELF_SHA, d->app_elf_sha256, 32);
    mpota_put_le16(out + AD_MIN_EFUSE, d->min_efuse_blk_rev_full);
    mpota_put_le16(out + AD_MAX_EFUSE, d->max_efuse_blk_rev_full);
    out[AD_MMU_PAGE] = d->mmu_page_size;
    out[AD_FLASH_MODE] = d->spi_flash_mode;
}

void mpota_bootloader_desc_put(struct mpota_bootloader_desc *d, uint32_t off, uint8_t b)
{
    if (off == BD_MAGIC) {
        d->magic_byte = b;
    } else if (off == BD_SECURE_VERSION) {
        d->secure_version = b;
    } else if (off >= BD_VERSION && off < BD_IDF_VER) {
        d->version = set_byte32(d->version, off - BD_VERSION, b);
    } else if (off >= BD_IDF_VER && off < BD_DATE_TIME) {
        put_str(d->idf_ver, off - BD_IDF_VER, b);
    } else if (off >= BD_DATE_TIME && off < BD_RESERVED2) {
        put_str(d->date_time, off - BD_DATE_TIME, b);
    }
    // 1..2 reserved, 64..79 reserved2
}

int mpota_bootloader_desc_decode(const uint8_t *raw, size_t len,
                                 struct mpota_bootloader_desc *out)
{
    memset(out, 0, sizeof(*out));
    size_t n = len < MPOTA_BOOTLOADER_DESC_LEN ? len : MPOTA_BOOTLOADER_DESC_LEN;
    for (size_t i = 0; i < n; i++) {
        mpota_bootloader_desc_put(out, (uint32_t)i, raw[i]);
    }
    if (len < MPOTA_BOOTLOADER_DESC_LEN || out->magic_byte != MPOTA_BOOTLOADER_DESC_MAGIC) {
        return MPOTA_ERR_NOT_FOUND;
    }
    return MPOTA_OK;
}

void mpota_bootloader_desc_encode(const struct mpota_bootloader_desc *d,
                                  uint8_t out[MPOTA_BOOTLOADER_DESC_LEN])
{
    memset(out, 0, MPOTA_BOOTLOADER_DESC_LEN);
    out[BD_MAGIC] = d->magic_byte;
    out[BD_SECURE_VERSION] = d->secure_version;
    mpota_put_le32(out + BD_VERSION, d->version);
    encode_str(out + BD_IDF_VER, 32, d->idf_ver);
    encode_str(out + BD_DATE_TIME, 24, d->date_time);
}
