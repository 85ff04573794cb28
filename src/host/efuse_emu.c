// The emulated chip's eFuses (efuse_emu.h): a text file that only gains bits.
#define _POSIX_C_SOURCE 200809L
#include "efuse_emu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flash_emu.h"
#include "host_err.h"
#include "host_file.h"

static bool parse_hex_bytes(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return false;
        }
        out[i] = (uint8_t)v;
    }
    return s[2 * n] == '\0';
}

// One "name value" line into f; false if it does not parse.
static bool parse_line(char *line, struct mpota_efuse *f)
{
    char name[32];
    char value[2 * MPOTA_EFUSE_KEY_DIGEST_LEN + 2];
    unsigned long v;
    char *end;
    if (line[0] == '#' || line[strspn(line, " \t")] == '\0') {
        return true;
    }
    if (sscanf(line, "%31s %65s", name, value) != 2) {
        return false;
    }
    if (strncmp(name, "key_digest", 10) == 0 && name[10] >= '0' &&
        name[10] < '0' + MPOTA_EFUSE_KEY_SLOTS && name[11] == '\0') {
        return parse_hex_bytes(value, f->key_digest[name[10] - '0'], MPOTA_EFUSE_KEY_DIGEST_LEN);
    }
    errno = 0;
    v = strtoul(value, &end, 0);
    if (errno || *end || v > 0xFFFFFFFFul) {
        return false;
    }
    if (strcmp(name, "secure_version") == 0) {
        f->secure_version = (uint32_t)v;
    } else if (strcmp(name, "secure_boot_en") == 0 && v <= 1) {
        f->secure_boot_en = v == 1;
    } else if (strcmp(name, "key_revoke") == 0 && v < (1u << MPOTA_EFUSE_KEY_SLOTS)) {
        f->key_revoke = (uint8_t)v;
    } else {
        return false;
    }
    return true;
}

// Reads the file; none is a blank chip.
static int read_fuses(const char *path, struct mpota_efuse *f)
{
    memset(f, 0, sizeof(*f));
    FILE *in = fopen(path, "r");
    if (!in) {
        return errno == ENOENT ? MPOTA_OK : MPOTA_ERR_FILE;
    }
    char line[160];
    bool ok = true;
    while (ok && fgets(line, sizeof(line), in)) {
        line[strcspn(line, "\r\n")] = '\0';
        ok = parse_line(line, f);
    }
    ok = ok && !ferror(in);
    fclose(in);
    if (!ok) {
        errno = EINVAL;
        return MPOTA_ERR_FILE;
    }
    return MPOTA_OK;
}

static int write_fuses(const char *path, const struct mpota_efuse *f)
{
    char text[512];
    int n = snprintf(text, sizeof(text),
                     "# mpota emulated eFuses: bits are only ever set\n"
                     "secure_version 0x%08X\nsecure_boot_en %d\nkey_revoke 0x%X\n",
                     f->secure_version, f->secure_boot_en ? 1 : 0, f->key_revoke);
    for (unsigned k = 0; k < MPOTA_EFUSE_KEY_SLOTS; k++) {
        n += snprintf(text + n, sizeof(text) - (size_t)n, "key_digest%u ", k);
        for (unsigned i = 0; i < MPOTA_EFUSE_KEY_DIGEST_LEN; i++) {
            n += snprintf(text + n, sizeof(text) - (size_t)n, "%02x", f->key_digest[k][i]);
        }
        n += snprintf(text + n, sizeof(text) - (size_t)n, "\n");
    }
    return mpota_host_write_file(path, text, (size_t)n) == 0 ? MPOTA_OK : MPOTA_ERR_FILE;
}

int mpota_efuse_open(struct mpota_efuse_emu *e, const char *flash_path)
{
    memset(e, 0, sizeof(*e));
    const char *env = getenv(MPOTA_EFUSE_FAIL_AFTER_ENV);
    if (env && *env) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(env, &end, 10);
        if (errno || *end || env[0] == '-') {
            return MPOTA_ERR_INVALID_ARG;
        }
        e->fail_after = n;
    }
    size_t n = strlen(flash_path) + sizeof(MPOTA_EFUSE_SUFFIX);
    e->path = malloc(n);
    if (!e->path) {
        errno = ENOMEM;
        return MPOTA_ERR_FILE;
    }
    snprintf(e->path, n, "%s%s", flash_path, MPOTA_EFUSE_SUFFIX);
    int rc = read_fuses(e->path, &e->fuses);
    if (rc) {
        int saved = errno;
        mpota_efuse_close(e);
        errno = saved;
    }
    return rc;
}

void mpota_efuse_close(struct mpota_efuse_emu *e)
{
    free(e->path);
    e->path = NULL;
}

int mpota_efuse_burn(struct mpota_efuse_emu *e, const struct mpota_efuse *bits)
{
    struct mpota_efuse now;
    int rc = read_fuses(e->path, &now);
    if (rc) {
        return rc;
    }
    now.secure_version |= bits->secure_version;
    now.secure_boot_en = now.secure_boot_en || bits->secure_boot_en;
    now.key_revoke |= bits->key_revoke;
    for (unsigned k = 0; k < MPOTA_EFUSE_KEY_SLOTS; k++) {
        for (unsigned i = 0; i < MPOTA_EFUSE_KEY_DIGEST_LEN; i++) {
            now.key_digest[k][i] |= bits->key_digest[k][i];
        }
    }
    rc = write_fuses(e->path, &now);
    if (!rc) {
        e->fuses = now;
    }
    return rc;
}

uint32_t mpota_efuse_security_version(const struct mpota_efuse *f, uint32_t width)
{
    uint32_t bits = width >= 32 ? f->secure_version : f->secure_version & ((1u << width) - 1u);
    uint32_t count = 0;
    for (; bits; bits &= bits - 1u) {
        count++;
    }
    return count;
}

// The power fails as this burn starts: say so and end, as a flash cut does.
static void cut(struct mpota_efuse_emu *e)
{
    if (e->on_cut) {
        e->on_cut(e->on_cut_arg);
        return;
    }
    fprintf(stderr,
            "mpota: power cut (injected by %s=%llu) before eFuse bit burn %llu; "
            "the .efuse file keeps the bits burnt so far\n",
            MPOTA_EFUSE_FAIL_AFTER_ENV, (unsigned long long)e->fail_after,
            (unsigned long long)e->burns);
    _exit(MPOTA_FLASH_EMU_EXIT_CODE);
}

int mpota_efuse_raise_security_version(struct mpota_efuse_emu *e, uint32_t v, uint32_t width)
{
    if (v > width || width > 32) {
        return MPOTA_ERR_SECURE_VERSION_TOO_BIG;
    }
    int rc = read_fuses(e->path, &e->fuses);  // another holder may have burnt since
    while (!rc && mpota_efuse_security_version(&e->fuses, width) < v) {
        uint32_t field = width >= 32 ? e->fuses.secure_version
                                     : e->fuses.secure_version | ~((1u << width) - 1u);
        struct mpota_efuse bit = {.secure_version = ~field & (field + 1u)};  // lowest unburnt
        if (++e->burns == e->fail_after) {
            cut(e);
            return MPOTA_ERR_EFUSE_BURN;  // on_cut returned: the power stays off
        }
        rc = mpota_efuse_burn(e, &bit);
    }
    return rc;
}

bool mpota_efuse_key_present(const struct mpota_efuse *f, unsigned slot)
{
    for (unsigned i = 0; slot < MPOTA_EFUSE_KEY_SLOTS && i < MPOTA_EFUSE_KEY_DIGEST_LEN; i++) {
        if (f->key_digest[slot][i]) {
            return true;
        }
    }
    return false;
}

void mpota_efuse_set_key_digest(struct mpota_efuse *f, unsigned slot,
                                const uint8_t digest[MPOTA_EFUSE_KEY_DIGEST_LEN])
{
    for (unsigned i = 0; slot < MPOTA_EFUSE_KEY_SLOTS && i < MPOTA_EFUSE_KEY_DIGEST_LEN; i++) {
        f->key_digest[slot][i] |= digest[i];
    }
}

bool mpota_efuse_key_revoked(const struct mpota_efuse *f, unsigned slot)
{
    return slot < MPOTA_EFUSE_KEY_SLOTS && (f->key_revoke >> slot) & 1u;
}

void mpota_efuse_revoke_key(struct mpota_efuse *f, unsigned slot)
{
    if (slot < MPOTA_EFUSE_KEY_SLOTS) {
        f->key_revoke |= (uint8_t)(1u << slot);
    }
}
