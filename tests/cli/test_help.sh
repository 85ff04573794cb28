#!/usr/bin/env bash
# --version, --help of every group and command, usage errors (the usage once,
# exit 2) and bad option values (named, with what is accepted). The commands
# and their options come from the CLI's own source, so a new command or
# option is covered without touching this file.
. "$(dirname "$0")/lib.sh"
: "${MPOTA_SRC:?MPOTA_SRC must name the source tree}"

# expect_usage_once: the last command printed one "usage:" line on stderr and
# nothing on stdout.
expect_usage_once() {
  local n; n=$(grep -c '^usage:' "$WORK/err")
  if [ "$n" -eq 1 ]; then ok; else fail "usage printed $n times: $*"; sed 's/^/  err: /' "$WORK/err" | head -8; fi
  if [ ! -s "$WORK/out" ]; then ok; else fail "stdout not empty on a usage error: $*"; fi
}
# expect_help_only: the last command printed on stdout only.
expect_help_only() {
  if [ -s "$WORK/out" ] && [ ! -s "$WORK/err" ]; then ok; else fail "help not on stdout alone: $*"; fi
}
# Whitespace-normalized: help wraps lines, messages do not.
flat() { tr -s ' \n' '  ' < "$1"; }

# --version: the version project() sets in CMakeLists.txt.
want=$(sed -nE 's/^project\(mpota VERSION ([0-9.]+).*/\1/p' "$MPOTA_SRC/CMakeLists.txt")
expect_status 0 "$MPOTA" --version
if [ -n "$want" ] && [ "$(cat "$WORK/out")" = "mpota $want" ]; then ok; else fail "--version: '$(cat "$WORK/out")', want 'mpota $want'"; fi
expect_help_only --version

# Every command with its options: "group command option checked" lines (an
# option with a .check has values cli_parse refuses; "-" = no options). A
# command's options are those in its function and in the static functions it
# calls (open_with_json_flag, open_slot's caller's table ...).
python3 - "$MPOTA_SRC/tools/mpota" > commands.txt <<'EOF'
import glob, re, sys
src = "\n".join(open(f).read() for f in sorted(glob.glob(sys.argv[1] + "/*.c")))
funcs = {m.group(1): m.group(2) for m in
         re.finditer(r"^(?:static )?int (\w+)\([^)]*\)\n\{\n(.*?)^\}", src, re.M | re.S)}
def options(body):
    return re.findall(r'\{\.name = "(-[\w-]+)",(.*?)\}', body, re.S)
cmds = re.findall(r'\{\.group = "([\w-]+)", \.name = "([\w-]+)",.*?\.run = (\w+)', src, re.S)
if not cmds:
    sys.exit("no command tables found")
for group, name, run in cmds:
    body = funcs[run]
    called = [f for f in re.findall(r"\b(\w+)\(", body) if f in funcs and f != run]
    opts = options(body) + [o for f in called for o in options(funcs[f])]
    for opt, rest in opts:
        print(group, name, opt, 1 if ".check" in rest else 0)
    if not opts:
        print(group, name, "-", 0)
EOF
[ -s commands.txt ] && ok || fail "no commands found in $MPOTA_SRC/tools/mpota"

# mpota --help lists exactly the commands of the source; so do the groups.
expect_status 0 "$MPOTA" --help
expect_help_only --help
grep -E '^  [a-z]' "$WORK/out" | awk '{print $1, $2}' | sort > listed.txt
awk '{print $1, $2}' commands.txt | sort -u > defined.txt
if cmp -s listed.txt defined.txt; then ok; else fail "mpota --help lists other commands than the source defines"; diff listed.txt defined.txt | head; fi
expect_out '^exit status: 0 success, 1 refused or invalid input, 2 usage$'
expect_status 0 "$MPOTA" -h
expect_out '^usage: mpota GROUP COMMAND'
for group in $(awk '{print $1}' defined.txt | sort -u); do
  for h in --help -h; do
    expect_status 0 "$MPOTA" "$group" $h
    expect_help_only "$group" $h
    grep -E "^  $group " "$WORK/out" | awk '{print $1, $2}' | sort > group.txt
    if cmp -s group.txt <(grep "^$group " defined.txt); then ok; else fail "mpota $group $h lists other commands"; fi
  done
  expect_status 2 "$MPOTA" "$group"
  expect_usage_once "$group"
  expect_status 2 "$MPOTA" "$group" frobnicate
  expect_usage_once "$group" frobnicate
  expect_err "^mpota: unknown $group command 'frobnicate'$"
done
expect_status 2 "$MPOTA"
expect_usage_once "(no arguments)"
expect_status 2 "$MPOTA" frobnicate
expect_usage_once frobnicate
expect_err "^mpota: unknown command group 'frobnicate'$"

# Every command: --help and -h on stdout, exit 0, every option listed in the
# synopsis and described; no arguments is a usage error with the usage once.
LONG=$(printf 'z%.0s' $(seq 100))  # bad for every checked kind: no size, hex, name or short text
while read -r group cmd; do
  expect_status 0 "$MPOTA" "$group" "$cmd" --help
  expect_help_only "$group" "$cmd" --help
  cp "$WORK/out" help.txt
  expect_out "^usage: mpota $group $cmd( |$)"
  expect_out '^  -h, --help +print this help'
  expect_status 0 "$MPOTA" "$group" "$cmd" -h
  same_bytes "$WORK/out" help.txt
  sed '/^$/q' help.txt > synopsis.txt
  while read -r _ _ opt checked; do
    [ "$opt" = - ] && continue
    if grep -qE -- "^  $opt( |$)" help.txt; then ok; else fail "mpota $group $cmd --help does not describe $opt"; fi
    if grep -qE -- "(\[| )$opt( |\]|$)" synopsis.txt; then ok; else fail "mpota $group $cmd: $opt not in the usage"; fi
    [ "$checked" = 1 ] || continue
    # A bad value: exit 2, the option named with what it takes, and the same
    # words in --help.
    expect_status 2 "$MPOTA" "$group" "$cmd" "$opt" "$LONG"
    expect_usage_once "$group" "$cmd" "$opt" BAD
    expect_err "^mpota: $opt: .+ expected, got "
    accepts=$(sed -nE "s/^mpota: $opt: (.+) expected, got .*/\1/p" "$WORK/err")
    if [ -n "$accepts" ] && flat help.txt | grep -qF -- "$accepts"; then ok
    else fail "mpota $group $cmd --help does not say what $opt accepts: '$accepts'"; fi
  done < <(grep "^$group $cmd " commands.txt)
  expect_status 2 "$MPOTA" "$group" "$cmd"
  expect_usage_once "$group" "$cmd" "(no arguments)"
  expect_err '^mpota: missing '
  expect_status 2 "$MPOTA" "$group" "$cmd" --no-such-option
  expect_usage_once "$group" "$cmd" --no-such-option
  expect_err '^mpota: unknown option --no-such-option$'
done < defined.txt

# The messages, one kind of value at a time.
expect_status 2 "$MPOTA" image verify app.bin --sha256 abc
expect_err '^mpota: --sha256: 64 hex digits expected, got 3 characters$'
expect_status 2 "$MPOTA" image verify app.bin --sha256 "$(printf '0%.0s' $(seq 63))x"
expect_err "^mpota: --sha256: 64 hex digits expected, got 'x' at character 64$"
expect_status 2 "$MPOTA" flash update dev.flash app.bin --md5 0123
expect_err '^mpota: --md5: 32 hex digits expected, got 4 characters$'
expect_status 2 "$MPOTA" image verify app.bin --length 5G
expect_err "^mpota: --length: a size from 1 to 4294967295 \(decimal, 0x hex, or with a K or M suffix\) expected, got '5G'$"
expect_status 2 "$MPOTA" image verify app.bin --length -1
expect_err "^mpota: --length: .* got '-1'$"
expect_status 2 "$MPOTA" image build -o x.bin --size 1000
expect_err "^mpota: --size: a size from 512 to 4M, a multiple of 16 .* got '1000'$"
expect_status 2 "$MPOTA" part make --layout ota --flash-size 64M -o x.csv
expect_err "^mpota: --flash-size: a size from 2M to 32M, a power of two .* got '64M'$"
expect_status 2 "$MPOTA" part make --layout ota --fs-size 0x1001 -o x.csv
expect_err '^mpota: --fs-size: a size from 4K to 32M, a multiple of 4K'
expect_status 2 "$MPOTA" image verify app.bin --chip esp33
expect_err "^mpota: --chip: a chip name \(ESP32, ESP32-S2, .*ESP32-S3, .*\) or a chip id number expected, got 'esp33'$"
expect_status 2 "$MPOTA" part make --layout ota2 -o x.csv
expect_err "^mpota: --layout: one of ota, factory, ota-factory expected, got 'ota2'$"
expect_status 2 "$MPOTA" part make --layout ota --fs-type ext4 -o x.csv
expect_err "^mpota: --fs-type: one of fat, littlefs, spiffs, none expected, got 'ext4'$"
expect_status 2 "$MPOTA" flash update dev.flash app.bin --retries 0
expect_err "^mpota: --retries: a number from 1 to 1000 \(decimal or 0x hex\) expected, got '0'$"
expect_status 2 "$MPOTA" image build -o x.bin --secure-version 2K
expect_err "^mpota: --secure-version: a number from 0 to 4294967295 .* got '2K'$"
expect_status 2 "$MPOTA" image build -o x.bin --version v1.0.0-with-a-much-too-long-suffix
expect_err '^mpota: --version: .*31 characters expected, got 34 characters$'
expect_status 2 "$MPOTA" flash new dev.flash --size 4M --table t.csv --app app.bin --slot ota_0_label_too_long
expect_err '^mpota: --slot: 1 to 16 characters expected, got 20 characters$'

# Options that need others, missing values and arguments: named, usage once.
expect_status 2 "$MPOTA" flash update dev.flash app.bin --confirm
expect_err '^mpota: --confirm needs --reboot$'
expect_usage_once update --confirm
expect_status 2 "$MPOTA" flash new dev.flash --size 4M --table t.csv --slot ota_1
expect_err '^mpota: --slot needs --app$'
expect_status 2 "$MPOTA" flash new dev.flash --table t.csv
expect_err '^mpota: missing --size SIZE$'
expect_usage_once flash new without --size
expect_status 2 "$MPOTA" image verify app.bin --sha256
expect_err '^mpota: --sha256 needs a value \(HEX\)$'
expect_status 2 "$MPOTA" flash write-slot dev.flash ota_0
expect_err '^mpota: missing IMAGE$'
expect_usage_once write-slot without IMAGE
expect_status 2 "$MPOTA" image extract-app app.bin
expect_err '^mpota: missing -o OUT$'
expect_usage_once extract-app without -o
expect_status 2 "$MPOTA" image info a.bin b.bin
expect_err "^mpota: unexpected argument 'b.bin'$"

# The forms --help promises are the ones taken: decimal, 0x hex, K, M.
for size in 65536 0x10000 64K; do
  expect_status 0 "$MPOTA" image build -o "app-$size.bin" --size "$size"
done
same_bytes app-65536.bin app-0x10000.bin
same_bytes app-65536.bin app-64K.bin
expect_status 0 "$MPOTA" image build -o app-1M.bin --size 1M --secure-version 0x10
if [ "$(stat -c %s app-1M.bin)" = 1048576 ]; then ok; else fail "--size 1M did not make 1048576 bytes"; fi
expect_status 0 "$MPOTA" image verify app-1M.bin --length 1M --chip esp32 \
  --sha256 "$(sha256sum app-1M.bin | cut -d' ' -f1 | tr a-f A-F)"

finish
