// How the CLI words a failure: the host's sentence for the code (which says
// what is wrong and what to do), then the mpota command that does it. The
// core's sentences name no command; these are the CLI's words.
#include <stdio.h>

#include "cli.h"
#include "host_err.h"

static const struct {
    int err;
    const char *command;
} commands[] = {
    {MPOTA_ERR_TABLE_MD5, "mpota part convert"},
    {MPOTA_ERR_OTADATA_MISSING, "mpota part make --layout ota"},
    {MPOTA_ERR_NO_BOOTABLE_APP, "mpota flash write-slot"},
    {MPOTA_ERR_IMAGE_IS_COMBINED, "mpota image extract-app"},
    {MPOTA_ERR_IMAGE_TOO_BIG, "mpota part make --fit IMAGE"},
    {MPOTA_ERR_SLOT_TOO_SMALL, "mpota part make --fit IMAGE"},
};

size_t cli_diag_text(const struct mpota_diag *d, char *buf, size_t buf_len)
{
    size_t len = mpota_host_diag_format(d, buf, buf_len);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (commands[i].err == d->err) {
            int n = snprintf(len < buf_len ? buf + len : NULL, len < buf_len ? buf_len - len : 0,
                             " (`%s`)", commands[i].command);
            len += n > 0 ? (size_t)n : 0;
        }
    }
    return len;
}
