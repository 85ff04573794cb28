#!/usr/bin/env bash
# The boot-selection sequences an adversarial test broke, through the CLI.
# d1: a 4 MiB device with MicroPython's OTA table, app B running from ota_1
# (VALID), app A in ota_0 (VALID, the rollback target).
. "$(dirname "$0")/lib.sh"
M="$MPOTA"

"$M" part make --layout ota --flash-size 4M -o ota.csv >/dev/null
for v in A B C; do "$M" image build -o $v.bin --size 200000 --version $v >/dev/null; done
d1() {
  rm -f d1.flash d1.flash.state
  "$M" flash new d1.flash --size 4M --table ota.csv --app A.bin >/dev/null
  "$M" flash boot d1.flash >/dev/null
  "$M" flash update d1.flash B.bin --reboot --confirm >/dev/null || fail "making d1"
}
records() {  # [(seq, state)] of both otadata records
  "$M" flash status d1.flash --json >"$WORK/s.json"
  json_get "$WORK/s.json" '[(e["seq"], e["state"]) for e in j["otadata"] if e["crc_valid"]]'
}

# 1. Two updates without a reboot: the second replaces the first's pending
# record; B's VALID record survives, and an unconfirmed A rolls back to B.
d1
expect_status 0 "$M" flash update d1.flash C.bin
expect_status 0 "$M" flash update d1.flash A.bin
[ "$(records)" = "[(3, 'NEW'), (2, 'VALID')]" ] && ok || fail "records after two updates: $(records)"
expect_status 0 "$M" flash boot d1.flash --json
expect_json 'j["booted"]' ota_0
expect_status 0 "$M" flash boot d1.flash --json   # not confirmed: back to B
expect_json 'j["booted"]' ota_1

# 2. A rollback ends with the previous app running (it reboots), so the next
# update goes to the rolled-back slot, never over the only valid app.
d1
expect_status 0 "$M" flash rollback d1.flash
expect_out '^rebooted: ota_0 runs$'
expect_status 0 "$M" flash update d1.flash C.bin --json
expect_json 'j["slot"]' ota_1
expect_status 0 "$M" flash status d1.flash --json
expect_json '[(s["label"], s["version"]) for s in j["slots"]]' "[('ota_0', 'A'), ('ota_1', 'C')]"

# 3. confirm and rollback before the reboot act on what they name.
d1
expect_status 0 "$M" flash update d1.flash C.bin
expect_status 0 "$M" flash confirm d1.flash
expect_out '^ota_1 confirmed'
[ "$(records)" = "[(3, 'NEW'), (2, 'VALID')]" ] && ok ||
  fail "confirm touched the pending record: $(records)"
cp d1.flash before.flash
expect_status 1 "$M" flash rollback d1.flash
expect_err 'an update to ota_0 is selected and has not booted yet'
same_bytes d1.flash before.flash
# set-boot of the running slot cancels the pending update: B's record is
# active again, still VALID.
expect_status 0 "$M" flash set-boot d1.flash ota_1
[ "$(records)" = "[(2, 'VALID')]" ] && ok || fail "records after the cancel: $(records)"

# 4. While the running app is unconfirmed, set-boot of another slot would
# write over the rollback target: refused.
d1
expect_status 0 "$M" flash update d1.flash C.bin --reboot
cp d1.flash before.flash
expect_status 1 "$M" flash set-boot d1.flash ota_1
expect_err 'not confirmed|PENDING|confirm'
same_bytes d1.flash before.flash

finish
