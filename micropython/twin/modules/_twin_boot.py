# One boot of the twin. mpota-twin has already run the bootloader's selection
# on the flash and started this fresh MicroPython process in the device's
# filesystem folder. From here on it is what an ESP32 firmware does after a
# reset: the filesystem at "/", sys.path ['', '.frozen', '/lib'], boot.py,
# then main.py -- or, on the first boot, the script given to mpota-twin.
# In C mode (a firmware built with mpota) the frozen `ota` package and ota32
# are found through '.frozen/mpota_firmware', after '.frozen'; stock mode
# (mpota-twin --stock) leaves that entry out: scripts find them only in /lib.
#
# The process exit status is the boot's: 0, 1 after an uncaught exception
# (the traceback is printed to stdout, as on the device's console), or the
# code given to sys.exit(). machine.reset() ends the process at once with the
# status the launcher reads as "reset" (mpota.restart, port_unix.c).
import io
import os
import sys
import vfs

import _twin


def _read(path):
    with open(path) as f:
        return f.read()


def _print_exception(e):
    # The traceback as the device prints it: without this module's frame.
    buf = io.StringIO()
    sys.print_exception(e, buf)
    lines = buf.getvalue().split("\n")
    print("\n".join(line for line in lines if '"_twin_boot.py"' not in line), end="")


def _run(name, src, env):
    # Runs one file as the device does. Returns (ended, status): an uncaught
    # exception is printed and counts as status 1 but the boot goes on (the
    # device runs main.py after a failing boot.py); SystemExit ends the boot.
    try:
        exec(compile(src, name, "exec"), env)
    except SystemExit as e:
        code = e.args[0] if e.args else None
        if code is None:
            return True, 0
        if isinstance(code, int):
            return True, code
        print(code)
        return True, 1
    except BaseException as e:  # KeyboardInterrupt too
        _print_exception(e)
        return False, 1
    return False, 0


def _boot():
    script = os.getenv("MPOTA_TWIN_SCRIPT")
    src = _read(script) if script else None  # read before "/" changes meaning

    # The folder becomes the device's filesystem root.
    root = os.getcwd()
    vfs.umount("/")
    vfs.mount(vfs.VfsPosix(root), "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib"] if _twin.stock() else [
        "", ".frozen", ".frozen/mpota_firmware", "/lib"]
    sys.argv[:] = []
    if not os.listdir("/"):
        # A new, empty filesystem: an ESP32 firmware formats it and writes a
        # boot.py (MicroPython's inisetup.py); scripts expect to find one.
        with open("boot.py", "w") as f:
            f.write("# boot.py: runs on every boot, before main.py\n")

    env = {"__name__": "__main__"}  # boot.py and main.py share it, as on the device
    status = 0
    try:
        boot_src = _read("boot.py")
    except OSError:
        boot_src = None
    if boot_src is not None:
        ended, status = _run("boot.py", boot_src, env)
        if ended:
            return status
    if src is None:
        try:
            src, script = _read("main.py"), "main.py"
        except OSError:
            return status
    ended, rc = _run(script, src, env)
    return rc if ended or rc else status


sys.exit(_boot())
