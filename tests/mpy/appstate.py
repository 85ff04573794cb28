# PR #7048's Partition.app_state() names ("new", "verify", "valid", ...) for
# an OTA slot's otadata state, read with mpota.Device().state(), so the test
# scripts can look at otadata on stock firmware too (its esp32.Partition has
# no app_state()). Copied into the device's filesystem by test_twin_ota.sh.
# Like app_state(), it raises OSError (mpota.Error) when no record names the
# slot or it is not an OTA slot.
import mpota

_NAMES = {0: "new", 1: "verify", 2: "valid", 3: "invalid", 4: "aborted"}


def app_state(label=None):
    d = mpota.Device()
    try:
        return _NAMES.get(d.state(label or d.running()), "undefined")
    finally:
        d.close()
