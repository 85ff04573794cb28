# esp32.Partition for the twin: the class MicroPython's esp32 port has
# (ports/esp32/esp32_partition.c; SPEC §7), with the same arguments, return
# values and errors, plus, in C mode only, the OTA calls of MicroPython PR
# #7048 (stock firmware has none of them). It is a thin layer over the mpota
# C module on the twin's emulated flash, reached through _twin because stock
# mode hides `mpota` from scripts. As on the device, writeblocks() without an
# offset erases the range it covers (64 KiB blocks where aligned, like
# esp_partition_erase_range) and set_boot() checks the image the way
# esp_ota_set_boot_partition does: OSError(-5379) when it is not valid.
#
# Errors are raised as the esp32 port raises ESP-IDF errors (SPEC §7.6):
# OSError(-esp_err, "<ESP-IDF error name>"), except ESP_FAIL -> errno 1 and
# ESP_ERR_NOT_SUPPORTED -> EOPNOTSUPP (95); "no such partition" is
# OSError(ENOENT). Which ESP-IDF error stands for a core error is decided by
# the core's error name (mpota.err_name) in _esp_err() below.
#
# Deviations, all refusals where a real device would do something worse:
# writing the running app's partition raises ESP_ERR_NOT_ALLOWED (ESP-IDF
# aborts the chip); ota_write_with_offset() needs the first 0x120 bytes of
# the image in order (the pre-flight check reads them before erasing);
# ota_abort() erases the slot's first sector (it reads as empty afterwards).
import _twin

mpota = _twin.mpota()

_ESP_ERR_NAMES = {
    -1: "ESP_FAIL",
    0x101: "ESP_ERR_NO_MEM",
    0x102: "ESP_ERR_INVALID_ARG",
    0x103: "ESP_ERR_INVALID_STATE",
    0x104: "ESP_ERR_INVALID_SIZE",
    0x105: "ESP_ERR_NOT_FOUND",
    0x106: "ESP_ERR_NOT_SUPPORTED",
    0x10D: "ESP_ERR_NOT_ALLOWED",
    0x1501: "ESP_ERR_OTA_PARTITION_CONFLICT",
    0x1503: "ESP_ERR_OTA_VALIDATE_FAILED",
    0x1505: "ESP_ERR_OTA_ROLLBACK_FAILED",
    0x1506: "ESP_ERR_OTA_ROLLBACK_INVALID_STATE",
    0x6001: "ESP_ERR_FLASH_OP_FAIL",
}
_ESP_FAIL = -1
_INVALID_ARG = 0x102
_INVALID_STATE = 0x103
_INVALID_SIZE = 0x104
_NOT_FOUND = 0x105
_NOT_SUPPORTED = 0x106
_NOT_ALLOWED = 0x10D
_ROLLBACK_FAILED = 0x1505
_ENOENT = 2
_EINVAL = 22
_SECTOR = 4096  # NATIVE_BLOCK_SIZE_BYTES: esp_partition_erase_range's unit

# Core error (by name) -> ESP-IDF error, as esp_ota_ops.c / esp_partition.c
# report the same situation. Prefixes cover whole domains.
_BY_NAME = {
    "MPOTA_ERR_INVALID_ARG": _INVALID_ARG,
    "MPOTA_ERR_BAD_STATE": _INVALID_STATE,
    "MPOTA_ERR_NOT_FOUND": _NOT_FOUND,
    "MPOTA_ERR_FLASH_BOUNDS": _INVALID_SIZE,
    "MPOTA_ERR_FLASH_ALIGN": _INVALID_ARG,
    "MPOTA_ERR_FLASH_PROTECTED": _NOT_ALLOWED,
    "MPOTA_ERR_OTADATA_MISSING": _NOT_FOUND,
    "MPOTA_ERR_OTADATA_NO_ACTIVE": _ESP_FAIL,
    "MPOTA_ERR_ROLLBACK_IMPOSSIBLE": _ROLLBACK_FAILED,
    "MPOTA_ERR_NOT_OTA_SLOT": _INVALID_ARG,
    "MPOTA_ERR_NO_OTA_SLOTS": _NOT_FOUND,
    "MPOTA_ERR_PENDING_VERIFY": 0x1506,
    "MPOTA_ERR_SLOT_IS_RUNNING": 0x1501,
    "MPOTA_ERR_SLOT_TOO_SMALL": _INVALID_SIZE,
    "MPOTA_ERR_OTADATA_SEQ_WRAP": _INVALID_STATE,
}
_BY_PREFIX = (
    ("MPOTA_ERR_FLASH_", 0x6001),
    ("MPOTA_ERR_IMAGE_", 0x1503),
    ("MPOTA_ERR_EXPECT_", 0x1503),
    ("MPOTA_ERR_POLICY_", 0x1503),
)


def _raise(code):
    # check_esp_err() of the esp32 port (mphalport.c)
    errno = {0x101: 12, 0x107: 110, _NOT_SUPPORTED: 95}.get(code, -code)
    raise OSError(errno, _ESP_ERR_NAMES.get(code, "ESP_ERR_0x%X" % code))


def _esp_err(e):
    name = mpota.err_name(e.errno)
    if name in _BY_NAME:
        return _BY_NAME[name]
    for prefix, code in _BY_PREFIX:
        if name.startswith(prefix):
            return code
    return _ESP_FAIL


def _call(f, *args):
    # Runs a Device call, raising its failure as the esp32 port would.
    try:
        return f(*args)
    except mpota.Error as e:
        _raise(_esp_err(e))


_dev = None


def _device():
    global _dev
    if _dev is None:
        _dev = mpota.Device()
    return _dev


def _row(label):
    for row in _device().partitions():
        if row[4] == label:
            return row
    return None


def _new(row, block_size):
    if row is None:
        raise OSError(_ENOENT)
    p = object.__new__(Partition)
    p._row = row
    p._bs = block_size & 0xFFFF  # stored as uint16_t on the device
    p._cache = None
    return p


# Open OTA operations of PR #7048: handle -> mpota.Session.
_ota = {}
_ota_last = 0


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = 0
    TYPE_DATA = 1

    def __init__(self, id, block_size=_SECTOR):
        if isinstance(id, int):
            if id == Partition.BOOT:
                try:
                    label = _device().boot_partition()
                except mpota.Error:
                    label = None
            elif id == Partition.RUNNING:
                label = _device().running()
            else:
                raise ValueError
            row = _row(label)
        else:
            # A label: app partitions first, then data partitions.
            if not isinstance(id, str):
                raise TypeError
            label = id[:16]
            row = None
            for t in (Partition.TYPE_APP, Partition.TYPE_DATA):
                for r in _device().partitions():
                    if r[0] == t and r[4] == label:
                        row = r
                        break
                if row:
                    break
        if row is None:
            raise OSError(_ENOENT)
        self._row = row
        self._bs = block_size & 0xFFFF
        self._cache = None

    def __repr__(self):
        t, st, addr, size, label, flags = self._row
        return "<Partition type=%u, subtype=%u, address=%u, size=%u, label=%s, encrypted=%u>" % (
            t, st, addr, size, label, flags & 1)

    @staticmethod
    def find(type=0, subtype=0xFF, label=None, block_size=_SECTOR):  # type=TYPE_APP
        out = []
        for r in _device().partitions():
            if (type == 0xFF or r[0] == type) and (subtype == 0xFF or r[1] == subtype) and (
                    label is None or r[4] == label[:16]):
                out.append(_new(r, block_size))
        return out

    def info(self):
        t, st, addr, size, label, flags = self._row
        return (t, st, addr, size, label, bool(flags & 1))

    # esp_partition_read / _write / _erase_range checks, in ESP-IDF's order.
    def _check(self, off, n, write):
        size = self._row[3]
        if write and self._row[5] & 2:
            _raise(_NOT_ALLOWED)
        if off > size:
            _raise(_INVALID_ARG)
        if off + n > size:
            _raise(_INVALID_SIZE)

    def _read(self, off, buf):
        self._check(off, len(buf), False)
        _call(_device().read, self._row[4], off, buf)

    def _write(self, off, buf):
        self._check(off, len(buf), True)
        _call(_device().write, self._row[4], off, buf)

    def _erase(self, off, n):
        self._check(off, n, True)
        if n % _SECTOR:
            _raise(_INVALID_SIZE)
        if off % _SECTOR:
            _raise(_INVALID_ARG)
        _call(_device().erase, self._row[4], off, n)

    def readblocks(self, block_num, buf, offset=0):
        self._read((block_num * self._bs + offset) & 0xFFFFFFFF, buf)

    def writeblocks(self, block_num, buf, offset=None):
        off = (block_num * self._bs) & 0xFFFFFFFF
        if offset is not None:
            # Extended write: the caller erased first.
            self._write((off + offset) & 0xFFFFFFFF, buf)
            return
        # Simple write: erase what the data covers, then write it.
        if self._bs >= _SECTOR:
            self._erase(off, len(buf))
        else:
            # Blocks smaller than a sector: keep the rest of each sector.
            if self._cache is None:
                self._cache = bytearray(_SECTOR)
            cache = self._cache
            addr = off - off % _SECTOR
            head = off % _SECTOR
            top = off + len(buf)
            while addr < top:
                if head or top < addr + _SECTOR:
                    self._read(addr, cache)
                self._erase(addr, _SECTOR)
                if head:
                    self._write(addr, memoryview(cache)[:head])
                if top < addr + _SECTOR:
                    self._write(top, memoryview(cache)[top - addr:])
                head = 0
                addr += _SECTOR
        self._write(off, buf)

    def ioctl(self, cmd, arg):
        if cmd in (1, 2, 3):  # INIT, DEINIT, SYNC
            return 0
        if cmd == 4:  # BLOCK_COUNT
            return self._row[3] // self._bs
        if cmd == 5:  # BLOCK_SIZE
            return self._bs
        if cmd == 6:  # BLOCK_ERASE
            if self._bs != _SECTOR:
                return -_EINVAL
            self._erase((arg * _SECTOR) & 0xFFFFFFFF, _SECTOR)
            return 0
        return None

    def set_boot(self):
        _call(_device().set_boot, self._row[4])

    def get_next_update(self):
        try:
            label = _device().next_update(self._row[4])
        except mpota.Error:
            label = None
        return _new(_row(label), _SECTOR)

    @classmethod
    def mark_app_valid_cancel_rollback(cls):
        _call(_device().mark_valid)


if not _twin.stock():

    class Partition(Partition):
        # MicroPython PR #7048: the OTA calls of a firmware built with them.
        # What app_state() returns:
        APP_STATE_NEW = "new"
        APP_STATE_PENDING_VERIFY = "verify"
        APP_STATE_VALID = "valid"
        APP_STATE_INVALID = "invalid"
        APP_STATE_ABORTED = "aborted"
        APP_STATE_UNDEFINED = "undefined"

        @classmethod
        def mark_app_invalid_rollback_and_reboot(cls):
            _call(_device().mark_invalid)
            mpota.restart()

        @classmethod
        def check_rollback_is_possible(cls):
            return _call(_device().rollback_possible)

        def app_description(self):
            if self._row[0] != Partition.TYPE_APP:
                _raise(_NOT_SUPPORTED)
            try:
                return _device().app_desc(self._row[4])
            except mpota.Error as e:
                _raise(_NOT_FOUND if mpota.err_name(e.errno) == "MPOTA_ERR_IMAGE_NO_APP_DESC"
                       else _esp_err(e))

        def app_state(self):
            if self._row[0] != Partition.TYPE_APP or not 0x10 <= self._row[1] < 0x20:
                _raise(_NOT_SUPPORTED)
            state = _call(_device().state, self._row[4])
            return {
                mpota.STATE_NEW: Partition.APP_STATE_NEW,
                mpota.STATE_PENDING_VERIFY: Partition.APP_STATE_PENDING_VERIFY,
                mpota.STATE_VALID: Partition.APP_STATE_VALID,
                mpota.STATE_INVALID: Partition.APP_STATE_INVALID,
                mpota.STATE_ABORTED: Partition.APP_STATE_ABORTED,
            }.get(state, Partition.APP_STATE_UNDEFINED)

        def ota_begin(self, image_size=0):
            global _ota_last
            s = mpota.Session(_device())
            _call(s.begin, self._row[4])
            # esp_ota_begin takes the size only to know what to erase: 0,
            # OTA_SIZE_UNKNOWN and OTA_WITH_SEQUENTIAL_WRITES mean "all"; more
            # than the partition fails like the erase would. The session erases
            # just ahead of the data instead.
            if image_size not in (0, 0xFFFFFFFF, 0xFFFFFFFE) and image_size > self._row[3]:
                _raise(_INVALID_SIZE)
            _ota_last += 1
            _ota[_ota_last] = s
            return _ota_last

        def ota_write(self, handle, buf):
            s = _ota.get(handle)
            if s is None:
                _raise(_INVALID_ARG)
            _call(s.write, buf)

        def ota_write_with_offset(self, handle, buf, offset):
            s = _ota.get(handle)
            if s is None:
                _raise(_INVALID_ARG)
            _call(s.write_at, offset, buf)

        def ota_end(self, handle):
            s = _ota.pop(handle, None)  # the handle is freed whatever happens
            if s is None:
                _raise(_NOT_FOUND)
            if s.offset() == 0:
                _raise(_INVALID_ARG)
            try:
                s.end()
            except mpota.Error as e:
                code = _esp_err(e)
                _raise(0x1503 if code == _INVALID_STATE else code)

        def ota_abort(self, handle):
            s = _ota.pop(handle, None)
            if s is None:
                _raise(_NOT_FOUND)
            _call(s.abort)
