# glenn20's API (ota.update) over HTTP from the test nginx on 127.0.0.1:
# the OTA class and both functions, a redirect, basic auth (in the URL and
# as requests' auth=), HTTP errors, a dead server, downloads cut mid-way and
# resumed (Range), a server that ignores Range (the update restarts from
# byte 0), a progress callback; then from_json(..., reboot=True) boots the new
# firmware, which ota.rollback.cancel() confirms.
# config.py (written by the test) holds the URLs, hashes and lengths.
import appstate
import mpota
import ota.update

import config

B = config.BASE
d = mpota.Device()


def state(label):
    try:
        return appstate.app_state(label)
    except OSError:
        return "none"


def quiet(url, **kw):
    return ota.update.from_file(url, verbose=False, reboot=False, **kw)


try:
    quiet(B + "/files/app-v2.bin", sha="00" * 32)
except ValueError:
    print("wrong sha: ValueError", d.boot_partition(), state("ota_1"))
o = ota.update.OTA(verbose=False)
print("from_firmware_file:", o.from_firmware_file(B + "/files/app-v2.bin", config.SHA, config.LEN))
o.close()
print("selected:", d.boot_partition(), state("ota_1"))
print("redirect:", quiet(B + "/redirect/app-v2.bin", sha=config.SHA))
print("user:pass@:", quiet("http://mpota:s3cret@127.0.0.1:%d/auth/app-v2.bin" % config.PORT))
print("auth=:", quiet(B + "/auth/app-v2.bin", auth=("mpota", "s3cret")))
for url in (B + "/auth/app-v2.bin", B + "/files/missing.bin", B + "/loop/app-v2.bin"):
    try:
        quiet(url)
    except ValueError:
        print("ValueError:", url[len(B):])
try:
    quiet("http://127.0.0.1:1/app-v2.bin", retries=1, timeout=2)
except OSError as e:
    print("dead server: OSError", not isinstance(e, mpota.Error))

# Two connections cut after 300000 bytes: resumed each time where the flash
# write stopped; progress goes up to (length, length).
seen = []


def progress(done, total):
    seen.append((done, total))


print("resumed:", quiet(config.CUT1 + "/files/app-v3.bin", sha=config.SHA3, progress=progress))
print(seen[-1] == (config.LEN3, config.LEN3), all(a[0] < b[0] for a, b in zip(seen, seen[1:])))
# A server that ignores Range answers the resume with the whole file (200):
# the update starts again from byte 0 and still ends right.
o = ota.update.OTA(verbose=False, sha=config.SHA3)
print("restarted:", o.from_firmware_file(config.CUT2 + "/norange/app-v3.bin", progress=progress))
o.close()
print(seen[-1] == (config.LEN3, config.LEN3))

# A stalled connection (timeout=2 s) is dropped and resumed; a cut inside
# the first 0x120 bytes (the image header the session holds before erasing)
# on a server that ignores Range starts again from byte 0.
print("stalled:", quiet(config.CUT5 + "/files/app-v3.bin", sha=config.SHA3, timeout=2))
print("cut in the header:", quiet(config.CUT6 + "/norange/app-v2.bin", sha=config.SHA))

with open("main.py", "w") as f:
    f.write("""
import appstate, mpota
d = mpota.Device()
print("boot 2:", d.running(), appstate.app_state())
import ota.rollback
ota.rollback.cancel()
print("confirmed:", appstate.app_state())
""")
ota.update.REBOOT_DELAY = 1
ota.update.from_json(B + "/files/app-v2.json")
print("not reached")
