#!/usr/bin/env bash
# A private nginx on 127.0.0.1 for the HTTP client tests: its own prefix,
# config, pid, logs and temp dirs in RUNDIR; never a system path, never an
# address other than 127.0.0.1.
#
#   nginx_rig.sh start RUNDIR DOCROOT [OWNER_PID [MAX_SECONDS]]
#       Starts nginx serving DOCROOT and prints "HTTP_PORT TLS_PORT" (HTTPS
#       on TLS_PORT). The ports are also written to
#       RUNDIR/ports. A watcher stops nginx when OWNER_PID exits or after
#       MAX_SECONDS (default 120), so a crashed test leaves nothing behind.
#   nginx_rig.sh stop RUNDIR
#       Stops that nginx (fast shutdown) and waits until it is gone.
#
# Locations, on both the HTTP and the HTTPS port:
#   /files/NAME      DOCROOT/NAME, ranges honoured
#   /redirect/NAME   302 to /files/NAME (relative Location)
#   /loop/NAME       302 to itself, for "too many redirects"
#   /norange/NAME    DOCROOT/NAME with Range ignored (max_ranges 0: always 200)
#   /auth/NAME       DOCROOT/NAME behind basic auth, user "mpota" password "s3cret"
#   /slow/NAME       DOCROOT/NAME at 256 KiB/s (nginx sends it in bursts, one a second)
#   /tofile/NAME     302 to file:///etc/hostname (a redirect out of HTTP)
#   /gzip/NAME       DOCROOT/NAME.gz, if there is one and the request accepts
#                    gzip, with Content-Encoding: gzip (gzip_static); ranges honoured
#   /saysgzip/NAME   DOCROOT/NAME with Content-Encoding: gzip, whatever it holds
#   /saysbr/NAME     DOCROOT/NAME with Content-Encoding: br
# HTTP only:
#   /cross/NAME      302 to https://127.0.0.1:TLS_PORT/files/NAME (another origin)
# HTTPS only:
#   /downgrade/NAME  302 to http://127.0.0.1:HTTP_PORT/files/NAME
# Certificates, generated at start with openssl (nothing is kept in the
# repository), all EC P-256 and valid for 2 days:
#   RUNDIR/ca.pem, ca.der   a test CA ("mpota test CA"); ca.key is its key
#   RUNDIR/server.pem       the server's certificate, signed by that CA:
#                           CN 127.0.0.1, SAN IP 127.0.0.1 and DNS localhost
#   RUNDIR/cert.pem         server.pem followed by ca.pem: the chain nginx
#                           sends, and a file to trust (curl --cacert) since
#                           it holds the CA; key.pem is the server's key
# RUNDIR/access.log has one line per request:
#   METHOD URI range=<Range> ifrange=<If-Range> status=<status> sent=<body bytes>
#   ae=<Accept-Encoding> ce=<Content-Encoding sent> port=<port> user=<basic-auth user>
# (user is "-" when no Authorization header arrived: credentials must not
# reach another origin).
# Exit status: 0 started/stopped, 1 failure (stderr says why, and names the
# Debian package when nginx or openssl is missing), 2 usage. MPOTA_NGINX
# overrides the nginx binary.
set -euo pipefail

RIG_USER=mpota
RIG_PASSWORD=s3cret

usage() {
    echo "usage: $0 start RUNDIR DOCROOT [OWNER_PID [MAX_SECONDS]] | stop RUNDIR" >&2
    exit 2
}

# nginx lives in sbin, which is often not in a normal user's PATH.
# MPOTA_NGINX names another binary (or a missing one, to try the skip path).
find_nginx() {
    local d
    if [ -n "${MPOTA_NGINX:-}" ]; then
        [ -x "$MPOTA_NGINX" ] && echo "$MPOTA_NGINX"
        return
    fi
    if command -v nginx >/dev/null 2>&1; then
        command -v nginx
        return 0
    fi
    for d in /usr/sbin /usr/local/sbin /sbin /usr/local/nginx/sbin; do
        if [ -x "$d/nginx" ]; then
            echo "$d/nginx"
            return 0
        fi
    done
    return 1
}

# True while pid runs; a zombie (killed, not yet reaped) counts as gone.
alive() {
    local st
    st=$(sed -E 's/.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# Waits until pid is gone; returns 1 if it is still there after ~5 s.
wait_gone() {
    local pid=$1 i
    for i in $(seq 50); do
        alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

stop_rig() {
    local run=$1 pid
    stop_watcher "$run"
    [ -f "$run/nginx.pid" ] || return 0
    pid=$(cat "$run/nginx.pid" 2>/dev/null || true)
    case "$pid" in '' | *[!0-9]*) rm -f "$run/nginx.pid"; return 0 ;; esac
    # Only signal the process if it is still our nginx (the pid may be reused).
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$run/nginx.conf"; then
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_gone "$pid"; then
            # Workers of this master only, found by their parent pid.
            pkill -KILL -P "$pid" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" || true
        fi
    fi
    rm -f "$run/nginx.pid"
}

# The watcher runs `stop` itself (as our parent, or as us when bash execs
# the last command of the subshell): leave it be then.
stop_watcher() {
    local run=$1 wpid
    [ -f "$run/watcher.pid" ] || return 0
    wpid=$(cat "$run/watcher.pid" 2>/dev/null || true)
    rm -f "$run/watcher.pid"
    case "$wpid" in '' | *[!0-9]*) return 0 ;; esac
    if [ "$wpid" != "$PPID" ] && [ "$wpid" != "$$" ] && [ -r "/proc/$wpid/cmdline" ] &&
        tr '\0' ' ' <"/proc/$wpid/cmdline" | grep -q -- "$run"; then
        kill -TERM "$wpid" 2>/dev/null || true
        pkill -TERM -P "$wpid" 2>/dev/null || true  # its sleep
    fi
}

write_conf() {
    local run=$1 doc=$2 port=$3 tls_port=$4 user_line=""
    # As root, workers would otherwise run as "nobody" and could not read a
    # 0700 temp dir; as another user nginx ignores `user` with a warning.
    if [ "$(id -u)" -eq 0 ]; then
        user_line="user root;"
    fi
    cat >"$run/locations.conf" <<EOF
location /files/    { alias "$doc/"; }
location /redirect/ { rewrite ^/redirect/(.*)\$ /files/\$1 redirect; }
location /loop/     { rewrite ^/loop/(.*)\$ /loop/\$1 redirect; }
location /norange/  { alias "$doc/"; max_ranges 0; }
location /auth/     { alias "$doc/"; auth_basic "mpota"; auth_basic_user_file "$run/htpasswd"; }
location /slow/     { alias "$doc/"; limit_rate 256k; }
location /tofile/   { return 302 file:///etc/hostname; }
location /gzip/     { alias "$doc/"; gzip_static on; }
location /saysgzip/ { alias "$doc/"; add_header Content-Encoding gzip; }
location /saysbr/   { alias "$doc/"; add_header Content-Encoding br; }
EOF
    local cross tls_server
    cross="location /cross/ { rewrite ^/cross/(.*)\$ https://127.0.0.1:$tls_port/files/\$1 redirect; }"
    # cert.pem: the server's certificate and the CA's, the chain a client checks.
    tls_server="server {
        listen 127.0.0.1:$tls_port ssl;
        server_name 127.0.0.1;
        ssl_certificate \"$run/cert.pem\";
        ssl_certificate_key \"$run/key.pem\";
        include \"$run/locations.conf\";
        location /downgrade/ { rewrite ^/downgrade/(.*)\$ http://127.0.0.1:$port/files/\$1 redirect; }
    }"
    cat >"$run/nginx.conf" <<EOF
$user_line
daemon on;
master_process on;
worker_processes 1;
pid "$run/nginx.pid";
lock_file "$run/nginx.lock";
error_log "$run/error.log" info;
events { worker_connections 128; }
http {
    log_format rig '\$request_method \$uri range=\$http_range ifrange=\$http_if_range status=\$status sent=\$body_bytes_sent ae=\$http_accept_encoding ce=\$sent_http_content_encoding port=\$server_port user=\$remote_user';
    access_log "$run/access.log" rig;
    client_body_temp_path "$run/tmp/body";
    proxy_temp_path "$run/tmp/proxy";
    fastcgi_temp_path "$run/tmp/fastcgi";
    uwsgi_temp_path "$run/tmp/uwsgi";
    scgi_temp_path "$run/tmp/scgi";
    types { application/octet-stream bin; text/plain txt; application/json json; }
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 5s;
    # Relative Location headers keep a redirect on the port the client used
    # (the cut proxy's, when there is one).
    absolute_redirect off;
    server {
        listen 127.0.0.1:$port;
        server_name 127.0.0.1;
        include "$run/locations.conf";
        $cross
    }
    $tls_server
}
EOF
}

# A test CA and a server certificate it signs (see the header). The SAN is
# what clients check: curl and mbedTLS (MicroPython's tls) match IP:127.0.0.1.
make_cert() {
    local run=$1
    rm -f "$run"/ca.* "$run"/server.* "$run/cert.pem" "$run/key.pem"
    cat >"$run/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
EOF
    {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$run/ca.key" -out "$run/ca.pem" -days 2 -subj "/CN=mpota test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" &&
        openssl x509 -in "$run/ca.pem" -outform DER -out "$run/ca.der" &&
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$run/key.pem" -out "$run/server.csr" -subj "/CN=127.0.0.1" &&
        openssl x509 -req -in "$run/server.csr" -CA "$run/ca.pem" -CAkey "$run/ca.key" \
            -CAcreateserial -days 2 -extfile "$run/server.ext" -out "$run/server.pem" &&
        cat "$run/server.pem" "$run/ca.pem" >"$run/cert.pem" &&
        openssl verify -CAfile "$run/ca.pem" "$run/server.pem"
    } >"$run/openssl.log" 2>&1
}

make_htpasswd() {
    local run=$1 hash
    if command -v openssl >/dev/null 2>&1 && hash=$(openssl passwd -apr1 "$RIG_PASSWORD" 2>/dev/null); then
        echo "$RIG_USER:$hash" >"$run/htpasswd"
    else
        # nginx also accepts RFC 2307 {PLAIN} entries; fine for a test server.
        echo "$RIG_USER:{PLAIN}$RIG_PASSWORD" >"$run/htpasswd"
    fi
}

start_rig() {
    local run=$1 doc=$2 owner=${3:-} max=${4:-120} nginx port tls_port try
    if ! nginx=$(find_nginx); then
        # A missing tool fails the test (never a skip): say which package.
        echo "nginx_rig: nginx is not installed: install the Debian package nginx-light" >&2
        exit 1
    fi
    [ -d "$doc" ] || { echo "nginx_rig: docroot $doc does not exist" >&2; exit 1; }
    mkdir -p "$run/tmp"
    run=$(cd "$run" && pwd)
    doc=$(cd "$doc" && pwd)
    if ! command -v openssl >/dev/null 2>&1; then
        echo "nginx_rig: openssl is not installed (the HTTPS listener's certificates): install the Debian package openssl" >&2
        exit 1
    fi
    stop_rig "$run"
    make_htpasswd "$run"
    make_cert "$run" || { echo "nginx_rig: making the test certificates failed:" >&2; cat "$run/openssl.log" >&2; exit 1; }
    # Random ports; nginx refuses to start when one is taken, then we retry.
    for try in $(seq 20); do
        port=$((20000 + RANDOM % 40000))
        tls_port=$((20000 + RANDOM % 40000))
        [ "$tls_port" != "$port" ] || continue
        write_conf "$run" "$doc" "$port" "$tls_port"
        if "$nginx" -p "$run" -c "$run/nginx.conf" </dev/null >"$run/start.log" 2>&1; then
            break
        fi
        if ! grep -q "Address already in use" "$run/start.log" "$run/error.log" 2>/dev/null; then
            echo "nginx_rig: nginx did not start:" >&2
            cat "$run/start.log" >&2
            exit 1
        fi
        port=""
    done
    [ -n "$port" ] || { echo "nginx_rig: no free port found" >&2; exit 1; }
    # The daemonised master writes its pid file just after the parent returns.
    for try in $(seq 50); do
        [ -s "$run/nginx.pid" ] && break
        sleep 0.1
    done
    [ -s "$run/nginx.pid" ] || { echo "nginx_rig: nginx wrote no pid file" >&2; exit 1; }
    if [ -n "$owner" ]; then
        local self=$0 pid
        pid=$(cat "$run/nginx.pid")
        # The watcher: detached, its output nowhere, so no test runner waits on it.
        (
            end=$((SECONDS + max))
            while alive "$pid" && alive "$owner" && [ "$SECONDS" -lt "$end" ]; do
                sleep 0.5
            done
            bash "$self" stop "$run"
        ) </dev/null >/dev/null 2>&1 &
        echo $! >"$run/watcher.pid"
        disown 2>/dev/null || true
    fi
    echo "$port $tls_port" >"$run/ports"
    echo "$port $tls_port"
}

case "${1:-}" in
    start) [ $# -ge 3 ] || usage; start_rig "$2" "$3" "${4:-}" "${5:-120}" ;;
    stop) [ $# -eq 2 ] || usage; stop_rig "$2" ;;
    *) usage ;;
esac
