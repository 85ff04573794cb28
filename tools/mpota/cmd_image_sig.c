// Secure Boot V2 signatures in `mpota image` (cmd_image_sig.h): signing,
// listing blocks, and which trusted key, if any, signed an image.
#include "cmd_image_sig.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chip_names.h"
#include "host_err.h"
#include "mpota/image.h"
#include "sig_keys.h"
#include "sig_sign.h"

#define KEY_HEX (2 * MPOTA_SIG_KEY_DIGEST_LEN + 1)

// Reads and parses a PEM key file; false after "mpota: PATH: why".
static bool load_key_file(const char *path, struct mpota_sig_key *k)
{
    size_t len;
    uint8_t *pem = cli_read_file(path, &len);
    if (!pem) {
        mbedtls_pk_init(&k->pk);  // so the caller frees it as any other
        return false;
    }
    struct mpota_diag d = {0};
    int rc = mpota_sig_key_parse(k, pem, len, &d);
    free(pem);
    if (rc) {
        char text[512];
        cli_diag_text(&d, text, sizeof(text));
        cli_fail("%s: %s", path, text);
    }
    return rc == 0;
}

void sig_print_blocks(FILE *out, const struct mpota_sig_report *r)
{
    for (unsigned i = 0; i < r->count; i++) {
        char key[KEY_HEX], text[512];
        cli_hex(r->blocks[i].block.key_digest, MPOTA_SIG_KEY_DIGEST_LEN, key);
        if (r->blocks[i].err) {
            cli_diag_text(&r->blocks[i].diag, text, sizeof(text));
        }
        fprintf(out, "  block %u: %s, key digest %s: %s%s\n", r->blocks[i].slot,
                mpota_sig_scheme_name(r->blocks[i].block.scheme),
                r->blocks[i].err == MPOTA_ERR_SIG_CORRUPT ? "-" : key,
                r->blocks[i].err ? "NOT valid: " : "valid", r->blocks[i].err ? text : "");
    }
}

cJSON *sig_blocks_json(const struct mpota_sig_report *r)
{
    if (!r->sector_present || r->count == 0) {
        return cJSON_CreateNull();
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "sector_offset", r->sector_offset);
    cJSON *blocks = cJSON_AddArrayToObject(o, "blocks");
    for (unsigned i = 0; i < r->count; i++) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddNumberToObject(b, "slot", r->blocks[i].slot);
        if (r->blocks[i].err == MPOTA_ERR_SIG_CORRUPT) {
            cJSON_AddNullToObject(b, "scheme");
            cJSON_AddNullToObject(b, "key_digest");
        } else {
            char key[KEY_HEX];
            cli_hex(r->blocks[i].block.key_digest, MPOTA_SIG_KEY_DIGEST_LEN, key);
            cJSON_AddStringToObject(b, "scheme", mpota_sig_scheme_name(r->blocks[i].block.scheme));
            cJSON_AddStringToObject(b, "key_digest", key);
        }
        cJSON_AddBoolToObject(b, "valid", r->blocks[i].err == 0);
        if (r->blocks[i].err) {
            char text[512];
            cli_diag_text(&r->blocks[i].diag, text, sizeof(text));
            cJSON_AddStringToObject(b, "error", text);
            cJSON_AddStringToObject(b, "code", mpota_host_err_name(r->blocks[i].err));
        } else {
            cJSON_AddNullToObject(b, "error");
        }
        cJSON_AddItemToArray(blocks, b);
    }
    return o;
}

bool sig_trust_load(struct sig_trust *t, const char *const *keys, const char *const *digests)
{
    memset(t, 0, sizeof(*t));
    for (; *keys && t->n < SIG_TRUST_MAX; keys++) {
        struct mpota_sig_key k;
        bool ok = load_key_file(*keys, &k);
        memcpy(t->digest[t->n], k.digest, MPOTA_SIG_KEY_DIGEST_LEN);
        mpota_sig_key_free(&k);
        if (!ok) {
            return false;
        }
        t->from[t->n++] = *keys;
    }
    for (; *digests && t->n < SIG_TRUST_MAX; digests++) {
        cli_parse_hex(*digests, t->digest[t->n], MPOTA_SIG_KEY_DIGEST_LEN);  // cli_parse checked it
        t->from[t->n++] = "--key-digest";
    }
    return true;
}

static bool trusted(const struct sig_trust *t, const uint8_t *digest)
{
    for (unsigned i = 0; i < t->n; i++) {
        if (!memcmp(t->digest[i], digest, MPOTA_SIG_KEY_DIGEST_LEN)) {
            return true;
        }
    }
    return false;
}

// No block to check: none in the sector, no sector, or one cut short.
static int no_blocks(const uint8_t *buf, size_t len, const struct mpota_sig_report *r,
                     struct mpota_diag *d)
{
    uint32_t at = r->sector_offset;
    if (!r->sector_present && len > at && buf[at] == 0xE7u) {
        return mpota_diag_set(d, MPOTA_ERR_SIG_CUT, at, MPOTA_SIG_SECTOR_SIZE,
                              (uint32_t)(len - at));
    }
    return mpota_diag_set(d, MPOTA_ERR_SIG_MISSING, at, 0, 0);
}

// The reason when no trusted block verifies: what went wrong with a trusted
// key's block, else "untrusted" when some block verifies, else the first
// block's fault.
void sig_check(const uint8_t *buf, size_t len, uint32_t image_len, const struct sig_trust *t,
               struct sig_check *c)
{
    memset(c, 0, sizeof(*c));
    c->slot = -1;
    mpota_sig_report(buf, len, image_len, &c->rep);
    const struct mpota_sig_report *r = &c->rep;
    if (!r->sector_present || r->count == 0) {
        c->err = no_blocks(buf, len, r, &c->d);
        return;
    }
    int by_trusted = -1, valid = -1;
    for (unsigned i = 0; i < r->count; i++) {
        int err = r->blocks[i].err;
        bool by_key = err != MPOTA_ERR_SIG_CORRUPT && trusted(t, r->blocks[i].block.key_digest);
        if (by_key && !err) {
            c->slot = (int)r->blocks[i].slot;
            return;
        }
        by_trusted = by_key && by_trusted < 0 ? (int)i : by_trusted;
        valid = !err && valid < 0 ? (int)i : valid;
    }
    int why = by_trusted >= 0 ? by_trusted : valid >= 0 ? -1 : 0;
    if (why < 0) {
        // The core's words: the first block that verifies, by key (short).
        const struct mpota_sig_report *b = r;
        char key[KEY_HEX];
        cli_hex(b->blocks[valid].block.key_digest, MPOTA_SIG_KEY_DIGEST_LEN, key);
        key[16] = '\0';
        c->err = mpota_diag_set(&c->d, MPOTA_ERR_SIG_UNTRUSTED,
                                r->sector_offset + b->blocks[valid].slot * MPOTA_SIG_BLOCK_SIZE,
                                t->n, 0);
        mpota_diag_label(&c->d, key, 16);
    } else {
        c->err = r->blocks[why].err;
        c->d = r->blocks[why].diag;
    }
}

void sig_check_explain(FILE *out, const struct sig_check *c, const struct sig_trust *t)
{
    if (c->rep.sector_present && c->rep.count) {
        fprintf(out, "signed by (signature sector at 0x%X):\n", c->rep.sector_offset);
        sig_print_blocks(out, &c->rep);
    }
    fprintf(out, "trusted:\n");
    for (unsigned i = 0; i < t->n; i++) {
        char key[KEY_HEX];
        cli_hex(t->digest[i], MPOTA_SIG_KEY_DIGEST_LEN, key);
        fprintf(out, "  key digest %s (%s)\n", key, t->from[i]);
    }
}

cJSON *sig_trust_json(const struct sig_trust *t)
{
    cJSON *a = cJSON_CreateArray();
    for (unsigned i = 0; i < t->n; i++) {
        char key[KEY_HEX];
        cli_hex(t->digest[i], MPOTA_SIG_KEY_DIGEST_LEN, key);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key_digest", key);
        cJSON_AddStringToObject(o, "from", t->from[i]);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

// What `image sign` wrote: the output's blocks, as text or JSON.
static void print_signed(const char *out, const uint8_t *buf, size_t len, uint32_t image_len,
                         const struct mpota_sig_signed *r, bool json)
{
    struct mpota_sig_report rep;
    mpota_sig_report(buf, len, image_len, &rep);
    if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "output", out);
        cJSON_AddNumberToObject(root, "file_size", (double)len);
        cJSON_AddNumberToObject(root, "added", r->added);
        cJSON_AddNumberToObject(root, "kept", r->kept);
        cJSON_AddNumberToObject(root, "dropped", r->dropped);
        cJSON_AddNumberToObject(root, "left_out_bytes", (double)r->left_out);
        cJSON_AddItemToObject(root, "signature", sig_blocks_json(&rep));
        cli_print_json(root);
        return;
    }
    printf("%s: signed: %u new block%s, %u kept; signature sector at 0x%X:\n", out, r->added,
           r->added == 1 ? "" : "s", r->kept, r->sector_offset);
    sig_print_blocks(stdout, &rep);
    if (r->dropped) {
        printf("Left out %u block%s of the input that do not verify.\n", r->dropped,
               r->dropped == 1 ? "" : "s");
    }
    if (r->left_out) {
        printf("Left out the %zu bytes the input had after its signature sector.\n", r->left_out);
    }
}

// Signs the checked app image with the key files and writes out.
static int sign_file(const uint8_t *buf, size_t len, uint32_t image_len,
                     const char *const *paths, bool append, const char *out, bool json)
{
    struct mpota_sig_key keys[MPOTA_SIG_BLOCKS_MAX];
    unsigned n = 0;
    bool loaded = true;
    while (loaded && n < MPOTA_SIG_BLOCKS_MAX && paths[n]) {
        loaded = load_key_file(paths[n], &keys[n]);
        n++;
    }
    uint8_t *signed_buf = NULL;
    size_t signed_len = 0;
    struct mpota_sig_signed r;
    struct mpota_diag d = {0};
    int status = CLI_REFUSED;
    if (loaded) {
        int rc = mpota_sig_sign(buf, len, image_len, keys, n, append, &signed_buf, &signed_len,
                                &r, &d);
        char text[512];
        cli_diag_text(&d, text, sizeof(text));
        if (rc == MPOTA_ERR_SIG_KEY_PUBLIC) {
            cli_fail("%s: %s", paths[d.actual], text);
        } else if (rc) {
            cli_fail_diag(&d);
        } else if (cli_write_file(out, signed_buf, signed_len)) {
            print_signed(out, signed_buf, signed_len, image_len, &r, json);
            status = CLI_OK;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        mpota_sig_key_free(&keys[i]);
    }
    free(signed_buf);
    return status;
}

int cmd_image_sign(const struct cli_cmd *cmd, int argc, char **argv)
{
    const char *pos[1] = {0}, *out = NULL, *keys[MPOTA_SIG_BLOCKS_MAX + 1] = {0};
    bool append = false, json = false;
    const struct cli_opt opts[] = {
        {.name = "--key", .values = keys, .repeat = MPOTA_SIG_BLOCKS_MAX, .arg = "PEM",
         .required = true,
         .help = "sign with the private key in this PEM file: RSA-3072, ECDSA P-256 or P-384, "
                 "as espsecure generate_signing_key --version 2 makes them; a block per key, "
                 "all of one scheme"},
        {.name = "--append", .flag = &append,
         .help = "keep the blocks the image has that verify and add these (espsecure "
                 "--append_signatures); 3 blocks at most"},
        {.name = "-o", .value = &out, .arg = "OUT", .required = true,
         .help = "where to write the signed image"},
        {.name = "--json", .flag = &json, .help = "print JSON"},
        {0}};
    int status = cli_parse(cmd, argc, argv, opts, pos);
    if (status != CLI_CONTINUE) {
        return status;
    }
    size_t len;
    uint8_t *buf = cli_read_file(pos[0], &len);
    if (!buf) {
        return CLI_REFUSED;
    }
    // Only an app image is signed: what the file is, else why it is no valid app.
    static struct mpota_image_info info;
    struct mpota_diag d = {0};
    int rc = len ? cli_check_app(buf, len, MPOTA_CHIP_ANY, NULL, &info, &d)
                 : mpota_diag_set(&d, MPOTA_ERR_IMAGE_UNKNOWN, 0, 0, 0);
    status = rc ? cli_fail_diag(&d) : sign_file(buf, len, info.image_len, keys, append, out, json);
    free(buf);
    return status;
}
