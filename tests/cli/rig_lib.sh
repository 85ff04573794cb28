# Helpers for CLI tests against the nginx rig (tests/integration/nginx_rig.sh),
# sourced after the rig started: RIG (tests/integration) and PORT (its plain
# HTTP port) must be set, and the rig's RUNDIR must be ./run.

# Starts cut_proxy.py in front of nginx's plain port with the given options;
# sets PROXY (its pid) and PPORT (its port).
start_proxy() {
  rm -f proxy.port
  python3 "$RIG/cut_proxy.py" --target-port "$PORT" --port-file proxy.port --log proxy.log \
    --timeout 120 "$@" &
  PROXY=$!
  for _ in $(seq 100); do [ -s proxy.port ] && break; sleep 0.1; done
  PPORT=$(cat proxy.port)
}
stop_proxy() { kill "$PROXY" 2>/dev/null; wait "$PROXY" 2>/dev/null; PROXY=; }
# The access-log lines since `mark=$(log_mark)`.
log_mark() { wc -l <run/access.log; }
log_since() { tail -n +$((mark + 1)) run/access.log; }
# Whether a line since the mark matches; nginx logs a request just after
# answering it, so wait up to 2 s.
log_has() {
  for _ in $(seq 20); do log_since | grep -q "$1" && return 0; sleep 0.1; done
  return 1
}
