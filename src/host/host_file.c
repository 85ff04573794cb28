// Small file helpers for host code.
#define _POSIX_C_SOURCE 200809L
#include "host_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

// Writes all of data to fd. 0, or -1 with errno (ENOSPC for a short write).
static int write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = ENOSPC;
            }
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int mpota_host_write_file(const char *path, const void *data, size_t len)
{
    // Something that is not a file (/dev/null, /dev/stdout, a pipe) is
    // written as it is.
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
        int fd = open(path, O_WRONLY | O_TRUNC);
        if (fd < 0) {
            return -1;
        }
        int rc = write_all(fd, data, len);
        int saved = errno;
        if (close(fd) != 0 && rc == 0) {
            return -1;
        }
        errno = saved;
        return rc;
    }
    // A file: a new one beside it (mkstemp: a fresh name, O_EXCL, never
    // through a link), renamed over it once whole, so a full disk leaves the
    // old file, not half a new one.
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(tmp, n, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    // mkstemp makes it 0600: keep the mode of the file it replaces, else
    // what a plain create would give (0666 less the umask).
    mode_t mode;
    if (exists) {
        mode = st.st_mode & 07777;
    } else {
        mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
    }
    int rc = fchmod(fd, mode);
    if (rc == 0) {
        rc = write_all(fd, data, len);
    }
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(tmp);
    }
    free(tmp);
    errno = saved;
    return rc;
}
