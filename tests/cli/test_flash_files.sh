#!/usr/bin/env bash
# The emulated device's files under attack (issue 9): two commands at once
# (lock), a flash copied without its sidecar (chip), symlinks where mpota
# writes, a full or read-only disk (root only: a small tmpfs), and `part show`
# on a flash file.
. "$(dirname "$0")/lib.sh"

M="$MPOTA"
"$M" image build -o v1.bin --size 300000 --version v1.0.0 --seed 1 >/dev/null
"$M" image build -o v2.bin --size 300000 --version v2.0.0 --seed 2 >/dev/null
"$M" image build -o v3.bin --size 290000 --version v3.0.0 --seed 3 >/dev/null
"$M" image build -o s3.bin --size 300000 --chip esp32s3 >/dev/null
"$M" part make --layout ota --flash-size 4M --fit v2.bin -o table.bin >/dev/null

fresh() {  # $1: a device running v1 from ota_0
  "$M" flash new "$1" --size 4M --table table.bin --app v1.bin >/dev/null
  "$M" flash boot "$1" >/dev/null
}
otadata() { dd if="$1" bs=4096 skip=13 count=2 2>/dev/null | od -An -tx1 | tr -d ' \n'; }

# --- `part show` reads a flash file made by `flash new` (no bootloader).
fresh dev.flash
expect_status 0 "$M" part show dev.flash --json
expect_json '[p["label"] for p in j["partitions"]][:4]' "['nvs', 'otadata', 'phy_init', 'ota_0']"
expect_status 0 "$M" part show dev.flash
expect_out 'ota_1'

# --- Chip: what the flash holds decides, not the sidecar.
# A copy without its sidecar is still the ESP32 its app in ota_0 says.
cp dev.flash copy.flash
expect_status 0 "$M" flash status copy.flash --json
expect_json 'j["chip"]' ESP32
cp copy.flash copy.before
expect_status 1 "$M" flash write-slot copy.flash ota_1 s3.bin
expect_err 'built for ESP32-S3'
expect_status 1 "$M" flash update copy.flash s3.bin
expect_err 'ESP32-S3'
same_bytes copy.flash copy.before
# A sidecar that says otherwise loses to the flash.
printf 'ota_0\nchip ESP32-S3\n' > copy.flash.state
expect_status 1 "$M" flash write-slot copy.flash ota_1 s3.bin
expect_err 'built for ESP32-S3'
same_bytes copy.flash copy.before
# The bootloader's header says it first: an ESP32-S3 bootloader at 0x0 makes
# a device with no app an ESP32-S3, whatever its sidecar says.
"$M" flash new blank.flash --size 4M --table table.bin --chip esp32 >/dev/null
"$M" image build --bootloader --chip esp32s3 -o boot-s3.bin >/dev/null
dd if=boot-s3.bin of=blank.flash conv=notrunc 2>/dev/null
expect_status 0 "$M" flash status blank.flash --json
expect_json 'j["chip"]' ESP32-S3
expect_status 1 "$M" flash write-slot blank.flash ota_0 v1.bin
expect_err 'ESP32-S3'
expect_status 0 "$M" flash write-slot blank.flash ota_0 s3.bin

# --- Symlinks where mpota writes: the victim stays as it was.
echo precious > victim
ln -s victim dev.flash.state.tmp
expect_status 0 "$M" flash boot dev.flash
[ "$(cat victim)" = precious ] && ok || fail "flash boot wrote through dev.flash.state.tmp"
expect_status 0 "$M" flash status dev.flash --json
expect_json 'j["running"]' ota_0
ln -s victim out.bin
expect_status 0 "$M" image build -o out.bin --size 100000
[ "$(cat victim)" = precious ] && ok || fail "image build -o wrote through a symlink"
[ -f out.bin ] && [ ! -L out.bin ] && [ "$(stat -c %s out.bin)" -eq 100000 ] && ok || fail "out.bin not written"
expect_status 0 "$M" image build -o /dev/null --size 100000
ln -s victim made.flash
expect_status 0 "$M" flash new made.flash --size 4M --table table.bin
[ "$(cat victim)" = precious ] && [ ! -L made.flash ] && ok || fail "flash new wrote through a symlink"

# --- Two commands at once: the second waits for the first, or says busy.
# This shell holds the lock (fd 9) as another command would; mpota does not
# inherit the descriptor (9<&-). Held throughout: busy, nothing changed.
fresh lock.flash
cp lock.flash lock.before
exec 9<lock.flash
flock 9
expect_status 1 "$M" flash update lock.flash v2.bin 9<&-
expect_err '^mpota: device busy: another mpota command is using lock.flash \(waited 3 s\)'
same_bytes lock.flash lock.before
# Let go half a second in: the command waits, then runs.
(sleep 0.5; flock -u 9) &
expect_status 0 "$M" flash update lock.flash v2.bin 9<&-
wait
exec 9<&-
# Two updates of the same slot at once, a few times: they take turns, so
# both finish, and the slot otadata selects holds a valid app. (Without the
# lock most runs broke one: interleaved erases and programs of one slot.)
for i in 1 2 3; do
  fresh race.flash
  "$M" flash update race.flash v2.bin --chunk 256 >race-a.out 2>&1 &
  a=$!
  "$M" flash update race.flash v3.bin --chunk 256 >race-b.out 2>&1
  rb=$?
  wait "$a"; ra=$?
  [ "$ra$rb" = 00 ] && ok || fail "race $i: update exits $ra, $rb: $(cat race-a.out race-b.out | grep mpota: | head -2)"
  next=$("$M" flash status race.flash | sed -n 's/^Next boot: //p')
  booted=$("$M" flash boot race.flash 2>&1 | sed -n 's/^booted //p')
  [ "$next" = ota_1 ] && [ "$booted" = ota_1 ] && ok || fail "race $i: otadata selects '$next', the bootloader booted '$booted'"
done

# --- A full disk and a read-only one (root: a 5 MiB tmpfs).
if [ "$(id -u)" = 0 ] && mkdir full && mount -t tmpfs -o size=5M tmpfs full 2>/dev/null; then
  trap 'umount "$WORK/full" 2>/dev/null; rm -rf "$WORK"' EXIT
  fresh full/d.flash
  before=$(otadata full/d.flash)
  dd if=/dev/zero of=full/fill bs=4096 2>/dev/null
  # The sidecar cannot be written: stop before otadata selects the new app.
  expect_status 1 "$M" flash update full/d.flash v2.bin --reboot
  expect_err "cannot write full/d.flash.state: No space left on device"
  if grep -q unnamed err; then fail "a file error without its name"; else ok; fi
  [ "$(otadata full/d.flash)" = "$before" ] && ok || fail "otadata changed on a full disk"
  expect_status 0 "$M" flash status full/d.flash --json
  expect_json 'j["running"], j["boot"]' "('ota_0', 'ota_0')"
  # An output file: named, with the reason, and no partial file left.
  expect_status 1 "$M" image build -o full/x.bin --size 100000
  expect_err '^mpota: cannot write full/x.bin: No space left on device$'
  [ -z "$(ls full | grep -v -e '^d.flash' -e '^fill$')" ] && ok || fail "left behind: $(ls full)"
  # A flash file with a hole (sparse: ota_1 here) cannot be written on a full
  # disk: said at open, not a SIGBUS in the middle of an erase.
  rm full/fill
  fallocate -p -o $((0x190000)) -l $((0x100000)) full/d.flash
  dd if=/dev/zero of=full/fill bs=4096 2>/dev/null
  before=$(otadata full/d.flash)
  expect_status 1 "$M" flash update full/d.flash v2.bin
  expect_err 'cannot open full/d.flash: No space left on device'
  [ "$(otadata full/d.flash)" = "$before" ] && ok || fail "otadata changed (sparse flash, full disk)"
  # Read-only: said plainly.
  rm full/fill
  mount -o remount,ro full
  expect_status 1 "$M" flash boot full/d.flash
  expect_err '^mpota: cannot open full/d.flash: Read-only file system'
  umount full
else
  echo "note: not root or no tmpfs: the full and read-only disk checks are skipped"
fi

finish
