#!/usr/bin/env bash
# test_twin_smaller.sh on stock firmware (no mpota module): patches applied by
# the pure-Python _delta.py, gzip inflated by MicroPython's deflate module.
OTA_STOCK=1 exec bash "$(dirname "$0")/test_twin_smaller.sh"
