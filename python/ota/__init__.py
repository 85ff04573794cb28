# The `ota` package: OTA firmware updates for MicroPython on ESP32 over mpota's
# update engine: the C module `mpota` where the firmware has it, else the same
# engine in pure Python (_stock.py) on stock firmware (_mpota.py picks). Four
# ways in, one engine:
#
#   ota.update    glenn20's API: from_file(), from_json(), class OTA
#   ota.rollback  cancel(), force(), cancel_force() -- light, for every boot
#   ota.status    status(), ready()
#   ota.start(), ota.fromfile(), ota.set_bootpart()   loboris' API (below)
#   ota32         (a module beside this package) OTA(verbose).ota(url, sha)
#
# Importing `ota` or `ota.rollback` loads neither the HTTP client nor the
# update engine: they are imported when an update starts.
__version__ = "0.1.0"


def start(url=None, port=80, file=None, md5=False, restart=False, forceFactory=False,
          server=None, progress=None):
    # loboris: download http://<url>:<port>/<file> into the next OTA slot;
    # True on success, False (with the reason printed) otherwise.
    from ._loboris import start as f

    return f(url or server, port, file, md5, restart, forceFactory, progress)


def fromfile(file, restart=False, forceFactory=False, progress=None):
    # loboris: the same from a file on the device's filesystem.
    from ._loboris import fromfile as f

    return f(file, restart, forceFactory, progress)


def set_bootpart(name):
    # loboris: boot the app partition labelled `name` next. True / False.
    from ._loboris import set_bootpart as f

    return f(name)
