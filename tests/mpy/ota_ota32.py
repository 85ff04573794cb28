# ota32's API as its users call it: the SHA-256 from a side file read with
# open_url(), then OTA(verbose=True).ota(url, sha). The new app is selected
# for the next boot but nothing resets; the script resets by hand. Also: a
# wrong SHA-256 (ValueError, nothing selected), a file on the device, a
# download cut mid-way (resumed), a redirect.
# config.py (written by the test) holds the URLs and hashes.
import appstate
import machine
import mpota
from ota32 import OTA, open_url

import config

d = mpota.Device()


def state(label):
    try:
        return appstate.app_state(label)
    except OSError:
        return "none"


try:
    OTA().ota(config.BASE + "/files/app-v2.bin", "00" * 32)
except ValueError:
    print("wrong sha: ValueError", d.boot_partition(), state("ota_1"))

s = open_url(config.BASE + "/files/app-v2.bin.sha")
sha = s.read(1024).split()[0].decode()
s.close()
print("sha from open_url:", sha == config.SHA)
s = open_url("app-v2.bin")
print("open_url(file):", len(s.read(100)))
s.close()

ota = OTA(verbose=True)
ota.ota(config.BASE + "/files/app-v2.bin", sha)
print()
print("selected:", d.boot_partition(), state("ota_1"))
OTA().ota("app-v2.bin", sha)
OTA().ota(config.BASE + "/redirect/app-v2.bin", sha)
OTA().ota(config.CUT4 + "/files/app-v3.bin", config.SHA3)
print("resumed:", d.boot_partition(), d.verify("ota_1") == config.LEN3)
OTA().ota(config.BASE + "/files/app-v2.bin", config.SHA)

with open("main.py", "w") as f:
    f.write("""
import appstate, esp32
print("boot 2:", esp32.Partition(esp32.Partition.RUNNING).info()[4],
      appstate.app_state())
esp32.Partition.mark_app_valid_cancel_rollback()
""")
machine.reset()
