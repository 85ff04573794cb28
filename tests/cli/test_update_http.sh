#!/usr/bin/env bash
# `mpota flash update` over HTTP(S) against a real nginx on 127.0.0.1 (started
# and stopped here): plain, manifest, redirect, 404, wrong sha, truncated
# body, connection cut then resumed, a server that ignores Range, too big for
# the slot, combined firmware, foreign chip, dead server, HTTPS, credentials
# kept to their origin, passwords never printed, a dripping server, a length
# over 4 GiB. For every refused case the running slot and otadata are
# byte-identical before and after.
. "$(dirname "$0")/lib.sh"
RIG="$MPOTA_SRC/tests/integration"
M="$MPOTA"

mkdir -p www run
if ! ports=$(bash "$RIG/nginx_rig.sh" start "$WORK/run" "$WORK/www" $$ 300 2>"$WORK/rig.err"); then
  status=$?
  cat "$WORK/rig.err"; echo "FAIL: nginx rig did not start"; exit 1
fi
trap 'bash "$RIG/nginx_rig.sh" stop "$WORK/run" >/dev/null 2>&1; [ -n "${PROXY:-}" ] && kill "$PROXY" 2>/dev/null; rm -rf "$WORK"' EXIT
read -r PORT TLS_PORT <<<"$ports"
BASE="http://127.0.0.1:$PORT"

"$M" image build -o www/v1.bin --size 1400000 --version v1.0.0 --seed 1 >/dev/null
"$M" image build -o www/v2.bin --size 1500000 --version v2.0.0 --seed 2 >/dev/null
"$M" image build -o www/big.bin --size 1700000 --version v9 >/dev/null
"$M" image build -o www/s3.bin --size 300000 --chip esp32s3 >/dev/null
head -c 900000 www/v2.bin > www/short.bin
"$M" image build --bootloader -o boot.bin >/dev/null
TABLE="${TESTDATA:-}/partition-tables/micropython/partitions-4MiB-ota.csv"
[ -f "$TABLE" ] || { "$M" part make --layout ota --flash-size 4M --fs-type none -o table.csv >/dev/null; TABLE=table.csv; }
"$M" part convert "$TABLE" table.bin >/dev/null
head -c $((0xF000)) /dev/zero | tr '\0' '\377' > www/combined.bin
dd if=boot.bin of=www/combined.bin conv=notrunc 2>/dev/null
dd if=table.bin of=www/combined.bin bs=1 seek=$((0x7000)) conv=notrunc 2>/dev/null
cat www/v2.bin >> www/combined.bin
head -c $((0xF000)) www/combined.bin > www/bigfw.bin
"$M" image build -o bigapp.bin --size 1672800 --version '' --project '' --micropython 1.23.0 >/dev/null
cat bigapp.bin >> www/bigfw.bin
for v in 1.23.0:mp123 1.14:mp114 1.24.1:mp124; do
  "$M" image build -o "www/${v#*:}.bin" --size 1000000 --version '' --project '' \
    --micropython "${v%%:*}" --seed 9 >/dev/null
done
(cd www && "$M" manifest make v2.bin -o v2.json >/dev/null)
sha256sum www/v2.bin | sed 's| www/| |' > www/v2.bin.sha
SHA2=$(cut -d' ' -f1 www/v2.bin.sha)

fresh() {
  "$M" flash new dev.flash --size 4M --table table.bin --app www/v1.bin >/dev/null
  "$M" flash boot dev.flash >/dev/null
  dd if=dev.flash bs=4096 skip=13 count=2 2>/dev/null > otadata.before
  dd if=dev.flash bs=65536 skip=1 count=24 2>/dev/null > running.before
}
untouched() {
  cmp -s <(dd if=dev.flash bs=4096 skip=13 count=2 2>/dev/null) otadata.before && ok || fail "otadata changed ($1)"
  cmp -s <(dd if=dev.flash bs=65536 skip=1 count=24 2>/dev/null) running.before && ok || fail "running slot changed ($1)"
}
installed_v2() {
  cmp -s <(dd if=dev.flash bs=65536 skip=25 2>/dev/null | head -c 1500000) www/v2.bin && ok || fail "ota_1 is not v2 ($1)"
}

# Plain update over HTTP, then reboot and confirm.
fresh
expect_status 0 "$M" flash update dev.flash "$BASE/files/v2.bin" --json --reboot --confirm
expect_json 'j["ok"], j["slot"], j["booted"], j["sha256"]' "(True, 'ota_1', 'ota_1', '$SHA2')"
installed_v2 plain

# Manifest (firmware relative to the manifest's URL), and a side file.
fresh
expect_status 0 "$M" flash update dev.flash "$BASE/files/v2.json" --json
expect_json 'j["ok"], j["source"]' "(True, '$BASE/files/v2.bin')"
installed_v2 manifest
fresh
expect_status 0 "$M" flash update dev.flash "$BASE/files/v2.bin" --sidecar
installed_v2 sidecar

# Redirect followed.
fresh
expect_status 0 "$M" flash update dev.flash "$BASE/redirect/v2.bin"
installed_v2 redirect

# Connection cut mid-transfer (the first 2 connections after 300 kB), resumed with Range.
python3 "$RIG/cut_proxy.py" --target-port "$PORT" --port-file proxy.port --cut-after 300000 \
  --cut-conns 2 --log proxy.log --timeout 120 &
PROXY=$!
for _ in $(seq 50); do [ -s proxy.port ] && break; sleep 0.1; done
fresh
expect_status 0 "$M" flash update dev.flash "http://127.0.0.1:$(cat proxy.port)/files/v2.bin" --json --sha256 "$SHA2"
expect_json 'j["ok"], j["bytes"]' "(True, 1500000)"
installed_v2 resumed
grep -q 'range=bytes=[1-9][0-9]*-' run/access.log && ok || fail "no ranged request reached nginx"
kill "$PROXY" 2>/dev/null; wait "$PROXY" 2>/dev/null; PROXY=

# A server that ignores Range, behind a cutting proxy: restarts cleanly from 0.
rm -f proxy.port
python3 "$RIG/cut_proxy.py" --target-port "$PORT" --port-file proxy.port --cut-after 400000 \
  --cut-conns 1 --log proxy.log --timeout 120 &
PROXY=$!
for _ in $(seq 50); do [ -s proxy.port ] && break; sleep 0.1; done
fresh
expect_status 0 "$M" flash update dev.flash "http://127.0.0.1:$(cat proxy.port)/norange/v2.bin" --sha256 "$SHA2"
installed_v2 "ignored range"
kill "$PROXY" 2>/dev/null; wait "$PROXY" 2>/dev/null; PROXY=

# Refusals.
fresh
expect_status 1 "$M" flash update dev.flash "$BASE/files/nosuch.bin"
expect_err '404'
untouched 404
expect_status 1 "$M" flash update dev.flash "$BASE/files/v2.bin" --sha256 "$(printf 'a%.0s' $(seq 64))"
expect_err 'SHA-256'
untouched "wrong sha"
expect_status 1 "$M" flash update dev.flash "$BASE/files/short.bin"
expect_err 'truncated'
untouched "truncated image"
expect_status 1 "$M" flash update dev.flash "$BASE/files/big.bin"
expect_err '1,572,864 B'
untouched "too big"
expect_status 1 "$M" flash update dev.flash "$BASE/files/combined.bin"
expect_err 'full flash image'
untouched "combined"
# A firmware.bin of the official v1.23.0 size: its Content-Length alone is
# larger than the slot, yet the answer is "extract the app", before any erase.
expect_status 1 "$M" flash update dev.flash "$BASE/files/bigfw.bin" --json
expect_json 'j["code"], j["flash_ops"]["erase"] + j["flash_ops"]["program"]' "('MPOTA_ERR_IMAGE_IS_COMBINED', 0)"
expect_status 1 "$M" flash update dev.flash "$BASE/files/bigfw.bin"
expect_err 'full flash image.*extract-app'
untouched "combined, Content-Length over the slot"

# --no-downgrade between official-style builds (versions only in the banner):
# a download's version is read from the slot before otadata is switched.
"$M" flash new off.flash --size 4M --table table.bin --app www/mp123.bin >/dev/null
"$M" flash boot off.flash >/dev/null
cp off.flash off.before
expect_status 1 "$M" flash update off.flash "$BASE/files/mp114.bin" --no-downgrade
expect_err "older than the running app's \(1\.23\.0\)"
cmp -s <(head -c $((0x190000)) off.flash) <(head -c $((0x190000)) off.before) && ok ||
  fail "a refused downgrade changed otadata or the running slot"
expect_status 0 "$M" flash update off.flash "$BASE/files/mp124.bin" --no-downgrade --reboot --json
expect_json 'j["booted"]' "ota_1"
expect_status 1 "$M" flash update dev.flash "$BASE/files/s3.bin"
expect_err 'ESP32-S3'
untouched "foreign chip"
expect_status 1 "$M" flash update dev.flash "http://127.0.0.1:9/files/v2.bin" --retries 1
untouched "dead server"
# Every connection cut: retries exhausted, a truncated body is not accepted.
rm -f proxy.port
python3 "$RIG/cut_proxy.py" --target-port "$PORT" --port-file proxy.port --cut-after 200000 \
  --cut-conns -1 --log proxy.log --timeout 120 &
PROXY=$!
for _ in $(seq 50); do [ -s proxy.port ] && break; sleep 0.1; done
expect_status 1 "$M" flash update dev.flash "http://127.0.0.1:$(cat proxy.port)/files/v2.bin" --retries 2
untouched "truncated body"
kill "$PROXY" 2>/dev/null; wait "$PROXY" 2>/dev/null; PROXY=

# HTTPS: refused without the CA, accepted with it.
if [ "$TLS_PORT" != 0 ]; then
  fresh
  expect_status 1 "$M" flash update dev.flash "https://127.0.0.1:$TLS_PORT/files/v2.bin"
  untouched "unverified TLS"
  expect_status 0 "$M" flash update dev.flash "https://127.0.0.1:$TLS_PORT/files/v2.bin" --cacert run/cert.pem
  installed_v2 https
else
  fail "no HTTPS port: is the Debian package openssl installed?"
fi

. "$(dirname "$0")/rig_lib.sh"
# Neither stdout nor stderr shows the password.
no_password() {
  if grep -q s3cret "$WORK/out" "$WORK/err"; then
    fail "the password was printed ($1):"; grep -h s3cret "$WORK/out" "$WORK/err" | head -3 | sed 's/^/  /'
  else ok; fi
}

# --user goes only to the origin given (scheme, host, port): a manifest behind
# auth naming its firmware on another origin sends the credentials neither
# there nor to the side files there. nginx logs user=- without them.
if [ "$TLS_PORT" != 0 ]; then
  TLS="https://127.0.0.1:$TLS_PORT"
  sed "s|\"v2.bin\"|\"$TLS/files/v2.bin\"|" www/v2.json > www/cross.json
  fresh
  mark=$(log_mark)
  expect_status 0 "$M" flash update dev.flash "$BASE/auth/cross.json" --user mpota:s3cret \
    --cacert run/cert.pem --sidecar
  installed_v2 "firmware on another origin"
  log_has "^GET /auth/cross.json .* user=mpota$" && ok || fail "the manifest got no credentials"
  log_has "^GET /files/v2.bin .* port=$TLS_PORT user=-$" && ok || fail "no firmware request"
  log_has "^GET /files/v2.bin.sha .* port=$TLS_PORT user=-$" && ok || fail "no side file request"
  if log_since | grep "port=$TLS_PORT" | grep -qv "user=-$"; then
    fail "credentials reached another origin:"; log_since | grep "port=$TLS_PORT" | sed 's/^/  /'
  else ok; fi
  # The same origin still gets them (the firmware is behind auth too).
  fresh
  expect_status 0 "$M" flash update dev.flash "$BASE/auth/v2.json" --user mpota:s3cret
  installed_v2 "firmware beside the manifest, behind auth"

  # An https manifest naming plain-http firmware: refused, unless --insecure;
  # then the firmware still gets no credentials (another origin).
  sed "s|\"v2.bin\"|\"$BASE/files/v2.bin\"|" www/v2.json > www/down.json
  fresh
  expect_status 1 "$M" flash update dev.flash "$TLS/auth/down.json" --cacert run/cert.pem --user mpota:s3cret
  expect_err "plain http.*--insecure"
  untouched "https manifest, http firmware"
  mark=$(log_mark)
  expect_status 0 "$M" flash update dev.flash "$TLS/auth/down.json" --insecure --user mpota:s3cret
  installed_v2 "http firmware with --insecure"
  log_has "^GET /files/v2.bin .* port=$PORT user=-$" && ok || fail "credentials went to the http firmware"
else
  fail "no HTTPS port: is the Debian package openssl installed?"
fi

# Passwords are never printed: not from a URL (shown as user:***@), not --user.
AUTHED="http://mpota:s3cret@127.0.0.1:$PORT"
fresh
expect_status 0 "$M" flash update dev.flash "$AUTHED/auth/v2.json" --json
expect_json 'j["source"]' "http://mpota:***@127.0.0.1:$PORT/auth/v2.bin"
no_password "manifest, --json"
fresh
expect_status 1 "$M" flash update dev.flash "$AUTHED/auth/nosuch.json"
expect_err "mpota:\*\*\*@127.0.0.1:$PORT/auth/nosuch.json.*404"
no_password "missing manifest"
expect_status 1 "$M" flash update dev.flash "$AUTHED/auth/nosuch.bin" --json
no_password "missing firmware, --json"
expect_status 1 "$M" flash update dev.flash "$AUTHED/auth/v1.bin" --sidecar --json
expect_json 'j["code"]' "MPOTA_ERR_MANIFEST"
no_password "no side file, --json"
expect_status 1 "$M" flash update dev.flash "$AUTHED/auth/v1.bin" --sidecar
expect_err "mpota:\*\*\*@127.0.0.1:$PORT/auth/v1.sha: HTTP 404"
no_password "no side file"
expect_status 1 "$M" flash update dev.flash "$BASE/auth/nosuch.bin" --user mpota:s3cret --json
no_password "--user, missing firmware"
untouched "password cases"

# A server that drips a byte every 0.2 s never stalls: the minimum speed
# abandons each attempt, and the deadline ends the whole download, retries
# and all, in about 3 s (not hours).
start_proxy --cut-after 100000 --cut-conns -1 --mode drip --drip-interval 0.2
fresh
started=$SECONDS
expect_status 1 timeout 60 "$M" flash update dev.flash "http://127.0.0.1:$PPORT/files/v2.bin" \
  --min-speed 10000 --stall-window 1 --deadline 3 --retries 100
[ $((SECONDS - started)) -le 10 ] && ok || fail "the deadline of 3 s took $((SECONDS - started)) s"
expect_err "too slow: .* under the minimum of 10000 B/s"
expect_err "not finished within the deadline of 3 s"
expect_err "did not finish within --deadline \(3 s.*allow more time"
untouched "drip"
stop_proxy
"$M" flash update --help | tr -s ' \n' '  ' >"$WORK/out"
expect_out "--min-speed BYTES [^-]*\(default 1024\)"
expect_out "--stall-window SECONDS [^-]*\(default 20\)"
expect_out "--deadline SECONDS [^;]*retries included[^;]*; the manifest and side files count too \(default 600\)"
expect_status 2 "$M" flash update dev.flash "$BASE/files/v2.bin" --deadline 0
expect_err "^mpota: --deadline: a number from 1 to 604800 .* got '0'$"
expect_status 2 "$M" flash update dev.flash "$BASE/files/v2.bin" --min-speed 1K
expect_err "^mpota: --min-speed: a number from 1 to 1073741824 .* got '1K'$"

# A stated length over 4 GiB is shown as it is, not clamped to 32 bits.
start_proxy --cut-conns 0 --fake-length 1000000000000
fresh
expect_status 1 "$M" flash update dev.flash "http://127.0.0.1:$PPORT/files/v2.bin"
expect_err "the server says the file is 1,000,000,000,000 B.*1,572,864 B"
if grep -q "4,294,967,295" "$WORK/err"; then fail "a clamped length was printed"; else ok; fi
untouched "length over 4 GiB"
stop_proxy

# The device still boots and confirms after all that.
expect_status 0 "$M" flash boot dev.flash --json
finish
