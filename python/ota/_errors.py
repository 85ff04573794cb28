# GENERATED FILE -- DO NOT EDIT. Regenerate with `make py-errors`
# (tools/gen_py_errors.py) from include/mpota/err.h, src/core/diag.c,
# include/mpota/image.h, src/core/chip.c.
# The core's codes and sentences for the pure-Python engine: the codes named in
# python/ota/*.py and python/ota32.py, plus MPOTA_OK. A code not named there
# reads as unknown (as C formats a code it does not know): name it, regenerate.
# tests/cli/test_py_errors.sh checks this file against the sources, and text()
# against the C formatter.
#
#   CODE[name] -> int        name(code) -> str, as mpota_err_name()
#   text(code, off=0, exp=0, act=0, label="") -> str, as mpota_diag_format()
#       formats a struct mpota_diag {err, offset, expected, actual, label}

CODE = {
    'MPOTA_OK': 0,
    'MPOTA_ERR_OTADATA_MISSING': -70,
    'MPOTA_ERR_OTADATA_NO_ACTIVE': -72,
    'MPOTA_ERR_NO_OTA_SLOTS': -75,
    'MPOTA_ERR_IMAGE_MAGIC': -90,
    'MPOTA_ERR_IMAGE_IS_COMBINED': -91,
    'MPOTA_ERR_IMAGE_IS_BOOTLOADER': -92,
    'MPOTA_ERR_IMAGE_IS_TABLE': -93,
    'MPOTA_ERR_IMAGE_CHIP': -94,
    'MPOTA_ERR_IMAGE_SEGMENT_COUNT': -95,
    'MPOTA_ERR_IMAGE_SEGMENT_LEN': -96,
    'MPOTA_ERR_IMAGE_SEGMENT_MAP': -97,
    'MPOTA_ERR_IMAGE_CHECKSUM': -98,
    'MPOTA_ERR_IMAGE_HASH': -99,
    'MPOTA_ERR_IMAGE_HASH_FLAG': -100,
    'MPOTA_ERR_IMAGE_TRUNCATED': -101,
    'MPOTA_ERR_IMAGE_IS_OTADATA': -105,
    'MPOTA_ERR_IMAGE_UNKNOWN': -106,
    'MPOTA_ERR_IMAGE_WRAP': -108,
    'MPOTA_ERR_EXPECT_SHA256': -140,
    'MPOTA_ERR_EXPECT_MD5': -141,
    'MPOTA_ERR_EXPECT_LENGTH': -142,
    'MPOTA_ERR_SLOT_TOO_SMALL': -143,
}

# code: (name, %-format, the letters of its fields)
_T = {
    0: ('MPOTA_OK', 'no error', ''),
    -70: ('MPOTA_ERR_OTADATA_MISSING', 'the partition table has no otadata partition, so OTA boot selection is not available; flash a table with otadata (e.g. `mpota part make --layout ota`)', ''),
    -72: ('MPOTA_ERR_OTADATA_NO_ACTIVE', 'otadata has no valid entry: the device runs its default app (factory or ota_0), which has no rollback state', ''),
    -75: ('MPOTA_ERR_NO_OTA_SLOTS', "the partition table has no OTA app slots (ota_0..ota_15): this firmware cannot be updated over the air; install once, over serial, a firmware with an OTA partition table (MicroPython's OTA variant, e.g. ESP32_GENERIC-OTA), after backing up the filesystem", ''),
    -90: ('MPOTA_ERR_IMAGE_MAGIC', 'not an ESP app image: byte %s is %s, expected 0xE9', 'oA'),
    -91: ('MPOTA_ERR_IMAGE_IS_COMBINED', "this is a full flash image (bootloader + partition table + app), not an app image; use the app image inside it at offset %s (`mpota image extract-app`) or the build's app .bin (e.g. micropython.bin)", 'E'),
    -92: ('MPOTA_ERR_IMAGE_IS_BOOTLOADER', 'this is a bootloader image, not an app; OTA updates replace the app only: use the application .bin (e.g. micropython.bin)', ''),
    -93: ('MPOTA_ERR_IMAGE_IS_TABLE', 'this is a partition table, not an app image', ''),
    -94: ('MPOTA_ERR_IMAGE_CHIP', 'image is built for %s, not for %s; use firmware built for %s', 'Ccc'),
    -95: ('MPOTA_ERR_IMAGE_SEGMENT_COUNT', 'image header declares %s segments; an app has 1 to 16', 'a'),
    -96: ('MPOTA_ERR_IMAGE_SEGMENT_LEN', 'segment at %s has length %s: not a multiple of 4, or 16 MiB or more; the image is corrupt', 'oA'),
    -97: ('MPOTA_ERR_IMAGE_SEGMENT_MAP', 'mapped segment at %s loads at %s but its data sits at %s modulo 64 KiB on flash; the image was not laid out by elf2image, or it is not at a 64 KiB-aligned flash address', 'oAE'),
    -98: ('MPOTA_ERR_IMAGE_CHECKSUM', 'image checksum at %s is %s but the segments give %s; the image is corrupt: download it again', 'oAE'),
    -99: ('MPOTA_ERR_IMAGE_HASH', 'appended SHA-256 at %s does not match the image; the image is corrupt: download it again', 'o'),
    -100: ('MPOTA_ERR_IMAGE_HASH_FLAG', 'image header hash_appended byte is %s; it must be 0 or 1', 'a'),
    -101: ('MPOTA_ERR_IMAGE_TRUNCATED', 'image is truncated: it ends at %s B, but the headers read so far need at least %s B; download it again', 'ae'),
    -105: ('MPOTA_ERR_IMAGE_IS_OTADATA', 'this is an otadata dump, not an app image', ''),
    -106: ('MPOTA_ERR_IMAGE_UNKNOWN', 'not an app image, bootloader, partition table or flash image', ''),
    -108: ('MPOTA_ERR_IMAGE_WRAP', 'segment at %s wraps past the end of the address space', 'o'),
    -140: ('MPOTA_ERR_EXPECT_SHA256', 'SHA-256 of the received data does not match the expected one; the download is corrupt or the hash is for another file', ''),
    -141: ('MPOTA_ERR_EXPECT_MD5', 'MD5 of the received data does not match the expected one; the download is corrupt or the hash is for another file', ''),
    -142: ('MPOTA_ERR_EXPECT_LENGTH', 'the download is %s B (received or declared) but %s B were expected; it is incomplete, or the length given is wrong', 'ae'),
    -143: ('MPOTA_ERR_SLOT_TOO_SMALL', 'image is %s B but %s holds %s B; use a partition table with larger app slots (`mpota part make --fit IMAGE`)', 'ale'),
}

_CHIPS = {
    0: 'ESP32',
    2: 'ESP32-S2',
    5: 'ESP32-C3',
    9: 'ESP32-S3',
    12: 'ESP32-C2',
    13: 'ESP32-C6',
    16: 'ESP32-H2',
    18: 'ESP32-P4',
    20: 'ESP32-C61',
    23: 'ESP32-C5',
    25: 'ESP32-H21',
    28: 'ESP32-H4',
    32: 'ESP32-S31',
}


def name(code):
    e = _T.get(code)
    return e[0] if e else "MPOTA_ERR_UNKNOWN"


def _dec(v):
    # "1,572,864": MicroPython has no "{:,}"
    s = "%d" % v
    i = len(s) - 3
    while i > 0:
        s = s[:i] + "," + s[i:]
        i -= 3
    return s


def _label(s):
    # As mpota_diag_label() stores it: up to a NUL, at most 32 bytes. C may cut
    # a UTF-8 character in two; a str cannot hold half of one: cut before it.
    i = s.find("\0")
    if i >= 0:
        s = s[:i]
    b = s.encode()
    if len(b) > 32:
        n = 32
        while n and (b[n] & 0xC0) == 0x80:
            n -= 1
        s = b[:n].decode()
    return s or "(unnamed)"


def _chip(v):
    # Named by the low 16 bits (C casts to uint16_t); the id printed whole.
    return "%s (chip id %d)" % (_CHIPS.get(v & 0xFFFF, "an unknown chip"), v)


def text(code, off=0, exp=0, act=0, label=""):
    e = _T.get(code)
    if e is None:
        # C prints "error -" and (uint32_t)-(int64_t)err: 5 reads "error -4294967291"
        return "error -%d" % (-code & 0xFFFFFFFF)
    if not e[2]:
        return e[1]
    off &= 0xFFFFFFFF
    exp &= 0xFFFFFFFF
    act &= 0xFFFFFFFF
    v = []
    for k in e[2]:
        if k == "o":
            v.append("0x%X" % off)
        elif k == "e":
            v.append(_dec(exp))
        elif k == "a":
            v.append(_dec(act))
        elif k == "E":
            v.append("0x%X" % exp)
        elif k == "A":
            v.append("0x%X" % act)
        elif k == "l":
            v.append(_label(label))
        elif k == "c":
            v.append(_chip(exp))
        else:
            v.append(_chip(act))
    return e[1] % tuple(v)
