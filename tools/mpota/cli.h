// Shared pieces of the mpota CLI: option parsing, number parsing, and the one
// way errors are printed (the core's diag text, unchanged).
#ifndef MPOTA_CLI_H
#define MPOTA_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "efuse_emu.h"
#include "mpota/err.h"
#include "mpota/sig.h"

// Exit statuses: a contract (README).
#define CLI_OK 0
#define CLI_REFUSED 1  // refused or invalid input; stderr says why and what to do
#define CLI_USAGE 2

// What a value option accepts. cli_parse checks every value against it, and
// --help and the error for a bad value describe it from the same fields, so
// the two cannot disagree.
enum cli_value_kind {
    CLI_TEXT,    // min..max characters (max 0: any length)
    CLI_SIZE,    // bytes: decimal, 0x hex, or a K or M suffix; min..max
    CLI_NUMBER,  // decimal or 0x hex; min..max
    CLI_HEX,     // exactly max bytes, as 2*max hex digits
    CLI_CHIP,    // a chip name or id (cli_parse_chip)
    CLI_CHOICE,  // one of the names choice(0), choice(1), ... until NULL
};

struct cli_value {
    enum cli_value_kind kind;
    uint32_t min, max;
    uint32_t multiple_of;  // CLI_SIZE: 0 = any
    bool power_of_two;     // CLI_SIZE
    const char *(*choice)(unsigned i);
};

// Shared value kinds.
extern const struct cli_value cli_sha256_value;  // 64 hex digits
extern const struct cli_value cli_md5_value;     // 32 hex digits
extern const struct cli_value cli_chip_value;
extern const struct cli_value cli_length_value;  // a size of 1 B to 4 GiB - 1
extern const struct cli_value cli_label_value;   // a partition label, 1..16 characters

// One option of a command. Exactly one of `value` (takes an argument),
// `values` (takes one each time it is given) or `flag` (a switch) is set;
// the targets start NULL or false, which is how cli_parse tells a given
// option. Tables end with {0}.
struct cli_opt {
    const char *name;              // "--json", "-o"
    const char **value;            // receives the argument
    const char **values;           // receives the arguments in order: `repeat` of them at most
    unsigned repeat;               // with values: how often it may be given
    bool *flag;                    // set to true when present
    const char *arg;               // the argument's name in usage and help: "HEX", "OUT"
    const struct cli_value *check; // what the argument may be; NULL: any text
    const char *help;              // one line for --help
    bool required;                 // usage error when absent
    const char *needs;             // usage error when given without this other option
};

// One command of a group. The usage synopsis and --help are made from this
// and the command's option table.
struct cli_cmd {
    const char *name;     // "verify"
    const char *group;    // "image"
    const char *args;     // positionals in the synopsis: "FLASH LABEL IMAGE"
    int min_pos, max_pos; // how many positionals
    const char *summary;  // one line, for the group listing and --help
    const char *details;  // more lines for --help (NULL: none)
    int (*run)(const struct cli_cmd *cmd, int argc, char **argv);
};

struct cli_group {
    const char *name;           // "image"
    const struct cli_cmd *cmds; // ends with {0}
};

// cli_parse's "carry on": every exit status is >= 0.
#define CLI_CONTINUE (-1)

// Splits argv into options (per `opts`) and positional arguments, and checks
// every value, required option and positional count. Returns CLI_CONTINUE, or
// the status to exit with: CLI_OK after -h/--help printed the help on stdout,
// CLI_USAGE after printing what is wrong and the usage (once) on stderr.
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, const struct cli_opt *opts,
              const char **pos);

// Runs the group's command named by argv[0]; -h/--help lists the commands.
int cli_dispatch(const struct cli_group *group, int argc, char **argv);

// The whole CLI's help: every group's commands with their summaries.
void cli_print_commands(FILE *f, const struct cli_group *const *groups);

// Prints "mpota: <diag text>" to stderr; returns CLI_REFUSED.
int cli_fail_diag(const struct mpota_diag *d);

// The CLI's text for d: the host's sentence, then the mpota command that
// does what it asks, where there is one (cli_diag.c). As snprintf: returns
// the full length.
size_t cli_diag_text(const struct mpota_diag *d, char *buf, size_t buf_len);

// Prints "mpota: <printf text>" and a newline to stderr (the one shape of
// every CLI error line).
void cli_vsay(const char *fmt, va_list ap);

// Prints "mpota: <printf text>" to stderr; returns CLI_REFUSED.
int cli_fail(const char *fmt, ...);

// Sizes as users write them: decimal, 0x hex, with an optional K or M suffix.
bool cli_parse_size(const char *s, uint32_t *out);

// Exactly n bytes of hex (2n digits, either case).
bool cli_parse_hex(const char *s, uint8_t *out, size_t n);

// Lowercase hex of n bytes into out (2n+1 chars).
void cli_hex(const uint8_t *in, size_t n, char *out);

// Chip id by name: "esp32", "ESP32-S3", "esp32s3", or a number. false if unknown.
bool cli_parse_chip(const char *s, uint16_t *out);

struct mpota_image_info;
struct mpota_partition;
// The refusal an update makes, for commands that take an app image
// (mpota_image_check_update on the whole file): what the file is (a full
// firmware, bootloader, table, foreign chip ...), then the whole image, then
// the app rules, then (slot not NULL) the file's size against the slot.
// Returns 0 or the error, with d filled; info (required) describes the image.
int cli_check_app(const uint8_t *buf, size_t len, uint16_t chip,
                  const struct mpota_partition *slot, struct mpota_image_info *info,
                  struct mpota_diag *d);

struct mpota_device;
// Why a device call (open, boot, save) failed with rc, in the CLI's own
// words, into buf: a file error names the whole path and the OS reason
// ("cannot write d.flash.state: No space left on device"), a lock held by
// another process says the device is busy; anything else is the diag text.
// Returns buf.
const char *cli_device_error(const struct mpota_device *dev, const char *flash_path, int rc,
                             char *buf, size_t cap);

// Prints cli_device_error() as "mpota: ..."; returns CLI_REFUSED.
int cli_fail_device(const struct mpota_device *dev, const char *flash_path, int rc);

// Reads a whole file (malloc'd, caller frees). On failure prints why and
// returns NULL.
uint8_t *cli_read_file(const char *path, size_t *len);

// Writes a whole file. On failure prints why and returns false.
bool cli_write_file(const char *path, const void *data, size_t len);

// True if path ends with ext (".csv"), ignoring case.
bool cli_has_ext(const char *path, const char *ext);

// Decimal with thousands separators ("1,572,864"), as the core's messages
// write sizes. Returns buf.
const char *cli_group(uint64_t v, char buf[32]);

struct cJSON;
// Prints a JSON document on stdout and frees it.
void cli_print_json(struct cJSON *root);

// Says how to leave a layout without OTA slots (official
// factory-layout firmware): the esptool commands for this chip.
void cli_print_ota_layout_advice(FILE *out, uint16_t chip);

// Where a table was found in a file.
struct cli_table_source {
    const char *form;  // "csv", "binary table", "combined image", "flash image"
    uint32_t offset;   // byte offset of the table in the file
};
struct mpota_table;
struct mpota_part_csv_opts;
// Reads a table from a .csv, a binary table, a combined firmware image or a
// flash file (at the offset identify finds). CLI_OK, or CLI_REFUSED after
// printing why.
int cli_load_table(const char *path, const struct mpota_part_csv_opts *opts,
                   struct mpota_table *t, struct cli_table_source *src);

/// Secure Boot V2 in `mpota flash` (flash_secure_boot.c) ///

// What flash new --trust / --revoke burn.
struct cli_secure_boot {
    unsigned n;                                            // key digests, slots 0..n-1
    uint8_t digest[MPOTA_EFUSE_KEY_SLOTS][MPOTA_SIG_KEY_DIGEST_LEN];
    uint8_t revoke;                                        // bit i: slot i revoked
};
// flash new --trust PEM... --revoke N...: the keys read (as many as the
// chip has slots), the revoked slots hold keys and one stays, and the app
// (if any) boots under them. CLI_OK, or CLI_REFUSED after printing why.
int cli_check_new_secure_boot(uint16_t chip, const char *const *trust, const char *const *revoke,
                              const uint8_t *app, size_t app_len, struct cli_secure_boot *sb);
// flash status: "secure_boot": {"enabled", "keys": [{"slot", "key_digest", "revoked"}]}.
void cli_status_secure_boot_json(struct cJSON *root, const struct mpota_device *dev);
void cli_status_secure_boot_text(const struct mpota_device *dev);

/// Anti-rollback in `mpota flash` (flash_anti_rollback.c) ///

struct mpota_boot_report;
// flash new --security-version N: N within the chip's eFuse field and the
// app (if any) not below N. CLI_OK, or CLI_REFUSED after printing why.
int cli_check_new_anti_rollback(uint16_t chip, uint32_t security_version, bool has_app,
                                uint32_t app_secure_version);
// A new device: anti-rollback on in its sidecar, N bits burnt. 0 or
// MPOTA_ERR_FILE (dev's file_op says which file).
int cli_burn_new_security_version(struct mpota_device *dev, uint32_t security_version);
// flash status: anti_rollback, security_version, security_version_bits.
void cli_status_anti_rollback_json(struct cJSON *root, const struct mpota_device *dev);
void cli_status_anti_rollback_text(const struct mpota_device *dev);
// " (below the security version: ...)" for an app the bootloader skips, else "".
const char *cli_below_counter(const struct mpota_device *dev, uint32_t secure_version);
// flash boot: the apps skipped and the raise, in JSON or as lines.
void cli_boot_anti_rollback_json(struct cJSON *root, const struct mpota_device *dev,
                                 const struct mpota_boot_report *r);
void cli_boot_anti_rollback_text(const struct mpota_device *dev, uint32_t counter_before,
                                 const struct mpota_boot_report *r);
// "<who>security version raised from A to B" when B differs from A.
void cli_print_raise(const char *who, uint32_t before, uint32_t after);

// Command groups.
extern const struct cli_group cli_image_group;
extern const struct cli_group cli_part_group;
extern const struct cli_group cli_flash_group;
extern const struct cli_group cli_manifest_group;
extern const struct cli_group cli_delta_group;
int cmd_update(const struct cli_cmd *cmd, int argc, char **argv);  // mpota flash update

#endif
