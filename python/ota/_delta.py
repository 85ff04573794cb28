# mpota.Patch in pure Python, for stock firmware: a detools sequential patch
# applied onto the running image, streaming into a Session (the C module's
# mpota_patch_obj.c and src/core/delta.c do the same; include/mpota/delta.h
# documents the format). Compressions none, crle and heatshrink.
#
#   p = Patch(session, size)   size: the whole patch in bytes
#   p.write(buf)               patch bytes, in order
#   p.finish()                 -> the new image's size; then session.end()
#
# The running slot is only read (Device.read), and only as far as its image
# goes (Device.running_digest()). Everything that the bytes could make go
# wrong is checked before it acts: from-data beyond the running image, output
# beyond the new image's size or the slot, and sizes past the patch.
#
# Speed: bulk work is done with slices, which run in C: runs of zero diff
# bytes copy the from-data unchanged, and heatshrink back-references copy
# from the history as slices; only non-zero diff bytes and the bit reader
# loop in Python.
from . import _stock

_NAMES = ("none", "lzma", "crle", "bz2", "heatshrink", "zstd", "lz4")
_FORMATS = ("arm-cortex-m4", "aarch64", "xtensa-lx106")
_WINDOW_BITS_MAX = 12  # 4 KiB of history is plenty; detools' default is 8
_OUT = 4096  # new-image bytes handed to the session at a time

# bsdiff-layer states
_DF, _DIFF_SIZE, _DIFF, _EXTRA_SIZE, _EXTRA, _ADJ, _DONE = range(7)


def _size(b, i):
    # A detools size at b[i:]: (value, next index), or None if incomplete.
    n = len(b)
    if i >= n:
        return None
    c = b[i]
    v, neg, shift = c & 0x3F, c & 0x40, 6
    i += 1
    while c & 0x80:
        if i >= n:
            return None
        c = b[i]
        v |= (c & 0x7F) << shift
        shift += 7
        i += 1
    return (-v if neg else v), i


def _varint(b, i):
    # crle's unsigned size (7 bits a byte, low first): (value, i) or None.
    v = shift = 0
    while True:
        if i >= len(b):
            return None
        c = b[i]
        v |= (c & 0x7F) << shift
        shift += 7
        i += 1
        if not c & 0x80:
            return v, i


class _Crle:
    # Scattered (kind 0: size, bytes) and repeated (kind 1: count, byte)
    # segments. Returns what the input completes.
    def __init__(self, patch):
        self.p = patch
        self.inb = b""
        self.left = 0  # scattered bytes still to come

    def feed(self, data):
        b = self.inb + bytes(data)
        out, i = [], 0
        while i < len(b):
            if self.left:
                k = min(self.left, len(b) - i)
                out.append(b[i:i + k])
                self.left -= k
                i += k
                continue
            kind = b[i]
            if kind > 1:
                self.p._bad()
            r = _varint(b, i + 1)
            if r is None or (kind == 1 and r[1] >= len(b)):
                break
            n, i = r
            if kind == 1:
                out.append(b[i:i + 1] * n)
                i += 1
            else:
                self.left = n
        self.inb = b[i:]
        return b"".join(out)

    def end_ok(self):
        return not self.inb and not self.left


class _Heatshrink:
    # heatshrink's LZSS bit stream: tag 1 + 8-bit literal, or tag 0 + index
    # (window bits) + count (lookahead bits): copy count+1 bytes from
    # index+1 back. The history starts as zeros, as heatshrink's does.
    def __init__(self, patch):
        self.p = patch
        self.w = None
        self.acc = self.bits = 0
        self.hist = bytearray()

    def _header(self, c):
        w, l = (c >> 4) + 4, (c & 15) + 3
        if w > _WINDOW_BITS_MAX:
            _stock._raise("MPOTA_ERR_DELTA_WINDOW", self.p._pos, 1 << _WINDOW_BITS_MAX, 1 << w)
        if l >= w:
            self.p._bad()
        self.w, self.l = w, l
        self.hist = bytearray(1 << w)

    def feed(self, data):
        data = memoryview(data)
        if self.w is None:
            if not len(data):
                return b""
            self._header(data[0])
            data = data[1:]
        out = bytearray()
        acc, bits, w, l, hist = self.acc, self.bits, self.w, self.l, self.hist
        i, n = 0, len(data)
        while True:
            while bits < 1 + w + l and i < n:
                acc = (acc << 8) | data[i]
                bits += 8
                i += 1
            if bits < 1:
                break
            if acc >> (bits - 1) & 1:
                if bits < 9:
                    break
                bits -= 9
                c = acc >> bits & 0xFF
                out.append(c)
                hist.append(c)
            else:
                if bits < 1 + w + l:
                    break
                bits -= 1 + w + l
                back = (acc >> (bits + l) & ((1 << w) - 1)) + 1
                count = (acc >> bits & ((1 << l) - 1)) + 1
                start = len(hist) - back
                if back >= count:
                    piece = hist[start:start + count]
                else:  # overlapping: the last `back` bytes repeat
                    piece = (bytes(hist[start:]) * (count // back + 1))[:count]
                out += piece
                hist += piece
            acc &= (1 << bits) - 1
            if len(hist) > 4 << w:
                hist = hist[-(1 << w):]
        self.acc, self.bits, self.hist = acc, bits, hist
        return out


class _None:
    def __init__(self, patch):
        pass

    def feed(self, data):
        return bytes(data)


class Patch:
    def __init__(self, session, size):
        dev = session._d
        if not dev.running() or session.target() is None:
            _stock._raise("MPOTA_ERR_BAD_STATE")
        self._dev, self._s, self._size = dev, session, size
        self._from_len = dev.running_digest()[1]
        self._to_max = dev.row(session.target())[3]
        self._pos = 0  # patch bytes taken
        self._head = b""
        self._dec = None
        self._pay = b""  # payload decoded, not yet used
        self._st = _DF
        self._left = 0  # bytes of the current diff / extra
        self._to = 0  # new-image bytes made
        self._to_size = 0
        self._from = 0
        self._out = bytearray()

    def to_size(self):
        return self._to_size

    def _bad(self):
        _stock._raise("MPOTA_ERR_DELTA_CORRUPT", self._pos)

    def write(self, data):
        n = len(data)
        if self._pos + n > self._size:  # more than the patch's length said
            if self._st == _DONE:
                _stock._raise("MPOTA_ERR_DELTA_TRAILING", self._size)
            _stock._raise("MPOTA_ERR_EXPECT_LENGTH", self._size, self._size, self._pos + n)
        self._pos += n
        if self._dec is None:
            data = self._header(bytes(data))
            if data is None:
                return
        self._pay += self._dec.feed(data)
        self._run()
        self._flush(False)

    def _header(self, data):
        # The header byte and the new image's size; returns the rest of data,
        # or None while the header is incomplete.
        b = self._head + data
        r = _size(b, 1) if b else None
        if b and (b[0] >> 4 or b[0] & 15 > 6):
            _stock._raise("MPOTA_ERR_DELTA_HEADER", 0, 0, b[0])
        if r is None:
            self._head = b
            return None
        kind = b[0]
        if kind not in (0, 2, 4):
            _stock._raise("MPOTA_ERR_DELTA_COMPRESSION", 0, label=_NAMES[kind])
        to_size = r[0]
        if to_size < 0:
            self._bad()
        if to_size > self._to_max:
            _stock._raise("MPOTA_ERR_DELTA_TO_RANGE", 1, self._to_max, to_size)
        self._to_size = to_size
        self._dec = {0: _None, 2: _Crle, 4: _Heatshrink}[kind](self)
        if to_size == 0:
            self._st = _DONE
        return b[r[1]:]

    def _take_size(self):
        r = _size(self._pay, 0)
        if r is None:
            return None
        self._pay = self._pay[r[1]:]
        return r[0]

    def _run(self):
        # The bsdiff layer: as far as the decoded payload goes.
        while True:
            st = self._st
            if st == _DONE:
                if self._pay:
                    _stock._raise("MPOTA_ERR_DELTA_TRAILING", self._pos)
                return
            if st in (_DIFF, _EXTRA):
                if not self._pay:
                    return
                self._data(st)
                continue
            v = self._take_size()
            if v is None:
                return
            self._step(st, v)

    def _step(self, st, v):
        if st == _DF:
            if v:
                r = _size(self._pay, 0)
                fmt = _FORMATS[r[0]] if r and 0 <= r[0] < 3 else "unknown"
                _stock._raise("MPOTA_ERR_DELTA_DATA_FORMAT", self._pos, label=fmt)
            self._st = _DIFF_SIZE
        elif st in (_DIFF_SIZE, _EXTRA_SIZE):
            if v < 0:
                self._bad()
            if v > self._to_size - self._to:
                _stock._raise("MPOTA_ERR_DELTA_TO_RANGE", self._pos, self._to_size, self._to + v)
            self._left = v
            self._st = st + 1 if v else st + 2  # the data, or straight past it
        else:  # adjustment
            self._from += v
            self._st = _DONE if self._to == self._to_size else _DIFF_SIZE

    def _data(self, st):
        k = min(self._left, len(self._pay))
        piece, self._pay = self._pay[:k], self._pay[k:]
        if st == _DIFF:
            piece = self._add(piece)
        self._out += piece
        self._to += k
        self._left -= k
        if not self._left:
            self._st = _EXTRA_SIZE if st == _DIFF else _ADJ
        if len(self._out) >= _OUT:
            self._flush(False)

    def _add(self, diff):
        # diff + the from-data under it, byte-wise mod 256.
        k, at = len(diff), self._from
        if at < 0 or at + k > self._from_len:
            _stock._raise("MPOTA_ERR_DELTA_FROM_RANGE", self._pos, self._from_len,
                          max(at + k, 0))
        f = bytearray(k)
        self._dev.read(self._dev.running(), at, f)
        self._from = at + k
        zero = bytes(64)
        for i in range(0, k, 64):
            d = diff[i:i + 64]
            if d != zero[:len(d)]:
                for j in range(len(d)):
                    f[i + j] = (f[i + j] + d[j]) & 0xFF
        return f

    def _flush(self, last):
        if self._out and (last or len(self._out) >= _OUT):
            self._s.write(self._out)
            self._out = bytearray()

    def finish(self):
        self._flush(True)
        dec_ok = not isinstance(self._dec, _Crle) or self._dec.end_ok()
        if self._pos < self._size:  # a cut download, or a length that lies
            _stock._raise("MPOTA_ERR_EXPECT_LENGTH", self._pos, self._size, self._pos)
        if self._to < self._to_size or self._st != _DONE or not dec_ok:
            _stock._raise("MPOTA_ERR_DELTA_TRUNCATED", self._pos, self._to_size, self._to)
        return self._to_size
