# A full firmware.bin (bootloader + partition table + app, as
# micropython.org ships it) given to every API: each refuses it before
# anything is erased, with the core's sentence unchanged (config.COMBINED is
# what the CLI prints for the same file). The test then checks the flash is
# byte-identical and the old app boots.
import mpota
import ota
import ota.update
from ota32 import OTA

import config

B = config.BASE


def show(name, f):
    try:
        print(name, "returned", f())
    except Exception as e:
        text = e.args[1] if len(e.args) > 1 else None
        print(name, type(e).__name__, isinstance(e, OSError), text == config.COMBINED)


def stream():
    with ota.update.OTA(verbose=False) as o:
        with open("firmware.bin", "rb") as f:
            return o.from_stream(f)


def write():
    with ota.update.OTA(verbose=False) as o:
        with open("firmware.bin", "rb") as f:
            while True:
                b = f.read(100)
                if not b:
                    break
                o.write(b)


show("from_file:", lambda: ota.update.from_file("firmware.bin", verbose=False))
show("from_file http:", lambda: ota.update.from_file(B + "/files/firmware.bin", verbose=False))
show("from_json http:", lambda: ota.update.from_json(B + "/files/firmware.json", verbose=False))
show("from_stream:", stream)
show("write:", write)
# Its size known before the first byte and larger than the slot (a length
# argument, an HTTP Content-Length of the 1.7 MB official size): still the
# extract-the-app sentence, never "use bigger slots".
show("length given:", lambda: ota.update.from_file("firmware.bin", length=2 * 1024 * 1024,
                                                   verbose=False))
show("1.7 MB http:", lambda: ota.update.from_file(B + "/files/bigfw.bin", verbose=False))
show("ota32 file:", lambda: OTA().ota("firmware.bin", config.SHA_FW))
show("ota32 http:", lambda: OTA().ota(B + "/files/firmware.bin", config.SHA_FW))
show("fromfile:", lambda: ota.fromfile("firmware.bin"))
show("start:", lambda: ota.start(url="127.0.0.1", port=config.PORT, file="/files/firmware.bin"))
d = mpota.Device()
print(d.running(), d.boot_partition(), d.otadata())
# Uncaught, as a script on the device would leave it: the traceback's last
# line carries the code and the sentence.
ota.update.from_file("firmware.bin")
