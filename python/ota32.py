# ota32's API (`from ota32 import OTA, open_url`), on mpota's session (C or
# pure Python: ota/_mpota.py).
#
#   OTA(verbose=False).ota(url, sha256)
#       writes the app image at url (http://, https:// or a file on the
#       device) into the next OTA slot, checks its SHA-256 (hex) and selects
#       it for the next boot; no reset. A wrong SHA-256 raises ValueError,
#       anything the session refuses (a full firmware.bin, too big, wrong
#       chip) raises mpota.Error before the slot is erased.
#   open_url(url) -> a stream with read(n), readinto(buf) and close()
#
# Unlike the original: HTTP/1.1 with redirects, chunked bodies and resume of
# dropped downloads; the last block is not padded; progress=callable(done,
# total) as a keyword of ota().
from ota import _engine


def open_url(url, **request_args):
    if url.startswith("http://") or url.startswith("https://"):
        from ota import _http

        return _http.get(url, **request_args)
    return open(url, "rb")


class OTA:
    def __init__(self, verbose=False):
        self.verbose = verbose
        self._dots = 0

    def _dot(self, done, total):
        if self.verbose and done >> 16 != self._dots:
            self._dots = done >> 16
            print(".", end="")

    def ota(self, url, sha256, progress=None):
        if self.verbose:
            print("Updating ", end="")
        tick = self._dot
        if progress:
            def tick(done, total):
                self._dot(done, total)
                progress(done, total)
        u = _engine.Updater(sha256=sha256, progress=tick)
        try:
            try:
                if url.startswith("http://") or url.startswith("https://"):
                    u.fetch(url)
                else:
                    with open(url, "rb") as f:
                        u.copy(f)
                u.finish()
            except _engine.mpota.Error as e:
                if _engine.is_value_error(e):
                    raise ValueError(_engine.text(e))
                raise _engine.worded(e)
            u.set_boot()
        finally:
            u.close()
        if self.verbose:
            print(" finished")
