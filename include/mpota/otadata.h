// otadata: the two boot-selection records of an ESP32 OTA layout (SPEC §3).
//
// The otadata partition (data/ota, 0x2000 bytes) holds two copies of a 32-byte
// record, entry 0 at partition offset 0 and entry 1 at 0x1000, each alone in
// its own 4 KiB sector; the rest of each sector stays 0xFF. The copy with the
// larger sequence number among the valid ones says which ota_N slot boots.
//
// This header is the codec and the predicates only: pure functions on
// struct mpota_otadata_entry, plus reading both entries from an area and
// writing one. What the bootloader and the app do with them is boot.h.
//
// Conventions: functions that can fail return 0 or a negative enum mpota_err;
// no function allocates; pointers must not be NULL unless stated.
#ifndef MPOTA_OTADATA_H
#define MPOTA_OTADATA_H

#include <stdbool.h>
#include <stdint.h>

struct mpota_area;

#define MPOTA_OTADATA_ENTRY_SIZE 32u       // sizeof(esp_ota_select_entry_t)
#define MPOTA_OTADATA_SECTOR_SIZE 0x1000u  // entry i lives at i * this (SPI_FLASH_SEC_SIZE)
#define MPOTA_OTADATA_LABEL_LEN 20u        // seq_label: unused by ESP-IDF, left 0xFF
#define MPOTA_OTADATA_SEQ_EMPTY 0xFFFFFFFFu

// esp_ota_img_states_t (SPEC §3.4). A u32 on flash; values other than these
// are possible in a corrupt record and count as bootable (not "invalid").
#define MPOTA_OTA_STATE_NEW 0x0u             // set_boot with rollback enabled
#define MPOTA_OTA_STATE_PENDING_VERIFY 0x1u  // bootloader: first boot of a NEW app
#define MPOTA_OTA_STATE_VALID 0x2u           // app confirmed (mark_valid) / initial boot
#define MPOTA_OTA_STATE_INVALID 0x3u         // mark_invalid; never selected
#define MPOTA_OTA_STATE_ABORTED 0x4u         // bootloader: PENDING_VERIFY seen again; never selected
#define MPOTA_OTA_STATE_UNDEFINED 0xFFFFFFFFu  // set_boot with rollback disabled

// esp_ota_select_entry_t, SPEC §3.2. All fields little-endian on flash, no
// padding: offsets 0, 4, 24, 28. Decoding then encoding gives back the same
// 32 bytes, whatever they were.
struct mpota_otadata_entry {
    uint32_t ota_seq;                               // 0xFFFFFFFF = empty
    uint8_t seq_label[MPOTA_OTADATA_LABEL_LEN];     // kept as read
    uint32_t ota_state;                             // MPOTA_OTA_STATE_*
    uint32_t crc;                                   // mpota_otadata_crc(ota_seq)
};

// The otadata CRC of a sequence number (SPEC §3.3): reflected CRC-32,
// polynomial 0xEDB88320, register starting at 0 (ESP-IDF passes UINT32_MAX to
// a routine that inverts it), over the 4 little-endian bytes of ota_seq, final
// xor 0xFFFFFFFF. Not zlib's crc32: seq 1 gives 0x4743989A, not 0x99F8B879.
uint32_t mpota_otadata_crc(uint32_t ota_seq);

// 32 bytes <-> struct. Both total functions; no validation.
void mpota_otadata_decode(const uint8_t raw[MPOTA_OTADATA_ENTRY_SIZE],
                          struct mpota_otadata_entry *e);
void mpota_otadata_encode(const struct mpota_otadata_entry *e,
                          uint8_t raw[MPOTA_OTADATA_ENTRY_SIZE]);

// An entry as ESP-IDF builds one from scratch: seq_label all 0xFF, the given
// seq and state, crc computed.
void mpota_otadata_entry_init(struct mpota_otadata_entry *e, uint32_t ota_seq,
                              uint32_t ota_state);

// crc == mpota_otadata_crc(ota_seq).
bool mpota_otadata_crc_ok(const struct mpota_otadata_entry *e);

// ota_select_invalid (SPEC §3.5): seq empty, or state INVALID or ABORTED.
// Does NOT look at the CRC: an entry with a bad CRC is not "invalid" here.
bool mpota_otadata_is_invalid(const struct mpota_otadata_entry *e);

// ota_select_valid: not invalid and the CRC matches. Quirk (SPEC §3.3): an
// entry with seq 0 and an erased crc (0xFFFFFFFF) is valid, since crc(0) is
// 0xFFFFFFFF.
bool mpota_otadata_is_valid(const struct mpota_otadata_entry *e);

// "Initial contents" test of the bootloader: seq empty or CRC wrong, whatever
// the state. Both entries like this (and no factory app) make the bootloader
// write {seq index+1, VALID} into sector 0 after booting ota_N.
bool mpota_otadata_is_blank_or_bad_crc(const struct mpota_otadata_entry *e);

// select_otadata (SPEC §3.5): among the entries flagged in ok[], the index
// (0 or 1) of the larger seq (max = true) or the smaller (max = false). On a
// tie, 0. One flagged: that one. None: -1.
int mpota_otadata_select(const struct mpota_otadata_entry two[2], const bool ok[2], bool max);

// get_active_otadata: mpota_otadata_select over mpota_otadata_is_valid, max.
int mpota_otadata_active(const struct mpota_otadata_entry two[2]);

// slot = (ota_seq - 1) % count in unsigned 32-bit arithmetic (SPEC §3.6).
// count must be > 0 (returns 0 for count 0 rather than dividing by it).
uint32_t mpota_otadata_seq_to_slot(uint32_t ota_seq, uint32_t count);

// Name of a state ("NEW", "PENDING_VERIFY", "VALID", "INVALID", "ABORTED",
// "UNDEFINED"); NULL for any other value.
const char *mpota_otadata_state_name(uint32_t ota_state);

// Reads entry 0 (offset 0) and entry 1 (offset 0x1000) of the otadata area.
// MPOTA_ERR_OTADATA_SIZE if the area is smaller than two sectors (the
// bootloader refuses that too); flash errors pass through.
int mpota_otadata_read(const struct mpota_area *otadata, struct mpota_otadata_entry two[2]);

// Rewrites entry `sector` (0 or 1) as ESP-IDF does: erase that 4 KiB sector,
// then program the 32 bytes of *e at its start; the rest of the sector stays
// 0xFF. Writes e exactly as given (the caller sets the crc): the bootloader
// rewrites entries with whatever crc they had. Two flash operations; between
// them the entry reads as blank. MPOTA_ERR_INVALID_ARG for sector > 1.
int mpota_otadata_write(const struct mpota_area *otadata, unsigned sector,
                        const struct mpota_otadata_entry *e);

#endif
