// otadata record codec, CRC and predicates (otadata.h, SPEC §3.2-3.6).
#include "mpota/otadata.h"

#include <string.h>

#include "mpota/bytes.h"
#include "mpota/crc.h"
#include "mpota/err.h"
#include "mpota/flash.h"

uint32_t mpota_otadata_crc(uint32_t ota_seq)
{
    // esp_rom_crc32_le(UINT32_MAX, &seq, 4): the register starts at 0, not
    // at 0xFFFFFFFF as in zlib (SPEC §3.3).
    uint8_t le[4];
    mpota_put_le32(le, ota_seq);
    return mpota_crc32_le(UINT32_MAX, le, sizeof(le));
}

// SPEC §3.2: ota_seq at 0, seq_label at 4, ota_state at 24, crc at 28.
void mpota_otadata_decode(const uint8_t raw[MPOTA_OTADATA_ENTRY_SIZE],
                          struct mpota_otadata_entry *e)
{
    e->ota_seq = mpota_le32(raw);
    memcpy(e->seq_label, raw + 4, MPOTA_OTADATA_LABEL_LEN);
    e->ota_state = mpota_le32(raw + 24);
    e->crc = mpota_le32(raw + 28);
}

void mpota_otadata_encode(const struct mpota_otadata_entry *e,
                          uint8_t raw[MPOTA_OTADATA_ENTRY_SIZE])
{
    mpota_put_le32(raw, e->ota_seq);
    memcpy(raw + 4, e->seq_label, MPOTA_OTADATA_LABEL_LEN);
    mpota_put_le32(raw + 24, e->ota_state);
    mpota_put_le32(raw + 28, e->crc);
}

void mpota_otadata_entry_init(struct mpota_otadata_entry *e, uint32_t ota_seq,
                              uint32_t ota_state)
{
    memset(e->seq_label, 0xFF, sizeof(e->seq_label));
    e->ota_seq = ota_seq;
    e->ota_state = ota_state;
    e->crc = mpota_otadata_crc(ota_seq);
}

bool mpota_otadata_crc_ok(const struct mpota_otadata_entry *e)
{
    return e->crc == mpota_otadata_crc(e->ota_seq);
}

bool mpota_otadata_is_invalid(const struct mpota_otadata_entry *e)
{
    return e->ota_seq == MPOTA_OTADATA_SEQ_EMPTY || e->ota_state == MPOTA_OTA_STATE_INVALID ||
           e->ota_state == MPOTA_OTA_STATE_ABORTED;
}

bool mpota_otadata_is_valid(const struct mpota_otadata_entry *e)
{
    return !mpota_otadata_is_invalid(e) && mpota_otadata_crc_ok(e);
}

bool mpota_otadata_is_blank_or_bad_crc(const struct mpota_otadata_entry *e)
{
    return e->ota_seq == MPOTA_OTADATA_SEQ_EMPTY || !mpota_otadata_crc_ok(e);
}

int mpota_otadata_select(const struct mpota_otadata_entry two[2], const bool ok[2], bool max)
{
    if (ok[0] && ok[1]) {
        // ESP-IDF asks "is seq[0] the max (min)?", so a tie goes to entry 0.
        uint32_t s0 = two[0].ota_seq;
        uint32_t s1 = two[1].ota_seq;
        return (max ? s0 >= s1 : s0 <= s1) ? 0 : 1;
    }
    if (ok[0]) {
        return 0;
    }
    if (ok[1]) {
        return 1;
    }
    return -1;
}

int mpota_otadata_active(const struct mpota_otadata_entry two[2])
{
    bool ok[2] = {mpota_otadata_is_valid(&two[0]), mpota_otadata_is_valid(&two[1])};
    return mpota_otadata_select(two, ok, true);
}

uint32_t mpota_otadata_seq_to_slot(uint32_t ota_seq, uint32_t count)
{
    // Unsigned on purpose: seq 0 maps to 0xFFFFFFFF % count, as on the chip.
    return count ? (ota_seq - 1u) % count : 0;
}

const char *mpota_otadata_state_name(uint32_t ota_state)
{
    switch (ota_state) {
    case MPOTA_OTA_STATE_NEW:
        return "NEW";
    case MPOTA_OTA_STATE_PENDING_VERIFY:
        return "PENDING_VERIFY";
    case MPOTA_OTA_STATE_VALID:
        return "VALID";
    case MPOTA_OTA_STATE_INVALID:
        return "INVALID";
    case MPOTA_OTA_STATE_ABORTED:
        return "ABORTED";
    case MPOTA_OTA_STATE_UNDEFINED:
        return "UNDEFINED";
    default:
        return NULL;
    }
}

int mpota_otadata_read(const struct mpota_area *otadata, struct mpota_otadata_entry two[2])
{
    if (otadata->size < 2 * MPOTA_OTADATA_SECTOR_SIZE) {
        return MPOTA_ERR_OTADATA_SIZE;
    }
    for (unsigned i = 0; i < 2; i++) {
        uint8_t raw[MPOTA_OTADATA_ENTRY_SIZE];
        int rc = mpota_area_read(otadata, i * MPOTA_OTADATA_SECTOR_SIZE, raw, sizeof(raw));
        if (rc) {
            return rc;
        }
        mpota_otadata_decode(raw, &two[i]);
    }
    return MPOTA_OK;
}

int mpota_otadata_write(const struct mpota_area *otadata, unsigned sector,
                        const struct mpota_otadata_entry *e)
{
    if (sector > 1) {
        return MPOTA_ERR_INVALID_ARG;
    }
    if (otadata->size < 2 * MPOTA_OTADATA_SECTOR_SIZE) {
        return MPOTA_ERR_OTADATA_SIZE;
    }
    uint8_t raw[MPOTA_OTADATA_ENTRY_SIZE];
    mpota_otadata_encode(e, raw);
    uint32_t off = sector * MPOTA_OTADATA_SECTOR_SIZE;
    // Between these two operations this entry reads as blank (all 0xFF); the
    // callers (boot_select.c, ota_ops.c) say what boots if power fails there.
    int rc = mpota_area_erase(otadata, off, MPOTA_OTADATA_SECTOR_SIZE);
    if (rc) {
        return rc;
    }
    return mpota_area_prog(otadata, off, raw, sizeof(raw));
}
