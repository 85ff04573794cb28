#!/usr/bin/env bash
# Power cuts from outside, as users see them: with MPOTA_FLASH_FAIL_AFTER=N
# the N-th erase-or-program of one `mpota` process is torn (half done) and the
# process exits 75. `mpota flash update` is cut at every one of its
# operations, `flash boot` (the bootloader's NEW -> PENDING_VERIFY rewrite)
# and `flash confirm` at both of theirs. After each cut a reset must boot v1
# from ota_0 writing nothing, with ota_0 and v1's otadata record
# byte-identical, and a clean update, reset and confirm must then reach v2.
# (Whole cycles in every tear mode: tests/powerloss/test_update_powerloss.c.)
# With POWERLOSS_DELTA=1 (test_powerloss_delta.sh) the update is a detools
# patch from v1 to v2 (tests/vectors/detools), applied onto the running app.
. "$(dirname "$0")/lib.sh"

M="$MPOTA"
MAX_CUTS=300  # bound on the loop; a clean update here is ~60 operations

"$M" image build -o v1.bin --size 180000 --version v1.0.0 --seed 1 >/dev/null
"$M" image build -o v2.bin --size 200000 --version v2.0.0 --seed 2 >/dev/null
SOURCE=v2.bin V1=v1.0.0 V2=v2.0.0
if [ -n "${POWERLOSS_DELTA:-}" ]; then
  cp "$MPOTA_SRC/tests/vectors/detools/from.bin" v1.bin
  cp "$MPOTA_SRC/tests/vectors/detools/to.bin" v2.bin
  cp "$MPOTA_SRC/tests/vectors/detools/to.heatshrink.patch" v2.patch
  SOURCE=v2.patch V1=v1.0.0 V2=v1.1.0
fi
"$M" image build -o v0.bin --size 600000 --version v0.9.0 --seed 3 >/dev/null
"$M" part make --layout ota --flash-size 4M -o table.bin >/dev/null

# Where ota_0 and otadata are, from the table itself.
"$M" part show table.bin --json >parts.json
read -r OTA0_OFF OTA0_SIZE OTADATA_OFF < <(json_get parts.json \
  '" ".join(str(x) for x in [p[k] for p in j["partitions"] if p["label"] == "ota_0" for k in ("offset", "size")] + [p["offset"] for p in j["partitions"] if p["label"] == "otadata"])')
if [ -n "${OTADATA_OFF:-}" ]; then ok; else fail "no ota_0/otadata in the table"; finish; exit 1; fi
ota0() { dd if=dev.flash bs=4096 skip=$((OTA0_OFF / 4096)) count=$((OTA0_SIZE / 4096)) 2>/dev/null; }
sector0() { dd if=dev.flash bs=4096 skip=$((OTADATA_OFF / 4096)) count=1 2>/dev/null; }

# The device: v1 in ota_0 after its first boot, and a stale older build in
# ota_1 so that the update has to erase before it programs.
"$M" flash new dev.flash --size 4M --table table.bin --app v1.bin >/dev/null
expect_status 0 "$M" flash boot dev.flash --json
expect_json 'j["booted"], [w["kind"] for w in j["otadata_writes"]]' "('ota_0', ['INITIAL'])"
expect_status 0 "$M" flash write-slot dev.flash ota_1 v0.bin
cp dev.flash template.flash
cp dev.flash.state template.flash.state
ota0 >ota0.before
sector0 >sector0.before
fresh() { cp template.flash dev.flash; cp template.flash.state dev.flash.state; }

# The JSON reports of the loops are kept and checked by one python run at
# the end (check_reports): python's start-up would otherwise dominate.
mkdir -p reports
: >reports.list
keep_report() {  # keep_report KIND TAG: $WORK/out as a KIND report
  cp "$WORK/out" "reports/$2.$1.json"
  printf '%s\t%s\n' "reports/$2.$1.json" "$1" >>reports.list
}

# After a cut: the reset boots v1 from ota_0 and writes no otadata; v1's slot
# and record are exactly as before.
expect_v1_after_cut() {  # TAG
  expect_status 0 "$M" flash boot dev.flash --json
  keep_report boot-v1 "$1"
  if cmp -s <(ota0) ota0.before; then ok; else fail "ota_0 changed ($1)"; fi
  if cmp -s <(sector0) sector0.before; then ok; else fail "otadata sector 0 changed ($1)"; fi
}

# The update can be done after the cut: update, reset into v2, confirm; the
# status then shows v2 running and both apps valid and confirmed.
expect_update_completes() {  # TAG
  expect_status 0 "$M" flash update dev.flash "$SOURCE"
  expect_status 0 "$M" flash boot dev.flash
  expect_status 0 "$M" flash confirm dev.flash
  expect_status 0 "$M" flash status dev.flash --json
  keep_report status-v2 "$1"
}

check_reports() {
  local line
  while IFS= read -r line; do
    case "$line" in OK) ok ;; *) fail "${line#FAIL: }" ;; esac
  done < <(python3 - reports.list "$V1" "$V2" <<'PY' 2>&1 || echo "FAIL: report checker crashed"
import json, sys
want = {
    "boot-v1": ("ota_0", []),
    "status-v2": ("ota_1", "ota_1", [("ota_0", True, sys.argv[2], "VALID"),
                                     ("ota_1", True, sys.argv[3], "VALID")]),
}
for line in open(sys.argv[1]):
    path, kind = line.rstrip("\n").split("\t")
    try:
        j = json.load(open(path))
        if kind == "boot-v1":
            got = (j["booted"], j["otadata_writes"])
        else:
            got = (j["running"], j["boot"],
                   [(s["label"], s["valid"], s["version"], s["state"]) for s in j["slots"]])
    except Exception as e:  # missing file, not JSON, missing key
        got = "unreadable (%s)" % e
    print("OK" if got == want[kind] else "FAIL: %s: %r, want %r" % (path, got, want[kind]))
PY
  )
}

# A clean update: its operations are the cut points.
fresh
expect_status 0 "$M" flash update dev.flash "$SOURCE" --json
expect_json 'j["ok"], j["slot"], j["flash_ops"]["erase"] >= 2, j["flash_ops"]["program"] >= 2' \
  "(True, 'ota_1', True, True)"
ops=$(json_get "$WORK/out" 'j["flash_ops"]["erase"] + j["flash_ops"]["program"]' 2>/dev/null || echo 0)
echo "flash update: $ops erase+program operations in a clean run"
if [ "$ops" -gt "$MAX_CUTS" ]; then fail "$ops operations: more than the bound $MAX_CUTS"; ops=$MAX_CUTS; fi

# The count is exact: one more than that and nothing is cut.
fresh
MPOTA_FLASH_FAIL_AFTER=$((ops + 1)) expect_status 0 "$M" flash update dev.flash "$SOURCE" --json
expect_json 'j["ok"], j["flash_ops"]["erase"] + j["flash_ops"]["program"]' "(True, $ops)"

update_cuts=0
for ((n = 1; n <= ops; n++)); do
  fresh
  MPOTA_FLASH_FAIL_AFTER=$n expect_status 75 "$M" flash update dev.flash "$SOURCE"
  expect_v1_after_cut "update-cut-$n"
  expect_update_completes "update-cut-$n"
  update_cuts=$((update_cuts + 1))
done
echo "flash update: cut points checked: $update_cuts"

# `flash boot` after set-boot: the bootloader rewrites v2's entry {2, NEW} as
# PENDING_VERIFY in place (erase = op 1, program = op 2). Torn, the entry is
# gone: v1 boots and the update must be redone (docs/DESIGN.md).
boot_cuts=0
for n in 1 2; do
  fresh
  expect_status 0 "$M" flash update dev.flash "$SOURCE"
  MPOTA_FLASH_FAIL_AFTER=$n expect_status 75 "$M" flash boot dev.flash
  expect_v1_after_cut "boot-cut-$n"
  expect_update_completes "boot-cut-$n"
  boot_cuts=$((boot_cuts + 1))
done
fresh  # and that boot is exactly those two operations
expect_status 0 "$M" flash update dev.flash "$SOURCE"
MPOTA_FLASH_FAIL_AFTER=3 expect_status 0 "$M" flash boot dev.flash --json
expect_json 'j["booted"], [w["kind"] for w in j["otadata_writes"]]' "('ota_1', ['PENDING_VERIFY'])"
echo "flash boot: cut points checked: $boot_cuts"

# `flash confirm` on v2 (PENDING_VERIFY): v2's entry rewritten as VALID in
# place. Torn, the entry is gone: v1 boots (ESP-IDF's unwanted rollback).
confirm_cuts=0
for n in 1 2; do
  fresh
  expect_status 0 "$M" flash update dev.flash "$SOURCE"
  expect_status 0 "$M" flash boot dev.flash
  MPOTA_FLASH_FAIL_AFTER=$n expect_status 75 "$M" flash confirm dev.flash
  expect_v1_after_cut "confirm-cut-$n"
  expect_update_completes "confirm-cut-$n"
  confirm_cuts=$((confirm_cuts + 1))
done
fresh  # and that confirm is exactly those two operations
expect_status 0 "$M" flash update dev.flash "$SOURCE"
expect_status 0 "$M" flash boot dev.flash
MPOTA_FLASH_FAIL_AFTER=3 expect_status 0 "$M" flash confirm dev.flash
expect_status 0 "$M" flash status dev.flash --json
expect_json 'j["running"], [s["state"] for s in j["slots"]]' "('ota_1', ['VALID', 'VALID'])"
echo "flash confirm: cut points checked: $confirm_cuts"

check_reports
reports=$(wc -l <reports.list)
if [ "$reports" -eq $((2 * (update_cuts + boot_cuts + confirm_cuts))) ]; then ok; else
  fail "$reports reports checked for $((update_cuts + boot_cuts + confirm_cuts)) cut points"; fi
total=$((update_cuts + boot_cuts + confirm_cuts))
echo "cut points checked: $total"
if [ "$update_cuts" -gt 0 ] && [ "$boot_cuts" -gt 0 ] && [ "$confirm_cuts" -gt 0 ]; then ok; else
  fail "a loop checked no cut point (update $update_cuts, boot $boot_cuts, confirm $confirm_cuts)"; fi
finish
