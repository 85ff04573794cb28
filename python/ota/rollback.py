# glenn20's `ota.rollback` API, on mpota's C module. Light enough to call on
# every boot: it imports nothing but `mpota` until something fails.
#
#   cancel()        confirm the running firmware: no rollback at the next reset
#   force()         boot the previous OTA slot next (whatever its state)
#   cancel_force()  boot the running slot next again (undoes force())
from ._mpota import mpota


def _device():
    return mpota.Device()


# Nothing to confirm: no otadata partition, or no record yet (the default
# app runs: factory, or ota_0 on blank otadata). The bootloader cannot roll
# back from there, so cancel() says so instead of raising -- it is meant for
# every boot, whatever the layout.
_NOTHING = ("MPOTA_ERR_OTADATA_MISSING", "MPOTA_ERR_NO_OTA_SLOTS", "MPOTA_ERR_OTADATA_NO_ACTIVE")


def cancel():
    d = _device()
    try:
        d.mark_valid()
    except mpota.Error as e:
        from . import _engine  # only now: a boot that confirms needs nothing more

        if _engine.err_name(e) not in _NOTHING:
            raise _engine.worded(e)
        print("ota.rollback.cancel(): nothing to confirm:", _engine.text(e))
    finally:
        d.close()


def _ota_slots(d):
    # The ota_N app partitions, in subtype order (ota_0, ota_1, ...).
    rows = [r for r in d.partitions() if r[0] == mpota.TYPE_APP and 0x10 <= r[1] < 0x20]
    rows.sort(key=lambda r: r[1])
    return [r[4] for r in rows]


def force():
    # The slot before the running one (the other one, with two slots) is
    # verified and selected; it boots at the next reset.
    d = _device()
    try:
        slots = _ota_slots(d)
        running = d.running()
        if running not in slots:
            raise OSError(2, "the running partition '%s' is not an OTA slot" % running)
        d.set_boot(slots[slots.index(running) - 1])
    finally:
        d.close()


def cancel_force():
    d = _device()
    try:
        d.set_boot(d.running())
    finally:
        d.close()
