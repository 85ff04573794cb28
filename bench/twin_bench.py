# Runs inside the MicroPython twin (bench/twin_bench.sh starts it): time and
# heap of one OTA update of app.bin (1.6 MB) into the next slot, three ways:
#
#   ota          the `ota` package: ota.update.OTA().from_firmware_file() +
#                close() -- one mpota.Session (C) does erase-ahead, program,
#                hashing, read-back and set_boot; Python only moves 4 KiB
#                buffers from the file to the session.
#   py_partition a plain Python writer doing what glenn20's package does:
#                4 KiB buffers, esp32.Partition.writeblocks() per block (erase
#                4 KiB + write), hashlib.sha256 over the data, a read-back of
#                the slot hashed again, then Partition.set_boot(). On the
#                twin, esp32.Partition is itself Python over mpota.Device.
#   py_device    the same writer on mpota.Device's C calls (erase + write per
#                4 KiB), standing in for a device's C writeblocks().
#
# Every way: the expected SHA-256 is given and checked, the slot holds the
# same image beforehand (a used slot: everything must be erased), verify on.
#
# Heap, two numbers per way (MicroPython heap, gc.mem_alloc()):
#   alloc  bytes allocated during the update with the GC disabled
#          (gc.collect(); gc.disable(); before/after): nothing is freed, so
#          this is the heap the update needs if the GC never runs -- its
#          high-water mark without collection, and an upper bound of the
#          live peak.
#   live   the largest gc.mem_alloc() right after a gc.collect(), sampled
#          every 64 KiB during the update and at its end, minus the value
#          before the update: the peak of what the update keeps alive.
#   (esp32.Partition keeps one mpota.Device open in the esp32 module from its
#   first use, so py_partition's live peak does not count that device, about
#   3.7 KB on the twin; ota and py_device open theirs inside the update.)
# Time: time.ticks_us() around the update, GC enabled, best and mean of RUNS.
# The twin's flash is a memory-mapped file: erases and programs cost almost
# nothing, so the times are the CPU cost of each way, not a device's flash
# time (BENCH.md models that from the operation counts).
#
# Output: one line of JSON (the shell script makes the table).
import gc
import hashlib
import json
import time

import esp32
import mpota
import ota.update

import config

RUNS = config.RUNS
BLOCK = 4096
_sample = None  # the live-heap sampler, or None


def sample():
    global _peak
    if _sample:
        gc.collect()
        a = gc.mem_alloc()
        if a > _peak:
            _peak = a


def way_ota():
    def progress(done, total):
        if _sample and not done & 0xFFFF:
            sample()

    o = ota.update.OTA(verbose=False, sha=config.SHA, progress=progress)
    o.from_firmware_file("app.bin")
    o.close()


def _python_writer(erase_write, read, set_boot):
    # What glenn20's package does, in our own code: fill a 4 KiB buffer,
    # write whole blocks (erase + program each), hash what is written, write
    # the tail, then read everything back and hash it again.
    buf = bytearray(BLOCK)
    mv = memoryview(buf)
    sha = hashlib.sha256()
    block = 0
    size = 0
    with open("app.bin", "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            data = buf if n == BLOCK else mv[:n]
            erase_write(block, data)
            sha.update(data)
            size += n
            block += 1
            if _sample and not block & 15:
                sample()
    import binascii

    digest = binascii.hexlify(sha.digest()).decode()
    if digest != config.SHA:
        raise ValueError("SHA-256 mismatch")
    check = hashlib.sha256()
    for i in range((size + BLOCK - 1) // BLOCK):
        n = min(BLOCK, size - i * BLOCK)
        data = buf if n == BLOCK else mv[:n]
        read(i, data)
        check.update(data)
    if binascii.hexlify(check.digest()).decode() != digest:
        raise ValueError("read-back mismatch")
    set_boot()


def way_py_partition():
    part = esp32.Partition(esp32.Partition.RUNNING).get_next_update()

    def erase_write(block, data):
        if len(data) == BLOCK:
            part.writeblocks(block, data)
        else:
            part.ioctl(6, block)  # erase the block, then write the tail
            part.writeblocks(block, data, 0)

    _python_writer(erase_write, part.readblocks, part.set_boot)


def way_py_device():
    d = mpota.Device()
    label = d.next_update()

    def erase_write(block, data):
        d.erase(label, block * BLOCK, BLOCK)
        d.write(label, block * BLOCK, data)

    def read(block, data):
        d.read(label, block * BLOCK, data)

    _python_writer(erase_write, read, lambda: d.set_boot(label))
    d.close()


WAYS = (("ota", way_ota), ("py_partition", way_py_partition), ("py_device", way_py_device))


def measure(f):
    global _sample, _peak
    # Time: GC on, no sampling.
    times = []
    for _ in range(RUNS):
        gc.collect()
        t = time.ticks_us()
        f()
        times.append(time.ticks_diff(time.ticks_us(), t))
    # Allocation with the GC off.
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    try:
        f()
        alloc = gc.mem_alloc() - before
    finally:
        gc.enable()
    # Live peak, sampled.
    gc.collect()
    before = gc.mem_alloc()
    _peak = before
    _sample = True
    try:
        f()
        sample()
    finally:
        _sample = None
    return {"best_ms": min(times) / 1000, "mean_ms": sum(times) / len(times) / 1000,
            "alloc_bytes": alloc, "live_peak_bytes": _peak - before}


_peak = 0
way_ota()  # the slot now holds the image: every run below finds it used
out = {"image_bytes": config.LEN, "runs": RUNS, "micropython": ".".join(
    str(v) for v in __import__("sys").implementation.version[:3])}
for name, f in WAYS:
    out[name] = measure(f)
    d = mpota.Device()
    out[name]["verified"] = d.verify(d.boot_partition()) == config.LEN
    d.close()
print(json.dumps(out))
