// Whole-file read/write for host tools.
#ifndef MPOTA_HOST_FILE_H
#define MPOTA_HOST_FILE_H

#include <stddef.h>
#include <stdint.h>

// Reads a whole file into a malloc'd buffer (caller frees). NULL on failure.
uint8_t *mpota_host_read_file(const char *path, size_t *len);

// Writes len bytes to path. A file (or nothing yet) is replaced whole: the
// bytes go to a new file beside it (mkstemp) that is renamed over it, so a
// link at path is replaced, never written through, and a failure leaves the
// old file. Anything else (/dev/null, a pipe) is written in place. 0, or -1
// with errno saying why.
int mpota_host_write_file(const char *path, const void *data, size_t len);

#endif
