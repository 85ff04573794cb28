# gzip (RFC 1952) and zlib (RFC 1950) images for the ota package, inflated
# with MicroPython's own `deflate` module (v1.21+; uzlib, in every official
# ESP32 build). The session gets the image, so its checks, hashes and the
# manifest's sha/length are the image's, as with an uncompressed download.
#
#   kind(head)                 "gzip", "zlib" or None, from the first 2 bytes
#   Inflated(src, head=b"", limit=0, label="")
#                              a stream of the image: readinto(buf); more
#                              than limit bytes (the slot) is a bomb
#
# RAM: the decompressor (~1.3 KB, ~1.9 KB with mpota.Inflate's input chunk)
# and a window as large as the stream's header asks: 32 KiB for gzip,
# 2^(8+CINFO) bytes for zlib. The C engine inflates with mpota.Inflate (the
# firmware's uzlib, fed 512 bytes at a time); stock firmware with `deflate`,
# which reads its source one byte per call, so the source here is a small
# buffered reader in front of the file or HTTP response.
import io

from ._mpota import mpota

_BUF = 512


def kind(head):
    if len(head) >= 2 and head[0] == 0x1F and head[1] == 0x8B:
        return "gzip"
    if len(head) >= 2 and head[0] & 0x0F == 8 and head[0] >> 4 <= 7 and \
            (head[0] << 8 | head[1]) % 31 == 0 and not head[1] & 0x20:
        return "zlib"
    return None


def _fail(name, off=0, exp=0, act=0, label=""):
    from . import _errors

    code = _errors.CODE[name]
    raise mpota.Error(code, _errors.text(code, off, exp, act, label), off, exp, act, label)


class _Source(io.IOBase):
    # src's bytes, `head` (what was read to recognise the stream) first,
    # counted, for deflate's one-byte reads.
    def __init__(self, src, head):
        self.src = src
        self.buf = bytearray(_BUF)
        self.view = memoryview(head)  # then a view of buf
        self.at, self.end = 0, len(head)
        self.count = 0  # compressed bytes handed out
        self.failed = None

    def _fill(self):
        try:
            n = self.src.readinto(self.buf) or 0
        except BaseException as e:
            self.failed = e  # the source's own error (a dropped connection), not the data's
            raise
        self.view = memoryview(self.buf)
        self.at, self.end = 0, n
        return n

    def readinto(self, b):
        if self.at == self.end and not self._fill():
            return 0
        n = min(len(b), self.end - self.at)
        b[:n] = self.view[self.at:self.at + n]
        self.at += n
        self.count += n
        return n

    def rest(self):
        # True if bytes follow the end of the compressed stream.
        return self.at < self.end or bool(self._fill())


class Inflated:
    def __init__(self, src, head=b"", limit=0, label=""):
        self.kind = kind(head)
        self.src = _Source(src, head)
        # The C engine's mpota.Inflate reads src in chunks (the same uzlib);
        # deflate reads a byte per call.
        if hasattr(mpota, "Inflate"):
            self.d = mpota.Inflate(self.src)
        else:
            import deflate

            self.d = deflate.DeflateIO(self.src, deflate.AUTO)
        self.out = 0
        self.limit, self.label = limit, label

    def _used(self):
        # Compressed bytes the inflater consumed (it may hold some unread).
        unused = getattr(self.d, "unused", None)
        return self.src.count - (unused() if unused else 0)

    def readinto(self, buf):
        try:
            n = self.d.readinto(buf)
        except EOFError:
            _fail("MPOTA_ERR_INFLATE_TRUNCATED", self.src.count, act=self.src.count)
        except OSError as e:
            if isinstance(e, mpota.Error) or self.src.failed:
                raise
            if not self.out and not self._used() > 18:
                _fail("MPOTA_ERR_INFLATE_HEADER", 0, label=self.kind or "not gzip or zlib")
            _fail("MPOTA_ERR_INFLATE_CORRUPT", self._used())
        if not n and (self._used() < self.src.count or self.src.rest()):
            _fail("MPOTA_ERR_INFLATE_TRAILING", self._used())
        if self.limit and self.out + n > self.limit:
            _fail("MPOTA_ERR_INFLATE_TOO_BIG", self._used(), self.limit, label=self.label)
        self.out += n
        return n
