// mpota image info | verify | extract-app | build: firmware files.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chip_names.h"
#include "cli.h"
#include "cmd_image_sig.h"
#include "mpota/mpver.h"
#include "mpota/hash.h"
#include "image_build.h"
#include "host_err.h"
#include "image_report.h"
#include "mpota/image.h"
#include "mpota/part.h"
#include "sig_report.h"

// A file read whole and what it is.
struct image_file {
    uint8_t *buf;
    size_t len;
    struct mpota_image_ident id;
};

static bool open_image_file(const char *path, struct image_file *f)
{
    f->buf = cli_read_file(path, &f->len);
    if (!f->buf) {
        return false;
    }
    mpota_image_identify(f->buf, f->len, &f->id);
    return true;
}

// Offset of the image `image info` describes: the app inside a combined image
// or flash dump, else the file itself. NO_OFFSET for tables and otadata.
static uint32_t described_offset(const struct mpota_image_ident *id)
{
    switch (id->kind) {
    case MPOTA_IMAGE_KIND_APP:
    case MPOTA_IMAGE_KIND_BOOTLOADER:
        return 0;
    case MPOTA_IMAGE_KIND_COMBINED:
    case MPOTA_IMAGE_KIND_FLASH_DUMP:
        return id->app_offset;
    default:
        return MPOTA_IMAGE_NO_OFFSET;
    }
}

static cJSON *app_json(const struct mpota_image_info *info)
{
    if (!info->app_desc_present) {
        return cJSON_CreateNull();
    }
    const struct mpota_app_desc *a = &info->app_desc;
    char elf[2 * sizeof(a->app_elf_sha256) + 1];
    cli_hex(a->app_elf_sha256, sizeof(a->app_elf_sha256), elf);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "project_name", a->project_name);
    cJSON_AddStringToObject(o, "version", a->version);
    cJSON_AddStringToObject(o, "idf_ver", a->idf_ver);
    cJSON_AddStringToObject(o, "date", a->date);
    cJSON_AddStringToObject(o, "time", a->time);
    cJSON_AddNumberToObject(o, "secure_version", a->secure_version);
    cJSON_AddStringToObject(o, "elf_sha256", elf);
    return o;
}

// The MicroPython version the app carries ("" if none): official builds
// leave the app description's version empty.
static void app_mpver(const struct image_file *f, uint32_t off, char out[MPOTA_MPVER_MAX + 1])
{
    mpota_mpver_scan_t scan;
    mpota_mpver_init(&scan);
    if (off != MPOTA_IMAGE_NO_OFFSET && off < f->len) {
        mpota_mpver_push(&scan, f->buf + off, f->len - off);
    }
    memcpy(out, mpota_mpver_version(&scan), MPOTA_MPVER_MAX + 1);
}

// The signature sector after the app (sig_report.h), as `image info` says it.
static void sig_text(const struct mpota_sig_report *r)
{
    if (!r->sector_present || r->count == 0) {
        printf("Signature: none (no Secure Boot V2 block at 0x%X, the image end rounded up to "
               "4 KiB)\n", r->sector_offset);
        return;
    }
    printf("Signature sector at 0x%X:\n", r->sector_offset);
    sig_print_blocks(stdout, r);
}

static void print_info_json(const struct image_file *f, uint32_t off,
                            const struct mpota_image_info *info, int rc,
                            const struct mpota_diag *d)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "kind", mpota_image_kind_name(f->id.kind));
    cJSON_AddNumberToObject(root, "file_size", (double)f->len);
    if (off == MPOTA_IMAGE_NO_OFFSET) {
        cJSON_AddNullToObject(root, "app_offset");
        cJSON_AddNullToObject(root, "chip");
    } else {
        const struct mpota_image_header *h = &info->header;
        const char *chip = mpota_chip_name(h->chip_id);
        cJSON_AddNumberToObject(root, "app_offset", off);
        if (chip) {
            cJSON_AddStringToObject(root, "chip", chip);
        } else {
            cJSON_AddNullToObject(root, "chip");
        }
        cJSON_AddNumberToObject(root, "chip_id", h->chip_id);
        cJSON_AddNumberToObject(root, "entry", h->entry_addr);
        cJSON *segs = cJSON_AddArrayToObject(root, "segments");
        for (unsigned i = 0; i < info->segments_seen; i++) {
            const struct mpota_image_segment *s = &info->segments[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "load_addr", s->load_addr);
            cJSON_AddNumberToObject(o, "length", s->data_len);
            cJSON_AddNumberToObject(o, "file_offset", s->file_off);
            const char *names[8];
            size_t n = mpota_chip_memory_types(h->chip_id, s->load_addr, names, 8);
            cJSON *mem = cJSON_AddArrayToObject(o, "memory");
            for (size_t k = 0; k < n && k < 8; k++) {
                cJSON_AddItemToArray(mem, cJSON_CreateString(names[k]));
            }
            cJSON_AddItemToArray(segs, o);
        }
        char sha[2 * MPOTA_IMAGE_HASH_LEN + 1];
        cli_hex(info->hash_calc, MPOTA_IMAGE_HASH_LEN, sha);
        cJSON_AddBoolToObject(root, "checksum_valid",
                              info->complete && info->checksum_stored == info->checksum_calc);
        cJSON_AddBoolToObject(root, "hash_appended", h->hash_appended == 1);
        cJSON_AddStringToObject(root, "sha256", sha);
        cJSON_AddBoolToObject(root, "sha256_valid",
                              info->complete && h->hash_appended == 1 &&
                                  memcmp(info->hash_stored, info->hash_calc,
                                         MPOTA_IMAGE_HASH_LEN) == 0);
        cJSON_AddNumberToObject(root, "size", info->image_len);
        cJSON_AddItemToObject(root, "app", app_json(info));
        if (info->complete) {
            struct mpota_sig_report sig;
            mpota_sig_report(f->buf + off, f->len - off, info->image_len, &sig);
            cJSON_AddItemToObject(root, "signature", sig_blocks_json(&sig));
        } else {
            cJSON_AddNullToObject(root, "signature");
        }
        char mpver[MPOTA_MPVER_MAX + 1];
        app_mpver(f, off, mpver);
        if (mpver[0]) {
            cJSON_AddStringToObject(root, "micropython_version", mpver);
        } else {
            cJSON_AddNullToObject(root, "micropython_version");
        }
    }
    cJSON_AddBoolToObject(root, "valid", rc == 0);
    if (rc) {
        char text[512];
        cli_diag_text(d, text, sizeof(text));
        cJSON_AddStringToObject(root, "error", text);
    } else {
        cJSON_AddNullToObject(root, "error");
    }
    cli_print_json(root);
}

static int image_info(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *pos[1] = {0};
    bool json = false;
    const struct cli_opt opts[] = {{.name = "--json", .flag = &json, .help = "print JSON"}, {0}};
    int status = cli_parse(cmd, argc, argv, opts, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    struct image_file f;
    if (!open_image_file(pos[0], &f)) {
        return CLI_REFUSED;
    }
    uint32_t off = described_offset(&f.id);
    static struct mpota_image_info info;
    struct mpota_diag d = {0};
    int rc = 0;
    if (off != MPOTA_IMAGE_NO_OFFSET) {
        rc = mpota_image_parse(f.buf + off, f.len - off, MPOTA_CHIP_ANY, &info, &d);
    } else if (f.id.kind == MPOTA_IMAGE_KIND_UNKNOWN) {
        mpota_image_check_head(f.buf, f.len, MPOTA_CHIP_ANY, &d);
        rc = d.err ? d.err : mpota_diag_set(&d, MPOTA_ERR_IMAGE_UNKNOWN, 0, 0, 0);
    }
    if (json) {
        print_info_json(&f, off, &info, rc, &d);
    } else {
        printf("File %s: %s (%zu bytes)\n", pos[0], mpota_image_kind_name(f.id.kind), f.len);
        if (f.id.kind == MPOTA_IMAGE_KIND_COMBINED || f.id.kind == MPOTA_IMAGE_KIND_FLASH_DUMP) {
            printf("Bootloader at 0x%X, partition table at 0x%X, app at 0x%X; the app:\n",
                   f.id.bootloader_offset, f.id.table_offset, f.id.app_offset);
        } else if (f.id.kind == MPOTA_IMAGE_KIND_PART_TABLE) {
            printf("Show it with: mpota part show %s\n", pos[0]);
        } else if (f.id.kind == MPOTA_IMAGE_KIND_OTADATA) {
            printf("An otadata partition (two boot-selection records).\n");
        }
        if (off != MPOTA_IMAGE_NO_OFFSET) {
            mpota_image_report_print(stdout, &info);
            char mpver[MPOTA_MPVER_MAX + 1];
            app_mpver(&f, off, mpver);
            printf("MicroPython version: %s\n", mpver[0] ? mpver : "(none found)");
            if (info.complete) {
                struct mpota_sig_report sig;
                mpota_sig_report(f.buf + off, f.len - off, info.image_len, &sig);
                sig_text(&sig);
            }
        }
    }
    free(f.buf);
    if (rc) {
        return cli_fail_diag(&d);
    }
    return CLI_OK;
}

// The file's SHA-256 and MD5 against what --sha256 / --md5 gave (NULL: not
// given).
static int check_file_hashes(const struct image_file *f, const uint8_t *want_sha,
                             const uint8_t *want_md5, struct mpota_diag *d)
{
    if (want_sha) {
        mpota_sha256_t h;
        uint8_t got[MPOTA_SHA256_LEN];
        mpota_sha256_start(&h);
        mpota_sha256_update(&h, f->buf, f->len);
        mpota_sha256_finish(&h, got);
        if (memcmp(got, want_sha, sizeof(got)) != 0) {
            return mpota_diag_set(d, MPOTA_ERR_EXPECT_SHA256, 0, 0, 0);
        }
    }
    if (want_md5) {
        mpota_md5_t h;
        uint8_t got[MPOTA_MD5_LEN];
        mpota_md5_start(&h);
        mpota_md5_update(&h, f->buf, f->len);
        mpota_md5_finish(&h, got);
        if (memcmp(got, want_md5, sizeof(got)) != 0) {
            return mpota_diag_set(d, MPOTA_ERR_EXPECT_MD5, 0, 0, 0);
        }
    }
    return MPOTA_OK;
}

// What `image verify` is asked for, from its options (NULL: not given).
struct verify_want {
    const char *sha, *md5, *length, *chip;
    const char *keys[SIG_TRUST_MAX + 1], *digests[SIG_TRUST_MAX + 1];
    bool json;
};

// The refusal an update makes (an empty file is no app either). What the
// file is comes first: a combined firmware with the right hash is still the
// wrong file for an OTA update. For an app, the length and hashes asked for
// come before what the image itself says.
static int verify_app(const struct image_file *f, const struct verify_want *w,
                      struct mpota_image_info *info, struct mpota_diag *d)
{
    // cli_parse checked every value: these cannot fail.
    uint8_t want_sha[MPOTA_SHA256_LEN], want_md5[MPOTA_MD5_LEN];
    uint32_t want_len = 0;
    uint16_t chip = MPOTA_CHIP_ANY;
    if (w->sha) {
        cli_parse_hex(w->sha, want_sha, sizeof(want_sha));
    }
    if (w->md5) {
        cli_parse_hex(w->md5, want_md5, sizeof(want_md5));
    }
    if (w->length) {
        cli_parse_size(w->length, &want_len);
    }
    if (w->chip) {
        cli_parse_chip(w->chip, &chip);
    }
    struct mpota_diag dh = {0};
    int rc = f->len ? cli_check_app(f->buf, f->len, chip, NULL, info, d)
                    : mpota_diag_set(d, MPOTA_ERR_IMAGE_UNKNOWN, 0, 0, 0);
    int rh = 0;
    if (f->id.kind == MPOTA_IMAGE_KIND_APP && w->length && f->len != want_len) {
        rh = mpota_diag_set(&dh, MPOTA_ERR_EXPECT_LENGTH, 0, want_len, (uint32_t)f->len);
    }
    if (f->id.kind == MPOTA_IMAGE_KIND_APP && !rh) {
        rh = check_file_hashes(f, w->sha ? want_sha : NULL, w->md5 ? want_md5 : NULL, &dh);
    }
    if (rh) {
        *d = dh;
        return rh;
    }
    return rc;
}

static void print_verify_json(const char *path, const struct mpota_image_info *info, int rc,
                              const struct mpota_diag *d, const struct sig_check *sig,
                              const struct sig_trust *trust)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "file", path);
    cJSON_AddBoolToObject(root, "valid", rc == 0);
    char text[512];
    cli_diag_text(d, text, sizeof(text));
    cJSON_AddItemToObject(root, "error", rc ? cJSON_CreateString(text) : cJSON_CreateNull());
    cJSON_AddItemToObject(root, "code",
                          rc ? cJSON_CreateString(mpota_host_err_name(rc)) : cJSON_CreateNull());
    const char *chip = sig ? mpota_chip_name(info->header.chip_id) : NULL;
    cJSON_AddItemToObject(root, "chip", chip ? cJSON_CreateString(chip) : cJSON_CreateNull());
    cJSON_AddItemToObject(root, "size",
                          sig ? cJSON_CreateNumber(info->image_len) : cJSON_CreateNull());
    cJSON_AddItemToObject(root, "signature",
                          sig ? sig_blocks_json(&sig->rep) : cJSON_CreateNull());
    cJSON_AddItemToObject(root, "trusted", sig_trust_json(trust));
    cJSON_AddItemToObject(root, "trusted_block", sig && sig->slot >= 0
                                                     ? cJSON_CreateNumber(sig->slot)
                                                     : cJSON_CreateNull());
    cli_print_json(root);
}

static void print_verified(const char *path, const struct mpota_image_info *info,
                           const struct sig_check *sig)
{
    char size[32];
    printf("%s: valid %s app image, %s B", path, mpota_chip_name(info->header.chip_id),
           cli_group(info->image_len, size));
    if (info->app_desc_present) {
        printf(", %s %s", info->app_desc.project_name, info->app_desc.version);
    }
    printf("\n");
    for (unsigned i = 0; i < sig->rep.count && sig->slot >= 0; i++) {
        const struct mpota_sig_block *b = &sig->rep.blocks[i].block;
        if (sig->rep.blocks[i].slot != (unsigned)sig->slot) {
            continue;
        }
        char key[2 * MPOTA_SIG_KEY_DIGEST_LEN + 1];
        cli_hex(b->key_digest, MPOTA_SIG_KEY_DIGEST_LEN, key);
        printf("Signed by a trusted key: block %d, %s, key digest %s\n", sig->slot,
               mpota_sig_scheme_name(b->scheme), key);
    }
}

// Checks the app, then (with --key or --key-digest) that a trusted key signed it.
static int verify_file(const char *path, const struct verify_want *w,
                       const struct sig_trust *trust)
{
    struct image_file f;
    if (!open_image_file(path, &f)) {
        return CLI_REFUSED;
    }
    struct mpota_diag d = {0};
    static struct mpota_image_info info;
    static struct sig_check sig;
    int rc = verify_app(&f, w, &info, &d);
    bool app_ok = rc == 0;
    if (app_ok) {
        sig_check(f.buf, f.len, info.image_len, trust, &sig);
    }
    if (app_ok && trust->n && sig.err) {
        rc = sig.err;
        d = sig.d;
    }
    free(f.buf);
    if (w->json) {
        print_verify_json(path, &info, rc, &d, app_ok ? &sig : NULL, trust);
    }
    if (rc) {
        cli_fail_diag(&d);
        if (app_ok) {
            sig_check_explain(stderr, &sig, trust);
        }
        return CLI_REFUSED;
    }
    if (!w->json) {
        print_verified(path, &info, trust->n ? &sig : &(struct sig_check){.slot = -1});
    }
    return CLI_OK;
}

static int image_verify(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *pos[1] = {0};
    struct verify_want w = {0};
    const struct cli_opt opts[] = {
        {.name = "--sha256", .value = &w.sha, .arg = "HEX", .check = &cli_sha256_value,
         .help = "the SHA-256 the file must have"},
        {.name = "--md5", .value = &w.md5, .arg = "HEX", .check = &cli_md5_value,
         .help = "the MD5 the file must have"},
        {.name = "--length", .value = &w.length, .arg = "SIZE", .check = &cli_length_value,
         .help = "the bytes the file must have"},
        {.name = "--chip", .value = &w.chip, .arg = "NAME", .check = &cli_chip_value,
         .help = "the chip the app must be for"},
        {.name = "--key", .values = w.keys, .repeat = SIG_TRUST_MAX, .arg = "PEM",
         .help = "trust the Secure Boot V2 key in this PEM file (public or private): the "
                 "image must carry a block that verifies by a trusted key"},
        {.name = "--key-digest", .values = w.digests, .repeat = SIG_TRUST_MAX, .arg = "HEX",
         .check = &cli_sha256_value,
         .help = "trust the key with this digest (espsecure digest_sbv2_public_key, the "
                 "eFuse value), as --key"},
        {.name = "--json", .flag = &w.json, .help = "print JSON"},
        {0}};
    int status = cli_parse(cmd, argc, argv, opts, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    struct sig_trust trust;
    if (!sig_trust_load(&trust, w.keys, w.digests)) {
        return CLI_REFUSED;
    }
    return verify_file(pos[0], &w, &trust);
}

static int image_extract_app(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *pos[1] = {0}, *out = NULL;
    const struct cli_opt opts[] = {{.name = "-o", .value = &out, .arg = "OUT", .required = true,
                                    .help = "where to write the app image"},
                                   {0}};
    int status = cli_parse(cmd, argc, argv, opts, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    struct image_file f;
    if (!open_image_file(pos[0], &f)) {
        return CLI_REFUSED;
    }
    status = CLI_OK;
    if (f.id.kind == MPOTA_IMAGE_KIND_APP) {
        status = cli_fail("%s is already an app image; use it as it is", pos[0]);
    } else if ((f.id.kind != MPOTA_IMAGE_KIND_COMBINED &&
                f.id.kind != MPOTA_IMAGE_KIND_FLASH_DUMP) ||
               f.id.app_offset == MPOTA_IMAGE_NO_OFFSET) {
        status = cli_fail("%s is a %s, not a combined firmware or flash image with an app in it",
                          pos[0], mpota_image_kind_name(f.id.kind));
    } else {
        static struct mpota_image_info info;
        struct mpota_diag d = {0};
        if (mpota_image_parse(f.buf + f.id.app_offset, f.len - f.id.app_offset, MPOTA_CHIP_ANY,
                              &info, &d) != 0) {
            status = cli_fail_diag(&d);
        } else if (!cli_write_file(out, f.buf + f.id.app_offset, info.image_len)) {
            status = CLI_REFUSED;
        } else {
            char size[32];
            printf("%s: app image of %s B from offset 0x%X\n", out,
                   cli_group(info.image_len, size), f.id.app_offset);
        }
    }
    free(f.buf);
    return status;
}

// What the builder makes (mpota_image_build_app): a multiple of 16 bytes, up
// to 4 MiB. Text fields of the app description hold 31 characters.
static const struct cli_value build_size = {
    .kind = CLI_SIZE, .min = 0x200, .max = 0x400000, .multiple_of = 16};
static const struct cli_value desc_text = {.kind = CLI_TEXT, .min = 0, .max = 31};  // "" as official builds leave them
static const struct cli_value any_number = {.kind = CLI_NUMBER, .max = UINT32_MAX};

// Makes test firmware with the project's image builder (real firmware is not
// ours to ship): an app of an exact size, or a bootloader-like image.
static int image_build(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *out = NULL, *size = NULL, *chip_name = NULL, *version = NULL, *project = NULL,
               *idf = NULL, *secure = NULL, *seed = NULL, *mpy = NULL;
    bool no_desc = false, bootloader = false;
    const struct cli_opt opts[] = {
        {.name = "-o", .value = &out, .arg = "OUT", .required = true, .help = "file to write"},
        {.name = "--size", .value = &size, .arg = "SIZE", .check = &build_size,
         .help = "bytes of the image: exact for an app (default 64K), about for a bootloader"},
        {.name = "--chip", .value = &chip_name, .arg = "NAME", .check = &cli_chip_value,
         .help = "the chip it is for (default ESP32; the builder knows ESP32, ESP32-S2, "
                 "ESP32-S3 and ESP32-C3)"},
        {.name = "--version", .value = &version, .arg = "V", .check = &desc_text,
         .help = "version in the app description (default v1.0.0)"},
        {.name = "--project", .value = &project, .arg = "P", .check = &desc_text,
         .help = "project name in the app description (default micropython)"},
        {.name = "--idf", .value = &idf, .arg = "V", .check = &desc_text,
         .help = "ESP-IDF version in the description (default v5.2.2)"},
        {.name = "--secure-version", .value = &secure, .arg = "N", .check = &any_number,
         .help = "secure version in the app description (default 0)"},
        {.name = "--seed", .value = &seed, .arg = "N", .check = &any_number,
         .help = "the content is pseudo-random from this seed (default 1)"},
        {.name = "--micropython", .value = &mpy, .arg = "V", .check = &desc_text,
         .help = "carry MicroPython's version strings (banner, platform) for version V, "
                 "e.g. 1.23.0, as official builds do"},
        {.name = "--no-app-desc", .flag = &no_desc,
         .help = "no app description, as apps before ESP-IDF v3.3"},
        {.name = "--bootloader", .flag = &bootloader,
         .help = "make a bootloader-like image instead of an app"},
        {0}};
    int status = cli_parse(cmd, argc, argv, opts, NULL);
    if (status != CLI_CONTINUE) {
        return status;
    }
    // cli_parse checked every value: these cannot fail.
    uint32_t total = 0x10000, secure_version = 0, seed_value = 1;
    uint16_t chip = MPOTA_CHIP_ESP32;
    if (size) {
        cli_parse_size(size, &total);
    }
    if (chip_name) {
        cli_parse_chip(chip_name, &chip);
    }
    if (secure) {
        cli_parse_size(secure, &secure_version);
    }
    if (seed) {
        cli_parse_size(seed, &seed_value);
    }
    uint8_t *img = NULL;
    size_t len = 0;
    struct mpota_diag d = {0};
    int rc;
    if (bootloader) {
        struct mpota_bootloader_spec s = {.chip_id = chip, .size = size ? total : 0,
                                          .idf_ver = idf, .seed = seed_value};
        rc = mpota_image_build_bootloader(&s, &img, &len, &d);
    } else {
        struct mpota_app_spec s = {.chip_id = chip, .total_size = total, .version = version,
                                   .project_name = project, .idf_ver = idf,
                                   .secure_version = secure_version, .seed = seed_value,
                                   .no_app_desc = no_desc, .micropython_version = mpy};
        rc = mpota_image_build_app(&s, &img, &len, &d);
    }
    if (rc) {
        return cli_fail_diag(&d);
    }
    status = cli_write_file(out, img, len) ? CLI_OK : CLI_REFUSED;
    free(img);
    return status;
}

static const struct cli_cmd image_cmds[] = {
    {.group = "image", .name = "info", .args = "FILE", .min_pos = 1, .max_pos = 1,
     .run = image_info,
     .summary = "what a firmware file is: kind, chip, segments, app description (as esptool "
                "image_info); of a combined image or flash file, the app in it"},
    {.group = "image", .name = "verify", .args = "FILE", .min_pos = 1, .max_pos = 1,
     .run = image_verify,
     .summary = "check that FILE is a valid app image, and the one expected: its hashes, "
                "size, chip, and (--key, --key-digest) a Secure Boot V2 signature by a "
                "trusted key",
     .details = "With --key or --key-digest: exit 0 only if a signature block that reads, "
                "signs this image (padding included) and verifies is by a trusted key; "
                "else exit 1, listing the image's blocks and the trusted keys."},
    {.group = "image", .name = "sign", .args = "IMAGE", .min_pos = 1, .max_pos = 1,
     .run = cmd_image_sign,
     .summary = "sign an app image for Secure Boot V2 as espsecure sign_data --version 2 does, "
                "with up to 3 keys",
     .details = "The image is padded with 0xFF to its end rounded up to 4 KiB, where ESP-IDF "
                "looks for the signature sector (espsecure uses the file's end instead); the "
                "output ends with that sector."},
    {.group = "image", .name = "extract-app", .args = "FILE", .min_pos = 1, .max_pos = 1,
     .run = image_extract_app,
     .summary = "write out the app image inside a combined firmware or flash file"},
    {.group = "image", .name = "build", .run = image_build,
     .summary = "make a test firmware image: an app of an exact size, or a bootloader"},
    {0}};

const struct cli_group cli_image_group = {"image", image_cmds};
