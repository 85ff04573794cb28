# The engine behind every API of the `ota` package: one mpota.Session (the
# update engine, C or pure Python (_mpota.py): pre-flight checks before
# anything is erased, erase ahead,
# hashing, read-back, set_boot) fed from a stream, a buffer or an HTTP
# download that resumes where the flash write stopped.
#
#   u = Updater(size=0, sha256=None, md5=None, verify=True, target=None,
#               progress=None, policy=0, key=None, require_signature=False)
#   u.write(buf) / u.copy(stream)
#   u.fetch(url, retries=5, auth=None, headers=None, timeout=20, cadata=None)
#   u.patch(size)  what follows is a detools patch onto the running image
#   u.finish()     -> bytes written (verifies: mpota.Error / ValueError)
#   u.set_boot()   the new app boots next (state NEW)
#   u.abort()      the slot is left reading as empty
#
# Memory: one 4 KiB bytearray per Updater, reused for every chunk; streams are
# read with readinto(), so the steady state allocates nothing per chunk.
# Progress and abort stay in this loop: progress(done, total) is called after
# each chunk (total 0 when unknown), and any exception raised inside the loop
# -- KeyboardInterrupt included, or one raised by the progress callback --
# aborts the session before it propagates.
from ._mpota import mpota

CHUNK = 4096

# Expectation failures: glenn20's API reports these as ValueError; the text
# is the core's sentence, unchanged.
_VALUE_ERRORS = ("MPOTA_ERR_EXPECT_SHA256", "MPOTA_ERR_EXPECT_MD5", "MPOTA_ERR_EXPECT_LENGTH",
                 "MPOTA_ERR_SLOT_TOO_SMALL")


# What to do on firmware without OTA slots (micropython.org's default
# ESP32_GENERIC has a factory layout): the one-time install over serial.
OTA_LAYOUT_ADVICE = (
    "This firmware's partition table has no OTA slots, so it cannot be updated over the air.\n"
    "Install once, over serial from a PC, a build with an OTA table (board ESP32_GENERIC,\n"
    "variant OTA, from micropython.org). Back up your files first: the filesystem moves.\n"
    "  esptool.py --chip esp32 --port PORT erase_flash\n"
    "  esptool.py --chip esp32 --port PORT write_flash 0x1000 ESP32_GENERIC-OTA-<date>-<version>.bin\n"
    "(ESP32-S3, C3 and C6 builds are written at 0x0.)")


def err_name(e):
    # The core's name of an mpota.Error's code ("MPOTA_ERR_..."); None for
    # any other exception. From _errors: a firmware may lack mpota.err_name.
    if not isinstance(e, mpota.Error):
        return None
    from . import _errors

    return _errors.name(e.errno)


def no_ota_slots(e):
    return err_name(e) == "MPOTA_ERR_NO_OTA_SLOTS"


def is_value_error(e):
    return err_name(e) in _VALUE_ERRORS


def text(e):
    # The core's sentence of an mpota.Error: args = (code, text, offset,
    # expected, actual, label). A firmware built without text gives None, and
    # the sentence is made from the numbers, as the core would have made it.
    a = e.args
    if len(a) > 1 and a[1] is not None:
        return a[1]
    from . import _errors

    return _errors.text(*(a[:1] + a[2:6]))


def worded(e):
    # e, or the same mpota.Error with its sentence where the firmware gave none
    if isinstance(e, mpota.Error) and len(e.args) > 1 and e.args[1] is None:
        return mpota.Error(e.args[0], text(e), *e.args[2:])
    return e


def message(e):
    # The human sentence of an exception: an mpota.Error's is the core's text
    # (never reworded); other errors give their own.
    if isinstance(e, mpota.Error):
        return text(e)
    if isinstance(e, OSError) and len(e.args) > 1:
        return "%s (errno %s)" % (e.args[1], e.args[0])
    if isinstance(e, ValueError) and e.args:
        return str(e)
    return "%s: %s" % (type(e).__name__, e) if e.args else type(e).__name__


def reboot(delay=10, verbose=True):
    # A hard reset after `delay` seconds; Ctrl-C during the countdown stops it.
    import time

    for i in range(delay, 0, -1):
        if verbose:
            print("\rRestarting in %2d s; Ctrl-C to stay in this firmware" % i, end="")
        time.sleep(1)
    if verbose and delay:
        print()
    import machine

    machine.reset()


def _text(digest, hex_len):
    # A hex digest given as bytes becomes text (the session takes raw bytes
    # or hex text).
    if isinstance(digest, (bytes, bytearray)) and len(digest) == hex_len:
        return bytes(digest).decode()
    return digest


def _hex(digest):
    import binascii

    return binascii.hexlify(digest).decode()


class Updater:
    def __init__(self, size=0, sha256=None, md5=None, verify=True, target=None, progress=None,
                 policy=0, device=None, key=None, require_signature=False):
        self._own = device is None  # close() closes only a device opened here
        self.dev = device or mpota.Device()
        self._s = mpota.Session(self.dev)
        self._target = target
        self._verify = verify
        self._policy = policy
        # Secure Boot V2: the keys an image must be signed by (key digests;
        # a signed running app's own keys count too, in the engine).
        if key is not None:
            from . import _sigkey

            key = _sigkey.digests(key)
        self._keys, self._require = key, require_signature
        self.progress = progress
        self.total = 0
        self._late = None  # expectations given after the data started
        self._buf = None
        self._patch = None  # (size) while the data is a delta patch
        self._p = None  # its mpota.Patch, in front of the session
        self._taken = 0  # bytes the patch took (where a resumed download goes on)
        self._inflating = False  # the download is a gzip/zlib stream (_gz.py)
        self._begin(size, sha256, md5)

    def _begin(self, size, sha256, md5):
        sha256, md5 = _text(sha256, 64), _text(md5, 32)
        self._exp = (size, sha256, md5)
        self.total = size or 0
        self._s.begin(self._target, size=size or 0, sha256=sha256 or None, md5=md5 or None,
                      verify=self._verify, policy=self._policy, keys=self._keys,
                      require_signature=self._require)
        self._target = self._s.target()

    @property
    def target(self):
        return self._s.target()

    def slot_size(self):
        for row in self.dev.partitions():
            if row[4] == self.target:
                return row[3]
        return 0

    def offset(self):
        # Where the data goes on: the session's offset, or the patch's.
        return self._taken if self._patch else self._s.offset()

    def patch(self, size):
        # The data that follows is a detools patch of `size` bytes onto the
        # running image (mpota.Patch); the session gets the new image.
        self._patch = size
        self._p = mpota.Patch(self._s, size)
        self._taken = 0

    def _write(self, data):
        if self._p:
            self._p.write(data)
            self._taken += len(data)
        else:
            self._s.write(data)

    def _restart(self):
        # The data starts again from byte 0 (a server that ignored a Range).
        self._s.restart()
        if self._patch:
            self.patch(self._patch)

    def expect(self, size=0, sha256=None, md5=None):
        # Adds what the caller knows (length, hashes). Before the first byte
        # the session starts again with them, so the size is checked against
        # the slot before anything is erased; later they are checked at finish.
        if not (size or sha256 or md5):
            return
        sha256, md5 = _text(sha256, 64), _text(md5, 32)
        if self._s.offset() == 0 and self._s.state() == mpota.Session.HEAD:
            old = self._exp
            self._s.abort()  # nothing was written: this erases nothing
            self._begin(size or old[0], sha256 or old[1], md5 or old[2])
        else:
            old = self._late or (0, None, None)
            self._late = (size or old[0], sha256 or old[1], md5 or old[2])
            self.total = size or self.total

    def _buffer(self):
        if self._buf is None:
            self._buf = bytearray(CHUNK)
        return self._buf

    def _tick(self):
        if self.progress:
            self.progress(self._s.offset(), self.total)

    def write(self, data):
        try:
            self._write(data)
            self._tick()
        except BaseException:
            self.abort()
            raise
        return len(data)

    def _inflate_if_compressed(self, src, n):
        # The first n bytes in the buffer came from src: if they start a
        # gzip or zlib stream, the image is what src inflates to (_gz.py).
        from . import _gz

        head = bytes(memoryview(self._buf)[:n])
        if self._patch or not _gz.kind(head):
            return None
        return _gz.Inflated(src, head, self.slot_size(), self.target)

    def copy(self, stream):
        # Writes what stream.readinto() yields until it ends; returns the
        # count. A stream without readinto() is read() in 4 KiB pieces. A
        # gzip or zlib stream is inflated first (by its magic).
        buf = self._buffer()
        w = self._write
        done = 0
        try:
            into = getattr(stream, "readinto", None)
            first = True
            while True:
                if into:
                    n = into(buf)
                    if first and n:
                        first = False
                        gz = self._inflate_if_compressed(stream, n)
                        if gz:
                            into = gz.readinto
                            continue
                    if not n:
                        break
                    w(buf if n == CHUNK else memoryview(buf)[:n])
                else:
                    data = stream.read(CHUNK)
                    if not data:
                        break
                    n = len(data)
                    w(data)
                done += n
                self._tick()
        except BaseException:
            self.abort()
            raise
        return done

    def fetch(self, url, retries=5, auth=None, headers=None, timeout=20, cadata=None):
        # Downloads url into the slot. A connection that drops, resets or
        # stalls (timeout seconds) is opened again with Range: bytes=<offset>-
        # (and If-Range, so a file changed meanwhile comes whole); a server
        # that answers 200 instead of 206 sends the whole file again and the
        # session restarts from byte 0. `retries` attempts in a row may fail
        # without progress. Returns the byte count.
        from . import _http

        tag = None
        failures = 0
        try:
            while True:
                at = self.offset()
                if self._inflating and at:
                    # A compressed download cannot go on mid-stream: again from 0.
                    self._restart()
                    self._inflating = False
                    at = 0
                r = None
                try:
                    r = _http.get(url, start=at, auth=auth, headers=headers, timeout=timeout,
                                  if_range=tag, cadata=cadata)
                    url = r.url  # later attempts skip the redirects
                    tag = r.etag
                    if r.start != at:
                        if r.start != 0:
                            raise ValueError("asked for bytes from %d, the server sent them from %d"
                                             % (at, r.start))
                        self._restart()  # the server ignored the range
                        at = 0
                    # The declared length, checked against the slot before
                    # anything is erased (and at the end), once the first
                    # bytes show it is the image's (not a gzip's).
                    declare = r.length if at == 0 and not self._exp[0] and not self._patch else 0
                    if not self.total and r.total > 0:
                        self.total = r.total
                    self._drain(r, declare)
                    return self._end_patch()
                except (ValueError, mpota.Error):
                    raise
                except OSError:
                    failures = 1 if self.offset() > at else failures + 1
                    if failures > retries:
                        raise
                finally:
                    if r:
                        r.close()
        except BaseException:
            self.abort()
            raise

    def _drain(self, r, declare=0):
        # copy() without the abort: fetch() decides whether to retry.
        buf = self._buffer()
        w = self._write
        src = r
        while True:
            n = src.readinto(buf)
            if src is r and n and self.offset() == 0 and not self._inflating:
                gz = self._inflate_if_compressed(r, n)
                if gz:
                    self._inflating = True
                    src = gz
                    continue
                if declare > 0:
                    self.expect(size=declare)
                    w = self._write
            if not n:
                return
            w(buf if n == CHUNK else memoryview(buf)[:n])
            self._tick()

    def _end_patch(self):
        # After the patch's last byte: the new image must be complete.
        if self._p:
            self._p.finish()
            self._p = None
        return self._s.offset()

    def finish(self):
        # Verifies the image (mpota.Error, ValueError for a wrong length or
        # hash) and returns its byte count. The session is aborted on failure.
        try:
            self._end_patch()
            n = self._s.end()
            if self._late:
                size, sha256, md5 = self._late
                if size and size != n:
                    raise ValueError("received %d bytes, expected %d" % (n, size))
                if sha256:
                    got = self._s.sha256()
                    want = sha256 if isinstance(sha256, (bytes, bytearray)) else None
                    if (want and want != got) or (not want and sha256.lower() != _hex(got)):
                        raise ValueError("SHA-256 of the received data is %s, expected %s"
                                         % (_hex(got), sha256))
                if md5:
                    raise ValueError("an MD5 given after the data started cannot be checked")
            return n
        except BaseException:
            self.abort()
            raise

    def sha256(self):
        return _hex(self._s.sha256())

    def set_boot(self):
        self._s.set_boot()

    def state(self):
        return self._s.state()

    def abort(self):
        try:
            self._s.abort()
        except mpota.Error:
            pass

    def close(self):
        self._buf = None
        if self._own:
            self.dev.close()
