#!/usr/bin/env python3
"""Writes deterministic OLD/NEW pairs for tests/cli/test_delta.sh.

    delta_pairs.py KIND SEED SIZE OLD NEW

Kinds (NEW is OLD changed as a rebuild changes firmware):
  relink   app-like words (a small instruction vocabulary, absolute
           pointers into the image, strings, 0xFF padding); NEW inserts
           code at 30 %, removes some at 60 %, changes bytes at 80 %, and
           every pointer past an insertion or removal moves with it
  shift    NEW is OLD behind a new 1000-byte header, with its tail cut
  random   random bytes; NEW has scattered single-byte changes
"""
import struct
import sys

BASE = 0x400D0000


class Rng:  # xorshift64*: the same bytes on every Python
    def __init__(self, seed):
        self.s = (seed * 0x9E3779B97F4A7C15 + 1) & (2**64 - 1)

    def next(self):
        s = self.s
        s ^= s >> 12
        s ^= (s << 25) & (2**64 - 1)
        s ^= s >> 27
        self.s = s
        return (s * 0x2545F4914F6CDD1D) & (2**64 - 1)

    def below(self, n):
        return self.next() % n


def app_words(rng, size):
    """[(kind, value)] of 4-byte words: ('op', u32), ('ptr', target offset), ('raw', bytes)."""
    vocab = [rng.next() & 0xFFFFFFFF for _ in range(64)]
    words = []
    while len(words) * 4 < size:
        r = rng.below(100)
        if r < 70:
            words.append(('op', vocab[rng.below(len(vocab))] ^ (rng.below(16) << 8)))
        elif r < 85:
            words.append(('ptr', rng.below(size) & ~3))
        elif r < 95:
            text = b'micropython module %05d\0' % rng.below(100000)
            text += b'\0' * (-len(text) % 4)
            words += [('raw', text[i:i + 4]) for i in range(0, len(text), 4)]
        else:
            words += [('raw', b'\xff' * 4)] * rng.below(32)
    return words[:size // 4]


def link(words):
    out = bytearray()
    for kind, v in words:
        if kind == 'op':
            out += struct.pack('<I', v)
        elif kind == 'ptr':
            out += struct.pack('<I', BASE + v)
        else:
            out += v
    return bytes(out)


def relink(rng, size):
    old = app_words(rng, size)
    new = list(old)
    ins_at, ins_len = len(new) * 3 // 10, 300
    rem_at, rem_len = len(new) * 6 // 10, 200
    new[ins_at:ins_at] = app_words(rng, ins_len * 4)
    del new[rem_at + ins_len:rem_at + ins_len + rem_len]

    def moved(off):  # where an OLD offset is in NEW
        w = off // 4
        if w >= rem_at + rem_len:
            w += ins_len - rem_len
        elif w >= ins_at:
            w += ins_len
        return w * 4

    new = [('ptr', moved(v)) if k == 'ptr' else (k, v) for k, v in new]
    n = link(new)
    at = len(n) * 8 // 10
    n = n[:at] + bytes(b ^ 0x5A for b in n[at:at + 64]) + n[at + 64:]
    return link(old), n


def shift(rng, size):
    old = link(app_words(rng, size))
    header = bytes(rng.below(256) for _ in range(1000))
    return old, header + old[:len(old) - 500]


def random_pair(rng, size):
    old = bytes(rng.below(256) for _ in range(size))
    new = bytearray(old)
    for _ in range(size // 1000):
        new[rng.below(size)] = rng.below(256)
    return old, bytes(new)


def main():
    kind, seed, size, old_path, new_path = sys.argv[1:6]
    make = {'relink': relink, 'shift': shift, 'random': random_pair}[kind]
    old, new = make(Rng(int(seed)), int(size))
    open(old_path, 'wb').write(old)
    open(new_path, 'wb').write(new)


if __name__ == '__main__':
    main()
