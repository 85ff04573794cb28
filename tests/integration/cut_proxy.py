#!/usr/bin/env python3
"""A TCP forwarder on 127.0.0.1 that breaks the first connections on purpose.

It sits in front of a server (nginx in the tests) and forwards bytes both ways.
On the first K connections it lets only N bytes of the server's response reach
the client, then, by --mode:
  cut    closes both sockets (FIN): the client sees a short body
  rst    closes the client socket with a TCP reset
  stall  stops forwarding but keeps the connection open (a stalled transfer)
  drip   forwards the rest one byte per --drip-interval seconds (a transfer
         that never stalls yet would take forever)
Later connections are forwarded untouched. Standard library only.

To play a server that botches ranges, it can also rewrite the
"Range: bytes=N-" header of every request passing through (plain HTTP only):
  --range-shift S   ask the server for bytes=N-S- instead: the 206 starts
                    before where the client asked
  --range-piece L   ask for bytes=N-(N+L-1): a clean 206 that stops short
  --inject-range N  add "Range: bytes=N-" to requests without one: a 206
                    answer to a request for the whole file
And rewrite the server's answer:
  --fake-length L   state "Content-Length: L" instead of the real length

It listens on a free port and writes that port to --port-file (atomically),
logs one line per connection to --log, and exits by itself after --timeout
seconds or when the process that started it goes away.
"""
import argparse
import os
import re
import select
import socket
import struct
import sys
import threading
import time

HOST = "127.0.0.1"  # never anything else


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target-port", type=int, required=True, help="server port on 127.0.0.1")
    p.add_argument("--port-file", required=True, help="where to write the listening port")
    p.add_argument("--cut-after", type=int, default=65536, help="response bytes let through (N)")
    p.add_argument("--cut-conns", type=int, default=1, help="how many first connections to break (K; -1 = all)")
    p.add_argument("--mode", choices=("cut", "rst", "stall", "drip"), default="cut")
    p.add_argument("--drip-interval", type=float, default=1.0, help="seconds between dripped bytes")
    p.add_argument("--timeout", type=float, default=60.0, help="exit after this many seconds")
    p.add_argument("--log", default=None, help="append one line per connection here")
    p.add_argument("--range-shift", type=int, default=0, help="rewrite bytes=N- to bytes=N-S-")
    p.add_argument("--range-piece", type=int, default=0, help="rewrite bytes=N- to bytes=N-(N+L-1)")
    p.add_argument("--inject-range", type=int, default=-1, help="add Range: bytes=N- where none is")
    p.add_argument("--fake-length", type=int, default=-1, help="answer with Content-Length: L")
    return p.parse_args()


class Proxy:
    def __init__(self, args):
        self.args = args
        self.deadline = time.monotonic() + args.timeout
        self.parent = os.getppid()
        self.count = 0
        self.lock = threading.Lock()

    def rewrite(self, data):
        a = self.args
        if a.inject_range >= 0 and b"\r\nRange:" not in data:
            data = data.replace(b"\r\n\r\n", b"\r\nRange: bytes=%d-\r\n\r\n" % a.inject_range, 1)
        if not (a.range_shift or a.range_piece):
            return data

        def sub(m):
            n = int(m.group(1))
            if a.range_shift:
                return b"Range: bytes=%d-\r\n" % max(0, n - a.range_shift)
            return b"Range: bytes=%d-%d\r\n" % (n, n + a.range_piece - 1)

        return re.sub(rb"Range: bytes=(\d+)-\r\n", sub, data)

    def rewrite_answer(self, data):
        if self.args.fake_length < 0:
            return data
        return re.sub(rb"(?i)\r\nContent-Length: *\d+", b"\r\nContent-Length: %d" % self.args.fake_length, data, count=1)

    def alive(self):
        return time.monotonic() < self.deadline and os.getppid() == self.parent

    def log(self, line):
        if self.args.log:
            with self.lock, open(self.args.log, "a") as f:
                f.write(line + "\n")

    def serve(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((HOST, 0))
        ls.listen(16)
        tmp = self.args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % ls.getsockname()[1])
        os.replace(tmp, self.args.port_file)
        while self.alive():
            r, _, _ = select.select([ls], [], [], 0.2)
            if not r:
                continue
            client, _ = ls.accept()
            self.count += 1
            n = self.count
            k = self.args.cut_conns
            limit = self.args.cut_after if (k < 0 or n <= k) else None
            t = threading.Thread(target=self.forward, args=(client, n, limit), daemon=True)
            t.start()
        ls.close()

    def forward(self, client, n, limit):
        sent = 0
        how = "closed"
        try:
            server = socket.create_connection((HOST, self.args.target_port), timeout=5)
        except OSError as e:
            self.log("conn %d: cannot reach server: %s" % (n, e))
            client.close()
            return
        server.settimeout(None)
        socks = [client, server]
        in_headers = True  # the answer's header block is still passing
        try:
            while self.alive():
                r, _, _ = select.select(socks, [], [], 0.2)
                if client in r:
                    data = client.recv(65536)
                    if not data:
                        break
                    server.sendall(self.rewrite(data))
                if server in r:
                    data = server.recv(65536)
                    if not data:
                        break
                    if in_headers:
                        data = self.rewrite_answer(data)
                        in_headers = b"\r\n\r\n" not in data
                    if limit is not None and sent + len(data) >= limit:
                        client.sendall(data[: limit - sent])
                        rest = data[limit - sent :]
                        sent = limit
                        how = self.break_connection(client, server, rest)
                        return
                    client.sendall(data)
                    sent += len(data)
        except OSError:
            how = "error"
        finally:
            self.log("conn %d: %s after %d response bytes (limit %s)" % (n, how, sent, limit))
            for s in socks:
                try:
                    s.close()
                except OSError:
                    pass

    def break_connection(self, client, server, rest):
        mode = self.args.mode
        if mode == "rst":
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return "reset"
        if mode == "stall":
            # Hold the client open, swallowing what it sends, until it gives up.
            server.close()
            while self.alive():
                r, _, _ = select.select([client], [], [], 0.2)
                if r:
                    try:
                        if not client.recv(65536):
                            break
                    except OSError:
                        break
            return "stalled"
        if mode == "drip":
            return self.drip(client, server, rest)
        return "cut"

    def drip(self, client, server, pending):
        # One byte per interval, the server's answer buffered meanwhile,
        # until the client gives up or everything is sent.
        server_open = True
        next_at = time.monotonic()
        while self.alive() and (pending or server_open):
            socks = [client] + ([server] if server_open else [])
            r, _, _ = select.select(socks, [], [], 0.05)
            if client in r:
                try:
                    if not client.recv(65536):
                        return "dripped, client left"
                except OSError:
                    return "dripped, client left"
            if server in r:
                data = server.recv(65536)
                server_open = bool(data)
                pending += data
            if pending and time.monotonic() >= next_at:
                try:
                    client.sendall(pending[:1])
                except OSError:
                    return "dripped, client left"
                pending = pending[1:]
                next_at += self.args.drip_interval
        return "dripped"


def main():
    args = parse_args()
    Proxy(args).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
