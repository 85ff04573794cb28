# The mpota module itself: Session over any buffer object, expectations,
# refusals, out-of-order writes, resume, policies; Device queries.
# The filesystem holds app-v2.bin, firmware.bin and app-old.bin (v0.9.0).
import hashlib
import mpota


def show(f, *args, **kw):
    try:
        r = f(*args, **kw)
        print("ok", r)
    except mpota.Error as e:
        # The code, and the core's sentence (not checked word for word here).
        print(mpota.err_name(e.errno), isinstance(e, OSError), len(e.args[1]) > 10)


def read(name):
    with open(name, "rb") as f:
        return f.read()


d = mpota.Device()
app = read("app-v2.bin")
sha = hashlib.sha256(app).digest()
print(d.running(), d.next_update(), mpota.STATE_UNDEFINED)
# The test app carries no MicroPython banner; the official-style one does.
print(d.micropython_version(d.running()), d.micropython_version("ota_1"))

# In order, from a memoryview, with the length and SHA-256 known.
s = mpota.Session(d)
print(s.state() == mpota.Session.IDLE, s.target())
s.begin(size=len(app), sha256=sha)
print(s.target(), s.state() == s.HEAD)
mv = memoryview(app)
for i in range(0, len(app), 1000):
    s.write(mv[i : i + 1000])
print(s.offset() == len(app), s.state() == s.WRITING)
print(s.end() == len(app), s.state() == s.DONE, s.sha256() == sha)
print(d.verify("ota_1") == len(app), d.app_desc("ota_1")[1])
show(s.write, b"more")  # the session is done
s.abort()

# A wrong SHA-256 (as hex text) fails at end and stays failed.
s.begin("ota_1", sha256="00" * 32)
s.write(bytearray(app))
show(s.end)
show(s.set_boot)
print(s.state() == s.FAILED)
s.abort()
print(s.state() == s.IDLE)

# Refusals before anything is erased.
show(s.begin, "ota_0")  # the running slot
show(s.begin, "vfs")
# A declared size larger than the slot is refused at the first bytes, after
# what the file is: a firmware.bin of known size hears "extract the app".
s.begin(size=2 * 1024 * 1024)
show(s.write, app)
s.abort()
s.begin(size=2 * 1024 * 1024)
show(s.write, read("firmware.bin"))
s.abort()
show(s.begin, "nope")
try:
    s.begin("nope")
except mpota.Error as e:
    print("nope" in e.args[1], "nope" in str(e))
s.begin()
show(s.write, read("firmware.bin"))
s.abort()

# Out of order: the head first, then the tail, then the middle.
s.begin(md5=hashlib.md5(app).digest() if hasattr(hashlib, "md5") else None)
s.write(mv[:1024])
s.write_at(60000, mv[60000:])
s.write_at(1024, mv[1024:60000])
print("out of order:", s.end() == len(app))

# Resume after a "reboot": a new session continues at byte 50000.
s = mpota.Session(d)
s.begin(sha256=sha)
s.write(mv[:50000])
s = mpota.Session(d)
s.resume(50000, sha256=sha)
print("resume at", s.offset())
s.write(mv[50000:])
print("resumed:", s.end() == len(app))
s.set_boot()
print(s.state() == s.SWITCHED, d.state("ota_1") == mpota.STATE_NEW, d.boot_partition())

# Policies compare with the running app (v1.0.1).
s = mpota.Session(d)
s.begin(policy=mpota.POLICY_NO_DOWNGRADE)
show(s.write, read("app-old.bin"))
s.abort()

print(d.otadata())
print(d.rollback_possible(), d.last_invalid())
d.close()
try:
    d.running()
except ValueError as e:
    print("closed")
