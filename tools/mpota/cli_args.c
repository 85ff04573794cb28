// Options, usage and --help of every command (cli.h). Usage, help and the
// checks of option values are all made from the command's own tables, so
// what --help says is what the parser does.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mpota/image.h"
#include "mpota/part.h"

#define HELP_WIDTH 79       // usage and help lines stay within this
#define HELP_OPT_COLUMN 26  // where option help starts; longer options get their own line

const struct cli_value cli_sha256_value = {.kind = CLI_HEX, .max = 32};
const struct cli_value cli_md5_value = {.kind = CLI_HEX, .max = 16};
const struct cli_value cli_chip_value = {.kind = CLI_CHIP};
const struct cli_value cli_length_value = {.kind = CLI_SIZE, .min = 1, .max = UINT32_MAX};
const struct cli_value cli_label_value = {.kind = CLI_TEXT, .min = 1, .max = MPOTA_PART_LABEL_LEN};

// Word-wrapped output: continuation lines start at `indent`.
struct wrap {
    FILE *f;
    int col, indent;
    bool line_start;  // nothing on this line yet: no space before the next word
};

static void wrap_word(struct wrap *w, const char *word, int len)
{
    if (!w->line_start && w->col + 1 + len > HELP_WIDTH) {
        fprintf(w->f, "\n%*s", w->indent, "");
        w->col = w->indent;
        w->line_start = true;
    }
    if (!w->line_start) {
        fputc(' ', w->f);
        w->col++;
    }
    fprintf(w->f, "%.*s", len, word);
    w->col += len;
    w->line_start = false;
}

static void wrap_text(struct wrap *w, const char *text)
{
    while (*text) {
        size_t skip = strspn(text, " "), len = strcspn(text + skip, " ");
        if (len) {
            wrap_word(w, text + skip, (int)len);
        }
        text += skip + len;
    }
}

// Sizes as they are written on the command line: "4M", "64K", else decimal.
static void format_size(uint32_t v, char *buf, size_t n)
{
    if (v && v % (1024u * 1024u) == 0) {
        snprintf(buf, n, "%luM", (unsigned long)(v >> 20));
    } else if (v && v % 1024u == 0) {
        snprintf(buf, n, "%luK", (unsigned long)(v >> 10));
    } else {
        snprintf(buf, n, "%lu", (unsigned long)v);
    }
}

// Appends to buf (n bytes in all) without overrunning it.
static void append(char *buf, size_t n, const char *fmt, ...)
{
    size_t at = strlen(buf);
    if (at + 1 >= n) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + at, n - at, fmt, ap);
    va_end(ap);
}

// What v accepts, in the words --help and the error for a bad value share.
// Empty for text of any length.
static void describe(const struct cli_value *v, char *buf, size_t n)
{
    char lo[16], hi[16], step[16];
    buf[0] = '\0';
    switch (v->kind) {
    case CLI_TEXT:
        if (v->max && v->min) {
            append(buf, n, "%lu to %lu characters", (unsigned long)v->min, (unsigned long)v->max);
        } else if (v->max) {
            append(buf, n, "at most %lu characters", (unsigned long)v->max);
        }
        break;
    case CLI_SIZE:
        format_size(v->min, lo, sizeof(lo));
        format_size(v->max, hi, sizeof(hi));
        format_size(v->multiple_of, step, sizeof(step));
        append(buf, n, "a size from %s to %s", lo, hi);
        if (v->power_of_two) {
            append(buf, n, ", a power of two");
        }
        if (v->multiple_of) {
            append(buf, n, ", a multiple of %s", step);
        }
        append(buf, n, " (decimal, 0x hex, or with a K or M suffix)");
        break;
    case CLI_NUMBER:
        append(buf, n, "a number from %lu to %lu (decimal or 0x hex)", (unsigned long)v->min,
               (unsigned long)v->max);
        break;
    case CLI_HEX:
        append(buf, n, "%lu hex digits", 2ul * v->max);
        break;
    case CLI_CHIP:
        // The core's table of chips, so a new chip shows up here by itself.
        append(buf, n, "a chip name (");
        for (unsigned id = 0; id < 256; id++) {
            if (mpota_chip_name((uint16_t)id)) {
                append(buf, n, "%s, ", mpota_chip_name((uint16_t)id));
            }
        }
        append(buf, n, "in any case, '-' optional) or a chip id number");
        break;
    case CLI_CHOICE:
        append(buf, n, "one of");
        for (unsigned i = 0; v->choice(i); i++) {
            append(buf, n, "%s %s", i ? "," : "", v->choice(i));
        }
        break;
    }
}

// True if s is a value v accepts; else `got` says what s is instead.
static bool value_ok(const struct cli_value *v, const char *s, char *got, size_t n)
{
    size_t len = strlen(s);
    snprintf(got, n, "'%.40s'", s);
    switch (v->kind) {
    case CLI_TEXT:
        if (len < v->min || (v->max && len > v->max)) {
            snprintf(got, n, "%zu characters", len);
            return false;
        }
        return true;
    case CLI_SIZE:
    case CLI_NUMBER: {
        uint32_t x;
        // A digit first: strtoull would take a sign or spaces. Numbers have
        // no K or M suffix (in hex those are no digits either).
        bool suffix = len && strchr("kKmM", s[len - 1]);
        if (s[0] < '0' || s[0] > '9' || (v->kind == CLI_NUMBER && suffix) ||
            !cli_parse_size(s, &x)) {
            return false;
        }
        return x >= v->min && x <= v->max && (!v->power_of_two || (x & (x - 1)) == 0) &&
               (!v->multiple_of || x % v->multiple_of == 0);
    }
    case CLI_HEX: {
        uint8_t bytes[64];
        if (len != 2u * v->max) {
            snprintf(got, n, "%zu characters", len);
            return false;
        }
        if (v->max > sizeof(bytes) || !cli_parse_hex(s, bytes, v->max)) {
            size_t bad = strspn(s, "0123456789abcdefABCDEF");
            snprintf(got, n, "'%c' at character %zu", s[bad], bad + 1);
            return false;
        }
        return true;
    }
    case CLI_CHIP: {
        uint16_t chip;
        return cli_parse_chip(s, &chip);
    }
    case CLI_CHOICE:
        for (unsigned i = 0; v->choice(i); i++) {
            if (!strcmp(v->choice(i), s)) {
                return true;
            }
        }
        return false;
    }
    return false;
}

// An option on the command line leaves its target set (targets start NULL or
// false).
static bool given(const struct cli_opt *o)
{
    return o->flag ? *o->flag : o->values ? o->values[0] != NULL : *o->value != NULL;
}

// How many arguments a repeatable option has received.
static unsigned count_values(const struct cli_opt *o)
{
    unsigned n = 0;
    while (n < o->repeat && o->values[n]) {
        n++;
    }
    return n;
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *name)
{
    for (; opts && opts->name; opts++) {
        if (!strcmp(opts->name, name)) {
            return opts;
        }
    }
    return NULL;
}

// "usage: mpota flash new FLASH --size SIZE ... [--chip NAME]", wrapped
// under the first argument.
static void print_synopsis(FILE *f, const struct cli_cmd *cmd, const struct cli_opt *opts)
{
    int col = fprintf(f, "usage: mpota %s %s", cmd->group, cmd->name);
    struct wrap w = {f, col, col + 1, false};
    wrap_text(&w, cmd->args ? cmd->args : "");
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        char word[64];
        snprintf(word, sizeof(word), "%s%s%s%s%s%s", o->required ? "" : "[", o->name,
                 o->arg ? " " : "", o->arg ? o->arg : "", o->required ? "" : "]",
                 o->repeat > 1 ? "..." : "");
        wrap_word(&w, word, (int)strlen(word));
    }
    fputc('\n', f);
}

// One line of the options list: the option, then its help from column
// HELP_OPT_COLUMN.
static void print_option(FILE *f, const char *label, const char *help)
{
    int col = fprintf(f, "  %s", label);
    if (col + 2 > HELP_OPT_COLUMN) {
        fputc('\n', f);
        col = 0;
    }
    fprintf(f, "%*s", HELP_OPT_COLUMN - col, "");
    struct wrap w = {f, HELP_OPT_COLUMN, HELP_OPT_COLUMN, true};
    wrap_text(&w, help);
    fputc('\n', f);
}

static void print_help(const struct cli_cmd *cmd, const struct cli_opt *opts)
{
    print_synopsis(stdout, cmd, opts);
    putchar('\n');
    struct wrap w = {stdout, 0, 0, true};
    wrap_text(&w, cmd->summary);
    putchar('\n');
    if (cmd->details) {
        w = (struct wrap){stdout, 0, 0, true};
        wrap_text(&w, cmd->details);
        putchar('\n');
    }
    printf("\noptions:\n");
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        char label[64], help[768], accepts[512];
        snprintf(label, sizeof(label), "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        snprintf(help, sizeof(help), "%s", o->help ? o->help : "");
        if (o->required) {
            append(help, sizeof(help), " (required)");
        }
        if (o->repeat > 1) {
            append(help, sizeof(help), " (up to %u times)", o->repeat);
        }
        if (o->needs) {
            append(help, sizeof(help), " (with %s)", o->needs);
        }
        if (o->check) {
            describe(o->check, accepts, sizeof(accepts));
            if (accepts[0]) {
                append(help, sizeof(help), "; %s: %s", o->arg, accepts);
            }
        }
        print_option(stdout, label, help);
    }
    print_option(stdout, "-h, --help", "print this help and exit");
}

// What is wrong, then the usage, once, on stderr. Returns CLI_USAGE.
static int usage_error(const struct cli_cmd *cmd, const struct cli_opt *opts, const char *fmt,
                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vsay(fmt, ap);
    va_end(ap);
    print_synopsis(stderr, cmd, opts);
    fprintf(stderr, "`mpota %s %s --help` describes every option\n", cmd->group, cmd->name);
    return CLI_USAGE;
}

// The n-th word of the positionals' synopsis ("FLASH LABEL IMAGE").
static void arg_name(const char *args, int n, char *out, size_t size)
{
    snprintf(out, size, "arguments");
    for (int i = 0; args && *args; i++) {
        size_t skip = strspn(args, " "), len = strcspn(args + skip, " ");
        if (i == n && len) {
            snprintf(out, size, "%.*s", (int)len, args + skip);
            return;
        }
        args += skip + len;
    }
}

int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, const struct cli_opt *opts,
              const char **pos)
{
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            print_help(cmd, opts);
            return CLI_OK;
        }
        if (a[0] == '-' && a[1] != '\0') {
            const struct cli_opt *o = find_opt(opts, a);
            if (!o) {
                return usage_error(cmd, opts, "unknown option %s", a);
            }
            if (o->flag) {
                *o->flag = true;
            } else if (i + 1 >= argc) {
                return usage_error(cmd, opts, "%s needs a value (%s)", a, o->arg);
            } else if (!o->values) {
                *o->value = argv[++i];
            } else if (count_values(o) < o->repeat) {
                o->values[count_values(o)] = argv[++i];
            } else {
                return usage_error(cmd, opts, "%s given more than %u times", a, o->repeat);
            }
        } else if (npos < cmd->max_pos) {
            pos[npos++] = a;
        } else {
            return usage_error(cmd, opts, "unexpected argument '%s'", a);
        }
    }
    // Most specific first: a bad value, then what is missing.
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        char accepts[512], got[64];
        const char *const *args = o->values ? o->values : o->value;
        unsigned n = o->values ? count_values(o) : o->value && *o->value ? 1 : 0;
        for (unsigned k = 0; o->check && k < n; k++) {
            if (!value_ok(o->check, args[k], got, sizeof(got))) {
                describe(o->check, accepts, sizeof(accepts));
                return usage_error(cmd, opts, "%s: %s expected, got %s", o->name, accepts, got);
            }
        }
    }
    if (npos < cmd->min_pos) {
        char name[64];
        arg_name(cmd->args, npos, name, sizeof(name));
        return usage_error(cmd, opts, "missing %s", name);
    }
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        if (o->required && !given(o)) {
            return usage_error(cmd, opts, "missing %s %s", o->name, o->arg ? o->arg : "");
        }
        const struct cli_opt *needed = o->needs ? find_opt(opts, o->needs) : NULL;
        if (needed && given(o) && !given(needed)) {
            return usage_error(cmd, opts, "%s needs %s", o->name, o->needs);
        }
    }
    return CLI_CONTINUE;
}

// "  image verify FILE    check that FILE is ..." for every command of the
// groups (NULL-terminated).
void cli_print_commands(FILE *f, const struct cli_group *const *groups)
{
    fprintf(f, "commands:\n");
    for (; *groups; groups++) {
        for (const struct cli_cmd *c = (*groups)->cmds; c->name; c++) {
            char label[64];
            snprintf(label, sizeof(label), "%s %s%s%s", c->group, c->name, c->args ? " " : "",
                     c->args ? c->args : "");
            print_option(f, label, c->summary);
        }
    }
}

static void print_group_usage(FILE *f, const struct cli_group *group)
{
    const struct cli_group *const one[] = {group, NULL};
    fprintf(f, "usage: mpota %s COMMAND [ARGS] [OPTIONS]\n", group->name);
    cli_print_commands(f, one);
    fprintf(f, "`mpota %s COMMAND --help` describes a command's options\n", group->name);
}

int cli_dispatch(const struct cli_group *group, int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "mpota: %s needs a command\n", group->name);
        print_group_usage(stderr, group);
        return CLI_USAGE;
    }
    if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
        print_group_usage(stdout, group);
        return CLI_OK;
    }
    for (const struct cli_cmd *c = group->cmds; c->name; c++) {
        if (!strcmp(c->name, argv[0])) {
            return c->run(c, argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "mpota: unknown %s command '%s'\n", group->name, argv[0]);
    print_group_usage(stderr, group);
    return CLI_USAGE;
}
