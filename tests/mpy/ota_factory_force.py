# loboris' forceFactory=True on the table his BUILD.sh makes for flash of
# 8 MB and more: factory "MicroPython", ota_0 "MicroPython_1", ota_1
# "MicroPython_2". The factory app (v1.0.1) runs first, with otadata blank.
#   boot 1 (factory): forceFactory is refused (the factory app cannot
#          rewrite itself); ota.fromfile() fills MicroPython_1 and restarts.
#   boot 2 (MicroPython_1): refused while the new app is unconfirmed; then
#          ota.start(..., md5=True, forceFactory=True) over HTTP rewrites the
#          factory app, and the factory app starts next (otadata erased);
#          another forceFactory is refused while the factory app is the next
#          boot; set_bootpart() selects the running app again, and
#          ota.fromfile(..., forceFactory=True, restart=True) rewrites it.
#   boot 3 (factory, v3.0.0): refused again; set_bootpart("MicroPython_1").
#   boot 4 (MicroPython_1).
# Each call answers True or False, as loboris' did; the "ota:" lines in
# between are matched by "########" in the .exp (the shell test checks the
# refusals' words). config.py (written by the test) holds the server's port.
import mpota
import ota

d = mpota.Device()


def version(label):
    try:
        d.verify(label)
        return d.app_desc(label)[1]
    except mpota.Error:
        return "empty"


print("boot 1:", d.running(), d.boot_partition(), version("MicroPython"))
print("forceFactory:", ota.fromfile("app-v3.bin", forceFactory=True))
print("factory:", version("MicroPython"), d.otadata())

with open("main.py", "w") as f:
    f.write("""
import appstate, machine, mpota, ota, ota.rollback
import config
d = mpota.Device()
def version(label):
    try:
        d.verify(label)
        return d.app_desc(label)[1]
    except mpota.Error:
        return "empty"
run = d.running()
print("boot:", run, version(run))
try:
    open("forced").close()
    forced = True
except OSError:
    forced = False
if run == "MicroPython_1" and not forced:
    print("state:", appstate.app_state())
    print("forceFactory unconfirmed:", ota.fromfile("app-v3.bin", forceFactory=True))
    print("factory:", version("MicroPython"))
    ota.rollback.cancel()
    print("start forceFactory:", ota.start(url="127.0.0.1", port=config.PORT, file="/app-v3.bin",
                                           md5=True, forceFactory=True))
    print("factory:", version("MicroPython"), "next:", d.boot_partition(), d.otadata())
    print("forceFactory again:", ota.fromfile("app-v2.bin", forceFactory=True))
    print("factory:", version("MicroPython"))
    print("set_bootpart:", ota.set_bootpart("MicroPython_1"), d.boot_partition())
    open("forced", "w").close()
    ota.fromfile("app-v3.bin", forceFactory=True, restart=True)
    print("not reached")
elif run == "MicroPython":
    ota.rollback.cancel()
    print("forceFactory:", ota.fromfile("app-v2.bin", forceFactory=True))
    print("factory:", version("MicroPython"))
    print("set_bootpart:", ota.set_bootpart("MicroPython_1"), d.boot_partition())
    machine.reset()
else:
    print("factory:", version("MicroPython"), "MicroPython_2:", version("MicroPython_2"))
""")
print("fromfile:", ota.fromfile("app-v2.bin", restart=True))
print("not reached")
