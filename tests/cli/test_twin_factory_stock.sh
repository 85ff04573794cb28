#!/usr/bin/env bash
# test_twin_factory.sh on stock firmware: `mpota-twin --stock`, loboris'
# forceFactory through the package's pure-Python engine (python/ota/_stock.py).
OTA_STOCK=1 . "$(dirname "$0")/test_twin_factory.sh"
