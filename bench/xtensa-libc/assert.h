/* Minimal <assert.h> for the xtensa-lx106-elf-gcc without a C library (see
 * stdlib.h here): mbedTLS's common.h includes it for static_assert. */
#ifndef MPOTA_BENCH_ASSERT_H
#define MPOTA_BENCH_ASSERT_H
#define assert(x) ((void)0)
#define static_assert _Static_assert
#endif
