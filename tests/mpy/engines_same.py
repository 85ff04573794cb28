# The C engine (mpota.Session) and the pure-Python one (ota._stock.Session)
# fed the same bytes with the same expectations, on the same device, one
# after the other: each must accept or refuse alike, with the same code and
# the same sentence (numbers included), and the same byte count and SHA-256
# when it accepts. cases.txt (written by test_twin_engines.sh): one case per
# line, "NAME FILE CHUNK SIZE SHA256 MD5 POLICY" ("-" for none). The Python
# engine runs twice, with its 64 KiB buffer and with the 4 KiB one it takes
# when the heap is short. Prints "same NAME: RESULT" or
# "DIFF NAME: C RESULT / PY RESULT" per case.
# A C error is also worded from its numbers alone (args[0], args[2:6]), as
# the ota package words it on a firmware built with MPOTA_DIAG_TEXT=0: that
# sentence must be the C one too.
import binascii

import mpota
from ota import _errors, _stock


def run(engine, dev, path, chunk, size, sha, md5, policy):
    s = engine.Session(dev)
    try:
        s.begin(size=size, sha256=sha, md5=md5, policy=policy)
        buf = bytearray(chunk)
        mv = memoryview(buf)
        with open(path, "rb") as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                s.write(mv[:n])
        n = s.end()
        r = "ok %d %s" % (n, binascii.hexlify(s.sha256()).decode())
    except engine.Error as e:
        r = "%s: %s" % (engine.err_name(e.errno), e.args[1])
        worded = _errors.text(*(e.args[:1] + e.args[2:6]))
        if worded != e.args[1]:
            r += " / FROM NUMBERS %s" % worded
    s.abort()  # the slot reads as empty again for the next run
    return r


def none(v):
    return None if v == "-" else v


same = diff = 0
for line in open("cases.txt"):
    name, path, chunk, size, sha, md5, policy = line.split()
    args = (path, int(chunk), int(size), none(sha), none(md5), int(policy))
    dc = mpota.Device()
    c = run(mpota, dc, *args)
    dc.close()
    _stock.BUFFER = 65536
    py = run(_stock, _stock.Device(), *args)
    _stock.BUFFER = 4096
    py4 = run(_stock, _stock.Device(), *args)
    if py4 != py:
        py = "%s / PY 4 KiB %s" % (py, py4)
    if c == py:
        same += 1
        print("same %s: %s" % (name, c))
    else:
        diff += 1
        print("DIFF %s: C %s / PY %s" % (name, c, py))
print("cases: %d same, %d different" % (same, diff))
