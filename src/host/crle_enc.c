// crle encoder (crle_enc.h).
#include "crle_enc.h"

#include "mpota/err.h"

enum { SCATTERED = 0, REPEATED = 1 };

static void put_segment(struct mpota_buf *out, uint8_t kind, size_t size)
{
    mpota_buf_byte(out, kind);
    do {
        uint8_t low = (uint8_t)(size & 0x7Fu);
        size >>= 7;
        mpota_buf_byte(out, (uint8_t)(low | (size ? 0x80u : 0)));
    } while (size);
}

static void put_scattered(struct mpota_buf *out, const uint8_t *p, size_t n)
{
    put_segment(out, SCATTERED, n);
    mpota_buf_put(out, p, n);
}

int mpota_crle_encode(const uint8_t *in, size_t len, struct mpota_buf *out)
{
    size_t plain = 0;  // start of the bytes not yet written
    for (size_t i = 0; i < len;) {
        size_t run = 1;
        while (i + run < len && in[i + run] == in[i]) {
            run++;
        }
        if (run >= MPOTA_CRLE_MIN_RUN) {
            if (plain < i) {
                put_scattered(out, in + plain, i - plain);
            }
            put_segment(out, REPEATED, run);
            mpota_buf_byte(out, in[i]);
            plain = i + run;
        }
        i += run;
    }
    if (len == 0) {
        put_segment(out, SCATTERED, 0);  // detools' empty stream
    } else if (plain < len) {
        put_scattered(out, in + plain, len - plain);
    }
    return out->failed ? MPOTA_ERR_NO_SPACE : MPOTA_OK;
}
