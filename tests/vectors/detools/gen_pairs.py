#!/usr/bin/env python3
"""Writes the from/to pairs that make.sh diffs with detools: deterministic
code-like data (a small vocabulary of byte strings, so it compresses as
firmware does) and a new version with shared, shifted, changed, moved,
deleted and new regions. Usage: gen_pairs.py OUTDIR"""
import struct
import sys


class Rng:
    """xorshift64*: the same bytes on every Python."""

    def __init__(self, seed):
        self.s = seed

    def next(self):
        s = self.s
        s ^= s >> 12
        s ^= (s << 25) & 0xFFFFFFFFFFFFFFFF
        s ^= s >> 27
        self.s = s
        return (s * 0x2545F4914F6CDD1D) & 0xFFFFFFFFFFFFFFFF

    def below(self, n):
        return self.next() % n

    def bytes(self, n):
        return bytes(self.below(256) for _ in range(n))


def code(rng, size):
    vocab = [rng.bytes(4 + rng.below(9)) for _ in range(64)]
    out = bytearray()
    while len(out) < size:
        # Skewed choice: low indices are common, as a few instructions are.
        out += vocab[min(rng.below(64), rng.below(64))]
    return bytes(out[:size])


def bump(data, every):
    """A change every `every` bytes, as a rebuilt function shifts constants."""
    out = bytearray(data)
    for i in range(0, len(out), every):
        out[i] = (out[i] + 1) & 0xFF
    return bytes(out)


def relocate(data, step, delta):
    """A 32-bit little-endian word moved by delta every `step` bytes: pointers."""
    out = bytearray(data)
    for i in range(0, len(out) - 3, step):
        (w,) = struct.unpack_from('<I', out, i)
        struct.pack_into('<I', out, i, (w + delta) & 0xFFFFFFFF)
    return bytes(out)


def app_pair():
    rng = Rng(0x6D706F7461)
    a = code(rng, 40000)
    b = (a[:8000] + bump(a[8000:12000], 97) + code(rng, 1500) + a[12000:20000] +
         bytes(600) + a[24000:30000] + a[2000:5000] + relocate(a[30000:], 256, 0x1230) +
         code(rng, 2000))
    return a, b


def small_pair():
    rng = Rng(0x64656C7461)
    a = code(rng, 20000)
    b = a[:5000] + rng.bytes(1000) + bump(a[9000:19000], 31) + a[100:2100]
    return a, b


def main():
    out = sys.argv[1]
    for name, (a, b) in (('app', app_pair()), ('small', small_pair())):
        open(f'{out}/{name}.from', 'wb').write(a)
        open(f'{out}/{name}.to', 'wb').write(b)
    open(f'{out}/empty.to', 'wb').write(b'')


main()
