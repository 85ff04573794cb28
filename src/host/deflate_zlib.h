// gzip files of app images for the host tools (`mpota manifest make --gzip`),
// over zlib: what a device or `mpota flash update` inflates
// (inflate_zlib.h).
#ifndef MPOTA_DEFLATE_ZLIB_H
#define MPOTA_DEFLATE_ZLIB_H

#include <stddef.h>
#include <stdint.h>

// The gzip file (RFC 1952) of len bytes at img, malloc'd (caller frees), its
// size in *out_len; NULL if memory ran out. Level 9, one member, and nothing
// of the moment or the machine in the header (no name, mtime 0, as
// `gzip -9 -n` writes it): the same image always gives the same file, so a
// published .gz can be checked by rebuilding it.
uint8_t *mpota_deflate_zlib_gzip(const uint8_t *img, size_t len, size_t *out_len);

#endif
