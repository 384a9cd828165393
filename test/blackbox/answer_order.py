#!/usr/bin/env python3
"""Whether a worker ended a request for its client before it reset the VM,
read from the worker's system calls (strace -ff -xx -e trace=...).

Usage: answer_order.py KINDS TRACE_FILE...  (KINDS: fcgi,scgi)

The request opened a file of its tenant's data_dir ("sub/other", host fd
N), which kvm-core closes at the VM's reset: close(N) is the reset.  The
O_PATH open kvm-core makes first, to see the file's type, and its close
are not the file's.  The
request's end is, for FastCGI, the write of its FCGI_END_REQUEST record,
for SCGI the close of the connection its answer ("Status: ...") went to.
The order is the one the kernel saw the calls in, in one process: no
timing.  Prints what it found for each request; exits 0 when every
request's end came first, 1 when one's did not, 2 when a kind asked for
is missing from the traces."""
import re
import sys

CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+)")
STRING = re.compile(r'"((?:\\x[0-9a-f]{2})*)"')


def decode(args):
    """The first string argument, as bytes (strace -xx writes all hex)."""
    m = STRING.search(args)
    return bytes.fromhex(m.group(1).replace("\\x", "")) if m else b""


def calls(path):
    """(name, first argument, string argument, result) of each call but
    O_PATH opens."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = CALL.match(line)
            if m and "O_PATH" not in m.group(2):
                first = m.group(2).split(",")[0].strip()
                out.append((m.group(1), first, decode(m.group(2)),
                            int(m.group(3))))
    return out


def is_end_request(data):
    """Whether data holds an FCGI_END_REQUEST record header (version 1,
    type 3, content length 8)."""
    return any(data[i] == 1 and data[i + 1] == 3 and data[i + 4:i + 6] ==
               b"\x00\x08" for i in range(len(data) - 5))


def request_end(trace, lo, hi):
    """(kind, call) of the request's end among calls lo..hi-1."""
    for j in range(lo, hi):
        name, first, data, _ = trace[j]
        if name == "write" and is_end_request(data):
            return "fcgi", j
        if name == "write" and data.startswith(b"Status: "):
            return "scgi", next((k for k in range(j + 1, hi)
                                 if trace[k][0] == "close" and
                                 trace[k][1] == first), None)
    return None, None


def requests(trace):
    """(kind, end call, reset call) of each request that opened the file,
    up to the next such request."""
    opened = [i for i, c in enumerate(trace)
              if c[0] in ("openat", "openat2") and
              c[2].endswith(b"sub/other") and c[3] >= 0]
    for i, hi in zip(opened, opened[1:] + [len(trace)]):
        fd = str(trace[i][3])
        reset = next((j for j in range(i + 1, hi)
                      if trace[j][0] == "close" and trace[j][1] == fd), None)
        kind, end = request_end(trace, i + 1, hi)
        yield kind, end, reset


def main():
    want, seen, bad = set(sys.argv[1].split(",")), set(), 0
    for path in sys.argv[2:]:
        for kind, end, reset in requests(calls(path)):
            if kind is not None and kind not in want:
                continue
            first = end is not None and reset is not None and end < reset
            print("%s: %s: the end at call %s, the reset at call %s: %s" %
                  (path, kind, end, reset,
                   "the end first" if first else "NOT the end first"))
            seen.add(kind)
            bad += not first
    if want - seen:
        print("no request of kind %s in the traces" % ",".join(want - seen))
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
