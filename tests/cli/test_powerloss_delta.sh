#!/usr/bin/env bash
# test_powerloss.sh with a delta update: a detools patch applied onto the
# running app, cut at every one of its flash operations.
POWERLOSS_DELTA=1 exec bash "$(dirname "$0")/test_powerloss.sh"
