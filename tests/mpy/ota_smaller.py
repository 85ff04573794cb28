# Smaller transfers through glenn20's API (issue 13), on a device running v1
# (from.bin, ota_0): manifests that offer detools patches (from_json takes
# the one made from the running image, its SHA-256 as flashed, else the full
# image) and gzip/zlib images (inflated by MicroPython's deflate module).
# Every broken input is refused and nothing is selected. Each line: the case,
# then "ok" with the partition that boots next, or the refusal's code.
import binascii
import hashlib
import os

import mpota
import ota.update

dev = mpota.Device()
sha, n = dev.running_digest()
with open("from.bin", "rb") as f:
    want = hashlib.sha256(f.read()).digest()
print("running digest", "ok" if sha == want else "differs", n)
dev.close()


def attempt(name, manifest, file=None):
    try:
        if file:
            ota.update.from_file(file, reboot=False, verbose=False)
        else:
            ota.update.from_json(manifest, reboot=False, verbose=False)
        d = mpota.Device()
        print(name, "ok", d.boot_partition())
        d.close()
    except OSError as e:
        print(name, "refused:", mpota.err_name(e.args[0]))
        print(" ", e)
    except ValueError as e:
        print(name, "ValueError:", e)


attempt("heatshrink", "hs.json")
attempt("crle", "crle.json")
attempt("none", "none.json")
attempt("no-match", "other.json")  # patches from another base only: the full image
attempt("corrupt", "corrupt.json")
attempt("truncated", "truncated.json")
attempt("lying-sha", "lying.json")  # the patch makes to.bin; the manifest's sha is another's
attempt("lzma", "lzma.json")
# What inflates: mpota.Inflate where the firmware has the mpota module (the
# C engine), MicroPython's deflate.DeflateIO on stock firmware.
from ota import _gz

print("gzip by", type(_gz.Inflated(None, b"\x1f\x8b").d).__name__)
attempt("gzip", None, "to.bin.gz")
attempt("zlib", None, "to.bin.z")
attempt("gzip-manifest", "gz.json")
attempt("gzip-cut", None, "cut.bin.gz")
attempt("gzip-corrupt", None, "bad.bin.gz")
attempt("gzip-trailing", None, "tail.bin.gz")
attempt("gzip-bomb", None, "bomb.bin.gz")
# Lying lengths: the patch's, both ways; the image's under gzip, both ways.
attempt("patch-long", "patch-long.json")
attempt("patch-short", "patch-short.json")
attempt("gzip-short", "gz-short.json")
attempt("gzip-long", "gz-long.json")


# Over HTTP (nginx, and proxies that cut the patch's and the gzip's
# connection once), and a server that is not there.
import urls

attempt("http-heatshrink", urls.BASE + "hs.json")
attempt("http-heatshrink-cut", urls.CUTP + "hs.json")
attempt("http-gzip", urls.BASE + "gz.json")
attempt("http-gzip-cut", urls.CUTG + "gz.json")
try:
    ota.update.from_json("http://127.0.0.1:9/hs.json", reboot=False, verbose=False, retries=1)
    print("http-dead ok")
except OSError as e:
    print("http-dead OSError", e.args[0])


# mpota.Patch by hand: the stream API under from_patch.
def by_hand(patch, size):
    d = mpota.Device()
    s = mpota.Session(d)
    s.begin()
    p = mpota.Patch(s, size)
    with open(patch, "rb") as f:
        while True:
            b = f.read(333)
            if not b:
                break
            p.write(b)
    p.finish()
    n = s.end()
    print("by hand", n, binascii.hexlify(s.sha256()).decode()[:16], p.to_size())
    s.abort()
    d.close()


by_hand("to.heatshrink.patch", os.stat("to.heatshrink.patch")[6])
