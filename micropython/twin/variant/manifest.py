# Frozen into the twin: the boot sequence (_twin_boot.py) and the ESP32
# modules OTA scripts use (esp32, flashbdev, machine with reset()), written in
# Python over the mpota C module. Relative paths resolve from this file.
freeze("../modules")
