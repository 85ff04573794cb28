#!/usr/bin/env bash
# test_twin_ota.sh on stock firmware: `mpota-twin --stock`, the `ota` package
# from the device's /lib on its pure-Python engine (python/ota/_stock.py).
# The same scripts, the same expected output, the same power cuts.
OTA_STOCK=1 . "$(dirname "$0")/test_twin_ota.sh"
