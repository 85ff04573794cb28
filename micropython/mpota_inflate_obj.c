// mpota.Inflate(src): the image a gzip (RFC 1952) or zlib (RFC 1950) stream
// inflates to, with MicroPython's own uzlib (lib/uzlib: in every firmware
// that has the `deflate` module). deflate.DeflateIO asks its stream for one
// byte per call, which from a Python stream is a Python call per compressed
// byte; this reads src 512 bytes at a time instead (python/ota/_gz.py).
//
//   i = mpota.Inflate(src)   src: anything with readinto(buf)
//   i.readinto(buf) -> n     the image's next bytes; 0 after the trailer
//   i.unused() -> n          bytes read from src but not consumed (they
//                            follow the stream once readinto gave 0)
//
// As DeflateIO: OSError(EINVAL) for a bad header or corrupt data, EOFError
// when src ends first. RAM: this object (~1.9 KB, uzlib's state and the
// input chunk), then the window the header asks for (32 KiB for gzip).
#include <string.h>

#include "py/mperrno.h"
#include "py/runtime.h"

#if MICROPY_PY_DEFLATE

#include "lib/uzlib/uzlib.h"
#include "mpota_mod.h"

#define CHUNK 512

typedef struct {
    mp_obj_base_t base;
    mp_obj_t readinto[3];  // src.readinto, bound, and the chunk as its argument
    uzlib_uncomp_t d;
    uint8_t *window;  // after the header
    bool done;
    uint8_t chunk[CHUNK];
} inflate_obj_t;

// uzlib's source_read_cb: the next chunk of src; its first byte.
static int refill(void *ctx)
{
    inflate_obj_t *self = ctx;
    mp_obj_t got = mp_call_method_n_kw(1, 0, self->readinto);
    mp_int_t n = got == mp_const_none ? 0 : mp_obj_get_int(got);
    if (n <= 0) {
        mp_raise_type(&mp_type_EOFError);
    }
    self->d.source = self->chunk + 1;
    self->d.source_limit = self->chunk + (n < CHUNK ? n : CHUNK);
    return self->chunk[0];
}

static mp_obj_t inflate_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
                                 const mp_obj_t *args)
{
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    inflate_obj_t *self = mp_obj_malloc(inflate_obj_t, type);
    memset(&self->d, 0, sizeof(self->d));
    self->window = NULL;
    self->done = false;
    mp_load_method(args[0], MP_QSTR_readinto, self->readinto);
    self->readinto[2] = mp_obj_new_bytearray_by_ref(CHUNK, self->chunk);
    self->d.source_read_data = self;
    self->d.source_read_cb = refill;
    return MP_OBJ_FROM_PTR(self);
}

static void start(inflate_obj_t *self)
{
    int wbits;
    if (uzlib_parse_zlib_gzip_header(&self->d, &wbits) < 0) {
        mp_raise_OSError(MP_EINVAL);
    }
    size_t len = (size_t)1 << wbits;  // 15 for gzip, 8..15 from a zlib header
    self->window = m_new(uint8_t, len);
    uzlib_uncompress_init(&self->d, self->window, len);
}

static mp_obj_t inflate_readinto(mp_obj_t self_in, mp_obj_t buf_in)
{
    inflate_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, MP_BUFFER_WRITE);
    if (self->done || !buf.len) {
        return MP_OBJ_NEW_SMALL_INT(0);
    }
    if (!self->window) {
        start(self);
    }
    self->d.dest = buf.buf;
    self->d.dest_limit = (uint8_t *)buf.buf + buf.len;
    int st = uzlib_uncompress_chksum(&self->d);
    if (st < 0) {
        mp_raise_OSError(MP_EINVAL);
    }
    self->done = st == UZLIB_DONE;
    return MP_OBJ_NEW_SMALL_INT(self->d.dest - (uint8_t *)buf.buf);
}
static MP_DEFINE_CONST_FUN_OBJ_2(inflate_readinto_obj, inflate_readinto);

static mp_obj_t inflate_unused(mp_obj_t self_in)
{
    inflate_obj_t *self = MP_OBJ_TO_PTR(self_in);
    const uint8_t *p = self->d.source, *end = self->d.source_limit;
    return MP_OBJ_NEW_SMALL_INT(p && end > p ? end - p : 0);
}
static MP_DEFINE_CONST_FUN_OBJ_1(inflate_unused_obj, inflate_unused);

static const mp_rom_map_elem_t inflate_locals_table[] = {
    {MP_ROM_QSTR(MP_QSTR_readinto), MP_ROM_PTR(&inflate_readinto_obj)},
    {MP_ROM_QSTR(MP_QSTR_unused), MP_ROM_PTR(&inflate_unused_obj)},
};
static MP_DEFINE_CONST_DICT(inflate_locals, inflate_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(mpota_inflate_type, MP_QSTR_Inflate, MP_TYPE_FLAG_NONE, make_new,
                         inflate_make_new, locals_dict, &inflate_locals);

#endif  // MICROPY_PY_DEFLATE
