# loboris' API: ota.fromfile(), ota.start() and ota.set_bootpart() as its
# documentation shows them. Every call answers True or False (the reason for
# a False is printed). The .md5 side file: beside a file on the device, and
# <file>.md5 on the server with md5=True. Then start(..., restart=True)
# restarts into the new firmware.
# config.py (written by the test) holds the server's port and hashes.
import appstate
import mpota
import ota

import config

d = mpota.Device()


def state(label):
    try:
        return appstate.app_state(label)
    except OSError:
        return "none"


print("fromfile:", ota.fromfile("app-v2.bin"))
print("selected:", d.boot_partition(), state("ota_1"))
print("set_bootpart ota_0:", ota.set_bootpart("ota_0"), d.boot_partition())
print("set_bootpart ota_1:", ota.set_bootpart("ota_1"), d.boot_partition())
print("set_bootpart nope:", ota.set_bootpart("nope"), d.boot_partition())
print("fromfile + .md5:", ota.fromfile("fw/app-v2.bin"))
print("fromfile + bad .md5:", ota.fromfile("bad/app-v2.bin"))
print("fromfile firmware.bin:", ota.fromfile("firmware.bin"))
print("fromfile missing:", ota.fromfile("missing.bin"))
print("forceFactory:", ota.fromfile("app-v2.bin", forceFactory=True))

print("start md5:", ota.start(url="127.0.0.1", port=config.PORT, file="/files/app-v2.bin", md5=True))
print("start server=:", ota.start(server="127.0.0.1", port=config.PORT, file="files/app-v2.bin"))
print("start URL:", ota.start(url=config.BASE + "/files/app-v2.bin", md5=True))
print("start bad .md5:", ota.start(url="127.0.0.1", port=config.PORT, file="/files/bad/app-v2.bin",
                                   md5=True))
print("start no .md5:", ota.start(url="127.0.0.1", port=config.PORT, file="/files/firmware.bin",
                                  md5=True))
print("start 404:", ota.start(url="127.0.0.1", port=config.PORT, file="/files/missing.bin"))
print("start firmware.bin:", ota.start(url="127.0.0.1", port=config.PORT, file="/files/firmware.bin"))
# The first connection (the .md5) goes through; the second is cut and resumed.
print("start resumed:", ota.start(url="127.0.0.1", port=config.CUT3, file="/files/app-v3.bin",
                                  md5=True))
print("selected:", d.boot_partition(), state("ota_1"))

with open("main.py", "w") as f:
    f.write("""
import appstate, mpota, ota
d = mpota.Device()
print("boot 2:", d.running(), appstate.app_state())
import ota.rollback
ota.rollback.cancel()
print("confirmed:", appstate.app_state())
print("set_bootpart ota_0:", ota.set_bootpart("ota_0"), d.boot_partition())
""")
ota.start(url="127.0.0.1", port=config.PORT, file="/files/app-v2.bin", md5=True, restart=True)
print("not reached")
