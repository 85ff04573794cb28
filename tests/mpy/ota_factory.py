# A factory + two OTA slots layout (loboris' kind), blank otadata: the
# factory app runs. ota.rollback.cancel() has nothing to confirm (and says
# so, rather than failing on every boot); loboris' forceFactory cannot
# update the factory app from itself; ota.fromfile() fills ota_0 and
# restarts into it; there, forceFactory=True rewrites the factory app (and
# selects it) and ota.set_bootpart("factory") selects it again.
import mpota
import ota
import ota.rollback
import ota.status

d = mpota.Device()
print("boot 1:", d.running(), d.otadata())
ota.rollback.cancel()
print("ready:", ota.status.ready())
print("forceFactory:", ota.fromfile("app-v2.bin", forceFactory=True))
with open("main.py", "w") as f:
    f.write("""
import appstate, mpota, ota, ota.rollback
d = mpota.Device()
print("boot:", d.running())
if d.running() == "ota_0":
    print("state:", appstate.app_state())
    ota.rollback.cancel()
    print("forceFactory:", ota.fromfile("app-v2.bin", forceFactory=True))
    print("set_bootpart:", ota.set_bootpart("factory"), d.boot_partition())
    import machine
    machine.reset()
else:
    ota.rollback.cancel()
""")
print("fromfile:", ota.fromfile("app-v2.bin", restart=True))
