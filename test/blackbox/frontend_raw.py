#!/usr/bin/env python3
"""Raw FastCGI and SCGI clients for the front-end checks of issue 13:
the answer's head (Content-Length, HEAD), Content-Type sent as a CGI
variable, and refused bodies answered without a reset.  Usage:
frontend_raw.py MODE ADDRESS KIND [ARGS]; ADDRESS is a unix socket path
or a TCP port on 127.0.0.1, KIND fcgi or scgi.  Prints what it saw; exits
1 when the server did not behave."""
import socket
import sys
import threading

from fcgi_raw import (PARAMS, STDIN, begin, connect, pairs, read_records,
                      rec)


def fcgi_bytes(p, body, chunk=32768):
    if body and b"CONTENT_LENGTH" not in dict(p):
        p = p + [(b"CONTENT_LENGTH", str(len(body)).encode())]
    out = begin() + rec(PARAMS, pairs(p)) + rec(PARAMS, b"")
    for i in range(0, len(body), chunk):
        out += rec(STDIN, body[i:i + chunk])
    return out + rec(STDIN, b"")


def scgi_bytes(p, body):
    p = [(b"CONTENT_LENGTH", str(len(body)).encode()), (b"SCGI", b"1")] + \
        [(k, v) for k, v in p if k != b"CONTENT_LENGTH"]
    blk = b"".join(k + b"\0" + v + b"\0" for k, v in p)
    return str(len(blk)).encode() + b":" + blk + b"," + body


def read_to_eof(s):
    """Everything until end of file: (bytes, None) or (bytes, error)."""
    out = b""
    try:
        while True:
            k = s.recv(65536)
            if not k:
                return out, None
            out += k
    except OSError as e:
        return out, e


def exchange(addr, kind, p, body=b""):
    """Send one request (the body from a thread, as a front end streams
    it) and read the answer: (CGI answer, ended cleanly, error).  Ending
    cleanly includes the whole request being sent: a front end whose
    write fails answers 502 (nginx: "writev() failed")."""
    s = connect(addr)
    data = fcgi_bytes(p, body) if kind == "fcgi" else scgi_bytes(p, body)
    send_error = []

    def send():
        try:
            s.sendall(data)
        except OSError as e:
            send_error.append(e)
    t = threading.Thread(target=send)
    t.start()
    if kind == "fcgi":
        try:
            out, ended, _ = read_records(s)
        except OSError as e:
            t.join()
            return b"", False, e
        rest, err = read_to_eof(s)
        ended = ended and rest == b""
    else:
        out, err = read_to_eof(s)
        ended = err is None
    t.join()
    s.close()
    if send_error:
        return out, False, "sending: %s" % send_error[0]
    return out, ended, err


def base(host, method, uri, query=b""):
    return [(b"REQUEST_METHOD", method), (b"REQUEST_URI", uri),
            (b"QUERY_STRING", query), (b"HTTP_HOST", host),
            (b"REMOTE_ADDR", b"127.0.0.1"),
            (b"SERVER_PROTOCOL", b"HTTP/1.1")]


def split(answer):
    head, sep, body = answer.partition(b"\r\n\r\n")
    return head + sep, body


def content_lengths(head):
    return [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")]


def head_get(addr, kind, host, uri):
    """GET carries Content-Length: its body's length, once; HEAD gets the
    very same head and no body (RFC 3875 4.3.2)."""
    get, _, _ = exchange(addr, kind, base(host.encode(), b"GET",
                                          uri.encode()))
    head, _, _ = exchange(addr, kind, base(host.encode(), b"HEAD",
                                           uri.encode()))
    ghead, gbody = split(get)
    lengths = content_lengths(ghead)
    print("GET head %r, %d body bytes; HEAD %r" % (ghead, len(gbody), head))
    return 0 if (lengths == [str(len(gbody)).encode()] and gbody and
                 head == ghead) else 1


def ctype(addr, kind, style):
    """Content-Type and Content-Length as CGI variables (Apache, lighttpd,
    h2o), or in both forms (nginx): the echo tenant sees each once."""
    p = base(b"echo.test", b"POST", b"/form?h=content-length",
             b"h=content-length") + [
        (b"CONTENT_TYPE", b"application/x-www-form-urlencoded"),
        (b"CONTENT_LENGTH", b"3")]
    if style == "nginx":
        p += [(b"HTTP_CONTENT_TYPE", b"application/x-www-form-urlencoded"),
              (b"HTTP_CONTENT_LENGTH", b"3")]
    want = (b'{"method":"POST","uri":"/form?h=content-length",'
            b'"query":"h=content-length","remote_addr":"127.0.0.1",'
            b'"headers":{"host":"echo.test","user-agent":null,'
            b'"content-type":"application/x-www-form-urlencoded",'
            b'"content-length":"3"},"body":"a=1","body_length":3}\n')
    head = (b"Status: 200 OK\r\nContent-Type: application/json\r\n"
            b"Cache-Control: no-store\r\nContent-Length: %d\r\n\r\n"
            % len(want))
    out, _, _ = exchange(addr, kind, p, b"a=1")
    print(out)
    return 0 if out == head + want else 1


def refused(addr, kind, host, size, status, key=""):
    """A body the server refuses unread (413, 403) while the client is
    still sending it: the whole answer, then end of file, never a
    reset."""
    p = base(host.encode(), b"POST", b"/refused")
    if key:
        p.append((b"HTTP_X_LIVEUPDATE", key.encode()))
    out, ended, err = exchange(addr, kind, p, b"x" * int(size))
    print("%r; %s" % (out[:40], "end of file" if ended else err))
    return 0 if out.startswith(b"Status: " + status.encode()) and \
        content_lengths(split(out)[0]) and ended else 1


MODES = {"head-get": head_get, "ctype": ctype, "refused": refused}

if __name__ == "__main__":
    sys.exit(MODES[sys.argv[1]](*sys.argv[2:]))
