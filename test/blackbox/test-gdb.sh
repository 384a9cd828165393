#!/bin/sh
# Live debugging: GDB attached to a request's VM inside a running kvm-fpm,
# by X-Debug key, at breakpoint() and at a fault; refusals; a dropped
# debugger; malformed packets on the stub's port.
. test/blackbox/lib.sh
require_kvm
if ! command -v gdb >/dev/null; then
	if [ "${CI:-}" = true ]; then echo "not ok - gdb is required under CI"; exit 1; fi
	echo "skip - gdb is not installed: $0 skipped"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

DBG_PORT=$(free_port)
HELLO=$ROOT/tenant-sdk/examples/hello
# debug_wait bounds how long a stop waits for GDB (or this script's
# client) to connect, which ends by itself: scaled.  Where the time a
# stop waits out matters, it is not (bpwait.test).
WAIT=$(scaled 5)
write_ini "$T/kvm-fpm.ini" "debug_port = $DBG_PORT"
cat >>"$T/kvm-fpm.ini" <<INI

[tenant:debug.test]
program = $HELLO
key = sekrit
allow_debug = yes
debug_wait = ${WAIT}s
max_request_time = 0.5s

[tenant:nodebug.test]
program = $HELLO
key = sekrit

[tenant:bp.test]
program = $ROOT/$B/programs/breakpoint
allow_debug = yes
debug_wait = ${WAIT}s

[tenant:bpwait.test]
program = $ROOT/$B/programs/breakpoint
allow_debug = yes
debug_wait = 1s

[tenant:crash.test]
program = $ROOT/tenant-sdk/examples/fault
key = sekrit
allow_debug = yes
debug_on_fault = yes
debug_wait = ${WAIT}s
# Ctrl-C must reach the loop before the time limit stops it, and the
# checks need only that the limit stops it at all: scaled.
max_request_time = $(scaled 1)s
INI
start_kvm_fpm || exit 1

# fcgi_dbg HOST URI [KEY]: a request with X-Debug: KEY when KEY is given
fcgi_dbg() {
	if [ $# -ge 3 ]; then set -- "$1" "$2" HTTP_X_DEBUG="$3"; fi
	env -i REQUEST_METHOD=GET REQUEST_URI="$2" HTTP_HOST="$1" ${3:+"$3"} \
		REMOTE_ADDR=127.0.0.1 SERVER_PROTOCOL=HTTP/1.1 \
		cgi-fcgi -bind -connect "$T/kvm-fpm.sock"
}

# wait_count PATTERN N: until the log holds N lines matching (5 s at most,
# scaled)
wait_count() {
	for _ in $(seq "$(scaled 50)"); do
		[ "$(grep -c "$1" "$T/kvm-fpm.log")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# wait_log N: until N stops have waited for GDB
wait_log() {
	wait_count 'waiting for GDB on 127.0.0.1' "$1"
}
WAITS=0
# gdb_run ARGS...: a scripted GDB session, output in $T/gdb.out (and
# appended to $T/gdb.all, shown when a check failed)
gdb_run() {
	timeout "$(scaled 20)" gdb -batch -nx "$@" >"$T/gdb.out" 2>&1
	cat "$T/gdb.out" >>"$T/gdb.all"
}
# no CMD...: passes when the command fails
no() { ! "$@"; }

# --- X-Debug with the key: stop at my_backend, inspect, step, continue
fcgi_dbg debug.test '/dbg?x=1' sekrit >"$T/client" &
CLIENT=$!
WAITS=$((WAITS + 1))
check "X-Debug: the request waits for GDB, logged with the port" wait_log $WAITS
check "X-Debug: the log names the port" grep -q "waiting for GDB on 127.0.0.1:$DBG_PORT" "$T/kvm-fpm.log"
gdb_run "$HELLO" -ex "target remote 127.0.0.1:$DBG_PORT" \
	-ex 'print url' -ex 'info registers rip' -ex 'break html_escape' \
	-ex 'continue' -ex 'bt' -ex 'next' -ex 'stepi' -ex 'finish' \
	-ex 'shell sleep 0.7' -ex 'continue'
wait $CLIENT
check "gdb: stopped at my_backend" grep -q 'my_backend (url=' "$T/gdb.out"
check "gdb: print url reads the URL from guest memory" grep -q '^\$1 = .*"/dbg?x=1"' "$T/gdb.out"
check "gdb: rip at my_backend" grep -q '^rip .*<my_backend>' "$T/gdb.out"
check "gdb: a breakpoint in html_escape is hit" grep -q 'Breakpoint 1, .*html_escape' "$T/gdb.out"
check "gdb: backtrace through my_backend" grep -q '^#1 .*my_backend' "$T/gdb.out"
check "gdb: next, stepi and finish end back in my_backend" grep -q '^my_backend (url=.*hello.c:6[5-9]' "$T/gdb.out"
check "gdb: continue ends the request normally" grep -q 'exited normally' "$T/gdb.out"
check "client: 200 after the session" grep -q '^Status: 200' "$T/client"
check "client: the normal body" grep -q 'You asked for <code>/dbg?x=1' "$T/client"
check "paused time does not count to max_request_time" no grep -q 'timed out' "$T/kvm-fpm.log"
fcgi debug.test /again >"$T/out"
check "the debugged VM is reset and serves" grep -q '^Status: 200' "$T/out"

# --- refusals: nothing pauses
t0=$(date +%s)
fcgi_dbg debug.test / wrong >"$T/out"
check "wrong key is 403" grep -q '^Status: 403' "$T/out"
fcgi_dbg debug.test / '' >"$T/out"
check "empty key is 403" grep -q '^Status: 403' "$T/out"
fcgi_dbg nodebug.test / sekrit >"$T/out"
check "allow_debug = no: X-Debug is 403" grep -q '^Status: 403' "$T/out"
fcgi_dbg hello.test / sekrit >"$T/out"
check "a tenant without a key: X-Debug is 403" grep -q '^Status: 403' "$T/out"
check "refusals paused nothing" [ "$(grep -c 'waiting for GDB' "$T/kvm-fpm.log")" = $WAITS ]
# Quick means not paused for debug_wait (scaled alike, and longer).
check "refusals are quick" [ $(($(date +%s) - t0)) -le "$(scaled 2)" ]
fcgi debug.test / >"$T/out"
check "allow_debug tenant without X-Debug: 200" grep -q '^Status: 200' "$T/out"

# --- the port is one worker's at a time
fcgi_dbg debug.test /first sekrit >"$T/client" &
CLIENT=$!
WAITS=$((WAITS + 1))
wait_log $WAITS
fcgi_dbg debug.test /second sekrit >"$T/out"
check "second X-Debug while one waits: 503 debugger busy" grep -q 'debugger busy' "$T/out"
# --- GDB killed mid-session: the request fails, the worker serves on
gdb -batch -nx "$HELLO" -ex "target remote 127.0.0.1:$DBG_PORT" \
	-ex 'shell sleep 5' >"$T/gdb.out" 2>&1 &
GDB=$!
wait_count 'GDB attached' 2
sleep 0.5
kill -9 $GDB
wait $CLIENT
check "dropped GDB: the request ends with 500" grep -q '^Status: 500' "$T/client"
check "dropped GDB: logged" grep -q "debugger's connection dropped" "$T/kvm-fpm.log"
for i in 1 2 3; do fcgi debug.test /after >"$T/out"; done
check "dropped GDB: the workers serve on" grep -q '^Status: 200' "$T/out"

# --- kill from GDB
fcgi_dbg debug.test /kill sekrit >"$T/client" &
CLIENT=$!
WAITS=$((WAITS + 1))
wait_log $WAITS
gdb_run "$HELLO" -ex "target remote 127.0.0.1:$DBG_PORT" -ex 'kill'
wait $CLIENT
check "gdb kill: the request ends with 500" grep -q '^Status: 500' "$T/client"
fcgi debug.test /x >"$T/out"
check "gdb kill: the VM serves after" grep -q '^Status: 200' "$T/out"

# --- breakpoint() stops without X-Debug when allow_debug = yes
fcgi bp.test / >"$T/client" &
CLIENT=$!
WAITS=$((WAITS + 1))
check "breakpoint(): waits for GDB" wait_log $WAITS
gdb_run "$ROOT/$B/programs/breakpoint" -ex "target remote 127.0.0.1:$DBG_PORT" \
	-ex 'bt' -ex 'continue'
wait $CLIENT
check "breakpoint(): the stop is inside my_backend" grep -q 'in my_backend' "$T/gdb.out"
check "breakpoint(): continue answers 200" grep -q 'after breakpoint' "$T/client"
fcgi bpwait.test / >"$T/client"
WAITS=$((WAITS + 1))
check "breakpoint() with no GDB: served after debug_wait" grep -q 'after breakpoint' "$T/client"

# --- debug_on_fault: a crash waits for GDB, which sees SIGSEGV
fcgi crash.test /crash >"$T/client" &
CLIENT=$!
WAITS=$((WAITS + 1))
check "debug_on_fault: the fault waits for GDB" wait_log $WAITS
gdb_run "$ROOT/tenant-sdk/examples/fault" -ex "target remote 127.0.0.1:$DBG_PORT" \
	-ex 'bt' -ex 'continue'
wait $CLIENT
check "debug_on_fault: GDB sees SIGSEGV in crash()" grep -q 'SIGSEGV' "$T/gdb.out"
check "debug_on_fault: continue ends the request with 500" grep -q '^Status: 500' "$T/client"

# --- Ctrl-C in GDB interrupts a looping request; the time limit stops it
# once more before the 504
fcgi_dbg crash.test /loop sekrit >"$T/client" &
CLIENT=$!
WAITS=$((WAITS + 1))
wait_log $WAITS
rm -f "$T/gdb.out" # the last session's packets must not count
gdb -batch -nx "$ROOT/tenant-sdk/examples/fault" -ex 'set debug remote 1' \
	-ex "target remote 127.0.0.1:$DBG_PORT" \
	-ex 'continue' -ex 'bt 1' -ex 'continue' >"$T/gdb.out" 2>&1 &
GDB=$!
# ^C once GDB has sent the packet that resumes the VM: before, it would
# stop GDB's own startup or connect instead (batch mode prints no
# "Continuing.", hence the packet log).
for _ in $(seq "$(scaled 100)"); do
	grep -qE 'Sending packet: \$(vCont;c|c#)' "$T/gdb.out" 2>/dev/null && break
	sleep 0.1
done
kill -INT $GDB
for _ in $(seq "$(scaled 100)"); do kill -0 $GDB 2>/dev/null || break; sleep 0.1; done
kill -9 $GDB 2>/dev/null
wait $CLIENT
cat "$T/gdb.out" >>"$T/gdb.all"
check "Ctrl-C: GDB stops the running request with SIGINT" grep -q 'Program received signal SIGINT' "$T/gdb.out"
# "#0 0x... in spin () at ...", or "#0 spin () at ..." when the stop is
# at the first instruction of a line; the frame is shown either way
frame0=$(grep -m1 '^#0' "$T/gdb.out")
check "Ctrl-C: it is in the loop (${frame0:-no frame})" \
	sh -c 'case $1 in "#0 "*"spin ()"*) exit 0 ;; esac; exit 1' _ "$frame0"
check "time limit: GDB sees SIGXCPU where the time went" grep -q 'Program received signal SIGXCPU' "$T/gdb.out"
check "time limit: the client gets 504" grep -q '^Status: 504' "$T/client"

# --- malformed packets on the stub's port
fcgi_dbg debug.test /raw sekrit >"$T/client" &
CLIENT=$!
WAITS=$((WAITS + 1))
wait_log $WAITS
python3 - "$DBG_PORT" "$(scaled 3)" >"$T/raw.out" 2>&1 <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(float(sys.argv[2]))
def frame(p):
    return b"$" + p + b"#" + b"%02x" % (sum(p) & 0xff)
def reply(raw):
    """Send raw bytes; the payload of the packet that answers."""
    s.sendall(raw)
    buf = b""
    while True:
        start = buf.find(b"$")
        end = buf.find(b"#", start) if start >= 0 else -1
        if end >= 0 and len(buf) >= end + 3:
            return buf[start + 1:end]
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("connection closed")
        buf += chunk
fails = 0
def expect(name, cond):
    global fails
    print(("ok - " if cond else "not ok - ") + name)
    fails += not cond
s.sendall(b"$?#00")                     # bad checksum
expect("bad checksum is nacked", s.recv(1) == b"-")
expect("? reports a SIGTRAP stop", reply(frame(b"?")).startswith(b"T05"))
expect("m with bad hex is E01", reply(frame(b"mzz,4")) == b"E01")
expect("m without length is E01", reply(frame(b"m401000")) == b"E01")
expect("m of unmapped memory is an error", reply(frame(b"m10,4")).startswith(b"E"))
expect("huge m length is cut, not fatal", len(reply(frame(b"m400000,ffffffff"))) > 0)
expect("overflowing address is E01", reply(frame(b"m1ffffffffffffffff,1")) == b"E01")
expect("oversized packet is an error", reply(frame(b"M" + b"0" * 6000)).startswith(b"E"))
expect("g is 552 bytes of registers", len(reply(frame(b"g"))) == 1104)
expect("p of a bad register is an error", reply(frame(b"p999")).startswith(b"E"))
expect("P with a short value is E01", reply(frame(b"P0=12")) == b"E01")
expect("Z2 (watchpoint) is unsupported", reply(frame(b"Z2,401000,1")) == b"")
expect("Z0 on unmapped memory is an error", reply(frame(b"Z0,10,1")).startswith(b"E"))
expect("X with a cut escape is E01", reply(frame(b"X401000,1:}")) == b"E01")
expect("unknown packets get an empty reply", reply(frame(b"qNoSuchThing")) == b"")
expect("target.xml is served", b"i386:x86-64" in reply(frame(b"qXfer:features:read:target.xml:0,fff")))
expect("a bad annex is an error", reply(frame(b"qXfer:features:read:nope.xml:0,10")).startswith(b"E"))
expect("detach is OK", reply(frame(b"D")) == b"OK")
s.close()
sys.exit(1 if fails else 0)
PY
RAW=$?
cat "$T/raw.out"
check "raw socket: every malformed packet answered" [ $RAW = 0 ]
wait $CLIENT
check "raw socket: detach lets the request finish with 200" grep -q '^Status: 200' "$T/client"

# --- a connection cut in the middle of a packet
fcgi_dbg debug.test /cut sekrit >"$T/client" &
CLIENT=$!
WAITS=$((WAITS + 1))
wait_log $WAITS
python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $DBG_PORT))
s.sendall(b'+\$qSupported:multipro')
s.close()"
wait $CLIENT
check "cut packet: the request ends with 500" grep -q '^Status: 500' "$T/client"
fcgi debug.test / >"$T/out"
check "cut packet: the server serves on" grep -q '^Status: 200' "$T/out"
check "no worker died" no grep -q 'killed by signal' "$T/kvm-fpm.log"

# --- without a server: kvm-fpm run --allow_debug=yes
RUN_PORT=$(free_port)
ASAN_OPTIONS=detect_leaks=0:log_path=$T/asan "$KVM_FPM" run --allow_debug=yes \
	--debug_port="$RUN_PORT" --debug_wait="$WAIT"s "$HELLO" /run-one >"$T/run.out" 2>"$T/run.err" &
RUN=$!
for _ in $(seq "$(scaled 50)"); do grep -q 'waiting for GDB' "$T/run.err" && break; sleep 0.1; done
gdb_run "$HELLO" -ex "target remote 127.0.0.1:$RUN_PORT" -ex 'print url' -ex 'continue'
wait $RUN
check "kvm-fpm run: the URL stops for GDB" grep -q '"/run-one"' "$T/gdb.out"
check "kvm-fpm run: then answers 200" grep -q '^Status: 200' "$T/run.out"

[ "$FAIL" = 0 ] || { echo "--- gdb sessions"; cat "$T/gdb.all"; }
finish
