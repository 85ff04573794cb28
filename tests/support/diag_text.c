#include "diag_text.h"

const char *diag_text(const struct mpota_diag *d)
{
    static char text[1024];
    mpota_diag_format(d, text, sizeof(text));
    return text;
}
