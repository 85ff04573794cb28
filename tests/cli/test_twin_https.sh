#!/usr/bin/env bash
# HTTPS on the twin, as on the device (issue 10, item 7). The twin's
# interpreter has the `tls` module on the mbedTLS the MicroPython tree pins
# (lib/mbedtls; micropython-lib's `ssl` wraps it, frozen as on the ESP32), and
# the mpota core in it hashes with that same mbedTLS: no second copy, no host
# libmbedcrypto. Against nginx's HTTPS listener (tests/integration/nginx_rig.sh,
# a test CA and a server certificate made at test time with openssl):
# * glenn20's ota.update.from_file(url, sha, length, cadata=<CA, DER>)
#   verifies the server, writes the app, reboots, and the new app runs; also
#   through a proxy that cuts the TLS connection mid-download (resumed with
#   Range on a new connection);
# * cadata of a CA that did not sign the server's certificate, or cadata
#   that is no certificate, is refused with a clear error before anything is
#   written or even requested: the flash stays byte-identical;
# * without cadata the server is not verified (as requests and glenn20's
#   package do) and the update works;
# * requests.get over https; tls checks the host name when verifying.
# In C mode (the `ota` package frozen, on the C engine) and in stock mode
# (mpota-twin --stock, the package copied into the device's /lib: its
# Python engine; twin_lib.sh's install_package).
. "$(dirname "$0")/twin_lib.sh"
RIG=$SRC/tests/integration
M=$MPOTA

command -v openssl >/dev/null ||
  { echo "FAIL: this test makes certificates with openssl: apt-get install openssl"; exit 1; }

# --- the interpreter: one mbedTLS, the tree's ----------------------------------
VM=$(dirname "$TWIN")/mpota-twin-vm
[ -x "$VM" ] && ok || fail "no interpreter beside the twin: $VM"
if ldd "$VM" 2>/dev/null | grep -q mbed; then
  fail "the twin's interpreter links the host's mbedTLS: $(ldd "$VM" | grep mbed)"
else ok; fi
WANT_TLS="Mbed TLS 3."
INFO=$TWIN_TREE/lib/mbedtls/include/mbedtls/build_info.h
if [ -n "$TWIN_TREE" ] && [ -f "$INFO" ]; then
  WANT_TLS=$(sed -n 's/^#define MBEDTLS_VERSION_STRING_FULL *"\(.*\)"$/\1/p' "$INFO")
  [ -n "$WANT_TLS" ] && ok || fail "no MBEDTLS_VERSION_STRING_FULL in $INFO"
fi

# --- files, nginx and a cutting proxy -----------------------------------------
mkdir -p www
cp "$IMG/app-v2.0.0-ota.bin" www/app-v2.bin
"$M" image build -o www/app-v3.bin --size 1400000 --version v3.0.0 --seed 3 >/dev/null || fail "image build"
echo "hello over tls" >www/hello.txt
"$M" part make --layout ota --flash-size 4M -o table.csv >/dev/null || fail "part make"
"$M" part convert table.csv table.bin >/dev/null || fail "part convert"
sha() { sha256sum "$1" | cut -c1-64; }

if ! ports=$(bash "$RIG/nginx_rig.sh" start "$WORK/run" "$WORK/www" $$ 600 2>"$WORK/rig.err"); then
  cat "$WORK/rig.err"; echo "FAIL: nginx rig did not start"; exit 1
fi
PROXY=""
trap 'bash "$RIG/nginx_rig.sh" stop "$WORK/run" >/dev/null 2>&1; [ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null; rm -rf "$WORK"' EXIT
read -r PORT TLS_PORT <<<"$ports"
[ "$TLS_PORT" -gt 0 ] 2>/dev/null && ok || { echo "FAIL: the rig has no HTTPS port: '$ports'"; exit 1; }
# start_proxy: a cut_proxy.py in front of the HTTPS port (it forwards the TLS
# bytes untouched) that cuts its first connection; its port in CUT_PORT.
start_proxy() {
  [ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null && wait "$PROXY" 2>/dev/null
  rm -f cut.port
  : >cut.log
  python3 "$RIG/cut_proxy.py" --target-port "$TLS_PORT" --port-file cut.port --log cut.log \
    --timeout 600 --cut-after 300000 --cut-conns 1 &
  PROXY=$!
  for _ in $(seq 50); do [ -s cut.port ] && break; sleep 0.1; done
  [ -s cut.port ] || { echo "FAIL: cut_proxy did not start"; exit 1; }
  CUT_PORT=$(cat cut.port)
}

# Another CA, which signed nothing nginx presents.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other.key \
  -out other.pem -days 2 -subj "/CN=another CA" -addext "basicConstraints=critical,CA:TRUE" \
  >openssl.log 2>&1 && openssl x509 -in other.pem -outform DER -out other.der 2>>openssl.log ||
  { cat openssl.log; echo "FAIL: openssl could not make the other CA"; exit 1; }

# The device's files: both CAs (DER, as MicroPython's cadata takes them), a
# main.py that says which app runs, and the settings of this run.
mkdir -p fsfiles
cp run/ca.der fsfiles/ca.der
cp other.der fsfiles/other.der
cat >fsfiles/main.py <<'EOF'
import esp32
print("running", esp32.Partition(esp32.Partition.RUNNING).info()[4])
EOF
# config.py (written by new_device, as the proxy's port changes).
CONFIG="TLS = \"https://127.0.0.1:$TLS_PORT\"
SHA = \"$(sha www/app-v2.bin)\"
LEN = $(stat -c %s www/app-v2.bin)
SHA3 = \"$(sha www/app-v3.bin)\"
LEN3 = $(stat -c %s www/app-v3.bin)"

# --- scripts ----------------------------------------------------------------------
# tls, ssl and requests, and the package's HTTP client, without updating.
cat >tls_check.py <<'EOF'
import socket, ssl, tls
import config
print("mbedtls", tls.MBEDTLS_VERSION)
import requests
r = requests.get(config.TLS + "/files/hello.txt")
print("requests", r.status_code, r.text.strip())
r.close()
ca = open("ca.der", "rb").read()
from ota import _http
for name, kw in (("verified", {"cadata": ca}), ("unverified", {})):
    with _http.get(config.TLS + "/redirect/hello.txt", **kw) as r:
        print("_http", name, r.status, r.read().strip().decode())
for name, url, kw in (("other CA", "/files/hello.txt", {"cadata": open("other.der", "rb").read()}),
                      ("downgrade", "/downgrade/hello.txt", {"cadata": ca})):
    try:
        _http.get(config.TLS + url, **kw).close()
        print("_http", name, "accepted")
    except Exception as e:
        print("_http", name, "refused:", type(e).__name__, e)
# The name is checked too: the right CA, a name the certificate lacks.
ai = socket.getaddrinfo("127.0.0.1", int(config.TLS.rsplit(":", 1)[1]))[0]
s = socket.socket(ai[0], socket.SOCK_STREAM, ai[2])
s.connect(ai[-1])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(cadata=ca)
ctx.verify_mode = ssl.CERT_REQUIRED
try:
    ctx.wrap_socket(s, server_hostname="mpota.invalid").close()
    print("wrong name accepted")
except ValueError as e:
    print("wrong name refused:", " ".join(str(e).split()))
s.close()
try:
    import ota.update
    print("ota.update imports")
except ImportError as e:
    print("ota.update does not import:", e)
EOF

# update_script FILE BASE NAME SHA LEN [ARGS]: glenn20's from_file of
# BASE/files/NAME (BASE, SHA and LEN: names in config.py), as a user writes
# it; its reboot starts main.py.
update_script() {
  cat >"$1" <<EOF
import ota.update
import config
ota.update.REBOOT_DELAY = 0
ota.update.from_file(config.$2 + "/files/$3", config.$4, config.$5, verbose=False$6)
EOF
}
update_script verified.py TLS app-v2.bin SHA LEN ', cadata=open("ca.der", "rb").read()'
update_script unverified.py TLS app-v2.bin SHA LEN ''
update_script resumed.py CUT app-v3.bin SHA3 LEN3 ', cadata=open("ca.der", "rb").read()'

cat >refused.py <<'EOF'
import ota.update
import config
for name, ca in (("other CA", open("other.der", "rb").read()), ("no certificate", b"not a certificate")):
    try:
        ota.update.from_file(config.TLS + "/files/app-v2.bin", config.SHA, config.LEN,
                             verbose=False, reboot=False, cadata=ca)
        print(name, "accepted")
    except Exception as e:
        print(name, "refused:", type(e).__name__, e)
EOF

# --- helpers ----------------------------------------------------------------
# new_device: the 4 MiB "ota" layout, app-v1.0.1 in ota_0, booted once; the
# device's files, and in stock mode the `ota` package in /lib (where
# mip.install puts it).
new_device() {
  rm -rf fs dev.flash dev.flash.state && cp -r fsfiles fs
  printf '# Written by tests/cli/test_twin_https.sh for this run.\n%s\nCUT = "https://127.0.0.1:%s"\n' \
    "$CONFIG" "${CUT_PORT:-0}" >fs/config.py
  "$M" flash new dev.flash --size 4M --table table.bin --app "$IMG/app-v1.0.1.bin" >/dev/null ||
    fail "flash new"
  "$M" flash boot dev.flash >/dev/null || fail "flash boot"
  OTA_STOCK=$STOCK install_package fs
}
# twin STATUS MAX_BOOTS [SCRIPT]: through the twin's reboot loop, in this mode.
twin() { expect_status "$1" "$TWIN" --flash dev.flash --fs fs $STOCK --max-boots "$2" ${3:+"$3"}; }
has() { grep -qxF -- "$1" "$WORK/out" && ok || { fail "$MODE: no line '$1' in:"; sed 's/^/  /' "$WORK/out"; }; }
no_err() { [ ! -s "$WORK/err" ] && ok || fail "$MODE: $1 wrote to stderr: $(head -5 "$WORK/err")"; }
slot_is() { cmp -s <(dd if=dev.flash bs=65536 skip=$(($2 / 65536)) 2>/dev/null | head -c "$(stat -c %s "$1")") "$1"; }
tls_requests() { grep -c "^GET /files/$1 .* port=$TLS_PORT " run/access.log; }
OTA_1=$((0x190000))
REFUSED_OTHER="TLS: the certificate of 127.0.0.1 was refused (checked against cadata): The certificate is not correctly signed by the trusted CA"
REFUSED_GARBAGE="cadata is not a CA certificate in DER form (invalid cert)"

for MODE in C stock; do
  STOCK=""
  [ "$MODE" = stock ] && STOCK=--stock
  echo "--- $MODE mode"

  # tls, requests and the HTTP client.
  new_device
  twin 0 1 tls_check.py
  no_err tls_check.py
  grep -qF -- "mbedtls $WANT_TLS" "$WORK/out" && ok || fail "$MODE: tls is not $WANT_TLS: $(grep ^mbedtls "$WORK/out")"
  has "requests 200 hello over tls"
  has "_http verified 200 hello over tls"
  has "_http unverified 200 hello over tls"
  has "_http other CA refused: ValueError $REFUSED_OTHER"
  has "_http downgrade refused: ValueError refused a redirect from https to plain http: http://127.0.0.1:$PORT/files/hello.txt"
  has "wrong name refused: The certificate Common Name (CN) does not match with the expected CN"
  grep -qx "ota.update imports" "$WORK/out" && ok || fail "$MODE mode: $(grep '^ota.update' "$WORK/out")"

  # Verified: the app arrives and runs after the reboot.
  : >run/access.log
  new_device
  twin 0 3 verified.py
  no_err verified.py
  has "running ota_1"
  slot_is www/app-v2.bin $OTA_1 && ok || fail "$MODE: ota_1 does not hold app-v2 after a verified update"
  [ "$(tls_requests app-v2.bin)" -eq 1 ] && ok || fail "$MODE: not one https request: $(cat run/access.log)"

  # Refused: the other CA, then cadata that is no certificate. Nothing is
  # written, nothing even requested; the old app still boots.
  : >run/access.log
  new_device
  cp dev.flash before.flash
  twin 0 1 refused.py
  no_err refused.py
  has "other CA refused: ValueError $REFUSED_OTHER"
  has "no certificate refused: ValueError $REFUSED_GARBAGE"
  cmp -s dev.flash before.flash && ok || fail "$MODE: a refused certificate changed the flash"
  [ "$(tls_requests app-v2.bin)" -eq 0 ] && ok || fail "$MODE: a request went past a refused certificate"
  twin 0 1
  has "running ota_0"

  # Unverified, as requests and glenn20's package do by default.
  new_device
  twin 0 3 unverified.py
  no_err unverified.py
  has "running ota_1"
  slot_is www/app-v2.bin $OTA_1 && ok || fail "$MODE: ota_1 does not hold app-v2 after an unverified update"

  # Verified through the proxy, which cuts the first connection: the
  # download resumes where the flash write stopped, on a new TLS connection.
  : >run/access.log
  start_proxy
  new_device
  twin 0 3 resumed.py
  no_err resumed.py
  has "running ota_1"
  slot_is www/app-v3.bin $OTA_1 && ok || fail "$MODE: ota_1 does not hold app-v3 after a resumed update"
  grep -q "cut after" cut.log && ok || fail "$MODE: the proxy did not cut: $(cat cut.log)"
  grep -q "^GET /files/app-v3.bin range=bytes=[1-9][0-9]*- .*status=206 .*port=$TLS_PORT " run/access.log &&
    ok || fail "$MODE: no resumed https request: $(cat run/access.log)"
done

finish
