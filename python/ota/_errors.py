# GENERATED FILE -- DO NOT EDIT. Regenerate with `make py-errors`
# (tools/gen_py_errors.py) from include/mpota/err.h, src/core/diag.c,
# include/mpota/image.h, src/core/chip.c.
# The core's codes and sentences, for the pure-Python engine and for the C
# module's errors where the firmware has no text (mpota.Error's text is None).
# tests/cli/test_py_errors.sh checks this file against the sources, and text()
# against the C formatter.
#
#   CODE[name] -> int        name(code) -> str, as mpota_err_name()
#   text(code, off=0, exp=0, act=0, label="") -> str, as mpota_diag_format()
#       formats a struct mpota_diag {err, offset, expected, actual, label}

CODE = {
    'MPOTA_OK': 0,
    'MPOTA_ERR_INVALID_ARG': -1,
    'MPOTA_ERR_BAD_STATE': -2,
    'MPOTA_ERR_NOT_FOUND': -3,
    'MPOTA_ERR_NO_SPACE': -4,
    'MPOTA_ERR_FLASH_IO': -20,
    'MPOTA_ERR_FLASH_BOUNDS': -21,
    'MPOTA_ERR_FLASH_ALIGN': -22,
    'MPOTA_ERR_FLASH_PROTECTED': -23,
    'MPOTA_ERR_FLASH_VERIFY': -24,
    'MPOTA_ERR_FLASH_NOT_ERASED': -25,
    'MPOTA_ERR_TABLE_MAGIC': -40,
    'MPOTA_ERR_TABLE_MD5': -41,
    'MPOTA_ERR_TABLE_NO_END': -42,
    'MPOTA_ERR_TABLE_EMPTY': -43,
    'MPOTA_ERR_TABLE_OVERLAP': -44,
    'MPOTA_ERR_TABLE_ALIGN': -45,
    'MPOTA_ERR_TABLE_BEYOND_FLASH': -46,
    'MPOTA_ERR_TABLE_DUPLICATE': -47,
    'MPOTA_ERR_TABLE_TOO_MANY': -48,
    'MPOTA_ERR_TABLE_OTADATA': -49,
    'MPOTA_ERR_TABLE_TWO_MD5': -50,
    'MPOTA_ERR_TABLE_LENGTH': -51,
    'MPOTA_ERR_TABLE_BELOW_START': -52,
    'MPOTA_ERR_TABLE_READONLY': -61,
    'MPOTA_ERR_TABLE_AFTER_MD5': -62,
    'MPOTA_ERR_OTADATA_MISSING': -70,
    'MPOTA_ERR_OTADATA_SIZE': -71,
    'MPOTA_ERR_OTADATA_NO_ACTIVE': -72,
    'MPOTA_ERR_ROLLBACK_IMPOSSIBLE': -73,
    'MPOTA_ERR_NOT_OTA_SLOT': -74,
    'MPOTA_ERR_NO_OTA_SLOTS': -75,
    'MPOTA_ERR_NO_BOOTABLE_APP': -76,
    'MPOTA_ERR_PENDING_VERIFY': -77,
    'MPOTA_ERR_SLOT_IS_RUNNING': -78,
    'MPOTA_ERR_OTADATA_SEQ_WRAP': -79,
    'MPOTA_ERR_UPDATE_PENDING': -80,
    'MPOTA_ERR_TARGET_BOOTS_NEXT': -81,
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
    'MPOTA_ERR_IMAGE_NO_APP_DESC': -102,
    'MPOTA_ERR_IMAGE_TOO_BIG': -104,
    'MPOTA_ERR_IMAGE_IS_OTADATA': -105,
    'MPOTA_ERR_IMAGE_UNKNOWN': -106,
    'MPOTA_ERR_IMAGE_WRAP': -108,
    'MPOTA_ERR_POLICY_PROJECT': -120,
    'MPOTA_ERR_POLICY_DOWNGRADE': -121,
    'MPOTA_ERR_POLICY_SECURE_VERSION': -122,
    'MPOTA_ERR_POLICY_VERSION_UNKNOWN': -123,
    'MPOTA_ERR_EXPECT_SHA256': -140,
    'MPOTA_ERR_EXPECT_MD5': -141,
    'MPOTA_ERR_EXPECT_LENGTH': -142,
    'MPOTA_ERR_SLOT_TOO_SMALL': -143,
    'MPOTA_ERR_EXPECT_APP': -144,
    'MPOTA_ERR_SIG_MISSING': -180,
    'MPOTA_ERR_SIG_CORRUPT': -181,
    'MPOTA_ERR_SIG_SCHEME': -182,
    'MPOTA_ERR_SIG_DIGEST': -183,
    'MPOTA_ERR_SIG_INVALID': -184,
    'MPOTA_ERR_SIG_UNTRUSTED': -185,
    'MPOTA_ERR_SIG_REVOKED': -186,
    'MPOTA_ERR_SIG_TRUST_FULL': -187,
    'MPOTA_ERR_SECURE_VERSION_LOW': -190,
    'MPOTA_ERR_SECURE_VERSION_TOO_BIG': -191,
    'MPOTA_ERR_EFUSE_BURN': -192,
    'MPOTA_ERR_INFLATE_HEADER': -220,
    'MPOTA_ERR_INFLATE_CORRUPT': -221,
    'MPOTA_ERR_INFLATE_TRUNCATED': -222,
    'MPOTA_ERR_INFLATE_CHECKSUM': -223,
    'MPOTA_ERR_INFLATE_TRAILING': -224,
    'MPOTA_ERR_INFLATE_WINDOW': -225,
    'MPOTA_ERR_INFLATE_TOO_BIG': -226,
    'MPOTA_ERR_DELTA_HEADER': -230,
    'MPOTA_ERR_DELTA_COMPRESSION': -231,
    'MPOTA_ERR_DELTA_WINDOW': -232,
    'MPOTA_ERR_DELTA_CORRUPT': -233,
    'MPOTA_ERR_DELTA_FROM_RANGE': -234,
    'MPOTA_ERR_DELTA_TO_RANGE': -235,
    'MPOTA_ERR_DELTA_TRUNCATED': -236,
    'MPOTA_ERR_DELTA_TRAILING': -237,
    'MPOTA_ERR_DELTA_DATA_FORMAT': -238,
    'MPOTA_ERR_DELTA_BASE': -239,
}

# code: (name, %-format, the letters of its fields)
_T = {
    0: ('MPOTA_OK', 'no error', ''),
    -1: ('MPOTA_ERR_INVALID_ARG', 'invalid argument', ''),
    -2: ('MPOTA_ERR_BAD_STATE', 'this call is not allowed now: the operation already failed or finished; abort and start again', ''),
    -3: ('MPOTA_ERR_NOT_FOUND', 'not found: %s', 'l'),
    -4: ('MPOTA_ERR_NO_SPACE', 'output buffer too small: %s B needed, %s B available', 'ae'),
    -20: ('MPOTA_ERR_FLASH_IO', 'flash operation failed at %s', 'o'),
    -21: ('MPOTA_ERR_FLASH_BOUNDS', 'flash access at %s is outside its partition or past the end of the %s B flash; check the partition table against the flash size', 'oe'),
    -22: ('MPOTA_ERR_FLASH_ALIGN', 'flash access at %s is not aligned', 'o'),
    -23: ('MPOTA_ERR_FLASH_PROTECTED', 'refused to write %s: it is read-only (the running app is never written)', 'l'),
    -24: ('MPOTA_ERR_FLASH_VERIFY', 'flash read-back differs from what was written at %s; the flash may be worn or the power unstable, retry the update', 'o'),
    -25: ('MPOTA_ERR_FLASH_NOT_ERASED', 'flash program at %s needs bits set to 1 but the area was not erased', 'o'),
    -40: ('MPOTA_ERR_TABLE_MAGIC', 'partition table row at %s has an invalid magic %s (expected 0x50AA entry, 0xEBEB MD5 row or an all-0xFF end marker); this is not a partition table or it is corrupt', 'oA'),
    -41: ('MPOTA_ERR_TABLE_MD5', 'partition table MD5 row at %s is damaged or does not match the entries before it; the table is corrupt: regenerate it', 'o'),
    -42: ('MPOTA_ERR_TABLE_NO_END', 'partition table has no end marker within 0xC00 bytes', ''),
    -43: ('MPOTA_ERR_TABLE_EMPTY', 'partition table is empty (no partition before the end marker)', ''),
    -44: ('MPOTA_ERR_TABLE_OVERLAP', 'partition %s at %s overlaps the previous partition, which ends at %s; move it to %s or later', 'lAEE'),
    -45: ('MPOTA_ERR_TABLE_ALIGN', 'partition %s: %s is not a multiple of %s (app partitions start on 0x10000 and are whole 0x1000 sectors, 0x10000 with secure boot v1; others start on 0x1000)', 'lAE'),
    -46: ('MPOTA_ERR_TABLE_BEYOND_FLASH', 'partition %s ends at %s (%s B), beyond the flash size of %s B; use a larger flash or a smaller table', 'lAae'),
    -47: ('MPOTA_ERR_TABLE_DUPLICATE', 'partition name %s is used twice', 'l'),
    -48: ('MPOTA_ERR_TABLE_TOO_MANY', 'partition table has %s entries; at most %s fit in 0xC00 bytes', 'ae'),
    -49: ('MPOTA_ERR_TABLE_OTADATA', 'otadata partition %s is invalid: a table has at most one data/ota (and one data/tee_ota) partition, of exactly 0x2000 bytes; this one is %s B', 'lA'),
    -50: ('MPOTA_ERR_TABLE_TWO_MD5', 'partition table has a second MD5 row at %s', 'o'),
    -51: ('MPOTA_ERR_TABLE_LENGTH', 'partition table input is %s B; a binary table is a whole number of 32-byte rows', 'a'),
    -52: ('MPOTA_ERR_TABLE_BELOW_START', 'partition %s at %s is below the first usable offset %s (table offset + 0x1000)', 'lAE'),
    -61: ('MPOTA_ERR_TABLE_READONLY', 'partition %s cannot have the readonly flag, or is nvs smaller than 0x3000 without it', 'l'),
    -62: ('MPOTA_ERR_TABLE_AFTER_MD5', "partition table row at %s follows the MD5 row; ESP-IDF's app loader stops at the MD5 row and would not see it: regenerate the table", 'o'),
    -70: ('MPOTA_ERR_OTADATA_MISSING', 'the partition table has no otadata partition, so OTA boot selection is not available; flash a table with otadata and OTA app slots', ''),
    -71: ('MPOTA_ERR_OTADATA_SIZE', 'otadata partition is %s B; it must be at least 8,192 B (two sectors)', 'a'),
    -72: ('MPOTA_ERR_OTADATA_NO_ACTIVE', 'otadata has no valid entry: the device runs its default app (factory or ota_0), which has no rollback state', ''),
    -73: ('MPOTA_ERR_ROLLBACK_IMPOSSIBLE', 'no rollback possible: no other valid app to return to', ''),
    -74: ('MPOTA_ERR_NOT_OTA_SLOT', 'partition %s is not an OTA app slot (ota_0..ota_15)', 'l'),
    -75: ('MPOTA_ERR_NO_OTA_SLOTS', "the partition table has no OTA app slots (ota_0..ota_15): this firmware cannot be updated over the air; install once, over serial, a firmware with an OTA partition table (MicroPython's OTA variant, e.g. ESP32_GENERIC-OTA), after backing up the filesystem", ''),
    -76: ('MPOTA_ERR_NO_BOOTABLE_APP', 'no bootable app: every app partition failed to load; the device would reset forever; write a valid app over serial', ''),
    -77: ('MPOTA_ERR_PENDING_VERIFY', 'the running app is still pending verification; confirm it (mark valid) or roll back before starting an update', ''),
    -78: ('MPOTA_ERR_SLOT_IS_RUNNING', 'refused to write %s: it is the running app', 'l'),
    -79: ('MPOTA_ERR_OTADATA_SEQ_WRAP', 'otadata sequence number %s leaves no next number that selects %s (too close to 0xFFFFFFFF, or a corrupt 0); erase otadata (`set_boot` to factory, or erase the otadata partition) and select the app again', 'Al'),
    -80: ('MPOTA_ERR_UPDATE_PENDING', 'an update to %s is selected and has not booted yet, so the running app cannot be rolled back now (the next reset would start %s); reset into it first, or select the running app again to cancel it', 'll'),
    -81: ('MPOTA_ERR_TARGET_BOOTS_NEXT', 'slot %s holds the confirmed app the next reset starts (the running app was marked invalid), and it may be the only valid one; reset first, then update', 'l'),
    -90: ('MPOTA_ERR_IMAGE_MAGIC', 'not an ESP app image: byte %s is %s, expected 0xE9', 'oA'),
    -91: ('MPOTA_ERR_IMAGE_IS_COMBINED', "this is a full flash image (bootloader + partition table + app), not an app image; use the app image inside it at offset %s or the build's app .bin (e.g. micropython.bin)", 'E'),
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
    -102: ('MPOTA_ERR_IMAGE_NO_APP_DESC', 'image has no app description at offset 0x20 (magic 0xABCD5432)', ''),
    -104: ('MPOTA_ERR_IMAGE_TOO_BIG', 'image needs %s B but %s holds %s B; use a partition table with larger app slots', 'ale'),
    -105: ('MPOTA_ERR_IMAGE_IS_OTADATA', 'this is an otadata dump, not an app image', ''),
    -106: ('MPOTA_ERR_IMAGE_UNKNOWN', 'not an app image, bootloader, partition table or flash image', ''),
    -108: ('MPOTA_ERR_IMAGE_WRAP', 'segment at %s wraps past the end of the address space', 'o'),
    -120: ('MPOTA_ERR_POLICY_PROJECT', "image project is %s, not the running app's project; pass the matching firmware or turn the same-project policy off", 'l'),
    -121: ('MPOTA_ERR_POLICY_DOWNGRADE', "image version is older than the running app's (%s); downgrades are refused by policy", 'l'),
    -122: ('MPOTA_ERR_POLICY_SECURE_VERSION', "image secure_version %s is lower than the running app's %s; the bootloader would refuse it", 'ae'),
    -123: ('MPOTA_ERR_POLICY_VERSION_UNKNOWN', "the %s's version cannot be known (no version in its app description and no MicroPython version string), so the no-downgrade policy cannot be applied; use a build that carries its version, or turn the policy off", 'l'),
    -140: ('MPOTA_ERR_EXPECT_SHA256', 'SHA-256 of the received data does not match the expected one; the download is corrupt or the hash is for another file', ''),
    -141: ('MPOTA_ERR_EXPECT_MD5', 'MD5 of the received data does not match the expected one; the download is corrupt or the hash is for another file', ''),
    -142: ('MPOTA_ERR_EXPECT_LENGTH', 'the download is %s B (received or declared) but %s B were expected; it is incomplete, or the length given is wrong', 'ae'),
    -143: ('MPOTA_ERR_SLOT_TOO_SMALL', 'image is %s B but %s holds %s B; use a partition table with larger app slots', 'ale'),
    -144: ('MPOTA_ERR_EXPECT_APP', "the image's %s differs from what the manifest says; the manifest and the firmware do not belong together: publish them together", 'l'),
    -180: ('MPOTA_ERR_SIG_MISSING', 'image has no signature block in its signature sector at %s (the image end rounded up to 4 KiB); it is not signed: sign it with a Secure Boot V2 key', 'o'),
    -181: ('MPOTA_ERR_SIG_CORRUPT', 'signature block at %s is damaged: its CRC or version is %s, it should be %s; the file was cut or altered: download it again', 'oAE'),
    -182: ('MPOTA_ERR_SIG_SCHEME', 'signature block at %s uses %s, which this build cannot verify', 'ol'),
    -183: ('MPOTA_ERR_SIG_DIGEST', "signature block at %s signs other bytes: its image digest is not this image's, padding included; the image was changed after signing", 'o'),
    -184: ('MPOTA_ERR_SIG_INVALID', 'signature in the block at %s does not verify with the key it carries; the signature or the image was altered', 'o'),
    -185: ('MPOTA_ERR_SIG_UNTRUSTED', 'image is signed, but by no trusted key: the block at %s is by key %s (keys trusted: %s); sign it with a trusted key, or trust that key', 'ole'),
    -186: ('MPOTA_ERR_SIG_REVOKED', 'image is signed only by key %s, whose trusted slot %s is revoked; sign it with a key that is not revoked', 'le'),
    -187: ('MPOTA_ERR_SIG_TRUST_FULL', 'too many trusted keys: at most %s', 'e'),
    -190: ('MPOTA_ERR_SECURE_VERSION_LOW', "the app's secure_version is %s, below the chip's security version %s (anti-rollback: a counter burnt in eFuse, it never goes down), so the bootloader would never start it; build the firmware with CONFIG_BOOTLOADER_APP_SECURE_VERSION=%s or higher", 'aee'),
    -191: ('MPOTA_ERR_SECURE_VERSION_TOO_BIG', "the app's secure_version is %s, but the chip's eFuse field counts at most %s (anti-rollback: one bit per version), so confirming it could never raise the counter; build the firmware with CONFIG_BOOTLOADER_APP_SECURE_VERSION at most %s", 'aee'),
    -192: ('MPOTA_ERR_EFUSE_BURN', "burning the chip's security version up to %s failed (anti-rollback eFuse); the app stays confirmed and the next boot raises it again; if this repeats, the eFuse field cannot be written", 'e'),
    -220: ('MPOTA_ERR_INFLATE_HEADER', "the compressed file's header is not one this device reads (%s); send a gzip (RFC 1952) or zlib (RFC 1950) file of the app image, or the image itself", 'l'),
    -221: ('MPOTA_ERR_INFLATE_CORRUPT', 'the compressed data is corrupt: decoding fails at compressed byte %s; download it again, or recompress the image', 'o'),
    -222: ('MPOTA_ERR_INFLATE_TRUNCATED', 'the compressed file ends after %s B, before its end marker; the download was cut short or the file is truncated: download it again', 'a'),
    -223: ('MPOTA_ERR_INFLATE_CHECKSUM', "the compressed file's check value (%s) is %s but its data gives %s; the file is corrupt: download it again", 'lEA'),
    -224: ('MPOTA_ERR_INFLATE_TRAILING', 'the compressed file has data after its end, at compressed byte %s; send one gzip or zlib stream holding only the app image', 'o'),
    -225: ('MPOTA_ERR_INFLATE_WINDOW', 'the compressed stream needs a %s B window; this build holds %s B: compress with a smaller window (gzip and zlib default to 32,768 B)', 'ae'),
    -226: ('MPOTA_ERR_INFLATE_TOO_BIG', 'the compressed file unpacks to more than %s B, all that %s holds (stopped at compressed byte %s); it holds more than an app image for this slot, or it was made to fill the device: send the app image alone', 'elo'),
    -230: ('MPOTA_ERR_DELTA_HEADER', 'this is not a detools sequential patch (first byte %s); make a sequential patch with detools or mpota', 'A'),
    -231: ('MPOTA_ERR_DELTA_COMPRESSION', 'the patch is compressed with %s, which this build cannot apply; make it with heatshrink, crle or none', 'l'),
    -232: ('MPOTA_ERR_DELTA_WINDOW', "the patch's heatshrink window is %s B; this build holds %s B: make the patch with a smaller window (detools' default is 256 B, window_sz2 8)", 'ae'),
    -233: ('MPOTA_ERR_DELTA_CORRUPT', 'the patch is corrupt at patch byte %s; download it again, or use the full image', 'o'),
    -234: ('MPOTA_ERR_DELTA_FROM_RANGE', 'the patch reads the running image up to byte %s, but it is %s B: the patch was made from another base image; use the full image', 'ae'),
    -235: ('MPOTA_ERR_DELTA_TO_RANGE', 'the patch writes up to byte %s of the new image, beyond its %s B; the patch is corrupt: use the full image', 'ae'),
    -236: ('MPOTA_ERR_DELTA_TRUNCATED', 'the patch ends after %s B of the %s B image; it was cut short: download it again', 'ae'),
    -237: ('MPOTA_ERR_DELTA_TRAILING', 'the patch has data left at patch byte %s after the image is complete; the patch is corrupt or has something appended', 'o'),
    -238: ('MPOTA_ERR_DELTA_DATA_FORMAT', "the patch uses detools' %s data format, which this build does not apply; make the patch without a data format", 'l'),
    -239: ('MPOTA_ERR_DELTA_BASE', 'the patch was made for another base image (SHA-256 %s...); the running image differs: use the full image', 'l'),
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
