# loboris' `ota` module API (MicroPython_ESP32_psRAM_LoBo), on mpota's C
# session. As there, every call returns True or False and prints why it
# failed; the session's refusals are printed in its own words.
#
#   start(url, port, file, md5, restart, forceFactory)
#       url: a host name ("example.com"; loboris called it `server`) or a
#       whole URL ("http://host:port/path"; then port and file are not
#       needed). file defaults to /MicroPython.bin. md5=True first fetches
#       <file>.md5 (32 hex digits) and the session checks the download
#       against it. A dropped connection resumes (HTTP Range).
#   fromfile(file, restart, forceFactory)
#       file on the device's filesystem; <file>.md5 is checked if present.
#   set_bootpart(name)
#       the app partition labelled name (verified first) boots next.
#
# forceFactory=True (loboris: a table with factory + ota_0 + ota_1) writes
# the factory app partition instead of the next OTA slot, then makes it boot
# next (otadata erased, as esp_ota_set_boot_partition(factory) does). Only
# from a running OTA slot: from the factory app itself it is refused, as
# loboris refused it, and so is a factory app that already boots next.
# A power cut while the factory app is written boots the running app; the
# switch erases the running app's otadata record last, so a cut there boots
# the running app or the new, verified factory app (docs/DESIGN.md).
import os

from ._mpota import mpota

from . import _engine


def _say(*args):
    print("ota:", *args)


def _md5_text(data):
    # The first 32 hex digits of a loboris .md5 side file (or `md5sum` output).
    t = data.strip()[:32]
    if len(t) != 32:
        return None
    try:
        int(t, 16)
    except ValueError:
        return None
    return t.decode() if isinstance(t, bytes) else t


_FACTORY = 0  # app subtype of the factory partition


def _target(forceFactory):
    # The session's target: None (the next OTA slot), or with forceFactory
    # the factory app's label (by subtype, whatever its label: loboris'
    # tables call it "MicroPython"). Two refusals come here first (ValueError,
    # nothing written), with advice the session's sentences lack; the session
    # refuses them as well.
    if not forceFactory:
        return None
    d = mpota.Device()
    try:
        apps = [r for r in d.partitions() if r[0] == mpota.TYPE_APP]
        running = d.running()
        for r in apps:
            if r[4] == running and r[1] == _FACTORY:
                raise ValueError("the factory app cannot be updated from itself")
        for r in apps:
            if r[1] == _FACTORY:
                if running and d.boot_partition() == r[4]:
                    # otadata selects no OTA app: a cut while the factory app
                    # is written would leave the bootloader only a broken app
                    # to start first.
                    raise ValueError("'%s' (the factory app) already starts at the next boot; "
                                     "select the running app first: set_bootpart('%s')"
                                     % (r[4], running))
                return r[4]
        raise ValueError("there is no factory partition")
    finally:
        d.close()


def _finish(u, restart):
    n = u.finish()
    u.set_boot()
    _say("%d bytes written to '%s' and verified; it starts at the next boot" % (n, u.target))
    u.close()
    if restart:
        import machine

        machine.reset()
    return True


def _run(work, restart):
    u = None
    try:
        u = work()
        return _finish(u, restart)
    except KeyboardInterrupt:
        if u:
            u.abort()
        raise
    except Exception as e:  # the loboris API answers False and logs why
        if u:
            u.abort()
            u.close()
        _say("update failed:", _engine.message(e))
        return False


def start(url, port=80, file=None, md5=False, restart=False, forceFactory=False, progress=None):
    if not url:
        raise TypeError("start() needs url= (the server)")
    if "://" in url:
        base = url
        if file:
            base = base.rstrip("/") + "/" + file.lstrip("/")
    else:
        name = file or "/MicroPython.bin"
        if not name.startswith("/"):
            name = "/" + name
        base = "http://%s:%d%s" % (url, port, name) if port != 80 else "http://%s%s" % (url, name)

    def work():
        digest = None
        if md5:
            from . import _http

            with _http.get(base + ".md5") as r:
                digest = _md5_text(r.read(128))
            if not digest:
                raise ValueError("%s.md5 holds no MD5 (32 hex digits)" % base)
            _say("expected MD5 %s" % digest)
        u = _engine.Updater(md5=digest, target=_target(forceFactory), progress=progress)
        _say("downloading %s into '%s'" % (base, u.target))
        try:
            u.fetch(base)
        except BaseException:
            u.close()
            raise
        return u

    return _run(work, restart)


def fromfile(file, restart=False, forceFactory=False, progress=None):
    def work():
        try:
            size = os.stat(file)[6]
        except OSError as e:
            raise OSError(e.errno, "cannot read %s" % file)
        digest = None
        try:
            with open(file + ".md5", "rb") as f:
                digest = _md5_text(f.read(128))
        except OSError:
            pass
        if digest:
            _say("checking against %s.md5" % file)
        u = _engine.Updater(size=size, md5=digest, target=_target(forceFactory), progress=progress)
        _say("writing %s (%d bytes) into '%s'" % (file, size, u.target))
        try:
            with open(file, "rb") as f:
                u.copy(f)
        except BaseException:
            u.close()
            raise
        return u

    return _run(work, restart)


def set_bootpart(name):
    d = mpota.Device()
    try:
        for r in d.partitions():
            if r[0] == mpota.TYPE_APP and r[4] == name:
                break
        else:
            _say("no app partition labelled '%s'" % name)
            return False
        d.set_boot(name)
        _say("the next boot starts '%s'" % name)
        return True
    except mpota.Error as e:
        _say("cannot boot '%s':" % name, _engine.message(e))
        return False
    finally:
        d.close()
