// Shared pieces of the mpota CLI: option parsing, number parsing, and the one
// way errors are printed (the core's diag text, unchanged).
#ifndef MPOTA_CLI_H
#define MPOTA_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpota/err.h"

// Exit statuses: a contract (README).
#define CLI_OK 0
#define CLI_REFUSED 1  // refused or invalid input; stderr says why and what to do
#define CLI_USAGE 2

// One option of a command. Exactly one of `value` (takes an argument) or
// `flag` (a switch) is set.
struct cli_opt {
    const char *name;    // "--json", "-o"
    const char **value;  // receives the argument
    bool *flag;          // set to true when present
};

// Splits argv into options (per `opts`) and positional arguments. Returns
// false (after printing why) on an unknown option or a missing argument, or
// when the number of positionals is outside [min_pos, max_pos].
bool cli_parse(int argc, char **argv, const struct cli_opt *opts, const char **pos, int min_pos,
               int max_pos, const char *usage);

// Prints "mpota: <diag text>" to stderr; returns CLI_REFUSED.
int cli_fail_diag(const struct mpota_diag *d);

// Prints "mpota: <printf text>" to stderr; returns CLI_REFUSED.
int cli_fail(const char *fmt, ...);

// Prints "usage: ..." to stderr; returns CLI_USAGE.
int cli_usage(const char *usage);

// Sizes as users write them: decimal, 0x hex, with an optional K or M suffix.
bool cli_parse_size(const char *s, uint32_t *out);

// Exactly n bytes of hex (2n digits, either case).
bool cli_parse_hex(const char *s, uint8_t *out, size_t n);

// Lowercase hex of n bytes into out (2n+1 chars).
void cli_hex(const uint8_t *in, size_t n, char *out);

// Chip id by name: "esp32", "ESP32-S3", "esp32s3", or a number. false if unknown.
bool cli_parse_chip(const char *s, uint16_t *out);

struct mpota_image_info;
// The refusal an update makes, for commands that take an app image: what the
// file is (a full firmware, bootloader, table, foreign chip ...), then the
// whole image, then the app rules. Returns 0 or the error, with d filled;
// info (required) describes the image.
int cli_check_app(const uint8_t *buf, size_t len, uint16_t chip, struct mpota_image_info *info,
                  struct mpota_diag *d);

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

// Command groups.
int cmd_image(int argc, char **argv);
int cmd_part(int argc, char **argv);
int cmd_flash(int argc, char **argv);
int cmd_update(int argc, char **argv);  // mpota flash update
int cmd_manifest(int argc, char **argv);

#endif
