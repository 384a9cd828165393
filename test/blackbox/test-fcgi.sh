#!/bin/sh
# kvm-fpm as a FastCGI and SCGI server: direct with cgi-fcgi, behind nginx,
# under bad input, worker deaths, reloads and graceful stops.
. test/blackbox/lib.sh
require_kvm

write_ini "$T/kvm-fpm.ini" "status_listen = $T/status.sock"
start_kvm_fpm || exit 1

# --- straight FastCGI with cgi-fcgi
fcgi hello.test /x >"$T/out"
check "cgi-fcgi: tenant by Host" grep -q 'Hello from kvm-fpm' "$T/out"
fcgi WWW.Hello.Test:8080 / >"$T/out"
check "cgi-fcgi: alias with port" grep -q '^Status: 200' "$T/out"
fcgi nope.test / >"$T/out"
check "cgi-fcgi: unknown host is 404" grep -q '^Status: 404' "$T/out"
fcgi '' / >"$T/out"
check "cgi-fcgi: missing Host is 400" grep -q '^Status: 400' "$T/out"
fcgi 'a b' / >"$T/out"
check "cgi-fcgi: bad Host is 400" grep -q '^Status: 400' "$T/out"
fcgi '' /kvm-fpm/ping >"$T/out"
check "cgi-fcgi: ping" grep -q '^pong' "$T/out"

start_nginx || { finish; exit 1; }

# --- through nginx
get hello.test /pizza
check "nginx: hello answers 200" [ "$STATUS" = 200 ]
check "nginx: hello body" sh -c "echo '$BODY' | grep -q 'Hello from kvm-fpm'"
get nope.test /
check "nginx: unknown host 404" [ "$STATUS" = 404 ]
out=$(curl -s -H 'Host: echo.test' --data-binary 'pizza=margherita' "http://127.0.0.1:$HTTP_PORT/order?x=1")
check "nginx: POST body reaches the tenant" sh -c "echo '$out' | grep -q '\"body\": *\"pizza=margherita\"'"
check "nginx: method and query reach the tenant" sh -c "echo '$out' | grep -q '\"method\": *\"POST\"' && echo '$out' | grep -q '\"query\": *\"x=1\"'"
code=$(head -c 10000 /dev/zero | curl -s -o /dev/null -w '%{http_code}' -H 'Host: echo.test' --data-binary @- "http://127.0.0.1:$HTTP_PORT/")
check "nginx: body over max_body_size is 413" [ "$code" = 413 ]
get fault.test /crash
check "nginx: guest fault is 500" [ "$STATUS" = 500 ]
get fault.test /loop
check "nginx: infinite loop is 504" [ "$STATUS" = 504 ]
get hello.test /
check "nginx: others still answer" [ "$STATUS" = 200 ]
out=$(curl -s -H 'Host: hello.test' "http://127.0.0.1:$HTTP_PORT/scgi/via")
check "nginx: SCGI via scgi_pass" sh -c "echo '$out' | grep -q 'Hello from kvm-fpm'"

# --- bad input: malformed records, connections closed mid-request
python3 - "$T/kvm-fpm.sock" <<'PY'
import socket, sys, struct
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); return s
s = conn(); s.sendall(b"\x07\x01garbage that is not fastcgi" * 10); s.close()
s = conn(); s.sendall(b"\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x00\x00\x00"); s.close()
s = conn(); s.sendall(b"\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                      b"\x01\x04\x00\x01\xff\xff\x00\x00\x0bHTTP_"); s.close()
s = conn(); s.close()
PY
get hello.test /
check "malformed and cut FastCGI leave the server serving" [ "$STATUS" = 200 ]

# A kept connection goes on after a request whose body was read, and is
# closed after one whose body was refused unread (its stdin records would
# come first on the connection).
check "keep-conn: kept after a GET, closed after a refused POST body" \
	python3 - "$T/kvm-fpm.sock" <<'PY'
import socket, struct, sys
def rec(t, body):
    return struct.pack(">BBHHBx", 1, t, 1, len(body), 0) + body
def pairs(d):
    out = b""
    for k, v in d.items():
        out += bytes([len(k), len(v)]) + k + v
    return out
def request(host, method, body=b""):
    p = {b"REQUEST_METHOD": method, b"REQUEST_URI": b"/k", b"HTTP_HOST": host,
         b"REMOTE_ADDR": b"127.0.0.1", b"CONTENT_LENGTH": str(len(body)).encode()}
    return (rec(1, struct.pack(">HB5x", 1, 1)) + rec(4, pairs(p)) + rec(4, b"")
            + (rec(5, body) if body else b"") + rec(5, b""))
def answer(s):
    data = b""
    while True:
        h = s.recv(8, socket.MSG_WAITALL)
        if len(h) < 8:
            return data, False
        _, t, _, n, pad = struct.unpack(">BBHHBx", h)
        body = s.recv(n + pad, socket.MSG_WAITALL)[:n] if n + pad else b""
        if t == 6:
            data += body
        if t == 3:
            return data, True
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
s.sendall(request(b"hello.test", b"GET"))
a, ok = answer(s)
assert ok and a.startswith(b"Status: 200"), a[:40]
s.sendall(request(b"nobody.test", b"POST", b"0123456789"))
a, ok = answer(s)
assert ok and a.startswith(b"Status: 404"), a[:40]
assert s.recv(1) == b"", "the connection stayed open"
PY

# --- load helpers
load_start() {
	rm -f "$T/stop" "$T/codes"
	( while [ ! -e "$T/stop" ]; do
		curl -s -o /dev/null -w '%{http_code}\n' -H "Host: $1" \
			"http://127.0.0.1:$HTTP_PORT/" >>"$T/codes"
	done ) &
	LOAD_PID=$!
}
load_stop() {
	touch "$T/stop"
	wait "$LOAD_PID"
}

# --- SIGKILL of a worker under load: replaced, still serving
load_start hello.test
sleep 1
before=$(worker_pids)
kill -KILL $(echo "$before" | cut -d' ' -f1)
sleep 1
load_stop
after=$(worker_pids)
check "killed worker is replaced" [ "$(echo $after | wc -w)" = "$(echo $before | wc -w)" ] 
check "killed worker: a new pid" [ "$before" != "$after" ]
get hello.test /
check "killed worker: still answering" [ "$STATUS" = 200 ]

# --- SIGHUP adding a tenant under load: zero failed requests, counted
# from before the reload until 10 answers after it
load_start hello.test
wait_until 5 has_lines "$T/codes" 3
cat >>"$T/kvm-fpm.ini" <<INI

[tenant:added.test]
program = $ROOT/tenant-sdk/examples/counter
INI
kill -HUP "$KVM_FPM_PID"
wait_until 5 grep -q "reloaded" "$T/kvm-fpm.log"
wait_until 5 has_lines "$T/codes" $(($(wc -l <"$T/codes") + 10))
load_stop
total=$(wc -l <"$T/codes")
bad=$(grep -vc '^200$' "$T/codes")
check "SIGHUP under load: $total requests, $bad failed" \
	sh -c "[ $bad = 0 ] && [ $total -gt 10 ]"
get added.test /
check "SIGHUP: the added tenant answers" [ "$BODY" = "counter=43" ]

# --- status page, from loopback only, in three formats
get x /kvm-fpm/status
check "status: text" sh -c "echo '$BODY' | grep -q '^accepted conn: *[1-9]'"
check "status: per tenant" sh -c "echo '$BODY' | grep -q '^tenant: *hello.test'"
get x '/kvm-fpm/status?json'
check "status: json" sh -c "echo '$BODY' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"accepted_conn\"] > 0'"
get x '/kvm-fpm/status?openmetrics'
check "status: openmetrics" sh -c "echo '$BODY' | tail -1 | grep -q '^# EOF'"
env -i REQUEST_METHOD=GET REQUEST_URI=/kvm-fpm/status REMOTE_ADDR=192.0.2.1 \
	cgi-fcgi -bind -connect "$T/kvm-fpm.sock" >"$T/out"
check "status: refused from elsewhere" grep -q '^Status: 403' "$T/out"

# --- status answers while every worker runs a slow tenant
BUSY=""
for _ in 1 2; do
	fcgi busy.test / >/dev/null &
	BUSY="$BUSY $!"
done
sleep 0.5
env -i REQUEST_METHOD=GET REQUEST_URI=/kvm-fpm/status REMOTE_ADDR=127.0.0.1 \
	timeout 2 cgi-fcgi -bind -connect "$T/status.sock" >"$T/out"
check "status_listen: answers with every worker busy" grep -q '^active processes: *2' "$T/out"
env -i REQUEST_METHOD=GET REQUEST_URI=/ HTTP_HOST=hello.test \
	timeout 2 cgi-fcgi -bind -connect "$T/status.sock" >"$T/out"
check "status_listen: serves no tenant" grep -q '^Status: 404' "$T/out"
wait $BUSY

# --- kept-alive connections do not pin workers: more kept connections
# (8) than workers (2), 16 clients; a pinned worker would stall requests
# for seconds.
NGINX_KEEPALIVE=8 start_nginx nginx-ka || { finish; exit 1; }
wrk -t2 -c16 -d3s -H 'Host: hello.test' "http://127.0.0.1:$HTTP_PORT/" >"$T/wrk" 2>&1
max=$(awk '/Latency/ {print $4; exit}' "$T/wrk")
errors=$(grep -c 'Non-2xx\|Socket errors' "$T/wrk")
check "keepalive 8 > 2 workers: no errors (wrk: $(grep 'Requests/sec' "$T/wrk"))" [ "$errors" = 0 ]
check "keepalive 8 > 2 workers: max latency $max under 1s" sh -c "echo '$max' | grep -Eq '^[0-9.]+(us|ms)$'"

# --- SIGUSR1 reopens the logs, in the master and the workers
mv "$T/kvm-fpm.log" "$T/kvm-fpm.log.1"
kill -USR1 "$KVM_FPM_PID"
sleep 0.5
get nope.test /
get nope.test /
check "SIGUSR1: workers log to the new file" grep -q 'unknown host' "$T/kvm-fpm.log"

# --- SIGQUIT lets an in-flight slow request finish
# Long enough (scaled) for a status poll to see it in flight, and well
# inside the master's 30 s grace for in-flight requests even under the
# emulator (scaled 1000 ms was 30 s there: killed at the grace's end).
curl -s -o "$T/slow" -w '%{http_code}' -H 'Host: slow.test' \
	"http://127.0.0.1:$HTTP_PORT/?ms=$(scaled 500)" >"$T/slow.code" &
SLOW=$!
# The slow tenant's own count: "active processes" was once 1 for a
# request of another tenant the emulator had stalled, and the signal came
# before the slow request was even accepted.
check "SIGQUIT: the slow request is in flight before the signal" \
	wait_until 5 sh -c "env -i REQUEST_METHOD=GET REQUEST_URI=/kvm-fpm/status \
	REMOTE_ADDR=127.0.0.1 cgi-fcgi -bind -connect $T/status.sock |
	awk '/^tenant: *slow.test\$/ { t = 1 } t && /^busy processes:/ { print \$3; exit }' |
	grep -qx 1"
kill -QUIT "$KVM_FPM_PID"
wait "$SLOW"
check "SIGQUIT: in-flight request finished" sh -c "[ \"\$(cat $T/slow.code)\" = 200 ] && grep -q 'slow done' $T/slow"
wait_until 5 sh -c "! kill -0 $KVM_FPM_PID 2>/dev/null"
check "SIGQUIT: the master exited" sh -c "! kill -0 $KVM_FPM_PID 2>/dev/null"

# --- spawn-fcgi launch
rm -f "$T/kvm-fpm.sock"
spawn-fcgi -s "$T/kvm-fpm.sock" -n -- "$KVM_FPM" -c "$T/kvm-fpm.ini" >/dev/null 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 50); do [ -S "$T/kvm-fpm.sock" ] && break; sleep 0.1; done
sleep 0.5
fcgi hello.test / >"$T/out"
check "spawn-fcgi: serves on its socket" grep -q 'Hello from kvm-fpm' "$T/out"

finish
