# An update with the OTA calls of MicroPython PR #7048, across three boots of
# the twin: refuse a full firmware.bin, write app-v2.bin with ota_begin /
# ota_write / ota_end, set_boot, reset; in the new app (PENDING_VERIFY) reject
# it with mark_app_invalid_rollback_and_reboot; back in the old app.
# The filesystem holds app-v2.bin (an app image) and firmware.bin (a full
# flash image: bootloader, table, app). Device: as for partition_api.py.
import machine
from esp32 import Partition


def show(f, *args):
    try:
        print("ok", f(*args))
    except OSError as e:
        print("OSError", e.args)


cur = Partition(Partition.RUNNING)
nxt = cur.get_next_update()
print("boot 1:", cur.info()[4], "->", nxt.info()[4])

# A full firmware is refused before anything is erased.
h = nxt.ota_begin()
with open("firmware.bin", "rb") as f:
    show(nxt.ota_write, h, f.read(4096))
nxt.ota_abort(h)
blank = bytearray(4096)
nxt.readblocks(0, blank)
print("slot untouched:", blank == b"\xff" * 4096)

# The app image, in uneven chunks.
h = nxt.ota_begin(0)
print("handle", h)
with open("app-v2.bin", "rb") as f:
    while True:
        chunk = f.read(3000)
        if not chunk:
            break
        nxt.ota_write(h, chunk)
nxt.ota_end(h)
show(nxt.ota_write, h, b"x")  # the handle is gone
show(nxt.ota_end, h)
show(nxt.ota_abort, 99)
show(cur.ota_begin)  # the running slot
show(nxt.app_state)  # no otadata entry yet
nxt.set_boot()
print(nxt.app_state(), nxt.app_description()[1])

with open("main.py", "w") as f:
    f.write("""
from esp32 import Partition
cur = Partition(Partition.RUNNING)
print("boot 2:", cur.info()[4], cur.app_state(), cur.app_description()[1])
try:
    cur.get_next_update().ota_begin()
except OSError as e:
    print("OSError", e.args)
print("rollback possible:", Partition.check_rollback_is_possible())
with open("main.py", "w") as f:
    f.write('''
from esp32 import Partition
import os
cur = Partition(Partition.RUNNING)
print("boot 3:", cur.info()[4], cur.app_state(), Partition("ota_1").app_state())
os.remove("main.py")
''')
Partition.mark_app_invalid_rollback_and_reboot()
print("not reached")
""")
machine.reset()
print("not reached")
