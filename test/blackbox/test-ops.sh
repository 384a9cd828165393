#!/bin/sh
# Operating kvm-fpm, straight over FastCGI and SCGI without nginx: the
# access log, programs that fail to load, the listen queue on the status
# page, SIGUSR2 reloads, max_requests recycling and LRU eviction of VMs.
. test/blackbox/lib.sh
require_kvm

PHASE=0
# restart GLOBAL_LINES [TENANT_SECTIONS]: stop the running kvm-fpm (its log
# stays for finish's checks) and start one on a fresh ini with the
# standard tenants, a status_listen and these additions.
restart() {
	if [ -n "${KVM_FPM_PID:-}" ]; then
		kill -TERM "$KVM_FPM_PID"
		wait "$KVM_FPM_PID" 2>/dev/null
	fi
	PHASE=$((PHASE + 1))
	[ -f "$T/kvm-fpm.log" ] && mv "$T/kvm-fpm.log" "$T/kvm-fpm.log.$PHASE"
	write_ini "$T/kvm-fpm.ini" "status_listen = $T/status.sock
$1"
	printf '%s\n' "${2:-}" >>"$T/kvm-fpm.ini"
	start_kvm_fpm
}

# body: a cgi-fcgi answer on stdin without its headers
body() {
	python3 -c 'import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().split(b"\r\n\r\n", 1)[-1])'
}

# status [QUERY]: the status page from the master's status_listen
status() {
	env -i REQUEST_METHOD=GET REQUEST_URI=/kvm-fpm/status \
		QUERY_STRING="${1:-}" REMOTE_ADDR=127.0.0.1 \
		timeout 5 cgi-fcgi -bind -connect "$T/status.sock" | body
}

# status_get EXPR: EXPR over d, the JSON status page
status_get() {
	status json | python3 -c "import json, sys
d = json.load(sys.stdin)
vms = {t['name']: t['resident_vms'] for t in d['tenants']}
print($1)"
}

# status_text_has REGEX: the text status page has a matching line
status_text_has() {
	status | grep -q "$1"
}

# wait_for EXPR WANT: poll the status page until EXPR is WANT (30 tries); the
# last value is in GOT
wait_for() {
	for _ in $(seq 30); do
		GOT=$(status_get "$1")
		[ "$GOT" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- the access log, and tenants whose program does not load
printf '#!/bin/sh\necho not an ELF\n' >"$T/notelf"
restart "access_log = $T/access.log" "
[tenant:missing.test]
program = $T/no-such-program

[tenant:notelf.test]
program = $T/notelf

[tenant:hog.test]
program = $ROOT/$B/programs/loop
max_request_time = $(scaled 30)s" || exit 1

fcgi Hello.Test:8080 '/x?a=1' >"$T/out"
len=$(body <"$T/out" | wc -c)
fcgi fault.test /nothing POST >"$T/out2"
fcgi unknown.test /who >"$T/out3"
fcgi hello.test /kvm-fpm/ping >/dev/null
check "access log: the requests answered 200, 404 and 404" \
	sh -c "grep -q '^Status: 200' $T/out && grep -q '^Status: 404' $T/out2 && grep -q '^Status: 404' $T/out3"
check "access log: three lines (ping is not logged)" [ "$(wc -l <"$T/access.log")" = 3 ]
# time remote host "method uri" status bytes duration; host normalised
check "access log: the 200 line" python3 - "$T/access.log" "$len" <<'PY'
import re, sys, time, calendar
lines = open(sys.argv[1]).read().splitlines()
m = re.fullmatch(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) 127\.0\.0\.1 hello\.test '
                 r'"GET /x\?a=1" 200 (\d+) (\d+)us', lines[0])
assert m, lines[0]
t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ"))
assert abs(time.time() - t) < 60, "time %s is not now" % m.group(1)
assert m.group(2) == sys.argv[2], "bytes %s, body %s" % (m.group(2), sys.argv[2])
assert 0 < int(m.group(3)) < 10000000, "duration " + m.group(3)
PY
check "access log: the 404 line" python3 - "$T/access.log" <<'PY'
import re, sys
line = open(sys.argv[1]).read().splitlines()[1]
assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ 127\.0\.0\.1 fault\.test '
                    r'"POST /nothing" 404 10 \d+us', line), line
PY
check "access log: the server's own 404" python3 - "$T/access.log" <<'PY'
import re, sys
line = open(sys.argv[1]).read().splitlines()[2]
assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ 127\.0\.0\.1 unknown\.test '
                    r'"GET /who" 404 13 \d+us', line), line
PY

for t in missing notelf; do
	fcgi $t.test / >"$T/out"
	check "failed load ($t): 503" grep -q '^Status: 503' "$T/out"
	check "failed load ($t): short body" \
		[ "$(body <"$T/out")" = "the site's program is not loaded" ]
done
check "failed load: the log names the tenant and the missing file" grep -q \
	"\[error\] \[pid [0-9]*\] missing.test: program $T/no-such-program failed to load: cannot open: No such file or directory$" \
	"$T/kvm-fpm.log"
check "failed load: the log names the tenant and the bad ELF" grep -q \
	"\[error\] \[pid [0-9]*\] notelf.test: program $T/notelf failed to load: .*not an ELF file" \
	"$T/kvm-fpm.log"
fcgi hello.test / >"$T/out"
check "failed load: other tenants answer" grep -q 'Hello from kvm-fpm' "$T/out"

# --- the listen queue: both workers held by a tenant that loops (its
# limit scaled: under an emulated CPU the steps before the count can
# outlast a 30 s loop, and then the workers take the queue), 3
# FastCGI clients waiting on the unix socket and 2 SCGI clients on TCP;
# the master counts them
BUSY=""
for _ in 1 2; do
	fcgi hog.test / >/dev/null 2>&1 &
	BUSY="$BUSY $!"
done
wait_for 'd["active_processes"]' 2
check "listen queue: both workers busy ($GOT)" [ "$GOT" = 2 ]
check "listen queue: 0 while nothing waits" [ "$(status_get 'd["listen_queue"]')" = 0 ]
WAITING=""
for i in 1 2 3; do
	fcgi hello.test /q$i >"$T/q$i" &
	WAITING="$WAITING $!"
done
python3 - "$SCGI_PORT" "$T/scgi-held" <<'PY' &
import socket, sys, time, os
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(2)]
open(sys.argv[2], "w").close()
while os.path.exists(sys.argv[2]):
    time.sleep(0.05)
PY
HOLD=$!
wait_for 'd["listen_queue"]' 5
check "listen queue: 3 unix + 2 TCP waiting = 5 (got $GOT)" [ "$GOT" = 5 ]
check "listen queue: the text page too" status_text_has '^listen queue: *5$'
check "listen queue: max listen queue >= 5" [ "$(status_get 'd["max_listen_queue"]')" -ge 5 ]
rm -f "$T/scgi-held"
wait $HOLD
# Free the workers; the queued clients wait for their replacements.
kill -KILL $(worker_pids)
wait $BUSY $WAITING
ok=0
for i in 1 2 3; do grep -q "You asked for <code>/q$i<" "$T/q$i" && ok=$((ok + 1)); done
check "listen queue: the waiting clients were served ($ok of 3)" [ "$ok" = 3 ]
wait_for 'd["listen_queue"]' 0
check "listen queue: back to 0 (got $GOT)" [ "$GOT" = 0 ]
check "listen queue: the max stays" [ "$(status_get 'd["max_listen_queue"]')" -ge 5 ]

# --- SIGUSR2 reloads like SIGHUP, under load: a tenant added, one removed
load_start() {
	rm -f "$T/stop" "$T/codes"
	( while [ ! -e "$T/stop" ]; do
		fcgi hello.test / >"$T/one" 2>&1
		line=$(head -1 "$T/one" | tr -d '\r')
		echo "$line" >>"$T/codes"
		[ "$line" = "Status: 200 OK" ] || cat "$T/one" >>"$T/bad"
	done ) &
	LOAD_PID=$!
}
load_stop() {
	touch "$T/stop"
	wait "$LOAD_PID"
}
fcgi echo.test / >"$T/out"
check "SIGUSR2: echo.test answers before" grep -q '^Status: 200' "$T/out"
before=$(worker_pids)
load_start
wait_until 5 has_lines "$T/codes" 3
sed -i '/^\[tenant:echo.test\]/,/^$/d' "$T/kvm-fpm.ini"
cat >>"$T/kvm-fpm.ini" <<INI

[tenant:added.test]
program = $ROOT/tenant-sdk/examples/counter
INI
kill -USR2 "$KVM_FPM_PID"
wait_until 5 grep -q "reloaded" "$T/kvm-fpm.log"
wait_until 5 has_lines "$T/codes" $(($(wc -l <"$T/codes") + 10))
load_stop
total=$(wc -l <"$T/codes")
bad=$(grep -vc '^Status: 200 OK$' "$T/codes")
check "SIGUSR2 under load: $total requests, $bad failed" \
	sh -c "[ $bad = 0 ] && [ $total -gt 10 ]"
[ "$bad" = 0 ] || { echo "--- failed answers"; cat "$T/bad"; }
check "SIGUSR2: logged as a reload" grep -q "reloaded $T/kvm-fpm.ini: 8 tenants" "$T/kvm-fpm.log"
fcgi added.test / >"$T/out"
check "SIGUSR2: the added tenant answers" [ "$(body <"$T/out")" = "counter=43" ]
fcgi echo.test / >"$T/out"
check "SIGUSR2: the removed tenant is 404" grep -q '^Status: 404' "$T/out"
after=$(worker_pids)
check "SIGUSR2: a new generation of workers" \
	sh -c "[ -z \"\$(echo '$before $after' | tr ' ' '\n' | grep . | sort | uniq -d)\" ]"

# --- SIGUSR2 (its SIGQUIT to the old workers) or SIGUSR1 arriving while a
# worker or the master still reads a request must not drop it: the client
# connects, the connection is taken, the signal comes, then the request.
# slow_client SOCKET URI SIGNAL REGEX
slow_client() {
	rm -f "$T/conn"
	python3 - "$1" "$T/conn" "$2" >"$T/res" <<'PY' &
import socket, struct, sys, time
def rec(t, content):
    return struct.pack("!BBHHBB", 1, t, 1, len(content), 0, 0) + content
def nv(n, v):
    return bytes([len(n), len(v)]) + n.encode() + v.encode()
params = b"".join(nv(k, v) for k, v in [
    ("REQUEST_METHOD", "GET"), ("REQUEST_URI", sys.argv[3]),
    ("HTTP_HOST", "hello.test"), ("REMOTE_ADDR", "127.0.0.1")])
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
open(sys.argv[2], "w").close()
time.sleep(0.5)
s.sendall(rec(1, struct.pack("!HB5x", 1, 0)) + rec(4, params) + rec(4, b"")
          + rec(5, b""))
out = b""
while True:
    h = s.recv(8, socket.MSG_WAITALL)
    if len(h) < 8:
        break
    _, t, _, clen, plen, _ = struct.unpack("!BBHHBB", h)
    body = s.recv(clen + plen, socket.MSG_WAITALL) if clen + plen else b""
    if t == 6:
        out += body[:clen]
    if t == 3:
        break
sys.stdout.write(out.decode(errors="replace"))
PY
	CLIENT=$!
	for _ in $(seq 50); do [ -e "$T/conn" ] && break; sleep 0.02; done
	if [ "$1" = "$T/kvm-fpm.sock" ]; then
		wait_for 'd["listen_queue"]' 0 # a worker has taken it
	else
		sleep 0.2 # the master takes it as soon as it polls
	fi
	kill -"$3" "$KVM_FPM_PID"
	wait "$CLIENT"
	grep -q "$4" "$T/res"
}
check "SIGUSR2 while a worker reads a request: answered" \
	slow_client "$T/kvm-fpm.sock" /slowclient USR2 'You asked for <code>/slowclient<'
check "SIGUSR1 while a worker reads a request: answered" \
	slow_client "$T/kvm-fpm.sock" /slowclient USR1 'You asked for <code>/slowclient<'
check "SIGUSR1 while the master reads a status_listen request: answered" \
	slow_client "$T/status.sock" /kvm-fpm/ping USR1 '^pong$'

# --- max_requests = 5 in one worker: 30 requests, every one answered
# (those that arrive while the master replaces the worker wait in the
# listen queue), 6 workers recycled after 5 requests each
WORKERS=1 restart "max_requests = 5" || { finish; exit 1; }
before=$(worker_pids)
ok=0
for i in $(seq 30); do
	fcgi hello.test /r$i >"$T/out"
	grep -q "You asked for <code>/r$i<" "$T/out" && ok=$((ok + 1))
done
sleep 0.5
after=$(worker_pids)
check "max_requests: 30 of 30 requests answered ($ok)" [ "$ok" = 30 ]
recycled=$(grep -c 'recycled after 5 requests' "$T/kvm-fpm.log")
check "max_requests: 6 workers recycled ($recycled)" [ "$recycled" = 6 ]
check "max_requests: a new worker ($before -> $after)" \
	sh -c "[ $(echo $after | wc -w) = 1 ] && [ '$before' != '$after' ]"
check "max_requests: no worker failed" sh -c "! grep -E 'exited with|killed by' $T/kvm-fpm.log"

# --- max_vms = 2 in one worker: the least recently used VM goes
WORKERS=1 restart "max_vms = 2" || { finish; exit 1; }
# step HOST PATH EXPECTED_BODY_GREP WANT: ask, check the answer and which
# of hello/echo/fault are resident afterwards
step() {
	fcgi "$1" "$2" >"$T/out"
	check "max_vms: $1$2 answers" grep -q "$3" "$T/out"
	got=$(status_get '" ".join(str(vms.get(n + ".test", 0)) for n in ("hello", "echo", "fault"))')
	check "max_vms: after $1 resident hello echo fault = $4 (got $got)" [ "$got" = "$4" ]
}
step hello.test / 'Hello from kvm-fpm' "1 0 0"
step echo.test /e '"method": *"GET"' "1 1 0"
step fault.test / '^ok$' "0 1 1"
step hello.test / 'Hello from kvm-fpm' "1 0 1"
# fault is used again, so hello is now the least recently used although
# it was created last: first-in-first-out would drop fault instead
step fault.test / '^ok$' "1 0 1"
step echo.test /e '"method": *"GET"' "0 1 1"

finish
