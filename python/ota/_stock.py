# The mpota module's API in pure Python, for stock firmware (the official
# micropython.org builds, which have no mpota module): _mpota.py picks this
# when `import mpota` fails. It works through esp32.Partition only, and does
# what the core does (src/core/session.c, ota_ops.c), in the same order, with
# the same error codes and sentences (_errors.py):
#
#   Device()   partitions, running, running_digest, boot_partition, next_update, state,
#              otadata, read, app_desc, micropython_version, verify,
#              set_boot, mark_valid, close
#   Session(d) begin, write, offset, restart, end, set_boot, abort, state,
#              target, sha256
#   Patch(s, n) a detools patch onto the running image (_delta.py)
#
# Otadata is written here, not with Partition.set_boot() and
# mark_app_valid_cancel_rollback(): ESP-IDF's versions overwrite the running
# app's record while an update is pending, and select the factory app by
# erasing otadata in address order (docs/DESIGN.md says what boots after a
# cut; the rules are the core's).
#
# Flash writes: the session buffers 64 KiB when the heap has room (one block
# erase and one program per block, through Partition.writeblocks, which
# erases what it covers), else 4 KiB (sector erases). Regions already blank
# are programmed without an erase; every program is read back.
import binascii
import gc
import hashlib

import esp32

# Imported when first needed, so that a boot that only confirms itself
# (ota.rollback.cancel()) loads this file alone: _image (image checks) comes
# in with a session or a verify, _errors (sentences) with an error.


class Error(OSError):
    # (code, sentence, offset, expected, actual, label), as the C module's
    # mpota.Error
    pass


def err_name(code):
    from . import _errors

    return _errors.name(code)


def _raise(name, off=0, exp=0, act=0, label=""):
    from . import _errors

    code = _errors.CODE[name]
    raise Error(code, _errors.text(code, off, exp, act, label), off, exp, act, label)


def Patch(session, size):
    # mpota.Patch: a delta patch onto the running image (_delta.py)
    from ._delta import Patch

    return Patch(session, size)


def _img():
    from . import _image

    return _image


def le32(b, o):
    return b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24


def otadata_crc(seq):
    # SPEC §3.2: CRC-32 (reflected, 0xEDB88320) of the 4 seq bytes, init 0,
    # inverted at the end.
    crc = 0
    for i in range(4):
        crc ^= (seq >> (8 * i)) & 0xFF
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


STATE_NEW = 0
STATE_PENDING_VERIFY = 1
STATE_VALID = 2
STATE_INVALID = 3
STATE_ABORTED = 4
STATE_UNDEFINED = -1
POLICY_SAME_PROJECT = 1
POLICY_NO_DOWNGRADE = 2
POLICY_SECURE_VERSION = 4
TYPE_APP = 0
TYPE_DATA = 1

_P = esp32.Partition
_SECTOR = 4096
_BLOCK = 0x10000
# The session's write buffer: 0 chooses by the free heap (a 64 KiB block when
# gc.mem_free() leaves 32 KiB beside it, else a 4 KiB sector); set it to
# 4096 or 65536 to choose yourself.
BUFFER = 0
_UNDEF = 0xFFFFFFFF
_FACTORY = 0x00
_OTA_0 = 0x10
_OTA_END = 0x20
_OTADATA = 0x00
_DESC_OFF = 0x20
_DESC_LEN = 256


def restart():
    import machine

    machine.reset()


def _is_ota(row):
    return row[0] == TYPE_APP and _OTA_0 <= row[1] < _OTA_END


class Device:
    def __init__(self):
        self._parts = {}
        rows = []
        # App and data partitions, the types the engine uses (the C module
        # lists custom types too), in table (offset) order.
        for t in (TYPE_APP, TYPE_DATA):
            for p in _P.find(t):
                t, st, off, size, label, enc = p.info()
                rows.append((t, st, off, size, label, 1 if enc else 0))
                self._parts[label] = p
        rows.sort(key=lambda r: r[2])
        self._rows = rows
        run = _P(_P.RUNNING).info()
        self._running = run[4]
        head = bytearray(16)
        self._parts[run[4]].readblocks(0, head)
        self._chip = head[12] | head[13] << 8
        self._count = 0
        while self._ota(self._count):
            self._count += 1

    # --- the table ---------------------------------------------------------
    def partitions(self):
        return list(self._rows)

    def running(self):
        return self._running

    def chip(self):
        return self._chip

    def _find(self, t, st):
        for r in self._rows:
            if r[0] == t and r[1] == st:
                return r
        return None

    def _ota(self, n):
        return self._find(TYPE_APP, _OTA_0 + n) if n < _OTA_END - _OTA_0 else None

    def row(self, label):
        for r in self._rows:
            if r[4] == label:
                return r
        _raise("MPOTA_ERR_NOT_FOUND", label=label)

    def part(self, label):
        return self._parts[self.row(label)[4]]

    def read(self, label, off, buf):
        self.part(label).readblocks(0, buf, off)

    # --- otadata (SPEC §3) -----------------------------------------------------
    def _view(self):
        # (partition, [raw entry 0, raw entry 1]) or raises OTADATA_MISSING.
        r = self._find(TYPE_DATA, _OTADATA)
        if r is None:
            _raise("MPOTA_ERR_OTADATA_MISSING")
        p = self._parts[r[4]]
        two = [bytearray(32), bytearray(32)]
        p.readblocks(0, two[0])
        p.readblocks(1, two[1])
        return p, two

    @staticmethod
    def _crc_ok(e):
        return le32(e, 28) == otadata_crc(le32(e, 0))

    @staticmethod
    def _valid(e):
        seq, st = le32(e, 0), le32(e, 24)
        return seq != _UNDEF and st != STATE_INVALID and st != STATE_ABORTED and Device._crc_ok(e)

    @staticmethod
    def _select(two, ok, top=True):
        # mpota_otadata_select: the larger (else smaller) seq; a tie goes to
        # entry 0.
        if ok[0] and ok[1]:
            s0, s1 = le32(two[0], 0), le32(two[1], 0)
            return 0 if (s0 >= s1 if top else s0 <= s1) else 1
        return 0 if ok[0] else 1 if ok[1] else -1

    def _active(self, two):
        return self._select(two, [self._valid(two[0]), self._valid(two[1])])

    def _slot_of(self, e):
        return ((le32(e, 0) - 1) & _UNDEF) % self._count if self._count else 0

    def _running_record(self, two):
        r = self.row(self._running) if self._running else None
        if not r or not _is_ota(r) or not self._count:
            return -1
        n = r[1] - _OTA_0
        return self._select(two, [self._valid(e) and self._slot_of(e) == n for e in two])

    def _write_entry(self, p, sector, e):
        # Erase, then program 32 bytes: between the two the entry is blank.
        p.ioctl(6, sector)
        p.writeblocks(sector, e, 0)

    def otadata(self):
        if self._find(TYPE_DATA, _OTADATA) is None:
            return None
        _, two = self._view()
        out = []
        for e in two:
            st = le32(e, 24)
            out.append((le32(e, 0), -1 if st == _UNDEF else st, self._crc_ok(e)))
        return tuple(out)

    def boot_partition(self):
        _, two = self._view()
        active = -1
        if self._count and (self._valid(two[0]) or self._valid(two[1])):
            active = self._active(two)
        r = self._ota(self._slot_of(two[active])) if active >= 0 else self._default_boot()
        if r is None:
            _raise("MPOTA_ERR_NOT_FOUND")
        return r[4]

    def _default_boot(self):
        r = self._find(TYPE_APP, _FACTORY)
        n = 0
        while r is None and n < _OTA_END - _OTA_0:
            r = self._ota(n)
            n += 1
        return r or self._find(TYPE_APP, 0x20)

    def next_update(self, label=None):
        start = self.row(label) if label is not None else (
            self.row(self._running) if self._running else None)
        first, take = None, False
        for n in range(_OTA_END - _OTA_0):
            r = self._ota(n)
            if r is None:
                continue
            first = first or r
            if start and r[2] == start[2] and r[3] == start[3]:
                take = True
            elif take:
                return r[4]
        if first is None:
            _raise("MPOTA_ERR_NO_OTA_SLOTS")
        return first[4]

    def _state(self, r):
        # mpota_boot_get_state: (code name or None, state)
        if not _is_ota(r):
            return "MPOTA_ERR_NOT_OTA_SLOT", 0
        _, two = self._view()
        if not self._count:
            return "MPOTA_ERR_NO_OTA_SLOTS", 0
        for e in two:
            if self._slot_of(e) == r[1] - _OTA_0 and self._crc_ok(e):
                return None, le32(e, 24)
        return "MPOTA_ERR_NOT_FOUND", 0

    def state(self, label):
        r = self.row(label)
        err, st = self._state(r)
        if err:
            _raise(err, label=r[4])
        return -1 if st == _UNDEF else st

    def last_invalid(self):
        # The older given-up record's slot, if it still holds a valid app.
        _, two = self._view()
        bad = [le32(e, 0) != _UNDEF and self._crc_ok(e) and
               le32(e, 24) in (STATE_INVALID, STATE_ABORTED) for e in two]
        i = self._select(two, bad, False)
        r = self._ota(self._slot_of(two[i])) if i >= 0 and self._count else None
        if r is None:
            return None
        try:
            self._verify(r)
        except Error:
            return None
        return r[4]

    def mark_valid(self):
        # mark_active(VALID) of ota_ops.c
        p, two = self._view()
        active = self._active(two)
        if active < 0 or not self._count:
            _raise("MPOTA_ERR_OTADATA_NO_ACTIVE")
        keep = self._running_record(two)
        if keep >= 0 and keep != active:
            # A pending update's record is active: confirm the running app's own.
            if le32(two[keep], 24) in (STATE_VALID, _UNDEF):
                return
            active = keep
        e = two[active]
        if le32(e, 24) == STATE_VALID:
            return  # every boot may call it: no flash wear
        e[24:28] = STATE_VALID.to_bytes(4, "little")
        e[28:32] = otadata_crc(le32(e, 0)).to_bytes(4, "little")
        self._write_entry(p, active, e)

    def set_boot(self, label):
        r = self.row(label)
        self._verify(r)
        if r[0] != TYPE_APP:
            _raise("MPOTA_ERR_INVALID_ARG", act=r[0], label=r[4])
        if r[1] == _FACTORY:
            return self._select_factory()
        if not _is_ota(r):
            _raise("MPOTA_ERR_NOT_OTA_SLOT", act=r[1], label=r[4])
        self._select_ota(r)

    def _select_ota(self, r):
        # mpota_boot_set_boot for an ota_N slot (ota_ops.c)
        p, two = self._view()
        slot = r[1] - _OTA_0
        if slot >= self._count:
            _raise("MPOTA_ERR_INVALID_ARG", exp=self._count, act=slot, label=r[4])
        active = self._active(two)
        keep = self._running_record(two)
        run = self.row(self._running)[1] - _OTA_0 if keep >= 0 else -1
        if keep >= 0 and le32(two[keep], 24) == STATE_PENDING_VERIFY and slot != run:
            _raise("MPOTA_ERR_PENDING_VERIFY", label=r[4])
        if keep >= 0 and active >= 0 and keep != active:
            if slot == run:
                p.ioctl(6, active)  # the running app's own record is active again
                return
            sector, seq = active, self._next_seq(le32(two[keep], 0), slot, r)
        elif keep >= 0 and keep == active and slot == run:
            return
        elif active >= 0:
            sector, seq = active ^ 1, self._next_seq(le32(two[active], 0), slot, r)
        else:
            sector, seq = 0, slot + 1
        e = two[sector]  # keeps that sector's seq_label as read, as ESP-IDF does
        e[0:4] = seq.to_bytes(4, "little")
        e[24:28] = STATE_NEW.to_bytes(4, "little")  # MicroPython enables rollback
        e[28:32] = otadata_crc(seq).to_bytes(4, "little")
        self._write_entry(p, sector, e)

    def _next_seq(self, active_seq, slot, r):
        n = self._count
        seq = base = (slot + 1) % n
        if active_seq > base:
            seq += (active_seq - base + n - 1) // n * n
        if seq >= _UNDEF or ((seq - 1) & _UNDEF) % n != slot:
            _raise("MPOTA_ERR_OTADATA_SEQ_WRAP", act=active_seq, label=r[4])
        return seq

    def _select_factory(self):
        # Erase otadata: the running app's record last (else the active
        # one), so a cut in between boots the running app (ota_ops.c).
        p, two = self._view()
        sectors = p.ioctl(4, 0)
        last = self._running_record(two)
        if last < 0:
            last = 1 if self._active(two) == 1 else 0
        p.ioctl(6, last ^ 1)
        for s in range(2, sectors):
            p.ioctl(6, s)
        p.ioctl(6, last)

    # --- images ----------------------------------------------------------------
    def _verify(self, r):
        # mpota_image_verify_area + check_app: the image length, or raises.
        return self._walk(r).min_len()

    def running_digest(self):
        # mpota_image_digest_area: (SHA-256, length) of the running image as
        # flashed, a signed one through its signature sector.
        r = self.row(self._running)
        ps = self._walk(r)
        n = ps.min_len()
        end = (n + _SECTOR - 1) & ~(_SECTOR - 1)
        magic = bytearray(1)
        if end + _SECTOR <= r[3]:
            self._parts[r[4]].readblocks(0, magic, end)
        if magic[0] == 0xE7:
            p, buf, at = self._parts[r[4]], bytearray(_SECTOR), n
            while at < end + _SECTOR:  # the padding, then the sector
                mv = memoryview(buf)[:min(_SECTOR, end + _SECTOR - at)]
                p.readblocks(0, mv, at)
                ps.push(mv)
                at += len(mv)
            n = at
        return ps.digest(), n

    def _walk(self, r):
        # The image in slot r through the parser, as the bootloader checks it.
        p = self._parts[r[4]]
        im = _img()
        ps = im.Parser(self._chip, r[2])
        buf = bytearray(_SECTOR)
        off = 0
        while not ps.complete():
            need = ps.min_len()
            if need > r[3]:
                _raise("MPOTA_ERR_IMAGE_TOO_BIG", 0, r[3], need, r[4])
            n = min(need - off, _SECTOR)
            mv = memoryview(buf)[:n]
            p.readblocks(0, mv, off)
            off += n
            ps.push(mv)
        ps.finish()
        head = bytearray(4)
        p.readblocks(0, head, _DESC_OFF)
        if ps.img_chip in im.NEEDS_DESC and le32(head, 0) != im.DESC_MAGIC:
            _raise("MPOTA_ERR_IMAGE_NO_APP_DESC", _DESC_OFF, im.DESC_MAGIC, 0, r[4])
        return ps

    def verify(self, label):
        return self._verify(self.row(label))

    def app_desc(self, label):
        r = self.row(label)
        if r[0] != TYPE_APP:
            _raise("MPOTA_ERR_INVALID_ARG", label=r[4])
        raw = bytearray(_DESC_LEN)
        self._parts[r[4]].readblocks(0, raw, _DESC_OFF)
        d = _img().desc(raw)
        if d is None:
            _raise("MPOTA_ERR_IMAGE_NO_APP_DESC", _DESC_OFF, label=r[4])
        return d

    def micropython_version(self, label):
        r = self.row(label)
        p = self._parts[r[4]]

        def read(off, n):
            b = bytearray(n)
            p.readblocks(0, b, off)
            return b

        return _img().mpver(read, r[3]) or None

    def close(self):
        self._parts = {}


# Session states (enum mpota_session_state)
_IDLE, _HEAD, _WRITING, _DONE, _SWITCHED, _FAILED = range(6)


def _digest(v, n):
    # Raw bytes (n) or hex text (2n characters); None or "" is none.
    if v is None or v == "":
        return None
    if isinstance(v, str):
        if len(v) == 2 * n:
            try:
                return binascii.unhexlify(v)
            except ValueError:
                pass
    elif len(v) == n:
        return bytes(v)
    raise ValueError("digest must be bytes or hex of the right length")


class Session:
    IDLE, HEAD, WRITING, DONE, SWITCHED, FAILED = range(6)

    def __init__(self, device):
        self._d = device
        self._st = _IDLE
        self._t = None
        self._buf = None
        self._err = None
        self._touched = False

    # --- errors: the first one sticks, as the core's diag does ------------------
    def _fail(self, name, off=0, exp=0, act=0, label=""):
        try:
            _raise(name, off, exp, act, label)
        except Error as e:
            self._stick(e)

    def _stick(self, e):
        self._st = _FAILED
        self._err = e
        self._ps = self._md5 = None
        raise e

    def _check(self):
        if self._st == _FAILED:
            raise self._err

    # --- begin ------------------------------------------------------------------
    def begin(self, target=None, size=0, sha256=None, md5=None, verify=True, policy=0, keys=None,
              require_signature=False, one_block=False):
        if self._st in (_HEAD, _WRITING):
            _raise("MPOTA_ERR_BAD_STATE")
        if size < 0 or size > _UNDEF:
            raise ValueError("size out of range")
        self._sha_exp = _digest(sha256, 32)
        self._md5_exp = _digest(md5, 16)
        if self._md5_exp and not hasattr(hashlib, "md5"):
            raise ValueError("this firmware has no hashlib.md5: give sha256 instead")
        self._verify = verify
        self._policy = policy
        self._im = _img()
        self._st, self._err, self._touched = _IDLE, None, False
        d = self._d
        run = d.row(d.running()) if d.running() else None
        self._run_desc = self._run_mpver = None
        if policy and run:
            self._running_facts(run)
        self._trust(run, keys, require_signature, one_block)
        t = d.row(target) if target is not None else None
        factory = t is not None and self._factory_ok(run, t)
        if t is None:
            try:
                t = d.row(d.next_update())
            except Error as e:
                self._stick(e)
        self._t = t
        lab = t[4]
        if not _is_ota(t) and not factory:
            self._fail("MPOTA_ERR_NOT_OTA_SLOT", label=lab)
        if run and run[2] == t[2]:
            self._fail("MPOTA_ERR_SLOT_IS_RUNNING", label=lab)
        if run and _is_ota(run):
            err, st = d._state(run)
            if not err and st == STATE_PENDING_VERIFY:
                self._fail("MPOTA_ERR_PENDING_VERIFY", label=run[4])
        if factory and d._find(TYPE_DATA, _OTADATA) is None:
            self._fail("MPOTA_ERR_OTADATA_MISSING")
        if self._boots_next(run, t):
            self._fail("MPOTA_ERR_TARGET_BOOTS_NEXT", label=lab)
        self._declared = size
        self._receive()

    def _factory_ok(self, run, t):
        f = self._d._find(TYPE_APP, _FACTORY)
        return (run is not None and f is not None and f[2] == t[2] and t[0] == TYPE_APP and
                t[1] == _FACTORY and (_is_ota(run) or run[2] == t[2]))

    def _boots_next(self, run, t):
        d = self._d
        try:
            boot = d.row(d.boot_partition())
        except Error:
            return False
        if boot[2] != t[2] or (run and run[2] == t[2]):
            return False
        err, st = d._state(t)
        return bool(err) or st != STATE_NEW

    def _reader(self, label):
        def read(off, n):
            b = bytearray(n)
            self._d.read(label, off, b)
            return b

        return read

    def _trust(self, run, keys, required, one_block):
        # As the C binding's: the signed running app's own keys (ESP-IDF's
        # signed-on-update rule), then keys= (key digests).
        trust = []
        if run:
            from . import _sig

            trust = _sig.running_keys(self._reader(run[4]), run[3], one_block)
        for k in keys or ():
            k = _digest(k, 32)
            if k is None:
                raise ValueError("keys: key digests, not None")
            if k not in trust:
                trust.append(k)
        if len(trust) > 8:
            _raise("MPOTA_ERR_SIG_TRUST_FULL", 0, 8, len(trust))
        self._keys, self._one_block = trust, one_block
        self._signed = bool(trust) or required

    def _signature(self):
        if not self._signed:
            return
        from . import _sig

        t = self._t
        why = _sig.check(self._reader(t[4]), self._ps.min_len(), self._pos, t[3], self._keys,
                         self._one_block)
        if why:
            self._fail(*why)

    def _running_facts(self, run):
        raw = bytearray(_DESC_LEN)
        self._d.read(run[4], _DESC_OFF, raw)
        self._run_desc = self._im.desc(raw)
        if self._policy & POLICY_NO_DOWNGRADE:
            self._run_mpver = self._d.micropython_version(run[4])

    def _receive(self):
        # HEAD with nothing received (begin, restart).
        self._st = _HEAD
        self._pos = 0  # bytes accepted
        self._fill = 0  # of them, in the buffer, which starts at _base
        self._base = 0
        self._ps = self._im.Parser(self._d.chip(), self._t[2])
        self._md5 = hashlib.md5() if self._md5_exp else None
        if self._buf is None:
            n = BUFFER
            if not n:
                gc.collect()
                n = _BLOCK if gc.mem_free() > _BLOCK + 32 * 1024 else _SECTOR
            self._buf = bytearray(n)
            self._back = bytearray(_SECTOR)

    # --- data ---------------------------------------------------------------------
    def offset(self):
        return self._pos

    def write(self, data):
        self._check()
        if self._st not in (_HEAD, _WRITING):
            self._fail("MPOTA_ERR_BAD_STATE")
        mv = memoryview(data)
        n = len(mv)
        size = self._t[3]
        if self._pos + n > size:
            need = self._pos + n
            self._fail("MPOTA_ERR_SLOT_TOO_SMALL", 0, size, max(need, self._ps.min_len()),
                       self._t[4])
        buf = self._buf
        while mv:
            k = min(len(mv), len(buf) - self._fill)
            part = mv[:k]
            if self._st == _WRITING:
                self._absorb(part)
            buf[self._fill:self._fill + k] = part
            self._fill += k
            self._pos += k
            mv = mv[k:]
            if self._st == _HEAD and self._pos >= self._im.HEAD_LEN:
                self._preflight(memoryview(buf)[:self._pos])
                self._st = _WRITING
                if self._pos > self._im.HEAD_LEN:
                    self._absorb(memoryview(buf)[self._im.HEAD_LEN:self._pos])
            if self._fill == len(buf):
                self._flush()

    def _absorb(self, mv):
        if self._md5:
            self._md5.update(mv)
        try:
            self._ps.push(mv)
        except Error as e:
            self._stick(e)
        need = self._ps.min_len()
        if need > self._t[3]:
            self._fail("MPOTA_ERR_SLOT_TOO_SMALL", 0, self._t[3], need, self._t[4])

    def _preflight(self, head):
        t = self._t
        try:
            self._im.check_head(head[:self._im.HEAD_LEN], self._d.chip())
        except Error as e:
            self._stick(e)
        if self._declared > t[3]:
            self._fail("MPOTA_ERR_SLOT_TOO_SMALL", 0, t[3], self._declared, t[4])
        self._absorb(head[:self._im.HEAD_LEN])
        if self._policy:
            self._policies(self._im.desc(head[_DESC_OFF:]) if len(head) >= self._im.HEAD_LEN else None)
        need = self._ps.min_len()
        if self._declared and need > self._declared:
            self._fail("MPOTA_ERR_IMAGE_TRUNCATED", self._declared, need, self._declared)

    def _policies(self, new):
        # check_policies of session.c
        run = self._run_desc
        if self._policy & POLICY_NO_DOWNGRADE:
            self._downgrade(new, None)
        if not (self._policy & ~POLICY_NO_DOWNGRADE) or not run:
            return
        if new is None:
            self._fail("MPOTA_ERR_IMAGE_NO_APP_DESC", _DESC_OFF, self._im.DESC_MAGIC)
        if self._policy & POLICY_SAME_PROJECT and new[2] != run[2]:
            self._fail("MPOTA_ERR_POLICY_PROJECT", 0x50, label=new[2])
        if self._policy & POLICY_SECURE_VERSION and new[0] < run[0]:
            self._fail("MPOTA_ERR_POLICY_SECURE_VERSION", 0x24, run[0], new[0])

    def _downgrade(self, new, new_mpver):
        # check_downgrade of session.c; new_mpver None: not known yet.
        run = self._run_desc
        if new and new[1] and run and run[1]:
            if self._im.version_compare(new[1], run[1]) >= 0:
                return
            older = run[1]
        else:
            rv = self._run_mpver
            if not rv or new_mpver == "":
                self._fail("MPOTA_ERR_POLICY_VERSION_UNKNOWN",
                           label="running app" if not rv else "new image")
            if new_mpver is None or self._im.version_compare(new_mpver, rv) >= 0:
                return
            older = rv
        self._fail("MPOTA_ERR_POLICY_DOWNGRADE", 0x30, label=older)

    def _flush(self):
        # The buffer to flash at _base: program alone where the region is
        # blank, else Partition.writeblocks erases it first; then read back.
        n = self._fill
        if not n:
            return
        p = self._d.part(self._t[4])
        top = (n + _SECTOR - 1) // _SECTOR * _SECTOR
        buf = self._buf
        for i in range(n, top):
            buf[i] = 0xFF
        mv = memoryview(buf)[:top]
        back = self._back
        base = self._base
        self._touched = True
        if self._blank(p, base, top):
            p.writeblocks(base // _SECTOR, mv, 0)
        else:
            p.writeblocks(base // _SECTOR, mv)
        if self._verify:
            for off in range(0, top, _SECTOR):
                p.readblocks(0, back, base + off)
                if back != mv[off:off + _SECTOR]:
                    i = off
                    while back[i - off:i - off + 256] == mv[i:i + 256]:
                        i += 256
                    self._fail("MPOTA_ERR_FLASH_VERIFY", self._t[2] + base + i)
        self._base += top
        self._fill = 0

    def _blank(self, p, at, n):
        # Whether [at, at + n) reads erased. The first 256 bytes decide a
        # used sector; min() compares (no 4 KiB of 0xFF is kept for it).
        back = self._back
        probe = memoryview(back)[:256]
        for off in range(at, at + n, _SECTOR):
            p.readblocks(0, probe, off)
            if min(probe) != 0xFF:
                return False
            p.readblocks(0, back, off)
            if min(back) != 0xFF:
                return False
        return True

    def restart(self):
        # The data starts again from byte 0 (a server that ignored Range).
        self._check()
        if self._st not in (_HEAD, _WRITING):
            self._fail("MPOTA_ERR_BAD_STATE")
        self._receive()

    # --- the end ------------------------------------------------------------------
    def end(self):
        self._check()
        if self._st == _HEAD:
            if self._pos == 0:
                self._fail("MPOTA_ERR_IMAGE_TRUNCATED", 0, 24, 0)
            self._preflight(memoryview(self._buf)[:self._pos])
            if not self._ps.complete():
                self._finish()
            self._st = _WRITING
        if self._st != _WRITING:
            self._fail("MPOTA_ERR_BAD_STATE")
        self._flush()
        self._finish()
        if self._declared and self._pos != self._declared:
            self._fail("MPOTA_ERR_EXPECT_LENGTH", 0, self._declared, self._pos)
        digest = self._ps.digest()
        if self._sha_exp and digest != self._sha_exp:
            self._fail("MPOTA_ERR_EXPECT_SHA256")
        if self._md5 and self._md5.digest() != self._md5_exp:
            self._fail("MPOTA_ERR_EXPECT_MD5")
        self._downgrade_on_flash()
        self._signature()
        self._sha = digest
        self._st = _DONE
        self._buf = self._back = None
        return self._pos

    def _finish(self):
        try:
            self._ps.finish()
        except Error as e:
            self._stick(e)

    def _downgrade_on_flash(self):
        if not self._policy & POLICY_NO_DOWNGRADE:
            return
        raw = bytearray(_DESC_LEN)
        self._d.read(self._t[4], _DESC_OFF, raw)
        new = self._im.desc(raw)
        if new and new[1] and self._run_desc and self._run_desc[1]:
            return  # decided at pre-flight
        t = self._t
        p = self._d.part(t[4])

        def read(off, n):
            b = bytearray(n)
            p.readblocks(0, b, off)
            return b

        self._downgrade(new, self._im.mpver(read, self._pos))

    def set_boot(self):
        self._check()
        if self._st != _DONE:
            self._fail("MPOTA_ERR_BAD_STATE")
        try:
            self._d.set_boot(self._t[4])
        except Error as e:
            self._stick(e)
        self._st = _SWITCHED

    def abort(self):
        # The slot is left reading as empty: its first sector erased.
        wrote = self._touched and self._st not in (_SWITCHED, _IDLE) and self._t
        self._st, self._err = _IDLE, None
        self._ps = self._md5 = self._buf = self._back = None
        if wrote:
            self._d.part(self._t[4]).ioctl(6, 0)

    def state(self):
        return self._st

    def target(self):
        return self._t[4] if self._t else None

    def sha256(self):
        if self._st not in (_DONE, _SWITCHED):
            _raise("MPOTA_ERR_BAD_STATE")
        return self._sha

