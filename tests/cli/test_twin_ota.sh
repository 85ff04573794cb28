#!/usr/bin/env bash
# The `ota` package (python/ota, python/ota32.py) frozen into the MicroPython
# twin, used as each API's documentation shows it: glenn20's ota.update /
# ota.rollback / ota.status, loboris' ota.start / fromfile / set_bootpart and
# ota32's OTA(...).ota(url, sha), from files on the device and over HTTP from
# a real nginx on 127.0.0.1 (tests/integration/nginx_rig.sh), with
# connections cut, reset or stalled mid-download by tests/integration/cut_proxy.py.
#
# Each tests/mpy/ota_*.py runs through the twin's reboot loop against its
# .exp (a line "########" there matches any number of lines: the APIs'
# verbose chatter, whose wording is ours). Around them the shell checks what
# the scripts cannot see: that a refused firmware.bin leaves the flash
# byte-identical and the old app boots, that the refusal text is the CLI's
# (the core's) unchanged, what nginx was asked for (Range, 206 / 200), and
# that a power cut at any flash operation of an update is followed by a
# clean boot of the old app.
#
# Takes the twin that ctest's twin_build fixture built (see twin_lib.sh).
# With OTA_STOCK=1 (test_twin_ota_stock.sh) everything runs on stock
# firmware instead (twin_lib.sh: stock_mode).
. "$(dirname "$0")/twin_lib.sh"
RIG=$SRC/tests/integration
M=$MPOTA
stock_mode

# --- files ------------------------------------------------------------------
# www/ (nginx's docroot): the new app (and its manifest, .sha and .md5 side
# files), a 1.4 MB app for the resume tests, a full firmware.bin, and under
# bad/ the same app with side files that do not match it.
mkdir -p www/bad fsfiles/fw fsfiles/bad run
make_firmware www/firmware.bin
cp "$IMG/app-v2.0.0-ota.bin" www/app-v2.bin
"$M" image build -o www/app-v3.bin --size 1400000 --version v3.0.0 --seed 3 >/dev/null || fail "image build"
(cd www && "$M" manifest make app-v2.bin -o app-v2.json >/dev/null &&
  "$M" manifest make firmware.bin -o firmware.json >/dev/null 2>&1 ||
  printf '{"firmware": "firmware.bin", "sha": "%s", "length": %d}\n' \
    "$(sha256sum firmware.bin | cut -c1-64)" "$(stat -c %s firmware.bin)" >firmware.json) ||
  fail "manifest make"
for f in app-v2.bin app-v3.bin; do
  (cd www && sha256sum "$f" >"$f.sha" && md5sum "$f" >"$f.md5")
done
# firmware.bin at the official v1.23.0 size (1.7 MB): its Content-Length
# alone exceeds the 1.5 MiB slot.
head -c $((0xF000)) www/firmware.bin >www/bigfw.bin
"$M" image build -o big-app.bin --size 1672800 --version '' --project '' --micropython 1.23.0 \
  >/dev/null || fail "image build big-app"
cat big-app.bin >>www/bigfw.bin
cp www/app-v2.bin www/bad/app-v2.bin
echo "00000000000000000000000000000000  app-v2.bin" >www/bad/app-v2.bin.md5
# The device's own files: the same images, a manifest beside its firmware.
cp www/app-v2.bin www/firmware.bin fsfiles/
cp www/app-v2.bin www/app-v2.bin.md5 www/app-v2.json fsfiles/fw/
cp "$TESTS/appstate.py" fsfiles/
cp www/bad/app-v2.bin www/bad/app-v2.bin.md5 fsfiles/bad/
sha() { sha256sum "$1" | cut -c1-64; }

# The refusal the CLI prints for firmware.bin: the core's sentence, which
# every API must pass on unchanged, then the command that extracts the app,
# which only the CLI adds.
"$M" flash new cli.flash --size 4M --table table.bin --app "$IMG/app-v1.0.1.bin" >/dev/null
"$M" flash update cli.flash www/firmware.bin >/dev/null 2>"$WORK/cli.err"
CLI_COMBINED=$(sed -n 's/^mpota: //p' "$WORK/cli.err" | head -1)
COMBINED=${CLI_COMBINED% (\`mpota image extract-app\`)}
case "$CLI_COMBINED" in
  *"full flash image"*" (\`mpota image extract-app\`)") ok ;;
  *) fail "CLI refusal of firmware.bin: $(cat "$WORK/cli.err")" ;;
esac

# --- nginx and the cutting proxies ---------------------------------------------
if ! ports=$(bash "$RIG/nginx_rig.sh" start "$WORK/run" "$WORK/www" $$ 600 2>"$WORK/rig.err"); then
  status=$?
  if [ "$status" -eq 77 ]; then echo "SKIPPED: nginx not installed"; exit 77; fi
  cat "$WORK/rig.err"; echo "FAIL: nginx rig did not start"; exit 1
fi
PROXIES=()
trap 'bash "$RIG/nginx_rig.sh" stop "$WORK/run" >/dev/null 2>&1; for p in "${PROXIES[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT
read -r PORT _ <<<"$ports"
proxy CUT1 --cut-after 300000 --cut-conns 2  # glenn20 from_file: resumed twice
proxy CUT2 --cut-after 300000 --cut-conns 1  # glenn20 /norange/: restarted from 0
proxy CUT3 --cut-after 300000 --cut-conns 2  # loboris start(md5=True): .md5, then a cut
proxy CUT4 --cut-after 200000 --cut-conns 1 --mode rst  # ota32: a TCP reset
proxy CUT5 --cut-after 300000 --cut-conns 1 --mode stall  # glenn20, timeout=2: a stall
proxy CUT6 --cut-after 300 --cut-conns 1  # /norange/ cut inside the image header

# --- helpers ----------------------------------------------------------------
# new_device: the 4 MiB "ota" layout, app-v1.0.1 in ota_0, booted once
# (so its otadata holds {1, VALID} and a twin boot writes nothing more); the
# device's filesystem holds fsfiles/ and config.py.
new_device() {
  rm -rf fs dev.flash dev.flash.state && cp -r fsfiles fs && install_package fs
  "$M" flash new dev.flash --size 4M --table table.bin --app "$IMG/app-v1.0.1.bin" >/dev/null ||
    fail "flash new"
  "$M" flash boot dev.flash >/dev/null || fail "flash boot"
  cat >fs/config.py <<EOF
# Written by tests/cli/test_twin_ota.sh for this run.
PORT = $PORT
BASE = "http://127.0.0.1:$PORT"
CUT1 = "http://127.0.0.1:$CUT1"
CUT2 = "http://127.0.0.1:$CUT2"
CUT3 = $CUT3
CUT4 = "http://127.0.0.1:$CUT4"
CUT5 = "http://127.0.0.1:$CUT5"
CUT6 = "http://127.0.0.1:$CUT6"
SHA = "$(sha www/app-v2.bin)"
LEN = $(stat -c %s www/app-v2.bin)
SHA3 = "$(sha www/app-v3.bin)"
LEN3 = $(stat -c %s www/app-v3.bin)
SHA_FW = "$(sha www/firmware.bin)"
COMBINED = """$COMBINED"""
EOF
}

# run_script NAME MAX_BOOTS [STATUS]: tests/mpy/NAME.py through the twin,
# exit STATUS (0), output against NAME.py.exp, nothing on stderr.
run_script() {
  expect_status "${3:-0}" "$TWIN" --flash dev.flash --fs fs --max-boots "$2" "$TESTS/$1.py"
  [ -n "${OTA_KEEP:-}" ] && cp "$WORK/out" "$OTA_KEEP/$1.out"
  match_exp "$TESTS/$1.py.exp"
  [ ! -s "$WORK/err" ] && ok || fail "$1 wrote to stderr: $(head -3 "$WORK/err")"
}

# device_is WANT: what `mpota flash status` says: running, boot, and per slot
# (label, holds a valid image, its version, its otadata state).
device_is() {
  local got
  "$M" flash status dev.flash --json >"$WORK/status.json" || { fail "flash status"; return; }
  got=$(json_get "$WORK/status.json" \
    '[j["running"], j["boot"]] + [(s["label"], s["valid"], s["version"], s["state"]) for s in j["slots"]]')
  [ "$got" = "$1" ] && ok || fail "device after $2: $got"
}
slot_is() { cmp -s <(dd if=dev.flash bs=65536 skip=$(($2 / 65536)) 2>/dev/null | head -c "$(stat -c %s "$1")") "$1"; }
access() { grep -c -- "$1" run/access.log; }
boots_old_app() {  # one more boot: main.py (if any) aside, ota_0 must run
  rm -f fs/main.py
  echo 'import mpota; print("running", mpota.Device().running())' >fs/main.py
  expect_status 0 "$TWIN" --flash dev.flash --fs fs --max-boots 1
  grep -qx "running ota_0" "$WORK/out" && ok || fail "after $1 the old app does not boot: $(cat "$WORK/out")"
}

# --- glenn20's API, files on the device ---------------------------------------
new_device
run_script ota_update_file 4
slot_is www/app-v2.bin $((0x190000)) && ok || fail "ota_1 does not hold app-v2 after ota_update_file"
grep -q "'ota_1'" "$WORK/out" && ok || fail "verbose output never names ota_1"
grep -q "ota.rollback.cancel()" "$WORK/out" && ok || fail "verbose output does not say to confirm"
grep -q "$(sha www/app-v2.bin)" "$WORK/out" && ok || fail "verbose output lacks the SHA-256"
# force() had selected ota_0; cancel_force() selected the running ota_1 again
# by dropping that pending record, so ota_1's own VALID record is active (ESP-IDF
# would write a second ota_1 record over ota_0's, state NEW).
device_is "['ota_1', 'ota_1', ('ota_0', True, 'v1.0.1', None), ('ota_1', True, 'v2.0.0-ota', 'VALID')]" \
  ota_update_file

# --- glenn20's API over HTTP ------------------------------------------------------
: >run/access.log
new_device
run_script ota_update_http 4
slot_is www/app-v2.bin $((0x190000)) && ok || fail "ota_1 does not hold app-v2 after ota_update_http"
# Several updates into ota_1 before the reboot each replaced the pending
# record in place: ota_0's VALID record, the rollback target, survived them
# (ESP-IDF issue #14688 would have overwritten it).
device_is "['ota_1', 'ota_1', ('ota_0', True, 'v1.0.1', 'VALID'), ('ota_1', True, 'v2.0.0-ota', 'VALID')]" \
  ota_update_http
# Two cuts (CUT1) and a stall (CUT5), each resumed where the flash write
# stopped (206), no restart.
[ "$(grep -c 'cut after' CUT1.log)" -eq 2 ] && ok || fail "CUT1 cut $(grep -c 'cut after' CUT1.log) times"
[ "$(grep '/files/app-v3.bin range=bytes=[1-9][0-9]*- .*status=206' run/access.log | wc -l)" -eq 3 ] && ok ||
  fail "not three resumed range requests: $(grep app-v3 run/access.log)"
# /norange/: the resume request was answered 200 and the session restarted.
grep -q '/norange/app-v3.bin range=bytes=[1-9][0-9]*- .*status=200' run/access.log && ok ||
  fail "no range request to /norange/: $(grep norange run/access.log)"
grep -q '/norange/app-v2.bin range=bytes=[1-9][0-9]*- .*status=200' run/access.log && ok ||
  fail "no resume inside the image header: $(grep norange/app-v2 run/access.log)"
grep -q 'stalled after 300000' CUT5.log && ok || fail "CUT5 did not stall: $(cat CUT5.log)"
grep -q '^GET /auth/app-v2.bin range=- ifrange=- status=401' run/access.log && ok || fail "no 401 without credentials"
[ "$(grep -c '^GET /auth/app-v2.bin .*status=200' run/access.log)" -eq 2 ] && ok || fail "basic auth not sent twice"
# The manifest was read, then its relative firmware name.
grep -q '^GET /files/app-v2.json ' run/access.log && grep -q '^GET /files/app-v2.bin ' run/access.log &&
  ok || fail "from_json did not fetch the manifest and the firmware"

# --- loboris' API ---------------------------------------------------------------------
: >run/access.log
new_device
run_script ota_loboris 3
grep -qxF "ota: update failed: $COMBINED" "$WORK/out" && ok || fail "loboris fromfile did not print the core's refusal"
grep -q '^GET /files/app-v2.bin.md5 ' run/access.log && ok || fail "start(md5=True) did not fetch <file>.md5"
grep -q '/files/app-v3.bin range=bytes=[1-9][0-9]*- .*status=206' run/access.log && ok || fail "loboris: no resume"
device_is "['ota_1', 'ota_0', ('ota_0', True, 'v1.0.1', 'NEW'), ('ota_1', True, 'v2.0.0-ota', 'VALID')]" \
  ota_loboris

# --- ota32's API --------------------------------------------------------------------
: >run/access.log
new_device
run_script ota_ota32 3
grep -q '/files/app-v3.bin range=bytes=[1-9][0-9]*- .*status=206' run/access.log && ok || fail "ota32: no resume"
grep -q 'reset after 200000' CUT4.log && ok || fail "CUT4 did not reset: $(cat CUT4.log)"
slot_is www/app-v2.bin $((0x190000)) && ok || fail "ota_1 does not hold app-v2 after ota_ota32"

# --- a factory + OTA layout (loboris' kind) --------------------------------------------
rm -rf fs dev.flash dev.flash.state && mkdir fs && cp www/app-v2.bin "$TESTS/appstate.py" fs/ && install_package fs
"$M" part make --layout ota-factory --flash-size 8M -o factory.csv >/dev/null || fail "part make ota-factory"
"$M" flash new dev.flash --size 8M --table factory.csv --app "$IMG/app-v1.0.1.bin" >/dev/null || fail "flash new"
run_script ota_factory 4
grep -qF "ota.rollback.cancel(): nothing to confirm:" "$WORK/out" && ok || fail "cancel() on factory"
grep -qF "ota: update failed: the factory app cannot be updated from itself" "$WORK/out" && ok ||
  fail "forceFactory from the factory app"
device_is "['factory', 'factory', ('factory', True, 'v2.0.0-ota', None), ('ota_0', True, 'v2.0.0-ota', None), ('ota_1', False, None, None)]" \
  ota_factory

# --- a full firmware.bin, through every API: refused, flash byte-identical ----------
new_device
cp dev.flash before.flash
run_script ota_refuse 1 1
cmp -s dev.flash before.flash && ok || fail "a refused firmware.bin changed the flash"
grep -qxF "ota: update failed: $COMBINED" "$WORK/out" && ok || fail "loboris did not print the core's refusal unchanged"
grep -qF "$COMBINED" "$WORK/out" && ok || fail "the uncaught refusal does not carry the core's text"
boots_old_app "the refusals"

# --- the HTTP client on its own (no network) -------------------------------------------
new_device
run_script ota_http 1

# --- a power cut at every flash operation of an ota.update.from_file() -------------------
# Boot 1 writes app-v2 (glenn20's from_file, reboot=True); main.py prints what
# runs. MPOTA_FLASH_FAIL_AFTER=N cuts the N-th erase or program of a process;
# the twin exits 75, and the next clean boot must start the old app.
new_device
cat >update.py <<'EOF'
import ota.update
import config
ota.update.REBOOT_DELAY = 0
ota.update.from_file("app-v2.bin", sha=config.SHA, verbose=False)
EOF
MIN_CUTS=10
if [ -n "${OTA_STOCK:-}" ]; then
  # The Python engine writes 64 KiB per program: the 1.4 MB app gives as
  # many cut points as the C engine's 4 KiB writes of app-v2.
  cp www/app-v3.bin fs/ && sed -i 's|"app-v2.bin", sha=config.SHA,|"app-v3.bin", sha=config.SHA3,|' update.py
  MIN_CUTS=20
fi
power_cuts 300 update.py
echo "power cuts: $cuts cut points in ota.update.from_file(), each followed by a clean boot of the old app"
[ $cuts -ge $MIN_CUTS ] && ok || fail "only $cuts cut points"

# A cut in the middle of an HTTP download (C engine: op 10, a few 4 KiB
# programs in; Python engine: op 1, the first 64 KiB program, 14 KiB before
# the end of the download).
new_device
sed -i 's|"app-v3.bin", sha=config.SHA3,|"app-v2.bin", sha=config.SHA,|; s|"app-v2.bin"|config.BASE + "/files/app-v2.bin"|' update.py
echo 'import mpota; print("running", mpota.Device().running())' >fs/main.py
MPOTA_FLASH_FAIL_AFTER=$([ -n "${OTA_STOCK:-}" ] && echo 1 || echo 10) \
  "$TWIN" --flash dev.flash --fs fs --max-boots 3 update.py >"$WORK/out" 2>&1
[ $? -eq 75 ] && ok || fail "no power cut during the HTTP update: $(cat "$WORK/out")"
boots_old_app "a cut during an HTTP download"
# The same update again, without a cut: the half-written slot is no obstacle.
expect_status 0 "$TWIN" --flash dev.flash --fs fs --max-boots 3 update.py
grep -qx "running ota_1" "$WORK/out" && ok || fail "the update after a cut: $(cat "$WORK/out")"

finish
