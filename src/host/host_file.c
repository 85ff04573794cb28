// Small file helpers for host code.
#define _POSIX_C_SOURCE 200809L
#include "host_file.h"

#include <stdio.h>
#include <stdlib.h>

uint8_t *mpota_host_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf && len) {
        *len = (size_t)n;
    }
    return buf;
}

int mpota_host_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        return -1;
    }
    size_t n = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return (n == len && rc == 0) ? 0 : -1;
}
