#!/usr/bin/env bash
# loboris' forceFactory=True (issue 10) on the twin, on the table loboris'
# BUILD.sh makes for flash of 8 MB and more: factory "MicroPython", ota_0
# "MicroPython_1", ota_1 "MicroPython_2" (written below as a CSV; its
# factory is not labelled "factory").
#
# * tests/mpy/ota_factory_force.py through four boots against its .exp:
#   refused from the factory app and while the running app is unconfirmed,
#   over HTTP with md5=True, from a file with restart=True, and the factory
#   app that then boots.
# * Each refusal leaves the flash file byte-identical and says why.
# * Power cuts: MPOTA_FLASH_FAIL_AFTER=N cuts the N-th erase or program of a
#   forced update (ota.fromfile(..., forceFactory=True, restart=True)), for
#   every N, from two otadata histories. After each cut a clean boot must
#   start, without falling back, the app otadata selected before the call
#   (the running app, or an update selected and not booted yet) while the
#   factory app is written and at the first otadata erase; the running app
#   once that erase is done (its record is erased last); and the new factory
#   app, byte-identical to the update, only when the cut hits the last
#   erase. The OTA slots stay byte-identical throughout.
#
# Takes the twin that ctest's twin_build fixture built (see twin_lib.sh).
# With OTA_STOCK=1 (test_twin_factory_stock.sh) it runs on stock firmware
# (twin_lib.sh: stock_mode), where the Python engine writes 64 KiB per
# program: fewer ops, so fewer cut points.
. "$(dirname "$0")/twin_lib.sh"
M=$MPOTA
stock_mode
if [ -n "${OTA_STOCK:-}" ]; then MIN_OPS=5 MID_OP=3; else MIN_OPS=40 MID_OP=20; fi

# --- files ------------------------------------------------------------------
cat >loboris.csv <<'EOF'
# factory + 2 OTA slots, as loboris' BUILD.sh lays them out (8 MB flash)
# Name,        Type, SubType, Offset,  Size
nvs,           data, nvs,     0x9000,  16K,
otadata,       data, ota,     0xd000,  8K,
phy_init,      data, phy,     0xf000,  4K,
MicroPython,   app,  factory, 0x10000, 1536K,
MicroPython_1, app,  ota_0,   ,        1536K,
MicroPython_2, app,  ota_1,   ,        1536K,
internalfs,    data, fat,     ,        3520K,
EOF
FACTORY=$((0x10000)) OTA0=$((0x190000)) OTA1=$((0x310000)) SLOT=$((0x180000))
mkdir -p www fsfiles
"$M" image build -o www/app-v3.bin --size 200000 --version v3.0.0 --seed 3 >/dev/null || fail "image build"
(cd www && md5sum app-v3.bin >app-v3.bin.md5)
cp www/app-v3.bin fsfiles/
cp "$IMG/app-v2.0.0-ota.bin" fsfiles/app-v2.bin
cp "$TESTS/appstate.py" fsfiles/

# --- an HTTP server for ota.start() -----------------------------------------
python3 - "$WORK/www" "$WORK/port" "$WORK/access.log" <<'EOF' &
import functools, http.server, socketserver, sys
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        with open(sys.argv[3], "a") as f:
            f.write("%s\n" % (fmt % args))
s = socketserver.TCPServer(("127.0.0.1", 0), functools.partial(H, directory=sys.argv[1]))
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
import os
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()
EOF
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
[ -s port ] || { echo "FAIL: the HTTP server did not start"; exit 1; }
PORT=$(cat port)

# --- helpers ------------------------------------------------------------------
# new_device: the table, app-v1.0.1 in the factory partition, otadata blank;
# the device's files: fsfiles/ and config.py.
new_device() {
  rm -rf fs dev.flash dev.flash.state && cp -r fsfiles fs && install_package fs
  echo "PORT = $PORT" >fs/config.py
  "$M" flash new dev.flash --size 8M --table loboris.csv --app "$IMG/app-v1.0.1.bin" >/dev/null ||
    fail "flash new"
}
# select LABEL: set-boot, reset, confirm -- as an update of LABEL would.
select_app() {
  "$M" flash set-boot dev.flash "$1" >/dev/null && "$M" flash boot dev.flash >/dev/null &&
    "$M" flash confirm dev.flash >/dev/null || fail "select $1"
}
# running_ota0: app-v2 in MicroPython_1 runs, confirmed; app-v1.0.1 in
# MicroPython_2. otadata: MicroPython_1 {3, VALID} in sector 0,
# MicroPython_2 {2, VALID} in sector 1 (three updates so far). ESP-IDF's
# set_boot(factory) erases sector 0 first: a cut after it would start
# MicroPython_2, neither the running app nor the new factory app.
running_ota0() {
  new_device
  "$M" flash write-slot dev.flash MicroPython_1 fs/app-v2.bin >/dev/null &&
    "$M" flash write-slot dev.flash MicroPython_2 "$IMG/app-v1.0.1.bin" >/dev/null || fail "write-slot"
  select_app MicroPython_1
  select_app MicroPython_2
  select_app MicroPython_1
}
part() { dd if="$1" bs=65536 skip=$(($2 / 65536)) count=$(($3 / 65536)) 2>/dev/null; }
status_is() {  # status_is WANT WHAT: running, boot, (label, valid, version, state) per slot
  local got
  "$M" flash status dev.flash --json >status.json || { fail "flash status"; return; }
  got=$(json_get status.json \
    '[j["running"], j["boot"]] + [(s["label"], s["valid"], s["version"], s["state"]) for s in j["slots"]]')
  [ "$got" = "$1" ] && ok || fail "device after $2: $got"
}

# --- loboris' API through four boots ------------------------------------------
new_device
expect_status 0 "$TWIN" --flash dev.flash --fs fs --max-boots 4 "$TESTS/ota_factory_force.py"
match_exp "$TESTS/ota_factory_force.py.exp"
[ ! -s "$WORK/err" ] && ok || fail "ota_factory_force wrote to stderr: $(head -3 "$WORK/err")"
grep -qxF "ota: update failed: the factory app cannot be updated from itself" "$WORK/out" && ok ||
  fail "no refusal from the factory app"
grep -qF "ota: update failed: the running app is still pending verification" "$WORK/out" && ok ||
  fail "no refusal while unconfirmed"
grep -qxF "ota: update failed: 'MicroPython' (the factory app) already starts at the next boot; select the running app first: set_bootpart('MicroPython_1')" \
  "$WORK/out" && ok || fail "no refusal while the factory app is the next boot"
grep -qF "\"GET /app-v3.bin.md5 " access.log && grep -qF "\"GET /app-v3.bin " access.log && ok ||
  fail "start(md5=True, forceFactory=True) did not fetch the .md5 and the app: $(cat access.log)"
status_is "['MicroPython_1', 'MicroPython_1', ('MicroPython', True, 'v3.0.0', None), ('MicroPython_1', True, 'v2.0.0-ota', 'PENDING_VERIFY'), ('MicroPython_2', False, None, None)]" \
  ota_factory_force
cmp -s <(part dev.flash $FACTORY $SLOT | head -c "$(stat -c %s www/app-v3.bin)") www/app-v3.bin && ok ||
  fail "the factory partition does not hold app-v3"

# --- refusals: nothing written -------------------------------------------------
cat >force.py <<'EOF'
import ota
print("forceFactory:", ota.fromfile("app-v3.bin", forceFactory=True))
EOF
# refused WHAT TEXT: force.py on dev.flash as it stands. The flash afterwards
# must be what the boot's bootloader alone leaves (`mpota flash boot` on a
# copy): the refusal wrote nothing.
refused() {
  cp dev.flash want.flash && cp dev.flash.state want.flash.state
  "$M" flash boot want.flash >/dev/null || fail "$1: flash boot"
  expect_status 0 "$TWIN" --flash dev.flash --fs fs --max-boots 1 force.py
  grep -qx "forceFactory: False" "$WORK/out" && ok || fail "$1: $(cat "$WORK/out")"
  grep -qF "ota: update failed: $2" "$WORK/out" && ok || fail "$1 says: $(cat "$WORK/out")"
  cmp -s dev.flash want.flash && ok || fail "$1 changed the flash"
}
new_device
refused "from the factory app" "the factory app cannot be updated from itself"
# The first boot of an update (the bootloader makes it PENDING_VERIFY).
new_device
"$M" flash write-slot dev.flash MicroPython_1 fs/app-v2.bin >/dev/null &&
  "$M" flash set-boot dev.flash MicroPython_1 >/dev/null || fail "set-boot MicroPython_1"
refused "unconfirmed" "the running app is still pending verification"
# A 2-slot table (loboris' OTA builds below 8 MB): no factory partition.
rm -rf fs dev.flash dev.flash.state && cp -r fsfiles fs && install_package fs
"$M" part make --layout ota --flash-size 4M -o ota.csv >/dev/null || fail "part make"
"$M" flash new dev.flash --size 4M --table ota.csv --app "$IMG/app-v1.0.1.bin" >/dev/null ||
  fail "flash new (ota)"
refused "2 OTA slots" "there is no factory partition"

# --- power cuts ---------------------------------------------------------------
# cuts WHAT SCRIPT PRE BEFORE: SCRIPT's forced update with a cut at every op,
# on the device as it stands (kept as pristine.*). Cuts 1..PRE (SCRIPT's own
# writes before the update) and at the first otadata erase of the switch
# boot the running app; the other ops of the factory write boot BEFORE (what
# otadata selected when the write began); the last erase (the running app's
# record) boots the new factory app.
cuts() {
  local what=$1 script=$2 pre=$3 before=$4 n st total=0 want
  local running="running MicroPython_1 v2.0.0-ota" factory="running MicroPython v3.0.0"
  local -a seen=()
  echo 'import mpota; d = mpota.Device(); print("running", d.running(), d.app_desc(d.running())[1])' \
    >fs/main.py
  cp dev.flash pristine.flash && cp dev.flash.state pristine.flash.state && rm -rf pristine.fs &&
    cp -r fs pristine.fs
  for n in $(seq 1 400); do
    rm -rf dev.flash dev.flash.state fs
    cp pristine.flash dev.flash && cp pristine.flash.state dev.flash.state && cp -r pristine.fs fs
    MPOTA_FLASH_FAIL_AFTER=$n "$TWIN" --flash dev.flash --fs fs --max-boots 2 "$script" >"$WORK/out" 2>&1
    st=$?
    if [ $st -ne 75 ]; then
      # No cut reached: the switch completed and boot 2 ran the new factory app.
      [ $st -eq 0 ] && grep -qx "$factory" "$WORK/out" && ok ||
        fail "$what: uncut forced update: status $st, $(cat "$WORK/out")"
      break
    fi
    total=$n
    expect_status 0 "$TWIN" --flash dev.flash --fs fs --max-boots 1
    seen[$n]=$(grep '^running ' "$WORK/out")
    # The OTA slots are untouched, whatever the cut hit.
    cmp -s <(part dev.flash $OTA0 $SLOT) <(part pristine.flash $OTA0 $SLOT) &&
      cmp -s <(part dev.flash $OTA1 $SLOT) <(part pristine.flash $OTA1 $SLOT) && ok ||
      fail "$what: a cut at op $n changed an OTA slot"
    if [ "${seen[$n]}" = "$factory" ]; then
      cmp -s <(part dev.flash $FACTORY $SLOT | head -c "$(stat -c %s www/app-v3.bin)") www/app-v3.bin &&
        ok || fail "$what: after a cut at op $n the factory app boots, but it is not app-v3"
    fi
  done
  [ "$total" -gt $((pre + MIN_OPS)) ] && ok || fail "$what: only $total cut points"
  for n in $(seq 1 "$total"); do
    if [ "$n" -le "$pre" ] || [ "$n" -eq $((total - 1)) ]; then
      want=$running
    elif [ "$n" -lt $((total - 1)) ]; then
      want=$before
    else
      want=$factory
    fi
    [ "${seen[$n]}" = "$want" ] && ok ||
      fail "$what: after a cut at op $n of $total: '${seen[$n]:-}', want '$want'"
  done
  cut_points=$((cut_points + total))
  local also=""
  [ "$pre" -gt 0 ] && also=" and 1-$pre"
  echo "power cuts, $what: $total cut points, each followed by a clean boot of" \
    "'${before#running }' (cuts $((pre + 1))-$((total - 2))), the running app" \
    "(cut $((total - 1))$also) or the new factory app (cut $total)"
}
cut_points=0
cat >force.py <<'EOF'
import ota
ota.fromfile("app-v3.bin", forceFactory=True, restart=True)
EOF
running_ota0
cuts "the running app's record in sector 0" force.py 0 "running MicroPython_1 v2.0.0-ota"
# After a cut while the factory app is written, the forced update done again
# completes.
rm -rf dev.flash dev.flash.state fs
cp pristine.flash dev.flash && cp pristine.flash.state dev.flash.state && cp -r pristine.fs fs
MPOTA_FLASH_FAIL_AFTER=$MID_OP "$TWIN" --flash dev.flash --fs fs --max-boots 2 force.py >/dev/null 2>&1
[ $? -eq 75 ] && ok || fail "no cut at op $MID_OP"
expect_status 0 "$TWIN" --flash dev.flash --fs fs --max-boots 2 force.py
grep -qx "running MicroPython v3.0.0" "$WORK/out" && ok || fail "redone after a cut: $(cat "$WORK/out")"

# An update to MicroPython_2 selected in the same boot and not booted: until
# the switch starts that choice stands (a complete, verified app); the switch
# erases its record first, the running app's last. set_bootpart() writes
# through a device of its own, and the emulator counts ops per open device:
# cuts 1-2 hit set_bootpart()'s write (erase and program of the inactive
# sector), cuts 3 on the forced update's ops 3 on (its ops 1-2 are cut in the
# history above).
cat >pending.py <<'EOF'
import ota
ota.set_bootpart("MicroPython_2")
ota.fromfile("app-v3.bin", forceFactory=True, restart=True)
EOF
running_ota0
cuts "an update pending" pending.py 2 "running MicroPython_2 v1.0.1"
echo "power cuts: $cut_points in all"

finish
