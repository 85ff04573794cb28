# The device filesystem's partition as a block device, found the way an ESP32
# firmware finds it: the data partition labelled "vfs" (MicroPython's
# tables), or else "ffat" with 512-byte blocks (TinyUF2's). None if neither.
from esp32 import Partition

bdev = None
for _label, _block_size in (("vfs", 4096), ("ffat", 512)):
    _found = Partition.find(Partition.TYPE_DATA, label=_label, block_size=_block_size)
    if _found:
        bdev = _found[0]
        break
