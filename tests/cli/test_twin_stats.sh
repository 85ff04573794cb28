#!/usr/bin/env bash
# mpota-twin --stats FILE (issue 10, item 4): JSON for the whole run, every
# boot and every bootloader run, in both twin modes. Checked with real
# numbers:
# * a script that writes ota_1 through esp32.Partition -- one 64 KiB block,
#   sectors through ioctl(6) and writeblocks, programs of known sizes, a read
#   -- then resets, and a second boot that erases one more sector: the
#   boots' share (total minus the bootloader's) is exactly that plus one
#   partition-table read per mpota.Device, and the bootloader's share is the
#   initial otadata record of a new device; the same run without the writes
#   differs by exactly the writes; modeled_s is the flash model over the
#   counts;
# * several Devices in one boot (closed, collected, left open at a reset)
#   are all counted;
# * peak_heap: null without a flash operation from MicroPython, and it sees
#   a 200 kB buffer that is live at a flash operation;
# * runs that end with an uncaught exception, --max-boots, a power cut in a
#   boot or in the bootloader (MPOTA_FLASH_FAIL_AFTER) still write FILE;
# * bad paths are refused before the first boot.
#
# Takes the twin that ctest's twin_build fixture built (see twin_lib.sh).
. "$(dirname "$0")/twin_lib.sh"

TABLE_READ=3072  # every mpota.Device reads the partition table (0xC00 bytes) when it opens

"$MPOTA" part make --layout ota --flash-size 4M -o table.csv >/dev/null || fail "part make"
"$MPOTA" flash new pristine.flash --size 4M --table table.csv --app "$IMG/app-v1.0.1.bin" \
  >/dev/null || fail "flash new"
# A device that has booted once: its bootloader writes nothing any more.
cp pristine.flash booted.flash && "$MPOTA" flash boot booted.flash >/dev/null || fail "flash boot"

# fresh [booted]: dev.flash as esptool leaves it (or booted once), an empty fs/.
fresh() {
  rm -rf fs dev.flash dev.flash.state && mkdir fs
  if [ "${1:-}" = booted ]; then
    cp booted.flash dev.flash && cp booted.flash.state dev.flash.state
  else
    cp pristine.flash dev.flash
  fi
}

# get FILE EXPR: a Python expression on the JSON `j`.
get() { json_get "$1" "$2" 2>&1; }
# want FILE EXPR VALUE
want() {
  local got; got=$(get "$1" "$2")
  if [ "$got" = "$3" ]; then ok; else fail "$(basename "$1"): $2 = '$got', want '$3'"; fi
}

# The flash model (src/host/flash_model.c, W25Q32JV) over a counts object.
MODEL='lambda c: 0.045 * c["sector_erases"] + 0.150 * c["block_erases"] + 0.0004 * c["program_pages"] + c["bytes_read"] / 6.65e6'
# modeled_consistent FILE: modeled_s of the run and of the bootloader's share
# are the model over their counts (the JSON has 6 decimals).
modeled_consistent() {
  want "$1" "all(abs(c['modeled_s'] - ($MODEL)(c)) < 2e-6 for c in (j, j['bootloader']))" True
}

# The boots' share: the run's counts minus the bootloader's.
VM='{k: j[k] - j["bootloader"][k] for k in ("sector_erases", "block_erases", "programs", "program_bytes", "program_pages", "reads", "bytes_read")}'

# --- the same writes, counted exactly, in both modes, across a reset ---------
cat >work.py <<'EOF'
import esp32, machine
p = esp32.Partition("ota_1")  # 64 KiB-aligned, like every app slot
buf = bytearray(b"\x5a" * 65536)
p.writeblocks(0, buf)                       # 1 block erase, 1 program of 65536
p.ioctl(6, 16)                              # 1 sector erase
p.ioctl(6, 17)                              # 1 sector erase
p.writeblocks(18, memoryview(buf)[:8192])   # 2 sector erases, 1 program of 8192
p.writeblocks(16, b"\xa5" * 100, 0)         # 1 program of 100 (no erase)
r = bytearray(4096)
p.readblocks(0, r)                          # 1 read of 4096
assert r == buf[:4096]
machine.reset()
EOF
cat >work_main.py <<'EOF'
import esp32
esp32.Partition("ota_1").ioctl(6, 20)       # boot 2: 1 sector erase
print("boot 2")
EOF
cat >base.py <<'EOF'
import esp32, machine
p = esp32.Partition("ota_1")
machine.reset()
EOF
printf 'import esp32\nesp32.Partition("ota_1")\nprint("boot 2")\n' >base_main.py

for mode in c stock; do
  flag=; [ $mode = stock ] && flag=--stock
  for run in base work; do
    fresh && cp ${run}_main.py fs/main.py
    expect_status 0 "$TWIN" --flash dev.flash --fs fs $flag --max-boots 3 --stats $run-$mode.json $run.py
    [ "$(cat "$WORK/out")" = "boot 2" ] && ok || fail "$mode $run: $(cat "$WORK/out")"
    f=$run-$mode.json
    want $f 'j["boots"], j["exit_status"], j["flash_opens"]' '(2, 0, 4)'
    # The bootloader of a new device writes otadata's initial record once:
    # one sector erase, one 32-byte entry; boot 2's writes nothing.
    want $f '[j["bootloader"][k] for k in ("sector_erases", "block_erases", "programs", "program_bytes", "program_pages")]' \
      '[1, 0, 1, 32, 1]'
    modeled_consistent $f
    want $f 'type(j["peak_heap"]) is int and j["peak_heap"] > 0 and j["heap_samples"] > 0' True
  done
  # The boots' own share, absolute: one table read per Device (one per boot)...
  want base-$mode.json "$VM" \
    "{'sector_erases': 0, 'block_erases': 0, 'programs': 0, 'program_bytes': 0, 'program_pages': 0, 'reads': 2, 'bytes_read': $((2 * TABLE_READ))}"
  # ... plus what work.py and its main.py did: 65536 + 8192 + 100 bytes in
  # 256 + 32 + 1 pages, 4 + 1 sector erases, one 4 KiB read.
  want work-$mode.json "$VM" \
    "{'sector_erases': 5, 'block_erases': 1, 'programs': 3, 'program_bytes': 73828, 'program_pages': 289, 'reads': 3, 'bytes_read': $((2 * TABLE_READ + 4096))}"
  # The bootloader did the same in both runs, reads included.
  [ "$(get base-$mode.json 'j["bootloader"]')" = "$(get work-$mode.json 'j["bootloader"]')" ] && ok ||
    fail "$mode: the bootloader's share differs between the runs"
  # The writes' device time: a block erase, 5 sector erases, 289 pages, 4 KiB read.
  d=$(python3 -c "import json; a, b = (json.load(open(f)) for f in ('base-$mode.json', 'work-$mode.json'))
print(abs((b['modeled_s'] - a['modeled_s']) - (0.150 + 5 * 0.045 + 289 * 0.0004 + 4096 / 6.65e6)) < 4e-6)")
  [ "$d" = True ] && ok || fail "$mode: modeled_s of the writes"
done
# The counts are the mode's business only through what the scripts did.
[ "$(get work-c.json "$VM")" = "$(get work-stock.json "$VM")" ] && ok || fail "the modes count differently"
echo "a sample run (work.py, stock mode):"
cat work-stock.json

# --- every Device of a boot counts ------------------------------------------------
# Closed, dropped and collected (its finaliser closes it), and left open when
# the boot resets: three Devices, three table reads, and the 100-byte read.
fresh booted
cat >devices.py <<'EOF'
import gc, machine, mpota
a = mpota.Device()
a.close()
b = mpota.Device()
b = None
gc.collect()
c = mpota.Device()
c.read("ota_1", 0, bytearray(100))
machine.reset()
EOF
expect_status 86 "$TWIN" --flash dev.flash --fs fs --max-boots 1 --stats devices.json devices.py
want devices.json 'j["boots"], j["exit_status"], j["flash_opens"]' '(1, 86, 4)'
want devices.json "$VM" \
  "{'sector_erases': 0, 'block_erases': 0, 'programs': 0, 'program_bytes': 0, 'program_pages': 0, 'reads': 4, 'bytes_read': $((3 * TABLE_READ + 100))}"
want devices.json '[j["bootloader"][k] for k in ("sector_erases", "block_erases", "programs")]' '[0, 0, 0]'

# --- peak_heap ------------------------------------------------------------------
# Without a flash operation from MicroPython there is no sample: null.
fresh booted
printf 'print("no flash")\n' >noflash.py
expect_status 0 "$TWIN" --flash dev.flash --fs fs --stats noflash.json noflash.py
want noflash.json 'j["peak_heap"], j["heap_samples"], j["boots"], j["flash_opens"]' '(None, 0, 1, 1)'
# A 200 kB buffer live at a read is in the peak; freed before it, it is not
# (the sample is the live heap, after a collection).
printf 'import esp32\np = esp32.Partition("ota_1")\nbig = bytearray(200000)\np.readblocks(0, bytearray(16))\n' >live.py
printf 'import esp32\np = esp32.Partition("ota_1")\nbig = bytearray(200000)\nbig = None\np.readblocks(0, bytearray(16))\n' >freed.py
for m in live freed; do
  expect_status 0 "$TWIN" --flash dev.flash --fs fs --stock --stats $m.json $m.py
done
live=$(get live.json 'j["peak_heap"]') freed=$(get freed.json 'j["peak_heap"]')
[ "$live" -ge 200000 ] 2>/dev/null && ok || fail "peak_heap $live misses a live 200 kB buffer"
[ $((live - freed)) -ge 195000 ] 2>/dev/null && [ "$freed" -lt 200000 ] && ok ||
  fail "peak_heap: live $live, freed $freed"
echo "peak_heap: $live B with a 200 kB buffer live, $freed B without"

# --- runs that end otherwise still write FILE ---------------------------------------
# An uncaught exception after one sector erase.
fresh booted
printf 'import esp32\nesp32.Partition("ota_1").ioctl(6, 0)\n1 / 0\n' >raise.py
expect_status 1 "$TWIN" --flash dev.flash --fs fs --stock --stats raise.json raise.py
want raise.json 'j["exit_status"], j["sector_erases"], j["boots"]' '(1, 1, 1)'

# A power cut in a boot: the 2nd erase-or-program of work.py (the 64 KiB
# program) is torn; the run ends with 75 and FILE counts the torn operation.
for flag in "" --stock; do
  fresh booted
  MPOTA_FLASH_FAIL_AFTER=2 "$TWIN" --flash dev.flash --fs fs $flag --stats cut.json work.py \
    >"$WORK/out" 2>&1
  st=$?
  [ $st -eq 75 ] && ok || fail "cut in a boot ${flag:-(C mode)}: status $st: $(cat "$WORK/out")"
  want cut.json 'j["exit_status"], j["boots"], j["block_erases"], j["sector_erases"], j["programs"], j["program_bytes"]' \
    '(75, 1, 1, 0, 1, 65536)'
  want cut.json 'j["peak_heap"] is not None and j["peak_heap"] >= 65536' True
  modeled_consistent cut.json
  rm -f cut.json
done
# A power cut in the bootloader: the first boot of a new device is cut in
# otadata's initial record (its sector erase); no MicroPython ran.
fresh
MPOTA_FLASH_FAIL_AFTER=1 "$TWIN" --flash dev.flash --fs fs --stats bootcut.json work.py >"$WORK/out" 2>&1
st=$?
[ $st -eq 75 ] && ok || fail "cut in the bootloader: status $st: $(cat "$WORK/out")"
grep -q "power cut (injected by MPOTA_FLASH_FAIL_AFTER=1)" "$WORK/out" && ok || fail "no power-cut message"
want bootcut.json 'j["exit_status"], j["boots"], j["flash_opens"], j["peak_heap"], j["sector_erases"], j["programs"]' \
  '(75, 1, 1, None, 1, 0)'
want bootcut.json 'j["sector_erases"] == j["bootloader"]["sector_erases"]' True

# --max-boots: stopped after the 1st boot's reset (86); FILE replaces what was there.
fresh booted
echo stale >maxboots.json
expect_status 86 "$TWIN" --flash dev.flash --fs fs --max-boots 1 --stats maxboots.json work.py
want maxboots.json 'j["exit_status"], j["boots"], j["programs"]' '(86, 1, 3)'

# Nothing is left beside FILE (the accumulator and the temporary are gone).
leftovers=$(ls | grep -E '\.json\.' || true)
[ -z "$leftovers" ] && ok || fail "left beside the JSON files: $leftovers"

# --- bad paths: refused before the first boot ---------------------------------------
fresh
expect_status 1 "$TWIN" --flash dev.flash --fs fs --stats "$WORK/no/such/dir/s.json" work.py
expect_err "^mpota-twin: --stats $WORK/no/such/dir/s.json: .*No such file or directory"
same_bytes dev.flash pristine.flash  # no boot happened
[ ! -e dev.flash.state ] && ok || fail "a refused run booted"
expect_status 1 "$TWIN" --flash dev.flash --fs fs --stats fs work.py
expect_err "^mpota-twin: --stats fs: .*Is a directory"
expect_status 2 "$TWIN" --flash dev.flash --fs fs --stats
expect_err "usage: .*--stats FILE"
expect_status 2 "$TWIN" --flash dev.flash --fs fs --stats "" work.py

# Without --stats a boot sees no accumulator, whatever the environment says.
printf 'import os\nprint(os.getenv("MPOTA_TWIN_STATS"))\n' >env.py
MPOTA_TWIN_STATS=3:0 expect_status 0 "$TWIN" --flash dev.flash --fs fs env.py
[ "$(cat "$WORK/out")" = None ] && ok || fail "MPOTA_TWIN_STATS leaked into a boot: $(cat "$WORK/out")"

finish
