// Whole-file read/write for host tools.
#ifndef MPOTA_HOST_FILE_H
#define MPOTA_HOST_FILE_H

#include <stddef.h>
#include <stdint.h>

// Reads a whole file into a malloc'd buffer (caller frees). NULL on failure.
uint8_t *mpota_host_read_file(const char *path, size_t *len);

// Writes len bytes to path (created or truncated). 0 on success, -1 on failure.
int mpota_host_write_file(const char *path, const void *data, size_t len);

#endif
