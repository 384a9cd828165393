#!/usr/bin/env python3
"""Raw FastCGI and SCGI clients for black-box tests: well-formed, hostile
and slow.  Usage: fcgi_raw.py MODE ADDRESS [ARGS]; ADDRESS is a unix
socket path or a TCP port on 127.0.0.1.  Prints what it saw; exits 1 when
the server did not behave."""
import socket
import struct
import sys
import time

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT = 1, 2, 3, 4, 5, 6
GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 9, 10, 11


def connect(addr, timeout=10):
    if addr.isdigit():
        s = socket.create_connection(("127.0.0.1", int(addr)))
    else:
        s = socket.socket(socket.AF_UNIX)
        s.connect(addr)
    s.settimeout(timeout)
    return s


def rec(t, body, rid=1):
    return struct.pack(">BBHHBx", 1, t, rid, len(body), 0) + body


def length(n, long4=False):
    return struct.pack(">I", n | 0x80000000) if long4 or n > 127 else bytes([n])


def pairs(d):
    return b"".join(length(len(k)) + length(len(v)) + k + v for k, v in d)


def params(uri, host=b"hello.test", method=b"GET", body=b""):
    return [(b"REQUEST_METHOD", method), (b"REQUEST_URI", uri),
            (b"HTTP_HOST", host), (b"REMOTE_ADDR", b"127.0.0.1"),
            (b"SERVER_PROTOCOL", b"HTTP/1.1"),
            (b"CONTENT_LENGTH", str(len(body)).encode() if body else b"")]


def begin(keep=False, rid=1):
    return rec(BEGIN, struct.pack(">HB5x", 1, 1 if keep else 0), rid)


def request(uri, keep=False, host=b"hello.test", body=b"", end_stdin=True):
    p = params(uri, host, b"POST" if body else b"GET", body)
    out = begin(keep) + rec(PARAMS, pairs(p)) + rec(PARAMS, b"")
    if body:
        out += rec(STDIN, body)
    return out + (rec(STDIN, b"") if end_stdin else b"")


def read_records(s):
    """Records until FCGI_END_REQUEST: (stdout, ended, other records)."""
    data, other = b"", []
    while True:
        h = s.recv(8, socket.MSG_WAITALL)
        if len(h) < 8:
            return data, False, other
        _, t, _, n, pad = struct.unpack(">BBHHBx", h)
        body = s.recv(n + pad, socket.MSG_WAITALL)[:n] if n + pad else b""
        if t == STDOUT:
            data += body
        elif t == END:
            return data, True, other
        else:
            other.append((t, body))
            if t in (GET_VALUES_RESULT, UNKNOWN_TYPE):
                return data, True, other


def closed_within(s, seconds):
    """Whether the peer closes s within seconds (reading what comes)."""
    s.settimeout(seconds)
    try:
        while s.recv(4096):
            pass
        return True
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True


def fcgi_get(addr, uri="/kvm-fpm/ping", host="hello.test"):
    s = connect(addr)
    s.sendall(request(uri.encode(), host=host.encode()))
    out, ended, _ = read_records(s)
    print(out.decode(errors="replace"))
    return 0 if ended else 1


def scgi_request(uri, host="hello.test", extra=()):
    h = [("CONTENT_LENGTH", "0"), ("SCGI", "1"), ("REQUEST_METHOD", "GET"),
         ("REQUEST_URI", uri), ("HTTP_HOST", host),
         ("REMOTE_ADDR", "127.0.0.1")] + list(extra)
    blk = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in h)
    return str(len(blk)).encode() + b":" + blk + b","


def read_all(s):
    """Everything until the peer's end of file."""
    out = b""
    while True:
        k = s.recv(65536)
        if not k:
            return out
        out += k


def scgi_get(addr, uri="/kvm-fpm/ping", host="hello.test"):
    s = connect(addr)
    s.sendall(scgi_request(uri, host))
    print(read_all(s).decode(errors="replace"))
    return 0


def scgi_garbage(addr, n):
    """n connections each sending '4:abcd,': each must get its 400."""
    answered = 0
    for _ in range(int(n)):
        s = connect(addr)
        s.sendall(b"4:abcd,")
        out = b""
        try:
            while True:
                k = s.recv(4096)
                if not k:
                    break
                out += k
        except ConnectionResetError:
            pass
        answered += out.startswith(b"Status: 400")
        s.close()
    print("answered %d of %s" % (answered, n))
    return 0 if answered == int(n) else 1


def fcgi_biglen(addr):
    """A name length of 0x7fffffff: closed at once, no answer."""
    s = connect(addr)
    body = length(0x7fffffff, True) + length(1) + b"HTTP_HOST"
    s.sendall(begin() + rec(PARAMS, body))
    ok = closed_within(s, 3)
    print("closed" if ok else "still open after 3 s")
    return 0 if ok else 1


def trickle(addr, data, label, max_s, give_up=12):
    """Send data a byte a second; the server must close within max_s
    seconds (giving up after give_up)."""
    s = connect(addr)
    t0 = time.monotonic()
    closed = False
    for i in range(min(len(data), give_up)):
        try:
            s.send(data[i:i + 1])
        except OSError:
            closed = True
        if closed or closed_within(s, 1):
            closed = True
            break
    elapsed = time.monotonic() - t0
    print("%s: %s after %.1f s, %d of %d bytes sent" %
          (label, "closed" if closed else "still open", elapsed, i + 1,
           len(data)))
    return 0 if closed and elapsed < max_s else 1


def fcgi_trickle(addr, max_s=60):
    return trickle(addr, request(b"/kvm-fpm/ping"), "fastcgi trickler",
                   float(max_s))


def scgi_trickle(addr, max_s=60):
    return trickle(addr, scgi_request("/kvm-fpm/ping"), "scgi trickler",
                   float(max_s))


def timed(addr, kind, limit):
    """A normal request: answered 200 within limit seconds."""
    t0 = time.monotonic()
    s = connect(addr, float(limit) + 5)
    if kind == "fcgi":
        s.sendall(request(b"/kvm-fpm/ping"))
        out, _, _ = read_records(s)
    else:
        s.sendall(scgi_request("/kvm-fpm/ping"))
        out = s.recv(4096)
    elapsed = time.monotonic() - t0
    print("%s: %r in %.1f s" % (kind, out[:15], elapsed))
    return 0 if out.startswith(b"Status: 200") and elapsed < float(limit) \
        else 1


def get_values(addr):
    """FCGI_GET_VALUES answered; an unknown management type too."""
    s = connect(addr)
    names = [(b"FCGI_MAX_CONNS", b""), (b"FCGI_MPXS_CONNS", b"")]
    s.sendall(rec(GET_VALUES, pairs(names), 0))
    _, _, other = read_records(s)
    s.sendall(rec(42, b"", 0))
    _, _, unknown = read_records(s)
    s.sendall(request(b"/kvm-fpm/ping"))
    out, ended, _ = read_records(s)
    print(other, unknown, out[:15])
    return 0 if (other and other[0][0] == GET_VALUES_RESULT and
                 b"FCGI_MPXS_CONNS0" in other[0][1] and
                 unknown == [(UNKNOWN_TYPE, b"\x2a" + b"\0" * 7)] and
                 out.startswith(b"Status: 200")) else 1


def late_stdin_end(addr):
    """Apache's way: the empty FCGI_STDIN in a write of its own after the
    answer; the kept connection must serve the next request."""
    s = connect(addr)
    for i in range(3):
        s.sendall(request(b"/kvm-fpm/ping", keep=True, end_stdin=False))
        out, ended, _ = read_records(s)
        if not (ended and out.startswith(b"Status: 200")):
            print("request %d: %r" % (i, out[:40]))
            return 1
        time.sleep(0.05)
        s.sendall(rec(STDIN, b""))
    print("3 requests on one connection")
    return 0


def chunked(addr, host, n, expect):
    """A body without CONTENT_LENGTH, as Apache streams a chunked one: the
    answer must contain expect."""
    s = connect(addr)
    p = [(b"REQUEST_METHOD", b"POST"), (b"REQUEST_URI", b"/chunked"),
         (b"HTTP_HOST", host.encode()), (b"REMOTE_ADDR", b"127.0.0.1"),
         (b"HTTP_TRANSFER_ENCODING", b"chunked")]
    body = b"x" * int(n)
    out = begin(True) + rec(PARAMS, pairs(p)) + rec(PARAMS, b"")
    for i in range(0, len(body), 1000):
        out += rec(STDIN, body[i:i + 1000])
    s.sendall(out + rec(STDIN, b""))
    a, _, _ = read_records(s)
    print(a[:16], a[-30:])
    return 0 if expect.encode() in a else 1


def no_reader(addr, max_s):
    """Management records of an unknown type, each answered by the server,
    from a client that reads none of the answers: once the socket's
    buffers are full the server must give up writing and close within
    max_s seconds (the client's send then fails), not wait for ever."""
    s = connect(addr, float(max_s) + 10)
    data = rec(42, b"", 0) * (1 << 20)  # 8 MiB; 16 MiB of answers
    t0 = time.monotonic()
    try:
        s.sendall(data)
        print("the server took all 8 MiB without closing")
        return 1
    except socket.timeout:
        print("still open after %.1f s" % (time.monotonic() - t0))
        return 1
    except OSError as e:
        elapsed = time.monotonic() - t0
        print("closed after %.1f s (%s)" % (elapsed, e))
        return 0 if elapsed < float(max_s) else 1


def many_kept(addr, n):
    """n connections, each kept alive after one request and then left
    idle (more than the workers hold between them): every request must
    be answered, the newest too."""
    held = []
    for i in range(int(n)):
        s = connect(addr)
        try:
            s.sendall(request(b"/kvm-fpm/ping", keep=True))
            out, ended, _ = read_records(s)
        except OSError as e:
            out, ended = b"", False
            print("connection %d: %s" % (i, e))
        if not (ended and out.startswith(b"Status: 200")):
            print("connection %d: %r" % (i, out[:40]))
            return 1
        held.append(s)
    print("%d kept-alive connections, each answered" % len(held))
    return 0


def many_params(kind, addr, n):
    """A request with n more headers than usual (300 passes both limits of
    256): answered 431, then end of file."""
    extra = [("HTTP_X_%d" % i, "v") for i in range(int(n))]
    s = connect(addr)
    if kind == "fcgi":
        p = params(b"/kvm-fpm/ping") + [(k.encode(), v.encode())
                                         for k, v in extra]
        s.sendall(begin() + rec(PARAMS, pairs(p)) + rec(PARAMS, b"") +
                  rec(STDIN, b""))
        out, ended, _ = read_records(s)
    else:
        s.sendall(scgi_request("/kvm-fpm/ping", extra=extra))
        out, ended = read_all(s), True
    print("%s: %r" % (kind, out[:48]))
    return 0 if ended and out.startswith(b"Status: 431") else 1


MODES = {"fcgi-get": fcgi_get, "scgi-get": scgi_get,
         "scgi-garbage": scgi_garbage, "fcgi-biglen": fcgi_biglen,
         "fcgi-trickle": fcgi_trickle, "scgi-trickle": scgi_trickle,
         "timed": timed, "get-values": get_values,
         "late-stdin-end": late_stdin_end, "chunked": chunked,
         "no-reader": no_reader, "many-kept": many_kept,
         "many-params": many_params}

if __name__ == "__main__":
    sys.exit(MODES[sys.argv[1]](*sys.argv[2:]))
