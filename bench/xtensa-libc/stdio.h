/* Minimal <stdio.h> for the xtensa-lx106-elf-gcc without a C library (see
 * stdlib.h here): the declarations MicroPython's mbedTLS configuration and
 * sources name. */
#ifndef MPOTA_BENCH_STDIO_H
#define MPOTA_BENCH_STDIO_H
#include <stdarg.h>
#include <stddef.h>
typedef struct mpota_bench_file FILE;
int snprintf(char *s, size_t n, const char *fmt, ...);
int vsnprintf(char *s, size_t n, const char *fmt, va_list ap);
int printf(const char *fmt, ...);
#endif
