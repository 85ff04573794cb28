# Frozen into the twin: the boot sequence (_twin_boot.py) and the ESP32
# modules OTA scripts use (esp32, flashbdev, machine with reset()), written in
# Python over the mpota C module; and the `ota` package with the `ota32`
# module (python/), as a device would have them in /lib after `mip install`.
# Relative paths resolve from this file.
freeze("../modules")
package("ota", base_path="../../../python")
module("ota32.py", base_path="../../../python")
