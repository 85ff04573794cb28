#include "diag_text.h"

#include "host_err.h"

const char *diag_text(const struct mpota_diag *d)
{
    static char text[1024];
    mpota_host_diag_format(d, text, sizeof(text));
    return text;
}
