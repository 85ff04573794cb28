# glenn20's `ota.update` API (micropython-esp32-ota), on mpota's session (C or
# pure Python: _mpota.py).
#
#   from_file(url, sha="", length=0, verify=True, verbose=True, reboot=True,
#             key=None, require_signature=False, **request_args)
#   from_json(url, verify=True, verbose=True, reboot=True, key=None,
#             require_signature=False, **request_args)
#   OTA(verify=True, verbose=True, reboot=False, sha="", length=0, key=None,
#       require_signature=False)
#     .from_firmware_file(url, sha="", length=0, **request_args) -> bytes written
#     .from_json(url, **request_args)                              -> bytes written
#     .from_stream(f, sha="", length=0)                            -> bytes written
#     .from_patch(url, patch_length, sha="", length=0, **request_args) -> bytes written
#     .write(data) -> len(data)      .close()      .abort()      with OTA() as o: ...
#
# Same signatures and behaviour; the differences:
# * the file is checked before anything is erased (an app image for this
#   chip, that fits the slot; a full firmware.bin is refused with mpota.Error,
#   an OSError, whose text says what the file is and what to use instead);
# * request_args: auth=(user, password), headers={...}, timeout=seconds (as
#   for requests.get), plus retries=N (dropped downloads resume with Range,
#   default 5), cadata=<CA certificate, DER> (https: verify the server; as
#   with requests, it is not verified without it) and
#   progress=callable(done, total);
# * an exception inside the copy (Ctrl-C included) aborts the update and
#   leaves the slot empty; with `with OTA() as o:` an exception in the block
#   does the same. OTA.abort() does it by hand.
# * a manifest on a server naming its firmware "/path" means that path on the
#   same server (glenn20's would open a local file of that name); any other
#   relative name is taken beside the manifest, as glenn20's does.
# * key=: Secure Boot V2 signatures (espsecure sign_data --version 2 or
#   `mpota image sign`): the image must carry a block by this key (a PEM
#   public key, its 32-byte digest or 64 hex digits; or a list of them),
#   checked before the new app is selected. A device whose running app is
#   signed accepts only its keys (and key=) without being asked, as ESP-IDF's
#   signed-on-update mode does; require_signature=True refuses unsigned images.
# * a manifest may offer detools patches ("patches": [{"from": <SHA-256 of
#   the base image as flashed>, "url", "format": "detools", "compression",
#   "length": patch bytes}]); from_json takes the one made from the running
#   image, else the full image. "sha" and "length" stay the new image's.
# Errors: a wrong length or SHA-256 raises ValueError (as glenn20's does),
# with the core's sentence; everything the session refuses raises mpota.Error.
# REBOOT_DELAY: seconds of the countdown before reboot=True resets (10).
from . import _engine

REBOOT_DELAY = 10

_REQUEST_ARGS = ("auth", "headers", "timeout", "retries", "cadata")


def _is_url(s):
    return s.startswith("http://") or s.startswith("https://")


class OTA:
    def __init__(self, verify=True, verbose=True, reboot=False, sha="", length=0, progress=None,
                 key=None, require_signature=False):
        self.reboot = reboot
        self.verbose = verbose
        self.sha = ""
        self._u = None
        try:
            self._u = _engine.Updater(size=length, sha256=sha, verify=verify, progress=progress,
                                      key=key, require_signature=require_signature)
        except _engine.mpota.Error as e:
            if verbose and _engine.no_ota_slots(e):
                print(_engine.OTA_LAYOUT_ADVICE)
            _raise(e)
        if verbose:
            print("New firmware goes to partition '%s' (%d bytes)." % (
                self._u.target, self._u.slot_size()))
            if length:
                print("Expecting %d bytes." % length)

    def _live(self):
        if self._u is None:
            raise ValueError("this OTA update is closed")
        return self._u

    def _run(self, f, *args):
        # Runs an engine call; a failure has already aborted the session, so
        # this OTA is closed and the error goes on (converted by _raise).
        try:
            return f(*args)
        except BaseException as e:
            u, self._u = self._u, None
            if u:
                u.close()
            _raise(e)

    def write(self, data):
        return self._run(self._live().write, data)

    def abort(self):
        # Stops the update: the slot is left empty and otadata untouched.
        if self._u:
            self._u.abort()
            self._u.close()
            self._u = None

    def close(self):
        # Checks and verifies what was written, selects it for the next boot
        # and, with reboot=True, resets after the countdown.
        u = self._u
        if u is None:
            return
        self._u = None
        try:
            n = u.finish()
            self.sha = u.sha256()
            if self.verbose:
                print()
                print("Received and checked %d bytes; SHA-256 %s." % (n, self.sha))
            u.set_boot()
        except BaseException as e:
            u.abort()
            u.close()
            _raise(e)
        slot = u.target
        boot = u.dev.boot_partition()
        u.close()
        if self.verbose:
            print("Partition '%s' holds the new firmware." % slot)
            if boot != slot:
                print("Warning: the next boot would start '%s', not '%s'." % (boot, slot))
            print("The next boot starts partition '%s'." % boot)
            print("Once it runs, confirm it with ota.rollback.cancel(); "
                  "otherwise the reset after that goes back to this firmware.")
        if self.reboot:
            _engine.reboot(REBOOT_DELAY, self.verbose)

    def __enter__(self):
        return self

    def __exit__(self, e_type, e_value, e_tb):
        if e_type is None:
            self.close()
        else:
            self.abort()  # a failed block never selects a half-written slot

    def _progress(self, progress=None):
        u = self._live()
        if progress:
            u.progress = progress
        elif self.verbose and not u.progress:
            u.progress = _Printer()
        return u

    def from_stream(self, f, sha="", length=0, progress=None):
        u = self._progress(progress)
        self._run(u.expect, length, sha)
        import gc

        gc.collect()
        return self._run(u.copy, f)

    def from_firmware_file(self, url, sha="", length=0, **request_args):
        if self.verbose:
            print("Reading the firmware from %s" % url)
        progress = request_args.pop("progress", None)
        if not _is_url(url):
            _request_args(request_args)  # reject unknown keywords here too
            import os

            # The file's size: checked against the slot before anything is
            # erased, and the total that progress reports.
            size = os.stat(url)[6]
            with open(url, "rb") as f:
                from . import _gz

                if _gz.kind(f.read(2)):
                    size = 0  # a gzip's size is not the image's
                f.seek(0)
                return self.from_stream(f, sha, length or size, progress)
        u = self._progress(progress)
        self._run(u.expect, length, sha)
        return self._run(u.fetch, url, *_fetch_args(request_args))

    def from_json(self, url, **request_args):
        if not url.endswith(".json"):
            raise ValueError("the manifest URL must end in .json: %s" % url)
        if self.verbose:
            print("Reading the manifest %s" % url)
        m = _load_json(url, request_args)
        try:
            firmware, sha, length = m["firmware"], m["sha"], m["length"]
        except KeyError:
            print('The manifest needs the keys "firmware", "sha" and "length".')
            raise
        p = _matching_patch(m, self._live().dev)
        if p:
            return self.from_patch(_beside(url, p["url"]), p["length"], sha, length,
                                   **request_args)
        return self.from_firmware_file(_beside(url, firmware), sha, length, **request_args)

    def from_patch(self, url, patch_length, sha="", length=0, **request_args):
        # A detools patch (url: file or http(s)) onto the running image; sha
        # and length are the new image's, checked as for a whole download.
        if self.verbose:
            print("Reading a %d-byte patch from %s" % (patch_length, url))
        u = self._progress(request_args.pop("progress", None))
        self._run(u.expect, length, sha)
        self._run(u.patch, patch_length)
        if _is_url(url):
            return self._run(u.fetch, url, *_fetch_args(request_args))
        _request_args(request_args)
        with open(url, "rb") as f:
            return self._run(u.copy, f)


class _Printer:
    # The verbose progress line, redrawn every 64 KiB and at the end.
    def __init__(self):
        self.last = -1

    def __call__(self, done, total):
        step = done >> 16
        if step != self.last or done == total:
            self.last = step
            if total:
                print("\r%d of %d bytes written" % (done, total), end="")
            else:
                print("\r%d bytes written" % done, end="")


def _raise(e):
    # glenn20's API raises ValueError for a wrong length or hash; the
    # session's text is kept as it is.
    if _engine.is_value_error(e):
        raise ValueError(_engine.text(e))
    raise _engine.worded(e)


def _fetch_args(kw):
    # request_args -> Updater.fetch(url, retries, auth, headers, timeout, cadata)
    kw = _request_args(kw)
    return (kw.get("retries", 5), kw.get("auth"), kw.get("headers"), kw.get("timeout", 20),
            kw.get("cadata"))


def _request_args(kw):
    out = {}
    for k in kw:
        if k in _REQUEST_ARGS:
            out[k] = kw[k]
        elif k not in ("stream", "progress"):  # stream=: as requests.get; no effect here
            raise TypeError("unexpected keyword argument '%s'" % k)
    return out


def _beside(url, name):
    # The firmware named by a manifest, relative to the manifest's location.
    if _is_url(name) or name.startswith("/"):
        if name.startswith("/") and _is_url(url):
            from . import _http

            return _http.join_url(url, name)
        return name
    i = url.rfind("/")
    return name if i < 0 else url[: i + 1] + name


def _matching_patch(m, dev):
    # The manifest's patch made from the running image (its SHA-256 as
    # flashed), or None: then the full image is the way.
    patches = m.get("patches") or ()
    if not patches:
        return None
    try:
        sha = _engine._hex(dev.running_digest()[0])
    except Exception:
        return None  # a running image that does not verify takes the full image
    for p in patches:
        if str(p.get("from", "")).lower() == sha and p.get("format", "detools") == "detools":
            return p
    return None


def _load_json(url, request_args):
    import json

    if not _is_url(url):
        with open(url) as f:
            return json.load(f)
    from . import _http

    kw = _request_args(request_args)
    kw.pop("retries", None)
    with _http.get(url, **kw) as r:
        if r.length > 65536:
            raise ValueError("the manifest is %d bytes: too big" % r.length)
        return json.loads(r.read(65536))


def from_file(url, sha="", length=0, verify=True, verbose=True, reboot=True, progress=None,
              key=None, require_signature=False, **request_args):
    with OTA(verify, verbose, reboot, progress=progress, key=key,
             require_signature=require_signature) as o:
        return o.from_firmware_file(url, sha, length, **request_args)


def from_json(url, verify=True, verbose=True, reboot=True, progress=None, key=None,
              require_signature=False, **request_args):
    with OTA(verify, verbose, reboot, progress=progress, key=key,
             require_signature=require_signature) as o:
        return o.from_json(url, **request_args)
