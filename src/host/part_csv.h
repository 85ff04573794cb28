// Partition tables as CSV text: the input format of ESP-IDF's
// gen_esp32part.py (SPEC §2.7), read and written the way that tool does it,
// so a CSV gives a binary table byte-identical to the tool's (v5.4.2 .. v6.x).
// Host only: this code allocates and reads the environment.
//
// Reading follows gen_esp32part exactly, quirks included:
// - A UTF-8 BOM is skipped; a UTF-16 (LE/BE) or UTF-32 BE BOM selects that
//   encoding. Invalid text is refused (MPOTA_ERR_CSV_ENCODING), as Python's
//   decoder refuses it. Deviation: a NUL character within the first 16 bytes
//   of a name is refused (MPOTA_ERR_CSV_ENCODING), since label[] is a C string
//   (gen would write the NUL and the bytes after it into the label).
// - Lines split as Python's str.splitlines() does (\n, \r, \r\n, \v, \f,
//   \x1c-\x1e, U+0085, U+2028, U+2029). In each line, $NAME and ${NAME} are
//   replaced from the environment (unset ones are left as they are), and a line
//   that then still starts with $NAME is an error (MPOTA_ERR_CSV_VARIABLE).
//   Then the line is stripped; empty lines and lines starting with '#' are
//   skipped (no comments after data).
// - Columns Name, Type, SubType, Offset, Size, Flags split on ','; missing
//   trailing columns are empty, extra ones ignored, each field stripped of
//   Unicode whitespace.
// - Numbers are Python int(x, 0): decimal (no leading zeros), 0x, 0o, 0b,
//   sign, '_' between digits, non-ASCII decimal digits; followed by any number
//   of k/K (x1024) or m/M (x1048576) suffixes, also after hex ("0x10K").
//   Type and subtype are a number or a keyword of mpota_part_type_name() /
//   mpota_part_subtype_name(), case-insensitive. An empty subtype is an error
//   for app, 0x06 (undefined) otherwise.
// - Name: UTF-8, silently cut to its first 16 bytes (even inside a character);
//   duplicate names are found on the names before cutting, as gen does.
// - Offsets: an empty offset is the end of the previous partition, rounded up
//   to 0x10000 for app and 0x1000 for every other type; the first one starts
//   at table_offset + 0x1000. An explicit offset below that running end is
//   refused. A negative size -X means "ends at X": size = X - offset.
// - bootloader rows take offset and size from the bootloader offset options
//   (size = table_offset - bootloader_offset); partition_table rows are
//   0x1000 bytes, the primary one at table_offset. Primary bootloader and
//   primary table rows do not move the running end.
// - Then mpota_part_table_check() (rules: table_offset, secure v1) unless
//   no_verify, then the flash-size check of gen --flash-size (the partition
//   with the highest offset must end within flash_size).
// Rows keep the CSV order (gen never sorts the binary output). An empty CSV
// gives an empty table (count 0), as gen does.
#ifndef MPOTA_PART_CSV_H
#define MPOTA_PART_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host_err.h"
#include "mpota/part.h"

// Value of environment variable `name` for $NAME expansion, or NULL if unset.
typedef const char *(*mpota_part_csv_getenv_fn)(void *ctx, const char *name);

enum mpota_part_secure {
    MPOTA_PART_SECURE_NONE = 0,
    MPOTA_PART_SECURE_V1,  // gen --secure v1: app sizes are multiples of 0x10000
    MPOTA_PART_SECURE_V2,  // gen --secure v2: same rules as none (0x1000)
};

// Options of gen_esp32part. A zeroed struct means the tool's defaults.
struct mpota_part_csv_opts {
    uint32_t table_offset;       // gen --offset; 0 = 0x8000 (MPOTA_PART_TABLE_OFFSET)
    uint32_t flash_size;         // gen --flash-size in bytes; 0 = no check
    enum mpota_part_secure secure;
    bool no_verify;              // gen --no-verify: skip mpota_part_table_check()
    bool has_bootloader_offset;  // gen --primary-bootloader-offset given ...
    uint32_t bootloader_offset;  // ... with this value (must be below table_offset)
    bool has_recovery_offset;    // gen --recovery-bootloader-offset given ...
    uint32_t recovery_offset;    // ... with this value
    bool keep_bom;               // like gen before v5.4.2: plain UTF-8 only, and a UTF-8
                                 // BOM becomes part of the first name
    mpota_part_csv_getenv_fn getenv;  // NULL = the process environment (getenv(3))
    void *getenv_ctx;
};

// Reads CSV text (len bytes, need not be NUL-terminated) into out.
// Errors: MPOTA_ERR_CSV_* with d->actual = the 1-based line number and
// d->label = the partition name; MPOTA_ERR_TABLE_* from the checks;
// MPOTA_ERR_TABLE_TOO_MANY beyond MPOTA_PART_MAX rows. opts NULL = defaults.
// out->md5_present/md5_valid are false (they describe binary input).
int mpota_part_csv_parse(const void *text, size_t len, const struct mpota_part_csv_opts *opts,
                         struct mpota_table *out, struct mpota_diag *d);

// Reads either form, as gen_esp32part does: input starting with the bytes
// AA 50 is a binary table (mpota_part_table_parse() with opts->flash_size,
// then mpota_part_table_check() with the table offset and secure rules),
// anything else is CSV. *is_binary (if not NULL) tells which it was.
int mpota_part_csv_load(const void *data, size_t len, const struct mpota_part_csv_opts *opts,
                        struct mpota_table *out, bool *is_binary, struct mpota_diag *d);

// A buffer of this size always holds mpota_part_csv_write()'s text for a
// table of at most MPOTA_PART_MAX rows.
#define MPOTA_PART_CSV_MAX_LEN 8192u

// Writes t as gen_esp32part writes a binary table back to CSV (SPEC §2.7):
// two '#' header lines, then per row name,type,subtype,offset,size,flags with
// keywords where they exist (decimal numbers otherwise), offset as 0x hex,
// size as <n>M, <n>K or 0x hex, flags "encrypted", "readonly" joined by ':'
// (other flag bits are dropped). Names are written as they are: a name with
// ',' or leading '#', '$' or spaces does not read back the same (gen has no
// quoting either). Like snprintf: writes at most cap bytes including a NUL and
// returns the length of the whole text.
size_t mpota_part_csv_write(const struct mpota_table *t, char *buf, size_t cap);

#endif
