/* Minimal <stdint.h> for the xtensa-lx106-elf-gcc without a C library (see
 * string.h here): the compiler's own hosted <stdint.h> would #include_next a
 * libc one, so take its freestanding definitions directly. */
#ifndef MPOTA_BENCH_STDINT_H
#define MPOTA_BENCH_STDINT_H
#include <stdint-gcc.h>
#endif
