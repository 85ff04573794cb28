// The delta applier's payload decoders (delta.h): crle (crle_dec.c) and
// heatshrink (heatshrink_dec.c). Each takes the compressed payload one byte at
// a time and hands what it decodes to an output callback; neither knows the
// bsdiff layer behind it. Their states are struct mpota_crle_dec and struct
// mpota_heatshrink_dec in delta.h.
#ifndef MPOTA_DELTA_DEC_H
#define MPOTA_DELTA_DEC_H

#include <stdbool.h>
#include <stdint.h>

#include "mpota/delta.h"

// Takes `count` copies of `byte` (1 for a literal; crle's repeated segments
// give more at once). Returns 0 or a negative code, which the decoder returns
// unchanged.
typedef int (*mpota_dec_out_fn)(void *ctx, uint8_t byte, uint32_t count);

// crle: segments of a kind byte (0 scattered, 1 repeated), a size (7 bits a
// byte, least significant first, bit 7 "more"), then that many literal bytes
// or one byte to repeat that many times. Returns 0, MPOTA_ERR_DELTA_CORRUPT
// (another kind, a size beyond 32 bits) or the callback's code.
void mpota_crle_dec_init(struct mpota_crle_dec *c);
int mpota_crle_dec_byte(struct mpota_crle_dec *c, uint8_t byte, mpota_dec_out_fn out, void *ctx);

// Whether c is between segments: where a crle payload may end.
bool mpota_crle_dec_idle(const struct mpota_crle_dec *c);

// heatshrink: one byte of window and lookahead bits, then heatshrink's bit
// stream. The first byte needs 1 << window_sz2 bytes of `window` (zeroed
// here, as heatshrink's decoder zeroes its own): MPOTA_ERR_DELTA_WINDOW if
// window_size is less, MPOTA_ERR_DELTA_CORRUPT for sizes heatshrink does not
// make. The stream ends anywhere: the bits after the last whole item are
// padding.
void mpota_heatshrink_dec_init(struct mpota_heatshrink_dec *h);
int mpota_heatshrink_dec_byte(struct mpota_heatshrink_dec *h, uint8_t *window,
                              uint32_t window_size, uint8_t byte, mpota_dec_out_fn out,
                              void *ctx);

// The window the first byte asked for (0 before it): for MPOTA_ERR_DELTA_WINDOW.
uint32_t mpota_heatshrink_dec_window_needed(const struct mpota_heatshrink_dec *h);

#endif
