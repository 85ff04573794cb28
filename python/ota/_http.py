# A small HTTP/1.1 client for firmware downloads, on MicroPython's `socket`
# (and `ssl` for https:// where the firmware has it).
#
#   r = get(url, start=0, auth=None, headers=None, timeout=20, cadata=None)
#   r.status, r.start, r.length, r.total, r.url, r.etag
#   r.readinto(buf) / r.read(n=-1) / r.close()   (also a context manager)
#
# One request per connection (Connection: close). Redirects 301, 302, 303,
# 307 and 308 are followed (at most MAX_REDIRECTS; https -> http refused).
# Bodies come with Content-Length, chunked transfer encoding, or until the
# server closes. Basic auth comes from `user:pass@` in the URL or `auth=`.
# `start` asks for the bytes from there on (Range: bytes=start-); the answer
# says what was sent: r.status 206 with r.start == start, or 200 with
# r.start == 0 when the server ignores ranges.
#
# A body that ends early (the connection closed or was reset before
# Content-Length bytes or the last chunk) raises Truncated, an OSError, so a
# reader never mistakes a short download for a whole one.
import socket

MAX_REDIRECTS = 5
_AGENT = b"mpota-ota/1"


class Truncated(OSError):
    pass


def split_url(url):
    # "http://user:pw@host:port/path" -> (scheme, host, port, path, userinfo)
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("not an http(s) URL: %s" % url)
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("unsupported URL scheme: %s" % scheme)
    i = rest.find("/")
    if i < 0:
        netloc, path = rest, "/"
    else:
        netloc, path = rest[:i], rest[i:]
    user, at, hostport = netloc.rpartition("@")
    if not at:
        user = None
    port = 443 if scheme == "https" else 80
    if hostport.startswith("["):  # [IPv6]:port
        end = hostport.find("]")
        host, tail = hostport[1:end], hostport[end + 1:]
        if tail.startswith(":") and tail[1:]:
            port = int(tail[1:])
    else:
        host, colon, p = hostport.partition(":")
        if colon and p:
            port = int(p)
    if not host:
        raise ValueError("no host in URL: %s" % url)
    return scheme, host, port, path, user


def join_url(base, ref):
    # Resolves a Location header (or a manifest's firmware name) against base.
    if "://" in ref:
        return ref
    scheme, _, rest = base.partition("://")
    if ref.startswith("//"):
        return scheme + ":" + ref
    i = rest.find("/")
    origin = scheme + "://" + (rest if i < 0 else rest[:i])
    if ref.startswith("/"):
        return origin + ref
    path = "/" if i < 0 else rest[i:]
    path = path.split("?", 1)[0]
    return origin + path[: path.rfind("/") + 1] + ref


def _b64(s):
    import binascii

    return binascii.b2a_base64(s.encode()).strip()


def _tls(s, host, cadata):
    # Without cadata the server is not verified (as MicroPython's requests
    # does by default): the image's own checks still catch a corrupt file,
    # the session's SHA-256 (given by the caller) a different one. With
    # cadata (a CA certificate, DER) the server must present a chain to it.
    try:
        import ssl
    except ImportError:
        raise ValueError("https:// needs the ssl module, which this firmware lacks")
    if cadata is None and hasattr(ssl, "wrap_socket"):
        return ssl.wrap_socket(s, server_hostname=host)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cadata is None:
        ctx.verify_mode = ssl.CERT_NONE
        return ctx.wrap_socket(s, server_hostname=host)
    # MicroPython's tls raises a bare ValueError for both ("invalid cert";
    # "\nThe certificate is not correctly signed by the trusted CA\n"): say
    # what was refused. A ValueError, so a download does not retry it.
    try:
        ctx.load_verify_locations(cadata=cadata)
    except ValueError as e:
        raise ValueError("cadata is not a CA certificate in DER form (%s)" % e)
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        return ctx.wrap_socket(s, server_hostname=host)
    except ValueError as e:
        raise ValueError("TLS: the certificate of %s was refused (checked against cadata): %s"
                         % (host, " ".join(str(e).split())))


def _connect(scheme, host, port, timeout, cadata):
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], socket.SOCK_STREAM, ai[2])
    try:
        if timeout:
            s.settimeout(timeout)
        s.connect(ai[-1])
        if scheme == "https":
            s = _tls(s, host, cadata)
    except BaseException:
        s.close()
        raise
    return s


class Response:
    def __init__(self, sock, url, status, headers, start):
        self._s = sock
        self.url = url
        self.status = status
        self.etag = headers.get(b"etag") or headers.get(b"last-modified")
        self._chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        cl = headers.get(b"content-length")
        self.length = -1 if self._chunked or cl is None else int(cl)
        self.start = 0
        self.total = self.length
        if status == 206:
            # Content-Range: bytes first-last/total
            cr = headers.get(b"content-range", b"")
            try:
                span, _, total = cr.split(b" ", 1)[1].partition(b"/")
                self.start = int(span.split(b"-")[0])
                self.total = -1 if total in (b"*", b"") else int(total)
            except (IndexError, ValueError):
                self.close()
                raise ValueError("206 answer without a usable Content-Range")
        self._left = self.length  # body bytes still to come (-1: until close)
        self._chunk = 0           # bytes left in the current chunk
        self._eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._s:
            self._s.close()
            self._s = None

    def _next_chunk(self):
        line = self._s.readline()
        if not line.endswith(b"\n"):
            raise Truncated(104, "connection closed inside a chunked body")
        n = int(line.split(b";", 1)[0].strip(), 16)
        if n == 0:
            while self._s.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            self._eof = True
        return n

    def readinto(self, buf, limit=-1):
        # Fills buf (or its first `limit` bytes) as far as the body goes;
        # returns the count, 0 at the end of the body.
        want = len(buf) if limit < 0 else min(limit, len(buf))
        if self._eof or want == 0 or self._s is None:
            return 0
        if self._chunked:
            if self._chunk == 0:
                self._chunk = self._next_chunk()
                if self._eof:
                    return 0
            want = min(want, self._chunk)
        elif self._left >= 0:
            if self._left == 0:
                self._eof = True
                return 0
            want = min(want, self._left)
        n = self._s.readinto(buf, want) if want < len(buf) else self._s.readinto(buf)
        if not n:
            if self._chunked or self._left > 0:
                raise Truncated(104, "connection closed before the end of the body")
            self._eof = True
            return 0
        if self._chunked:
            self._chunk -= n
            if self._chunk == 0:
                self._s.readline()  # the CRLF after the chunk data
        elif self._left > 0:
            self._left -= n
        return n

    def read(self, n=-1):
        # For small bodies (side files, manifests) and stream users.
        out = bytearray()
        buf = bytearray(512 if n < 0 else min(n, 4096) or 1)
        while n < 0 or len(out) < n:
            k = self.readinto(buf, -1 if n < 0 else n - len(out))
            if not k:
                break
            out.extend(memoryview(buf)[:k])
        return bytes(out)


def get(url, start=0, auth=None, headers=None, timeout=20, if_range=None, cadata=None):
    # Sends GET url and returns the Response of the last hop. Statuses other
    # than 200 and 206 raise ValueError (after redirects are followed).
    hops = 0
    while True:
        scheme, host, port, path, userinfo = split_url(url)
        s = _connect(scheme, host, port, timeout, cadata)
        try:
            default = 443 if scheme == "https" else 80
            hosthdr = host if ":" not in host else "[" + host + "]"
            if port != default:
                hosthdr = "%s:%d" % (hosthdr, port)
            req = [b"GET ", path.encode(), b" HTTP/1.1\r\nHost: ", hosthdr.encode(),
                   b"\r\nUser-Agent: ", _AGENT, b"\r\nConnection: close\r\n"]
            cred = userinfo or (auth and "%s:%s" % (auth[0], auth[1]))
            if cred:
                req += [b"Authorization: Basic ", _b64(cred), b"\r\n"]
            if start:
                req += [b"Range: bytes=%d-\r\n" % start]
                if if_range:
                    req += [b"If-Range: ", if_range, b"\r\n"]
            if headers:
                for k in headers:
                    req += [k.encode(), b": ", str(headers[k]).encode(), b"\r\n"]
            req.append(b"\r\n")
            s.write(b"".join(req))
            line = s.readline()
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
                raise OSError(104, "no HTTP answer from %s" % host)
            status = int(parts[1])
            hdrs = {}
            while True:
                line = s.readline()
                if line in (b"\r\n", b"\n"):
                    break
                if not line:
                    raise OSError(104, "connection closed inside the headers")
                k, _, v = line.partition(b":")
                hdrs[k.strip().lower()] = v.strip()
        except BaseException:
            s.close()
            raise
        if status in (301, 302, 303, 307, 308) and b"location" in hdrs:
            s.close()
            hops += 1
            if hops > MAX_REDIRECTS:
                raise ValueError("more than %d redirects from %s" % (MAX_REDIRECTS, url))
            new = join_url(url, hdrs[b"location"].decode())
            if scheme == "https" and new.startswith("http:"):
                raise ValueError("refused a redirect from https to plain http: %s" % new)
            if split_url(new)[1] != host:
                auth = None  # credentials stay with the host they were given for
            url = new
            continue
        if status not in (200, 206):
            s.close()
            raise ValueError("HTTP status %d for %s" % (status, url))
        return Response(s, url, status, hdrs, start)
