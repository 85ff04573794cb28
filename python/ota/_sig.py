# Secure Boot V2 signatures in pure Python, for the stock engine (_stock.py):
# the C core's sig_block.c and sig_trust.c, same rules, same codes. RSA-3072
# PSS is checked with MicroPython's big integers and hashlib; ECDSA is left
# to the C engine (SIG_SCHEME here). Layout and rules: docs/DESIGN.md §8.
import hashlib

try:
    from binascii import crc32
except ImportError:  # a firmware without binascii.crc32
    crc32 = None

BLOCK = 1216
SECTOR = 4096
BLOCKS = 3
_CRC_LEN = 1196
_SCHEMES = {1: "RSA-3072", 2: "ECDSA P-256", 3: "ECDSA P-384", 4: "ECDSA P-192"}


def sector_offset(image_len):
    return (image_len + SECTOR - 1) & ~(SECTOR - 1)


def _crc(b):
    if crc32:
        return crc32(b) & 0xFFFFFFFF
    c = 0xFFFFFFFF
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0xEDB88320 & -(c & 1))
    return c ^ 0xFFFFFFFF


def _le32(b, o):
    return b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24


def parse(raw, off):
    # A block: (scheme, digest_len, key_digest), or an error tuple
    # (name, off, exp, act, label) as the core's diag.
    if raw[0] != 0xE7:
        return ("MPOTA_ERR_SIG_MISSING", off, 0, 0, "")
    crc = _crc(memoryview(raw)[:_CRC_LEN])
    if crc != _le32(raw, _CRC_LEN):
        return ("MPOTA_ERR_SIG_CORRUPT", off, crc, _le32(raw, _CRC_LEN), "")
    if raw[1] == 2:
        scheme, dlen, at, n = 1, 32, 36, 776
    elif raw[1] == 3 and raw[2] == 1 and raw[52] == 3:
        scheme, dlen, at, n = 3, 48, 52, 97
    elif raw[1] == 3 and raw[2] != 1 and raw[36] in (1, 2):
        scheme, dlen, at, n = 2 if raw[36] == 2 else 4, 32, 36, 65
    else:
        return ("MPOTA_ERR_SIG_CORRUPT", off, 2, raw[1], "")
    return (scheme, dlen, hashlib.sha256(memoryview(raw)[at:at + n]).digest())


def image_len(read, size):
    # The image length from its headers alone (no hashing); 0 if not an image.
    h = read(0, 24)
    if h[0] != 0xE9 or not 0 < h[1] <= 16:
        return 0
    at = 24
    for _ in range(h[1]):
        if at + 8 > size:
            return 0
        n = _le32(read(at, 8), 4)
        if n % 4 or at + 8 + n > size:
            return 0
        at += 8 + n
    end = ((at + 16) & ~15) + (32 if h[23] == 1 else 0)
    return end if end <= size else 0


def running_keys(read, size, one_block):
    # The keys of a signed running app's blocks (not verified, as ESP-IDF).
    sec = sector_offset(image_len(read, size)) if image_len(read, size) else 0
    keys = []
    if not sec or sec + SECTOR > size:
        return keys
    for i in range(BLOCKS):
        b = parse(read(sec + i * BLOCK, BLOCK), sec + i * BLOCK)
        if isinstance(b[0], int) and b[2] not in keys:
            keys.append(b[2])
            if one_block:
                break
    return keys


def _mgf1(seed, n):
    out = b""
    c = 0
    while len(out) < n:
        out += hashlib.sha256(seed + c.to_bytes(4, "big")).digest()
        c += 1
    return out[:n]


def rsa_pss_ok(raw, digest):
    # RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32 (espsecure's), key and
    # signature little-endian in the block.
    n = int.from_bytes(bytes(reversed(raw[36:420])), "big")
    e = _le32(raw, 420)
    s = int.from_bytes(bytes(reversed(raw[812:1196])), "big")
    if not raw[419] & 0x80 or s >= n:  # a 3072-bit modulus
        return False
    em = pow(s, e, n).to_bytes(384, "big")
    if em[-1] != 0xBC or em[0] & 0x80:
        return False
    h = em[351:383]
    db = bytearray(a ^ b for a, b in zip(em[:351], _mgf1(h, 351)))
    db[0] &= 0x7F
    if any(db[:318]) or db[318] != 1:
        return False
    return hashlib.sha256(bytes(8) + digest + bytes(db[319:])).digest() == h


def _hex16(d):
    return "".join("%02x" % x for x in d[:8])


def _rank(name):
    return {"MPOTA_ERR_SIG_MISSING": 1, "MPOTA_ERR_SIG_CORRUPT": 2, "MPOTA_ERR_SIG_UNTRUSTED": 3,
            "MPOTA_ERR_SIG_REVOKED": 4}.get(name, 5)


def _block(raw, off, digest, keys):
    b = parse(raw, off)
    if not isinstance(b[0], int):
        return b
    scheme, dlen, kd = b
    if keys and kd not in keys:
        return ("MPOTA_ERR_SIG_UNTRUSTED", off, len(keys), 0, _hex16(kd))
    if scheme != 1:
        return ("MPOTA_ERR_SIG_SCHEME", off, 0, scheme, _SCHEMES[scheme])
    if raw[4:4 + dlen] != digest:
        return ("MPOTA_ERR_SIG_DIGEST", off, 0, 0, "")
    return None if rsa_pss_ok(raw, digest) else ("MPOTA_ERR_SIG_INVALID", off, 0, 0, "")


def check(read, image_len, stored, size, keys, one_block):
    # None if the image in the slot carries a block the keys accept (any
    # valid block when there are none), else the most telling refusal.
    sec = sector_offset(image_len)
    best = ("MPOTA_ERR_SIG_MISSING", sec, 0, 0, "")
    if sec + SECTOR > size:
        return best
    h = hashlib.sha256()
    for at in range(0, sec, SECTOR):
        h.update(read(at, SECTOR))
    digest = h.digest()
    for i in range(1 if one_block else BLOCKS):
        off = sec + i * BLOCK
        if stored <= off:
            break
        why = _block(read(off, BLOCK), off, digest, keys)
        if why is None:
            return None
        if _rank(why[0]) > _rank(best[0]):
            best = why
    return best
