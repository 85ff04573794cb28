#!/usr/bin/env bash
# What a new user meets first, with firmware shaped like micropython.org's:
# the app description's version and project empty, the MicroPython version
# only in the banner and platform strings; a factory layout without OTA
# slots; a full firmware.bin whose size is known up front; side files named
# as projects publish them; and messages whose every fact is true.
. "$(dirname "$0")/lib.sh"
need_testdata
M="$MPOTA"

# Official-style apps: no version or project in the description.
official() {  # official OUT MPVER SIZE SEED
  "$M" image build -o "$1" --size "$3" --version '' --project '' --micropython "$2" --seed "$4" \
    >/dev/null || fail "image build $1"
}
official v123.bin 1.23.0 1400000 1
official v114.bin 1.14 1300000 2
official v124.bin 1.24.1 1450000 3
"$M" image build -o nover.bin --size 1300000 --version '' --project '' --seed 4 >/dev/null

# --- image info: the MicroPython version -------------------------------------
expect_status 0 "$M" image info v123.bin --json
expect_json 'j["micropython_version"]' "1.23.0"
expect_json 'j["app"]["version"]' ""
expect_status 0 "$M" image info v123.bin
expect_out '^MicroPython version: 1\.23\.0$'
expect_status 0 "$M" image info nover.bin --json
expect_json 'j["micropython_version"]' "None"

# --- a device running 1.23.0 from ota_0 --------------------------------------
"$M" part make --layout ota --flash-size 4M -o ota.csv >/dev/null
"$M" flash new dev.flash --size 4M --table ota.csv --app v123.bin >/dev/null
"$M" flash boot dev.flash >/dev/null
expect_status 0 "$M" flash status dev.flash
expect_out 'ota_0 .*MicroPython 1\.23\.0, state VALID'
expect_status 0 "$M" flash status dev.flash --json
expect_json '[s["micropython_version"] for s in j["slots"]]' "['1.23.0', None]"
cp dev.flash pristine.flash && cp dev.flash.state pristine.flash.state
# Nothing changed at all (refused before any erase).
untouched() { same_bytes dev.flash pristine.flash; }
# The running slot (ota_0) and otadata are as they were (refused after writing).
running_kept() {
  if cmp -s -n $((0x183000)) -i $((0xD000)) dev.flash pristine.flash; then ok
  else fail "ota_0 or otadata changed"; fi
  cp pristine.flash dev.flash && cp pristine.flash.state dev.flash.state
}

# --no-downgrade compares MicroPython versions when the descriptions have none,
# before anything is erased (the file's version is read first).
expect_status 1 "$M" flash update dev.flash v114.bin --no-downgrade --json
expect_json 'j["code"]' "MPOTA_ERR_POLICY_DOWNGRADE"
expect_json 'j["flash_ops"]["erase"] + j["flash_ops"]["program"]' "0"
expect_status 1 "$M" flash update dev.flash v114.bin --no-downgrade
expect_err "older than the running app's \(1\.23\.0\)"
untouched
# A version that cannot be known is refused, not guessed.
expect_status 1 "$M" flash update dev.flash nover.bin --no-downgrade
expect_err "new image's version cannot be known"
untouched
# Without the policy the same downgrade is the user's choice.
expect_status 0 "$M" flash update dev.flash v114.bin
cp pristine.flash dev.flash && cp pristine.flash.state dev.flash.state
expect_status 0 "$M" flash update dev.flash v124.bin --no-downgrade --reboot --confirm
expect_status 0 "$M" flash status dev.flash
expect_out 'ota_1 .*MicroPython 1\.24\.1, state VALID'
cp pristine.flash dev.flash && cp pristine.flash.state dev.flash.state

# --- a full firmware.bin whose size is known up front ------------------------
"$M" part convert ota.csv ota.bin >/dev/null
"$M" image build --bootloader -o boot.bin >/dev/null
head -c $((0xF000)) /dev/zero | tr '\0' '\377' >firmware.bin
dd if=boot.bin of=firmware.bin conv=notrunc 2>/dev/null
dd if=ota.bin of=firmware.bin bs=1 seek=$((0x7000)) conv=notrunc 2>/dev/null
official big.bin 1.23.0 1672800 5   # the size of the official v1.23.0 app
cat big.bin >>firmware.bin           # 1.7 MB: larger than the 1.5 MiB slot
size=$(stat -c %s firmware.bin)
expect_status 1 "$M" flash update dev.flash firmware.bin --length "$size"
expect_err 'full flash image.*extract-app'
untouched
python3 -c "import json,sys; json.dump({'firmware': 'firmware.bin', 'length': $size}, open('fw.json', 'w'))"
expect_status 1 "$M" flash update dev.flash fw.json
expect_err 'full flash image.*extract-app'
untouched
# The extracted app is the right file, and its real size is then the problem.
expect_status 1 "$M" flash update dev.flash big.bin --length 1672800
expect_err 'larger|too small|does not fit'
expect_err '1,572,864'
untouched

# A local file's size is known before its first byte: larger than the slot
# (the official v1.23.0 app), or shorter than the 288-byte pre-flight window,
# is refused before anything is erased or written.
for f in big.bin one.bin hundred.bin; do
  case $f in one.bin) head -c 1 v123.bin >one.bin ;; hundred.bin) head -c 100 v123.bin >hundred.bin ;; esac
  expect_status 1 "$M" flash update dev.flash "$f" --json
  expect_json 'j["flash_ops"]["erase"] + j["flash_ops"]["program"]' "0"
  untouched
done

# --- messages that state true facts ------------------------------------------
head -c 100000 v123.bin >trunc.bin
expect_status 1 "$M" flash update dev.flash trunc.bin
expect_err 'ends at 100,000 B, but the headers read so far need at least [0-9,]+ B'
running_kept
expect_status 1 "$M" image verify v123.bin --chip esp32s3
expect_err 'built for ESP32 \(chip id 0\), not for ESP32-S3'
if grep -q 'device' "$WORK/err"; then fail "image verify talks of a device: $(cat "$WORK/err")"; else ok; fi

# Side files as projects publish them: micropython.sha beside micropython.bin.
cp v124.bin micropython.bin
expect_status 1 "$M" flash update dev.flash micropython.bin --sidecar
expect_err 'no usable checksum file beside the firmware'
expect_err 'micropython\.sha: No such file'
expect_err 'micropython\.bin\.md5'
if grep -q 'manifest' "$WORK/err"; then fail "a side-file failure talks of a manifest"; else ok; fi
untouched
sha256sum micropython.bin | sed 's/ .*/  micropython.bin/' >micropython.sha
expect_status 0 "$M" flash update dev.flash micropython.bin --sidecar --json
expect_json 'j["ok"]' "True"
cp pristine.flash dev.flash && cp pristine.flash.state dev.flash.state
echo 00 >micropython.sha
expect_status 1 "$M" flash update dev.flash micropython.bin --sidecar
expect_err 'micropython\.sha: no 64-hex-digit SHA-256 digest'
untouched

# --same-project names the whole project name (up to 31 characters).
long=a-project-name-of-31-characters
"$M" image build -o p1.bin --size 200000 --project "$long" --version v1 >/dev/null
"$M" image build -o p2.bin --size 200000 --project "${long%s}X" --version v2 >/dev/null
"$M" flash new p.flash --size 4M --table ota.csv --app p1.bin >/dev/null
"$M" flash boot p.flash >/dev/null
expect_status 1 "$M" flash update p.flash p2.bin --same-project
expect_err "image project is ${long%s}X,"

# A power cut says what happened (exit 75 is not a crash).
MPOTA_FLASH_FAIL_AFTER=3 "$M" flash update dev.flash v124.bin >"$WORK/out" 2>"$WORK/err"
[ $? -eq 75 ] && ok || fail "power cut: expected exit 75"
expect_err 'power cut \(injected by MPOTA_FLASH_FAIL_AFTER=3\) during flash operation 3'
cp pristine.flash dev.flash && cp pristine.flash.state dev.flash.state

# flash new takes the table from a full firmware.bin, as part show does.
expect_status 0 "$M" flash new fw.flash --size 4M --table firmware.bin
expect_status 0 "$M" flash status fw.flash --json
expect_json '[s["label"] for s in j["slots"]]' "['ota_0', 'ota_1']"

# --- the official factory layout: no OTA slots -------------------------------
"$M" part make --layout factory --flash-size 4M -o factory.csv >/dev/null
"$M" flash new fac.flash --size 4M --table factory.csv --app v123.bin >/dev/null
"$M" flash boot fac.flash >/dev/null
expect_status 0 "$M" flash status fac.flash
expect_out '^Running: factory$'
expect_out '^Next boot: factory \(no otadata: the bootloader always boots it\)$'
expect_out 'esptool.py --chip esp32 --port PORT write_flash 0x1000 ESP32_GENERIC-OTA-'
if grep -q 'no bootable partition' "$WORK/out"; then fail "status contradicts itself"; else ok; fi
cp fac.flash fac0.flash
expect_status 1 "$M" flash update fac.flash v124.bin
expect_err 'no OTA app slots.*cannot be updated over the air'
expect_err 'esptool.py --chip esp32 --port PORT erase_flash'
same_bytes fac.flash fac0.flash

finish
