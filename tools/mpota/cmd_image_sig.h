// Secure Boot V2 signatures in `mpota image` (cmd_image_sig.c): the blocks
// `image info` lists, `image sign`, and the trust check of `image verify`.
#ifndef MPOTA_CMD_IMAGE_SIG_H
#define MPOTA_CMD_IMAGE_SIG_H

#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "sig_report.h"

// How many keys `image verify` trusts at most (ESP-IDF: 3 eFuse digests; a
// few more for keys about to be added or revoked).
#define SIG_TRUST_MAX MPOTA_SIG_TRUST_MAX

// The keys an image must be signed by: each key digest with where it came
// from (a key file's path, or "--key-digest").
struct sig_trust {
    unsigned n;
    uint8_t digest[SIG_TRUST_MAX][MPOTA_SIG_KEY_DIGEST_LEN];
    const char *from[SIG_TRUST_MAX];
};

// The image's blocks against the trusted keys: err 0 and slot >= 0 when a
// block that reads, signs this image and verifies is by a trusted key; else
// why not in err and d (the trusted key's block's error, "untrusted",
// "unsigned", a cut sector).
struct sig_check {
    struct mpota_sig_report rep;
    int err;
    struct mpota_diag d;
    int slot;
};

// Fills t from --key files (public or private PEM) and --key-digest hex
// values (NULL-ended lists). false after saying which key file and why.
bool sig_trust_load(struct sig_trust *t, const char *const *keys, const char *const *digests);

// Checks the app image at buf (len bytes of file, image_len of image).
void sig_check(const uint8_t *buf, size_t len, uint32_t image_len, const struct sig_trust *t,
               struct sig_check *c);

// After a failed check, to out: the image's blocks (scheme, key digest,
// valid or why not) and the trusted keys.
void sig_check_explain(FILE *out, const struct sig_check *c, const struct sig_trust *t);

// The blocks as `image info` lists them: text lines, or the "signature"
// member of its JSON (null when the file has no sector or no block).
void sig_print_blocks(FILE *out, const struct mpota_sig_report *r);
struct cJSON *sig_blocks_json(const struct mpota_sig_report *r);

// The trusted keys as JSON: [{"key_digest", "from"}].
struct cJSON *sig_trust_json(const struct sig_trust *t);

// mpota image sign
int cmd_image_sign(const struct cli_cmd *cmd, int argc, char **argv);

#endif
