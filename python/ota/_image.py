# App image checks of the pure-Python engine (_stock.py), for firmware without
# the mpota module: what the core checks (src/core/identify.c and
# image_parse.c, SPEC §4), in the same order, with the same codes and numbers.
#
#   check_head(head, chip)  what the first 0x120 bytes say, before any erase:
#                           a full firmware.bin, a bootloader, a table or
#                           otadata is refused; so is a foreign chip or a bad
#                           header (raises _stock's Error via fail)
#   p = Parser(chip, flash_addr); p.push(mv)  walks the image as it streams,
#       hashing it; p.min_len(), p.len_known(), p.finish(), p.digest()
#   desc(raw)      the app description fields, or None
#   mpver(read, n) the MicroPython version an image carries ("1.23.0"), or ""
#
# Chip facts (from src/core/chip.c): flash-mapped windows, bootloader offsets,
# chips whose bootloader needs the app description.
import hashlib

from ._stock import _raise, le32, otadata_crc

HEAD_LEN = 0x120
_HDR = 24
_SEG = 8
_DESC = 0x20
DESC_MAGIC = 0xABCD5432
_MAX_SEGS = 16
CHIP_ANY = 0xFFFF

# chip id: (irom start, irom end, drom start, drom end)
_MAPS = {
    0: (0x400D0000, 0x40400000, 0x3F400000, 0x3F800000),
    2: (0x40080000, 0x40B80000, 0x3F000000, 0x3F3F0000),
    9: (0x42000000, 0x44000000, 0x3C000000, 0x3E000000),
    5: (0x42000000, 0x42800000, 0x3C000000, 0x3C800000),
}
_BOOT_AT = {0: 0x1000, 2: 0x1000, 18: 0x2000, 23: 0x2000, 32: 0x2000}
NEEDS_DESC = (12, 13, 16, 20, 25, 28)


def fail(name, off=0, exp=0, act=0, label=""):
    # Raises the engine's Error with the core's code and sentence (_errors
    # is loaded then, not before).
    _raise(name, off, exp, act, label)


def _mapped(chip, addr):
    t = _MAPS.get(chip)
    return bool(t) and (t[0] <= addr < t[1] or t[2] <= addr < t[3])


def _all_ff(b):
    for x in b:
        if x != 0xFF:
            return False
    return True


def _is_table(b):
    # Entry rows (AA 50), then an MD5 row (EB EB), an all-0xFF row or the end.
    if len(b) < 32 or b[0] != 0xAA or b[1] != 0x50:
        return False
    for off in range(0, len(b) - 31, 32):
        if b[off] == 0xAA and b[off + 1] == 0x50:
            continue
        return (b[off] == 0xEB and b[off + 1] == 0xEB) or _all_ff(b[off:off + 32])
    return True


def _is_otadata(b):
    # An entry with a good CRC at 0 and the rest erased (SPEC §3.1); only
    # the first sector fits in a head.
    n = len(b)
    if n < 32:
        return False
    seq = le32(b, 0)
    used = seq != 0xFFFFFFFF and le32(b, 28) == otadata_crc(seq)
    if not used and not _all_ff(b[:32]):
        return False
    return used and _all_ff(b[32:])


def _walk(b):
    # read_head() of identify.c on a head: (valid, chip, seg0 known, seg0
    # mapped, any mapped, walked, image_len, app desc, bootloader desc).
    n = len(b)
    if n < _HDR:
        return n > 0 and b[0] == 0xE9, CHIP_ANY, False, False, False, False, 0, False, False
    count, chip = b[1], b[12] | b[13] << 8
    if count == 0 or count > _MAX_SEGS or b[23] > 1:
        return False, chip, False, False, False, False, 0, False, False
    off, i, seg0 = _HDR, 0, None
    anymap = False
    while i < count and off + _SEG <= n:
        load, slen = le32(b, off), le32(b, off + 4)
        if slen % 4 or slen >= 0x1000000:
            return False, chip, False, False, False, False, 0, False, False
        m = _mapped(chip, load)
        if i == 0:
            seg0 = m
        anymap = anymap or m
        off += _SEG + slen
        i += 1
    image_len = ((off + 16) & ~15) + (32 if b[23] else 0)
    app = n >= _DESC + 4 and le32(b, _DESC) == DESC_MAGIC
    boot = n >= _DESC + 4 and b[_DESC] == 0x50
    return True, chip, seg0 is not None, bool(seg0), anymap, i == count, image_len, app, boot


def check_head(b, chip):
    # mpota_image_check_head() on the first bytes (at most HEAD_LEN).
    n = len(b)
    if n == 0:
        return
    if b[0] == 0xAA and b[1:2] == b"\x50" and (n < 32 or _is_table(b)):
        fail("MPOTA_ERR_IMAGE_IS_TABLE")
    if _is_otadata(b):
        fail("MPOTA_ERR_IMAGE_IS_OTADATA")
    valid, img_chip, seg0_known, seg0_mapped, anymap, walked, image_len, app, boot = _walk(b)
    if valid:
        if app or seg0_mapped or anymap or not seg0_known or img_chip not in _MAPS:
            kind = "app"
        elif boot or walked:
            kind = "boot"
        else:
            kind = "boot"  # a later segment might still be mapped: still not an app yet
        if chip != CHIP_ANY and img_chip != CHIP_ANY and img_chip != chip:
            fail("MPOTA_ERR_IMAGE_CHIP", 12, chip, img_chip)
        if kind == "app":
            Parser(chip, 0).push(memoryview(b))
            return
        # A bootloader: alone, or the start of a full flash image (too short
        # to show the table, it most likely is one: what micropython.org ships).
        if walked and image_len == n:
            fail("MPOTA_ERR_IMAGE_IS_BOOTLOADER")
        fail("MPOTA_ERR_IMAGE_IS_COMBINED", 0, 0x10000 - _BOOT_AT.get(img_chip, 0))
    if b[0] != 0xE9:
        fail("MPOTA_ERR_IMAGE_MAGIC", 0, 0xE9, b[0])
    Parser(chip, 0).push(memoryview(b))
    fail("MPOTA_ERR_IMAGE_UNKNOWN")


def _xor(mv):
    # XOR of every byte, folded as one big integer: a handful of C-speed
    # operations per chunk instead of a Python loop over its bytes.
    x = int.from_bytes(mv, "little")
    bits = len(mv) * 8
    while bits > 8:
        bits = (bits // 16 + (bits % 16 > 0)) * 8  # half, in whole bytes
        x = (x >> bits) ^ (x & ((1 << bits) - 1))
    return x


# Parser states, in stream order (image_parse.c).
_S_HDR, _S_SEGHDR, _S_DATA, _S_PAD, _S_SUM, _S_HASH, _S_DONE = range(7)


class Parser:
    # The image walk: header, segment headers, segment data (XOR checksum),
    # zero padding, checksum byte, appended SHA-256. Two hashes run: `all`
    # over every byte (the stream digest a caller's sha256 is checked
    # against) and `img` through the checksum byte (the image's own digest).
    def __init__(self, chip, flash_addr):
        self.chip = chip
        self.flash_addr = flash_addr
        self.state = _S_HDR
        self.pos = 0
        self.left = _HDR
        self.buf = bytearray(_HDR)
        self.seg_count = 0
        self.seg_index = 0
        self.seg_end = 0
        self.hash_appended = 0
        self.checksum = 0
        self.checksum_off = 0
        self.all = hashlib.sha256()
        self.img = hashlib.sha256()
        self.want = None  # the image's digest, once the checksum byte is in
        self.hash_bad = False

    def _data_done(self):
        self.seg_index += 1
        if self.seg_index < self.seg_count:
            self.state, self.left = _S_SEGHDR, _SEG
            return
        self.checksum_off = ((self.pos + 16) & ~15) - 1
        self.left = self.checksum_off - self.pos
        self.state = _S_PAD if self.left else _S_SUM

    def _header(self):
        h = self.buf
        self.seg_count = h[1]
        img_chip = h[12] | h[13] << 8
        self.img_chip = img_chip
        self.hash_appended = h[23]
        if self.chip != CHIP_ANY and img_chip != self.chip:
            fail("MPOTA_ERR_IMAGE_CHIP", 12, self.chip, img_chip)
        if self.seg_count == 0 or self.seg_count > _MAX_SEGS:
            fail("MPOTA_ERR_IMAGE_SEGMENT_COUNT", 1, _MAX_SEGS, self.seg_count)
        if self.hash_appended > 1:
            fail("MPOTA_ERR_IMAGE_HASH_FLAG", 23, 1, self.hash_appended)
        self.state, self.left = _S_SEGHDR, _SEG

    def _seg_header(self):
        hdr = self.pos - _SEG
        load, n = le32(self.buf, 0), le32(self.buf, 4)
        if n % 4 or n >= 0x1000000:
            fail("MPOTA_ERR_IMAGE_SEGMENT_LEN", hdr, 0, n)
        if load > 0xFFFFFFFF - n:
            fail("MPOTA_ERR_IMAGE_WRAP", hdr, 0, load)
        if _mapped(self.img_chip, load):
            flash = self.flash_addr + self.pos
            if flash % 0x10000 != load % 0x10000:
                fail("MPOTA_ERR_IMAGE_SEGMENT_MAP", hdr, flash % 0x10000, load)
        self.seg_end = self.pos + n
        self.state, self.left = _S_DATA, n
        if n == 0:
            self._data_done()

    def push(self, mv):
        # Walks mv (a memoryview); raises at the first problem, as the
        # session stops at it.
        self.all.update(mv)
        i, n = 0, len(mv)
        while i < n:
            st = self.state
            if st >= _S_DONE:
                return
            if st == _S_HDR and self.pos == 0 and mv[0] != 0xE9:
                fail("MPOTA_ERR_IMAGE_MAGIC", 0, 0xE9, mv[0])
            k = min(n - i, self.left) if st != _S_SUM else 1
            part = mv[i:i + k]
            if st <= _S_SUM:
                self.img.update(part)
            if st == _S_HDR or st == _S_SEGHDR:
                size = _HDR if st == _S_HDR else _SEG
                self.buf[size - self.left:size - self.left + k] = part
            elif st == _S_DATA:
                self.checksum ^= _xor(part)
            elif st == _S_SUM:
                calc = 0xEF ^ self.checksum
                self.want = self.img.digest()
                self.img = None
                self.pos += 1
                i += 1
                if part[0] != calc:
                    fail("MPOTA_ERR_IMAGE_CHECKSUM", self.checksum_off, calc, part[0])
                if self.hash_appended:
                    self.state, self.left = _S_HASH, 32
                else:
                    self.state = _S_DONE
                continue
            elif st == _S_HASH:
                at = 32 - self.left
                if bytes(part) != self.want[at:at + k]:
                    self.hash_bad = True
            self.pos += k
            self.left -= k
            i += k
            if self.left:
                continue
            if st == _S_HDR:
                self._header()
            elif st == _S_SEGHDR:
                self._seg_header()
            elif st == _S_DATA:
                self._data_done()
            elif st == _S_PAD:
                self.state = _S_SUM
            elif st == _S_HASH:
                if self.hash_bad:
                    fail("MPOTA_ERR_IMAGE_HASH", self.checksum_off + 1)
                self.state = _S_DONE

    def complete(self):
        return self.state == _S_DONE

    def len_known(self):
        st = self.state
        return st > _S_DATA or (st == _S_DATA and self.seg_index + 1 >= self.seg_count)

    def min_len(self):
        # The least the image can be, from what was seen (image_parse.c).
        st = self.state
        if st == _S_HDR:
            count = self.buf[1] if self.pos >= 2 and self.buf[1] else 1
            return ((_HDR + count * _SEG + 16) & ~15)
        if st == _S_DONE:
            return self.pos
        later = (self.seg_count - self.seg_index - 1) * _SEG
        if st == _S_SEGHDR:
            end = self.pos + self.left + later
        elif st == _S_DATA:
            end = self.seg_end + later
        else:
            end = self.checksum_off
        return ((end + 16) & ~15) + (32 if self.hash_appended else 0)

    def finish(self):
        if self.state != _S_DONE:
            fail("MPOTA_ERR_IMAGE_TRUNCATED", self.pos, self.min_len(), self.pos)

    def digest(self):
        return self.all.digest()


def _text(raw, off, n):
    # A NUL-padded string field (a full field has no NUL).
    s = bytes(raw[off:off + n])
    z = s.find(b"\0")
    s = s if z < 0 else s[:z]
    try:
        return s.decode()
    except UnicodeError:
        return "".join(chr(c) if 32 <= c < 127 else "?" for c in s)


def desc(raw):
    # esp_app_desc_t from its 256 bytes (image offset 0x20): the tuple
    # mpota.Device.app_desc() returns, or None without the magic word.
    if len(raw) < 256 or le32(raw, 0) != DESC_MAGIC:
        return None
    return (le32(raw, 4), _text(raw, 16, 32), _text(raw, 48, 32), _text(raw, 80, 16),
            _text(raw, 96, 16), _text(raw, 112, 32), bytes(raw[144:176]))


def _vchar(c):
    return 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c in b".-+_"


def _version_at(b, i):
    # The version after "MicroPython" at b[i]: (form, text). Form 2 is the
    # banner, "MicroPython v1.23.0"; form 1 the platform string,
    # "MicroPython-1.23.0-xtensa-IDFv5.0.4", whose port part is cut off
    # (keeping a -preview or -rc word); 0 is neither (mpver.c).
    j = i + 11
    if b[j:j + 2] == b" v":
        form, j = 2, j + 2
    elif b[j:j + 1] == b"-":
        form, j = 1, j + 1
    else:
        return 0, ""
    k = j
    while k < len(b) and k - j < 64 and _vchar(b[k]):
        k += 1
    if k == j or not 48 <= b[j] <= 57 or (form == 2 and k - j > 32):
        return 0, ""  # not a version, or a banner too long to be one
    v = bytes(b[j:min(k, j + 32)]).decode()
    if form == 1:
        parts = v.split("-")
        keep = 2 if len(parts) > 1 and (parts[1].startswith("preview") or
                                         parts[1].startswith("rc")) else 1
        v = "-".join(parts[:keep])
    return form, v


def mpver(read, total):
    # The MicroPython version of an image of `total` bytes read with
    # read(off, n): the first banner, else the first platform string, else
    # "" (mpver.c). It sits in the first segment: the scan stops early.
    best, off, tail = "", 0, b""
    while off < total:
        n = min(4096, total - off)
        chunk = tail + read(off, n)
        off += n
        i = chunk.find(b"MicroPython")
        while i >= 0:
            if i + 80 > len(chunk) and off < total:
                break  # the string may go on in the next chunk
            form, v = _version_at(chunk, i)
            if form == 2:
                return v
            if form == 1 and not best:
                best = v
            i = chunk.find(b"MicroPython", i + 1)
        tail = chunk[i:] if i >= 0 else chunk[-10:]
    return best


def version_compare(a, b):
    # mpota_version_compare(): dotted numbers after an optional 'v'; a suffix
    # ("-rc1") sorts before none. Returns <0, 0 or >0.
    a = a[1:] if a[:1] in ("v", "V") else a
    b = b[1:] if b[:1] in ("v", "V") else b
    while a[:1].isdigit() or b[:1].isdigit():
        x, a = _number(a)
        y, b = _number(b)
        if x != y:
            return -1 if x < y else 1
        a = a[1:] if a[:1] == "." else a
        b = b[1:] if b[:1] == "." else b
    if not a or not b:
        return 0 if not a and not b else (1 if not a else -1)
    return (a > b) - (a < b)


def _number(s):
    i = 0
    while i < len(s) and s[i].isdigit():
        i += 1
    return int(s[:i]) if i else 0, s[i:]
