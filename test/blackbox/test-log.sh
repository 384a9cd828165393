#!/bin/sh
# What tenants and clients can do to the logs, through the real server:
# an output flood is cut at max_log_size with one note and does not hold
# up another tenant; guest output, a symbol name and request fields with
# control bytes stay one escaped line each, in the error and access logs.
. test/blackbox/lib.sh
require_kvm

# evil_symbol with its function's name made a forged record after CR LF
python3 - "$B/programs/evil_symbol" "$T/evil" <<'PY'
import sys
elf = open(sys.argv[1], "rb").read()
assert elf.count(b"evil~~2026") == 1
open(sys.argv[2], "wb").write(elf.replace(b"evil~~2026", b"evil\r\n2026"))
PY

cat >"$T/kvm-fpm.ini" <<INI
[global]
listen = $T/kvm-fpm.sock
workers = 1
log = $T/kvm-fpm.log
log_level = info
access_log = $T/access.log
program_dir = $T/programs
${WORKER_USER:-allow_run_as_root = yes}

[tenant:hello.test]
program = $ROOT/tenant-sdk/examples/hello

[tenant:flood.test]
program = $ROOT/$B/programs/log_flood
max_request_time = 0.05s
; 256 lines at most: a few ms of log writes, well inside the 50 ms
max_log_size = 16K

[tenant:evil.test]
program = $T/evil
INI
start_kvm_fpm || exit 1

ms_now() { date +%s%3N; }

# --- a megabyte of newlines in one write(): cut, noted once, answered
# (the ini key reaches kvm-core: 16K, each empty line counting 64)
fcgi flood.test /newlines >"$T/out"
check "flood: answered 200 with the whole write counted" \
	grep -q '^wrote 1048576' "$T/out"
check "flood: at most max_log_size of output, as 256 lines" \
	[ "$(grep -c 'flood.test: stdout: $' "$T/kvm-fpm.log")" = 256 ]
check "flood: one cut note, a warning" \
	[ "$(grep -c '\[warning\] .* flood.test: output cut at 16384 bytes (max_log_size)' "$T/kvm-fpm.log")" = 1 ]

# --- small writes forever: 504 at the limit
fcgi flood.test /loop >"$T/out"
check "write loop: 504" grep -q '^Status: 504' "$T/out"

# --- another tenant behind a flood on the only worker waits at most the
# flood's 50 ms limit (before the cap: 3.4 s).  250 ms leaves room for
# starting cgi-fcgi twice on a busy machine; on an emulated one (scaled)
# the flood's cost before the cap grows by the same factor.
bound=$(scaled 250 | cut -d. -f1)
for url in /newlines /loop; do
	fcgi flood.test $url >/dev/null &
	flood=$!
	sleep 0.01
	t0=$(ms_now)
	fcgi hello.test / >"$T/out"
	t1=$(ms_now)
	wait $flood
	check "other tenant behind $url: 200 after $((t1 - t0)) ms (< $bound)" \
		sh -c "grep -q '^Status: 200' '$T/out' && [ $((t1 - t0)) -lt $bound ]"
done

# --- control bytes in guest output: one line, escaped
fcgi flood.test /mixed >/dev/null
check "guest output: one escaped line" \
	[ "$(grep -cF 'flood.test: stderr: cr\x0d esc\x1b[31m nul\x00 del\x7f end' "$T/kvm-fpm.log")" = 1 ]

# --- a fault in a function named with CR LF and a forged record
fcgi evil.test / >"$T/out"
check "symbol: the fault is a 500" grep -q '^Status: 500' "$T/out"
check "symbol: one line naming the escaped symbol" \
	[ "$(grep -cF '<evil\x0d\x0a2026-01-01T00:00:00Z [notice] [pid 1] live update+0x' "$T/kvm-fpm.log")" = 1 ]
check "symbol: no forged record" \
	sh -c "! grep -q '^2026-01-01T00:00:00Z' '$T/kvm-fpm.log'"
check "logs: every line is a record" \
	sh -c "! grep -qv '^[0-9-]*T[0-9:]*Z \[' '$T/kvm-fpm.log'"

# --- request fields with control bytes, straight as FastCGI parameters
python3 - "$T/kvm-fpm.sock" <<'PY'
import socket, struct, sys
def rec(t, body):
    return struct.pack(">BBHHBx", 1, t, 1, len(body), 0) + body
def pairs(d):
    out = b""
    for k, v in d.items():
        out += bytes([len(k), len(v)]) + k + v
    return out
p = {b"REQUEST_METHOD": b"GET\x1b[2J", b"HTTP_HOST": b"hello.test",
     b"REQUEST_URI": b"/a\r\n2026-01-01T00:00:00Z 1.2.3.4 x \"GET /\" 200",
     b"REMOTE_ADDR": b"127.0.0.1 forged"}
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(rec(1, struct.pack(">HB5x", 1, 0)) + rec(4, pairs(p)) + rec(4, b"")
          + rec(5, b""))
while s.recv(65536):
    pass
PY
check "access log: one line per request (9)" \
	[ "$(wc -l <"$T/access.log")" = 9 ]
check "access log: control bytes, quotes and spaces escaped" \
	grep -qF ' 127.0.0.1\x20forged hello.test "GET\x1b[2J /a\x0d\x0a2026-01-01T00:00:00Z\x201.2.3.4\x20x\x20\x22GET\x20/\x22\x20200" ' "$T/access.log"
check "access log: no forged record" \
	sh -c "! grep -q '^2026-01-01T00:00:00Z' '$T/access.log'"

finish
