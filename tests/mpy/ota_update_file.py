# glenn20's API (ota.update, ota.rollback, ota.status) with files on the
# device's filesystem, used as its README shows it. Boot 1 goes through the
# refusals and aborts (nothing selected, the slot left empty), the OTA class
# in each documented form, and from_file(..., reboot=True); boot 2 runs the
# new firmware unconfirmed, ota.rollback.cancel() confirms it, force() and
# cancel_force() move the next boot away and back.
# Files: app-v2.bin, fw/app-v2.json (manifest) + fw/app-v2.bin, config.py.
import gc

import appstate
import mpota
import ota.rollback
import ota.status
import ota.update

import config

d = mpota.Device()


def state(label):
    # PR #7048's app_state(); "none" when no otadata record names the slot
    try:
        return appstate.app_state(label)
    except OSError:
        return "none"


def empty(label):
    # the slot holds no image the bootloader would start
    try:
        d.verify(label)
        return False
    except mpota.Error:
        return True


def where():
    return d.boot_partition(), state("ota_1"), empty("ota_1")


print("ready:", ota.status.ready())
print("start:", d.running(), where())

# Wrong hash or length: ValueError after the copy; nothing is selected and
# the slot is left empty.
try:
    ota.update.from_file("app-v2.bin", sha="00" * 32, verbose=False, reboot=False)
except ValueError:
    print("wrong sha: ValueError", where())
try:
    ota.update.from_file("app-v2.bin", length=config.LEN + 1, verbose=False, reboot=False)
except ValueError:
    print("wrong length: ValueError", where())
# A length the slot cannot hold: ValueError at the first bytes (they say
# first whether the file is an app at all).
try:
    with ota.update.OTA(length=2 * 1024 * 1024, verbose=False) as o:
        with open("app-v2.bin", "rb") as f:
            o.write(f.read())
except ValueError:
    print("too long: ValueError", where())
# Not a manifest name; a manifest without the keys.
try:
    ota.update.from_json("fw/app-v2.bin", verbose=False, reboot=False)
except ValueError:
    print("not .json: ValueError")
with open("nokeys.json", "w") as f:
    f.write('{"firmware": "fw/app-v2.bin"}')
try:
    ota.update.from_json("nokeys.json", verbose=False, reboot=False)
except KeyError:
    print("manifest without sha: KeyError")

# Abort: an exception in the with block, Ctrl-C in a progress callback,
# OTA.abort(). Data was written each time; the slot reads empty afterwards.
try:
    with ota.update.OTA(verbose=False) as o:
        with open("app-v2.bin", "rb") as f:
            o.write(f.read(40000))
        raise RuntimeError("stop")
except RuntimeError:
    print("exception in with:", where())


def ctrl_c(done, total):
    if done > 20000:
        raise KeyboardInterrupt


try:
    ota.update.from_file("app-v2.bin", verbose=False, reboot=False, progress=ctrl_c)
except KeyboardInterrupt:
    print("Ctrl-C:", where())
o = ota.update.OTA(verbose=False)
with open("app-v2.bin", "rb") as f:
    print("write:", o.write(f.read(50000)))
o.abort()
o.close()  # nothing left to close
print("abort():", where())

# The OTA class as the README shows it: from_stream() in a with block ...
with ota.update.OTA(verbose=False) as o:
    with open("app-v2.bin", "rb") as f:
        print("from_stream:", o.from_stream(f, config.SHA, config.LEN))
print("selected:", where())

# ... write() from a loop, length and sha given to the constructor ...
remaining = config.LEN
with ota.update.OTA(length=remaining, sha=config.SHA, verbose=False) as o:
    data = memoryview(bytearray(1024))
    gc.collect()
    with open("app-v2.bin", "rb") as uart:
        while remaining > 0:
            n = uart.readinto(data[: min(remaining, len(data))])
            o.write(data[:n])
            remaining -= n
print("write loop:", where())

# ... without with: from_firmware_file(), then close(); from_json().
o = ota.update.OTA(verbose=False)
print("from_firmware_file:", o.from_firmware_file("app-v2.bin", config.SHA))
o.close()
o = ota.update.OTA(verbose=False)
print("from_json:", o.from_json("fw/app-v2.json"))
o.close()
print("from_json():", ota.update.from_json("fw/app-v2.json", verbose=False, reboot=False))
calls = []
print("progress:", ota.update.from_file("app-v2.bin", verbose=False, reboot=False,
                                        progress=lambda done, total: calls.append((done, total))))
print(calls[0], calls[-1], len(calls))

# The README's first example: verbose, reboot=True. The device restarts into
# ota_1; main.py runs there.
with open("main.py", "w") as f:
    f.write("""
import sys
import ota.rollback
ota.rollback.cancel()
print("light:", [m for m in sys.modules if m.startswith("ota") and
                 m not in ("ota", "ota.rollback", "ota._mpota", "ota._stock")])
import appstate, mpota
d = mpota.Device()
print("confirmed:", d.running(), appstate.app_state("ota_1"))
ota.rollback.cancel()  # again: harmless
ota.rollback.force()
print("force:", d.boot_partition(), appstate.app_state("ota_0"))
ota.rollback.cancel_force()
print("cancel_force:", d.boot_partition(), appstate.app_state("ota_1"))
import ota.status
print("ready:", ota.status.ready())
ota.status.status()
""")
with open("boot.py", "w") as f:
    f.write("""
import appstate, mpota
d = mpota.Device()
print("boot:", d.running(), appstate.app_state())
d.close()
""")
ota.update.from_file("app-v2.bin", sha=config.SHA, length=config.LEN)
print("not reached")
