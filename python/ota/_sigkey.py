# Secure Boot V2 key digests, as `espsecure digest_sbv2_public_key` prints
# them and eFuse holds them: SHA-256 of the key fields exactly as a signature
# block lays them out (docs/DESIGN.md §8). The `key=` of the ota package may
# be a PEM public key, the 32-byte digest, or its 64 hex digits.
import binascii
import hashlib

# DER object identifiers (their content bytes) and the curve ids of a block.
_RSA = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
_EC = b"\x2a\x86\x48\xce\x3d\x02\x01"
_CURVES = {
    b"\x2a\x86\x48\xce\x3d\x03\x01\x01": (1, 24),  # P-192
    b"\x2a\x86\x48\xce\x3d\x03\x01\x07": (2, 32),  # P-256
    b"\x2b\x81\x04\x00\x22": (3, 48),  # P-384
}


def _tlv(b, at):
    # One DER element at b[at]: (tag, start of content, end of content).
    tag, n = b[at], b[at + 1]
    at += 2
    if n & 0x80:
        k, n = n & 0x7F, 0
        for i in range(k):
            n = n << 8 | b[at + i]
        at += k
    if at + n > len(b):
        raise ValueError("key: the PEM is cut short")
    return tag, at, at + n


def _le(x, n):
    return x.to_bytes(n, "little")


def _rsa_fields(der):
    # RSAPublicKey: n, e. The block holds n, e, rinv = 2^6144 mod n and
    # m' = -1/n mod 2^32, little-endian (the ROM's Montgomery constants).
    _, at, _ = _tlv(der, 0)
    _, ns, ne = _tlv(der, at)
    _, es, ee = _tlv(der, ne)
    nb = bytes(der[ns:ne])
    while nb and nb[0] == 0:  # DER's sign byte
        nb = nb[1:]
    if len(nb) != 384 or not nb[0] & 0x80:
        raise ValueError("key: Secure Boot V2 RSA keys are 3072 bits, this one is not")
    n = int.from_bytes(nb, "big")
    e = int.from_bytes(der[es:ee], "big")
    inv = 1
    for _ in range(5):  # Newton's step doubles the correct low bits: 2, 4, ... 32
        inv = inv * (2 - n * inv) & 0xFFFFFFFF
    return _le(n, 384) + _le(e, 4) + _le(pow(2, 6144, n), 384) + _le(-inv & 0xFFFFFFFF, 4)


def _ec_fields(curve, point):
    if curve not in _CURVES:
        raise ValueError("key: the curve is not P-192, P-256 or P-384")
    cid, n = _CURVES[curve]
    if len(point) != 1 + 2 * n or point[0] != 4:
        raise ValueError("key: the EC point is not an uncompressed point of its curve")
    xy = bytes(reversed(point[1:1 + n])) + bytes(reversed(point[1 + n:]))
    return bytes([cid]) + xy + bytes(64 - 2 * n if n < 32 else 0)


def _pem_der(text):
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode()
    if "PRIVATE KEY" in text:
        raise ValueError("key: give the public key (espsecure extract_public_key --version 2),"
                         " never the private key")
    lines = [l.strip() for l in text.strip().split("\n")]
    if not lines or lines[0] != "-----BEGIN PUBLIC KEY-----" or "-----END PUBLIC KEY-----" not in lines:
        raise ValueError("key: not a PEM public key (-----BEGIN PUBLIC KEY-----)")
    return binascii.a2b_base64("".join(lines[1:lines.index("-----END PUBLIC KEY-----")]))


def key_fields(pem):
    # The bytes of a block that the key digest covers, from a PEM public key
    # (SubjectPublicKeyInfo).
    der = _pem_der(pem)
    _, at, _ = _tlv(der, 0)
    _, alg, alg_end = _tlv(der, at)
    _, oid, oid_end = _tlv(der, alg)
    _, bits, bits_end = _tlv(der, alg_end)
    key = der[bits + 1:bits_end]  # after the unused-bits byte
    if der[oid:oid_end] == _RSA:
        return _rsa_fields(key)
    if der[oid:oid_end] == _EC:
        _, cs, ce = _tlv(der, oid_end)
        return _ec_fields(bytes(der[cs:ce]), key)
    raise ValueError("key: neither RSA nor EC")


def digest(key):
    # A key as the package takes it -> its 32-byte digest.
    if isinstance(key, (bytes, bytearray)) and len(key) == 32:
        return bytes(key)
    if isinstance(key, (bytes, bytearray)):
        key = bytes(key).decode()
    if len(key) == 64 and "-" not in key:
        try:
            return binascii.unhexlify(key)
        except ValueError:
            pass
    if "-----BEGIN" in key:
        return hashlib.sha256(key_fields(key)).digest()
    raise ValueError("key: a PEM public key, a 32-byte key digest, or 64 hex digits")


def digests(key):
    # key=: one key or a list of them (None: none).
    if key is None:
        return ()
    if isinstance(key, (list, tuple)):
        return tuple(digest(k) for k in key)
    return (digest(key),)
