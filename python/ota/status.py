# glenn20's `ota.status` API, on mpota's C module.
#
#   status()  prints what runs, what boots next, where the next update goes,
#             the partition table and the two otadata records
#   ready()   True if this device can take an OTA update now
import sys

from ._mpota import mpota

from . import _engine

_STATES = {
    mpota.STATE_NEW: "NEW",
    mpota.STATE_PENDING_VERIFY: "PENDING_VERIFY",
    mpota.STATE_VALID: "VALID",
    mpota.STATE_INVALID: "INVALID",
    mpota.STATE_ABORTED: "ABORTED",
    mpota.STATE_UNDEFINED: "UNDEFINED",
}
_APP_SUBTYPES = {0x00: "factory", 0x20: "test"}
_DATA_SUBTYPES = {0x00: "ota", 0x01: "phy", 0x02: "nvs", 0x03: "coredump", 0x04: "nvs_keys",
                  0x05: "efuse", 0x06: "undefined", 0x80: "esphttpd", 0x81: "fat", 0x82: "spiffs",
                  0x83: "littlefs"}


def _subtype(t, st):
    if t == mpota.TYPE_APP:
        if 0x10 <= st < 0x20:
            return "ota_%d" % (st - 0x10)
        return _APP_SUBTYPES.get(st, "0x%02x" % st)
    if t == mpota.TYPE_DATA:
        return _DATA_SUBTYPES.get(st, "0x%02x" % st)
    return "0x%02x" % st


def _try(f, *args):
    try:
        return f(*args)
    except mpota.Error:
        return None


def ready():
    d = mpota.Device()
    try:
        has_otadata = d.otadata() is not None
        return has_otadata and _try(d.next_update) is not None
    finally:
        d.close()


def _fs_partition():
    try:
        from flashbdev import bdev
    except ImportError:
        return None
    return bdev.info()[4] if bdev else None


def status():
    d = mpota.Device()
    try:
        _status(d)
    finally:
        d.close()


def _status(d):
    v = ".".join(str(x) for x in sys.implementation.version[:3])
    running = d.running()
    state = _try(d.state, running) if running else None
    print("MicroPython v%s is running from partition '%s'%s." % (
        v, running, "" if state is None else " (otadata state %s)" % _STATES.get(state, state)))
    print("At the next reset the bootloader starts '%s'." % _try(d.boot_partition))
    pending = state == mpota.STATE_PENDING_VERIFY
    if pending:
        print("This firmware is not confirmed: ota.rollback.cancel() keeps it; "
              "a reset before that goes back to the previous one.")
    elif state == mpota.STATE_NEW:
        print("This firmware was selected again (state NEW): after the next reset it "
              "runs unconfirmed until ota.rollback.cancel().")
    nxt = _try(d.next_update)
    if not any(0x10 <= r[1] < 0x20 for r in d.partitions() if r[0] == mpota.TYPE_APP):
        print(_engine.OTA_LAYOUT_ADVICE)
    elif nxt is None or d.otadata() is None:
        print("No OTA slot can take an update now.")
    elif pending:
        print("The next update goes to '%s', once this firmware is confirmed." % nxt)
    else:
        print("An update would be written to '%s'." % nxt)
    # Official builds carry their version only in the banner strings (the
    # app description's version is empty): read it from each app slot.
    for t, st, off, size, label, flags in sorted(d.partitions(), key=lambda r: r[2]):
        if t == mpota.TYPE_APP:
            v = _try(d.micropython_version, label)
            print("Partition '%s' holds %s." % (
                label, "MicroPython v%s" % v if v else "no MicroPython version string"))
    fs = _fs_partition()
    if fs:
        print("The filesystem lives in partition '%s'." % fs)
    print("Partition table:")
    print("  %-16s %-5s %-9s %10s %10s" % ("label", "type", "subtype", "offset", "size"))
    for t, st, off, size, label, flags in sorted(d.partitions(), key=lambda r: r[2]):
        kind = {mpota.TYPE_APP: "app", mpota.TYPE_DATA: "data"}.get(t, "0x%02x" % t)
        print("  %-16s %-5s %-9s %#10x %#10x  (%d bytes)%s" % (
            label, kind, _subtype(t, st), off, size, size, " encrypted" if flags & 1 else ""))
    two = d.otadata()
    if two is None:
        print("No otadata partition: the bootloader always starts the first app.")
        return
    print("otadata records:")
    for i in (0, 1):
        seq, st, crc_ok = two[i]
        if seq == 0xFFFFFFFF and st == mpota.STATE_UNDEFINED:
            print("  [%d] blank" % i)
        else:
            print("  [%d] seq %d, state %s, CRC %s" % (
                i, seq, _STATES.get(st, st), "ok" if crc_ok else "bad (record ignored)"))
    bad = _try(d.last_invalid)
    if bad:
        print("The last rejected app was in '%s'." % bad)
