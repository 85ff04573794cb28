#!/usr/bin/env bash
# Installing the `ota` package for real (issue 10): MicroPython's own mip,
# frozen in the twin as in the ESP32 firmware, installs it on stock firmware
# (mpota-twin --stock) from nginx serving this checkout, by the URL of
# python/ota/package.json -- what `mpremote mip install
# github:OWNER/REPO/python/ota` resolves to. Then the installed .mpy files
# do an update and the new app confirms itself.
# Also: python/ota/mpy/ and package.json are what tools/gen_mip.py makes of
# the sources now (run `make mip` after changing a .py), package.json
# reaches nothing outside python/ota/, and every source has its .mpy.
. "$(dirname "$0")/twin_lib.sh"
RIG=$SRC/tests/integration
M=$MPOTA
MPY_CROSS=$(dirname "$TWIN")/mpy-cross/mpy-cross

# --- the committed files are current --------------------------------------------
[ -x "$MPY_CROSS" ] || { echo "FAIL: no mpy-cross beside the twin ($MPY_CROSS)"; exit 1; }
python3 "$SRC/tools/gen_mip.py" --mpy-cross "$MPY_CROSS" --root "$SRC" --out fresh >gen.log 2>&1 ||
  { fail "tools/gen_mip.py failed: $(cat gen.log)"; }
cmp -s fresh/package.json "$SRC/python/ota/package.json" && ok ||
  fail "python/ota/package.json is stale: run \`make mip\`"
diff -r fresh/mpy "$SRC/python/ota/mpy" >/dev/null && ok ||
  fail "python/ota/mpy/ is stale: run \`make mip\` ($(diff -rq fresh/mpy "$SRC/python/ota/mpy" | head -3))"
python3 - "$SRC/python/ota/package.json" <<'PY' && ok || fail "package.json"
import json, os, sys
p = sys.argv[1]
j = json.load(open(p))
base = os.path.dirname(p)
srcs = {f[:-3] for f in os.listdir(base) if f.endswith(".py")}
assert {d for d, _ in j["urls"]} == {"ota/%s.mpy" % s for s in srcs} | {"ota32.mpy"}, j["urls"]
for _, src in j["urls"]:
    assert ".." not in src and not src.startswith("/"), src  # inside python/ota/
    assert os.path.isfile(os.path.join(base, src)), src
assert j["version"]
PY

# --- nginx serving the checkout -----------------------------------------------------
mkdir run
if ! ports=$(bash "$RIG/nginx_rig.sh" start "$WORK/run" "$SRC" $$ 600 2>"$WORK/rig.err"); then
  cat "$WORK/rig.err"; echo "FAIL: nginx rig did not start"; exit 1
fi
trap 'bash "$RIG/nginx_rig.sh" stop "$WORK/run" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
read -r PORT _ <<<"$ports"
URL="http://127.0.0.1:$PORT/files/python/ota/package.json"

# --- mip.install on stock firmware ------------------------------------------------
mkdir fs
cp "$IMG/app-v2.0.0-ota.bin" fs/app-v2.bin
"$M" part make --layout ota --flash-size 4M -o table.csv >/dev/null || fail "part make"
"$M" flash new dev.flash --size 4M --table table.csv --app "$IMG/app-v1.0.1.bin" >/dev/null || fail "flash new"
cat >install.py <<EOF
import os
try:
    import ota
    print("before: ota imports")
except ImportError:
    print("before: no ota")
import mip
mip.install("$URL")
print("lib:", sorted(os.listdir("/lib")))
print("lib/ota:", sorted(os.listdir("/lib/ota")))
EOF
cat >update.py <<EOF
import ota.update
print("engine:", ota.update._engine.mpota.__name__, ota.update.__file__)
ota.update.from_file("app-v2.bin", sha="$(sha256sum fs/app-v2.bin | cut -c1-64)", reboot=False)
import machine
machine.reset()
EOF
expect_status 0 "$TWIN" --stock --flash dev.flash --fs fs --max-boots 1 install.py
grep -qx "before: no ota" "$WORK/out" && ok || fail "ota importable before the install: $(cat "$WORK/out")"
grep -qx "lib: \['ota', 'ota32.mpy'\]" "$WORK/out" && ok || fail "installed: $(grep ^lib "$WORK/out")"
want=$(python3 -c "import json;print(sorted(d[4:] for d,_ in json.load(open('$SRC/python/ota/package.json'))['urls'] if d.startswith('ota/')))")
grep -qxF "lib/ota: $want" "$WORK/out" && ok || fail "installed in /lib/ota: $(grep ^lib/ota "$WORK/out"), want $want"
for f in fs/lib/ota/*.mpy fs/lib/ota32.mpy; do
  cmp -s "$f" "$SRC/python/ota/mpy/$(basename "$f")" && ok || fail "$f is not the committed .mpy"
done
[ "$(grep -c '^GET /files/python/ota/mpy/.* status=200' run/access.log)" -eq "$(ls "$SRC"/python/ota/mpy | wc -l)" ] &&
  ok || fail "not one GET per .mpy: $(cat run/access.log)"
! grep -q '\.\.' run/access.log && ok || fail "a request outside python/ota: $(grep '\.\.' run/access.log)"
# The installed package updates the device and the new app confirms itself.
echo 'import ota.rollback; from ota._mpota import mpota; ota.rollback.cancel(); d = mpota.Device(); print("running", d.running(), d.state(d.running()))' >fs/main.py
expect_status 0 "$TWIN" --stock --flash dev.flash --fs fs --max-boots 2 update.py
grep -qx "engine: ota._stock /lib/ota/update.mpy" "$WORK/out" && ok || fail "not the installed .mpy on the Python engine: $(head -3 "$WORK/out")"
grep -qx "running ota_1 2" "$WORK/out" && ok || fail "after the update: $(tail -3 "$WORK/out")"
"$M" flash status dev.flash --json >status.json || fail "flash status"
[ "$(json_get status.json 'j["running"]')" = ota_1 ] && ok || fail "the device does not run ota_1"
echo "mip: installed $(ls fs/lib/ota | wc -l) + 1 .mpy files ($(cat fs/lib/ota/*.mpy fs/lib/ota32.mpy | wc -c) bytes) from $URL"
finish
