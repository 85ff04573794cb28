# The package's HTTP client (ota._http) on canned server answers, no network:
# URL splitting and joining (redirects, manifest-relative names), bodies with
# Content-Length, chunked transfer encoding and until-close, a body cut short
# (an OSError, never a silently short file), Content-Range of a resumed
# download.
import io

from ota import _http

print(_http.split_url("http://127.0.0.1/fw/app.bin"))
print(_http.split_url("https://user:pw@example.com:8443/a?b=1"))
print(_http.split_url("http://[::1]:8080/x"))
for bad in ("ftp://host/x", "host/x", "http:///x"):
    try:
        _http.split_url(bad)
    except ValueError:
        print("ValueError:", bad)
base = "http://h:81/dir/sub/app.json"
for ref in ("app.bin", "/other/x.bin", "//g:82/y", "https://z/w", "../up.bin"):
    print(ref, "->", _http.join_url(base, ref))
print(_http.join_url("http://h", "a.bin"))


def answer(body, status=200, **headers):
    h = {}
    for k in headers:
        h[k.replace("_", "-").encode()] = headers[k].encode()
    return _http.Response(io.BytesIO(body), "http://h/x", status, h, 0)


def drain(r, size=7):
    out = bytearray()
    buf = bytearray(size)
    while True:
        n = r.readinto(buf)
        if not n:
            return bytes(out)
        out.extend(buf[:n])


print(drain(answer(b"hello world", content_length="11")))
print(drain(answer(b"hello world, and more", content_length="11")))  # stops at the length
print(drain(answer(b"until the end")))  # no length, not chunked: until close
chunked = b"5\r\nhello\r\n1;ext=1\r\n \r\nA\r\nworld 1234\r\n0\r\nX-Trailer: 1\r\n\r\n"
r = answer(chunked, transfer_encoding="chunked")
print(drain(r, 3), r.length)
print(answer(chunked, transfer_encoding="chunked").read())
for raw, hdrs in ((b"short", {"content_length": "11"}),
                  (b"5\r\nhel", {"transfer_encoding": "chunked"}),
                  (b"5\r\nhello\r\n", {"transfer_encoding": "chunked"})):
    try:
        drain(answer(raw, **hdrs))
    except OSError as e:
        print("cut short:", isinstance(e, _http.Truncated), raw)
r = answer(b"xyz", 206, content_length="3", content_range="bytes 1000-1002/1003")
print(r.status, r.start, r.length, r.total, drain(r))
r = answer(b"xyz", 206, content_length="3", content_range="bytes 1000-1002/*")
print(r.start, r.total)
try:
    answer(b"", 206, content_length="0")
except ValueError:
    print("206 without Content-Range: ValueError")
r = answer(b"abc", etag='"e1"', content_length="3")
print(r.etag, r.read(2), r.read(), r.read())
