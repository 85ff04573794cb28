# Frozen into the twin, in both modes:
# * the boot sequence (_twin_boot.py) and the ESP32 modules OTA scripts use
#   (esp32, flashbdev, machine with reset()), written in Python over the mpota
#   C module;
# * what the ESP32 port freezes from MicroPython and micropython-lib
#   (ports/esp32/boards/manifest.py): asyncio, mip, requests, ssl, ...
# and, for C mode only (a firmware built with mpota), under the prefix
# mpota_firmware/, the `ota` package and the ota32 module (python/). C mode
# puts .frozen/mpota_firmware on sys.path; stock mode does not, so there they
# exist only once installed into /lib (mip). Relative paths resolve from this
# file.
freeze("../modules")

include("$(MPY_DIR)/extmod/asyncio")
require("bundle-networking")
require("aioespnow")
require("dht")
require("ds18x20")
require("neopixel")
require("onewire")
require("umqtt.robust")
require("umqtt.simple")
require("upysh")

package("mpota_firmware/ota", base_path="$(TWIN_FIRMWARE_LIB)")
module("mpota_firmware/ota32.py", base_path="$(TWIN_FIRMWARE_LIB)")
