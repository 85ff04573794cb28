// diag_dump: the C side of tests/cli/test_py_errors.sh. Reads lines
//   CODE<TAB>OFFSET<TAB>EXPECTED<TAB>ACTUAL<TAB>LABEL
// (numbers in decimal or 0x hex) and prints, for each,
//   mpota_err_name(CODE)<TAB>mpota_diag_format() of that diag
// so the generated python/ota/_errors.py can be compared with the core.
// Not part of mpota_test_support (it has a main): tests/CMakeLists.txt
// builds it alone.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpota/err.h"

// A field, or exit 2: a malformed case must not compare as a pass.
static unsigned long long field(char **p, int line)
{
    char *end;
    unsigned long long v;
    if (**p == '-') {
        v = (unsigned long long)strtoll(*p, &end, 0);
    } else {
        v = strtoull(*p, &end, 0);
    }
    if (end == *p || *end != '\t') {
        fprintf(stderr, "diag_dump: line %d: want CODE OFF EXP ACT LABEL, tab-separated\n", line);
        exit(2);
    }
    *p = end + 1;
    return v;
}

int main(void)
{
    static char in[4096];
    static char text[8192];
    int line = 0;
    while (fgets(in, sizeof(in), stdin)) {
        line++;
        in[strcspn(in, "\n")] = '\0';
        char *p = in;
        struct mpota_diag d = {0};
        int err = (int)field(&p, line);
        uint32_t off = (uint32_t)field(&p, line);
        uint32_t exp = (uint32_t)field(&p, line);
        uint32_t act = (uint32_t)field(&p, line);
        mpota_diag_set(&d, err, off, exp, act);
        // As the core sets labels: cut at MPOTA_DIAG_LABEL_MAX bytes.
        mpota_diag_label(&d, p, strlen(p));
        size_t n = mpota_diag_format(&d, text, sizeof(text));
        if (n >= sizeof(text)) {
            fprintf(stderr, "diag_dump: line %d: text of %zu bytes cut\n", line, n);
            return 2;
        }
        printf("%s\t%s\n", mpota_err_name(err), text);
    }
    return ferror(stdin) ? 2 : 0;
}
