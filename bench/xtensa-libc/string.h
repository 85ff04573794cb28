/* Minimal <string.h> for measuring the portable core with the Debian
 * xtensa-lx106-elf-gcc, which ships no C library headers. Only what the core
 * and the mbedTLS headers it includes use; the core is compiled, never linked,
 * with it (bench/core_build.py). Types come from the compiler's <stddef.h>. */
#ifndef MPOTA_BENCH_STRING_H
#define MPOTA_BENCH_STRING_H
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
#endif
