# esp32.Partition on the twin, call by call, against what the esp32 port
# does (SPEC §7: ports/esp32/esp32_partition.c over ESP-IDF's esp_partition.c
# and esp_ota_ops.c). Device: the 4 MiB "ota" layout (ota_0, ota_1, vfs),
# app-v1.0.1.bin in ota_0, first boot.
from esp32 import Partition


def show(f, *args):
    try:
        print("ok", f(*args))
    except OSError as e:
        print("OSError", e.args)
    except ValueError as e:
        print("ValueError", e.args)


cur = Partition(Partition.RUNNING)
print(cur)
print(cur.info())
print(Partition(Partition.BOOT).info()[4])
show(Partition, 7)
show(Partition, "nope")
print(Partition("vfs").info()[:2], Partition("ota_1").info()[:2])
print([p.info()[4] for p in Partition.find()])
print([p.info()[4] for p in Partition.find(Partition.TYPE_DATA)])
print([p.info()[4] for p in Partition.find(Partition.TYPE_DATA, label="vfs")])
print(Partition.find(Partition.TYPE_DATA, subtype=0x83))
nxt = cur.get_next_update()
print(nxt.info()[4], nxt.get_next_update().info()[4])

print("ioctl")
v = Partition("vfs")
v512 = Partition("vfs", 512)
print([v.ioctl(op, 0) for op in (1, 2, 3, 4, 5)], v.ioctl(7, 0))
print(v512.ioctl(4, 0), v512.ioctl(5, 0), v512.ioctl(6, 0))

print("read/write")
buf = bytearray(8)
v.writeblocks(0, bytes(range(256)) * 16)  # simple write: erases the block first
v.readblocks(0, buf)
print(bytes(buf))
v.readblocks(0, buf, 250)  # with an offset
print(bytes(buf))
v.writeblocks(1, b"\xff" * 4096)
v.writeblocks(1, b"\xf0\x0f", 8)  # extended write: no erase, bits only clear
v.writeblocks(1, b"\x3c\x3c", 8)
v.readblocks(1, buf, 6)
print(bytes(buf))
print(v.ioctl(6, 1))  # erase block 1
v.readblocks(1, buf, 6)
print(bytes(buf))
v512.writeblocks(1, b"\x11" * 512)  # 512-byte block: the rest of the sector stays
v.readblocks(0, buf, 508)
print(bytes(buf))
v.readblocks(0, buf, 1020)
print(bytes(buf))

print("errors")
show(v.readblocks, 240, buf)  # ends past the partition
show(v.readblocks, 241, buf)  # starts past it
show(v.writeblocks, 0, b"x" * 100)  # simple write, not whole sectors
show(cur.writeblocks, 0, bytes(4096))  # the running app
show(v.set_boot)  # not an app
show(nxt.set_boot)  # empty slot
show(Partition.mark_app_valid_cancel_rollback)

print("PR 7048")
print(cur.app_description()[:3], len(cur.app_description()[6]))
print(cur.app_state(), cur.app_state() == Partition.APP_STATE_VALID)
show(v.app_state)
show(v.app_description)
show(nxt.app_state)
show(nxt.app_description)
print(Partition.check_rollback_is_possible())
show(Partition.mark_app_invalid_rollback_and_reboot)
