/* Minimal <stdlib.h> for the xtensa-lx106-elf-gcc without a C library (see
 * string.h here): what MicroPython's bundled mbedTLS sources use when
 * bench/core_build.py compiles the signature path with them (never linked). */
#ifndef MPOTA_BENCH_STDLIB_H
#define MPOTA_BENCH_STDLIB_H
#include <stddef.h>
void *calloc(size_t n, size_t size);
void *malloc(size_t n);
void free(void *p);
void abort(void);
void exit(int status);
#endif
