#!/bin/sh
# program_store = etcd: two kvm-fpm nodes (own ini, socket, program_dir)
# share one real etcd.  An upload to one is served by the other within
# 1 s; a node cut off alone (its relay to etcd killed) keeps its last
# version and catches up when its link is back; with etcd down an upload
# is refused and both keep serving the last version, through a restart
# too, though its ping answers 503 (out of a balancer's rotation) until
# it has reached etcd; with etcd back they catch up; so does a node started after an
# upload, and one reloaded.
. test/blackbox/lib.sh
require_kvm
if [ ! -x /usr/bin/etcd ]; then
	echo "not ok - no /usr/bin/etcd (scripts/deps.sh installs etcd-server)"
	exit 1
fi

KEY=etcd-test-key-$$
# Everything runs tens of times slower in the emulated test VM
# (test/run-all.sh); on real hardware the scale is 1.
SCALE=${KVM_FPM_TEST_TIME_SCALE:-1}
WITHIN_MS=$((1000 * SCALE))
ETCD_PORT=$(free_port)
ETCD_PEER=$(free_port)
ETCD_URL=http://127.0.0.1:$ETCD_PORT

start_etcd() {
	/usr/bin/etcd --name n1 --data-dir "$T/etcd" \
		--listen-client-urls "$ETCD_URL" \
		--advertise-client-urls "$ETCD_URL" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
		--initial-cluster "n1=http://127.0.0.1:$ETCD_PEER" \
		>>"$T/etcd.log" 2>&1 &
	ETCD_PID=$!
	PIDS="$PIDS $ETCD_PID"
	for _ in $(seq $((100 * SCALE))); do
		curl -sf "$ETCD_URL/health" 2>/dev/null | grep -q true && return 0
		sleep 0.1
	done
	echo "etcd did not start"; tail "$T/etcd.log"
	return 1
}

# Node b reaches etcd through a relay: killing it cuts b off alone.
RELAY_PORT=$(free_port)
start_relay() {
	python3 test/blackbox/tcp_relay.py "$RELAY_PORT" "$ETCD_PORT" &
	RELAY_PID=$!
	PIDS="$PIDS $RELAY_PID"
	for _ in $(seq $((50 * SCALE))); do
		curl -sf "http://127.0.0.1:$RELAY_PORT/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "the relay did not start"
	return 1
}

stop_relay() {
	kill -KILL "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
}

# wait_log NODE COUNT PATTERN: until the node's log has more than COUNT
# lines matching PATTERN
wait_log() {
	for _ in $(seq $((100 * SCALE))); do
		[ "$(grep -c "$3" "$T/kvm-fpm.log.$1")" -gt "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

stop_etcd() {
	kill -KILL "$ETCD_PID" 2>/dev/null
	wait "$ETCD_PID" 2>/dev/null
}

# node_ini NAME ETCD_URL: a node of its own sharing the etcd
node_ini() {
	cat >"$T/$1.ini" <<INI
[global]
allow_run_as_root = yes
listen = $T/$1.sock
workers = 2
log = $T/kvm-fpm.log.$1
log_level = info
program_dir = $T/$1-programs
program_store = etcd
etcd_endpoints = http://127.0.0.1:$(free_port), $2
etcd_prefix = /kvm-fpm-test-$$

[tenant:upload.test]
program = $ROOT/$B/programs/version
key = $KEY
INI
}

# start_node NAME: start it and wait for its watcher's first catch-up
# (or its notice that etcd is away, with WAIT=away)
start_node() {
	n0=$(grep -c "etcd: caught up\|etcd: .*serving the programs" \
		"$T/kvm-fpm.log.$1" 2>/dev/null)
	ASAN_OPTIONS=detect_leaks=0:log_path=$T/asan "$KVM_FPM" -F \
		-c "$T/$1.ini" 2>>"$T/$1.stderr" &
	eval "PID_$1=$!"
	PIDS="$PIDS $!"
	for _ in $(seq $((100 * SCALE))); do
		n=$(grep -c "etcd: caught up\|etcd: .*serving the programs" \
			"$T/kvm-fpm.log.$1" 2>/dev/null)
		[ "${n:-0}" -gt "${n0:-0}" ] && return 0
		sleep 0.1
	done
	echo "node $1 did not start:"; cat "$T/kvm-fpm.log.$1" "$T/$1.stderr"
	return 1
}

stop_node() {
	eval "p=\$PID_$1"
	kill -TERM "$p"
	wait "$p" 2>/dev/null
}

# request NODE [FILE]: GET upload.test, or POST FILE as its live update;
# sets STATUS and BODY
request() {
	if [ -n "${2:-}" ]; then
		env -i REQUEST_METHOD=POST REQUEST_URI=/ HTTP_HOST=upload.test \
			HTTP_X_LIVEUPDATE="$KEY" REMOTE_ADDR=127.0.0.1 \
			CONTENT_LENGTH="$(stat -c %s "$2")" \
			SERVER_PROTOCOL=HTTP/1.1 \
			cgi-fcgi -bind -connect "$T/$1.sock" <"$2" >"$T/out"
	else
		env -i REQUEST_METHOD=GET REQUEST_URI=/ HTTP_HOST=upload.test \
			REMOTE_ADDR=127.0.0.1 SERVER_PROTOCOL=HTTP/1.1 \
			cgi-fcgi -bind -connect "$T/$1.sock" </dev/null >"$T/out"
	fi
	STATUS=$(sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T/out" | head -1)
	STATUS=${STATUS:-200}
	BODY=$(sed '1,/^\r*$/d' "$T/out")
}

version() {
	request "$1"
	if [ "$STATUS" = 200 ]; then echo "$BODY" | head -1; else echo "status $STATUS"; fi
}

# ping NODE: its ping_path's status, as a load balancer's probe sees it
ping() {
	env -i REQUEST_METHOD=GET REQUEST_URI=/kvm-fpm/ping HTTP_HOST=probe \
		REMOTE_ADDR=127.0.0.1 SERVER_PROTOCOL=HTTP/1.1 \
		cgi-fcgi -bind -connect "$T/$1.sock" </dev/null >"$T/ping"
	st=$(sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T/ping" | head -1)
	echo "${st:-200} $(sed '1,/^\r*$/d' "$T/ping" | head -1)"
}

# answered STATUS TEXT: the last request's answer
answered() { [ "$STATUS" = "$1" ] && echo "$BODY" | grep -qF "$2"; }

now_ms() { date +%s%3N; }

# serves_within NODE WANT: the node answers WANT within WITHIN_MS
serves_within() {
	t0=$(now_ms)
	while :; do
		got=$(version "$1")
		[ "$got" = "$2" ] && break
		[ $(($(now_ms) - t0)) -gt "$WITHIN_MS" ] && break
		sleep 0.05
	done
	ms=$(($(now_ms) - t0))
	if [ "$got" = "$2" ]; then
		ok "node $1 serves $2 ${ms} ms after the upload's answer (limit $WITHIN_MS ms)"
	else
		not_ok "node $1 serves \"$got\" ${ms} ms after the upload, not $2"
	fi
}

# upload_ok NODE FILE VERSION
upload_ok() {
	request "$1" "$2"
	if [ "$STATUS" = 200 ] && echo "$BODY" | grep -q "version $3, in etcd"; then
		ok "upload to $1: $BODY"
	else
		not_ok "upload to $1: $STATUS $BODY (want 200, version $3)"
	fi
}

for v in 1 2 3 4 5 6; do
	tenant-sdk/bin/kvm-fpm-cc -O1 -DVERSION="$v" -o "$T/v$v" \
		test/guest/programs/version.c || not_ok "build version $v"
done

start_etcd || exit 1
start_relay || exit 1
node_ini a "$ETCD_URL"
node_ini b "http://127.0.0.1:$RELAY_PORT"
start_node a || exit 1
start_node b || exit 1
check "before any upload both nodes serve version 0" \
	[ "$(version a)/$(version b)" = "version 0/version 0" ]

# --- an upload to either node reaches the other
upload_ok a "$T/v1" 1
check "... node a serves it at once" [ "$(version a)" = "version 1" ]
serves_within b "version 1"
upload_ok b "$T/v2" 2
check "... node b serves it at once" [ "$(version b)" = "version 2" ]
serves_within a "version 2"

# --- too big for one etcd value: refused before its body is read
head -c 1700000 /dev/zero >"$T/big"
request a "$T/big"
check "a program over etcd's request limit: 413 with the reason ($BODY)" \
	answered 413 "programs are not split"

# --- node b alone cut off: it serves its last version, then catches up
LOST="etcd: .*serving the programs"
n_b=$(grep -c "$LOST" "$T/kvm-fpm.log.b")
stop_relay
check "node b notices that it lost etcd" wait_log b "$n_b" "$LOST"
upload_ok a "$T/v3" 3
check "... node b, cut off, still serves version 2" [ "$(version b)" = "version 2" ]
n_b=$(grep -c "etcd: caught up" "$T/kvm-fpm.log.b")
start_relay || exit 1
check "... with its link back, node b catches up" \
	wait_log b "$n_b" "etcd: caught up"
check "... and serves version 3" [ "$(version b)" = "version 3" ]

# --- etcd down: refused, nothing changes anywhere, a restart still serves
stop_etcd
request a "$T/v4"
check "with etcd down an upload is refused: $STATUS $BODY" \
	answered 503 "not stored in etcd, nothing changed"
check "... node a still serves version 3" [ "$(version a)" = "version 3" ]
check "... node b still serves version 3" [ "$(version b)" = "version 3" ]
check "... node a's program_dir still holds version 3" \
	[ "$(cat "$T/a-programs/upload.test.version")" = 3 ]
stop_node b
start_node b || exit 1
check "node b restarted without etcd serves version 3" \
	[ "$(version b)" = "version 3" ]
# A balancer's probe keeps it out until it knows it is current.
check "... but its ping answers 503 until it reaches etcd ($(ping b))" \
	[ "$(ping b)" = "503 catching up with etcd" ]
check "... while node a, caught up before, answers 200 ($(ping a))" \
	[ "$(ping a)" = "200 pong" ]

# --- etcd back: both catch up, uploads work again
n_a=$(grep -c "etcd: caught up" "$T/kvm-fpm.log.a")
n_b=$(grep -c "etcd: caught up" "$T/kvm-fpm.log.b")
start_etcd || exit 1
if wait_log a "$n_a" "etcd: caught up" &&
	wait_log b "$n_b" "etcd: caught up"; then
	ok "etcd back: both nodes catch up"
	check "... and node b's ping answers 200 ($(ping b))" \
		[ "$(ping b)" = "200 pong" ]
else
	not_ok "etcd back: a node did not catch up"
fi
upload_ok a "$T/v4" 4
serves_within b "version 4"

# --- a node that was down while an upload happened catches up at start
stop_node b
upload_ok a "$T/v5" 5
start_node b || exit 1
serves_within b "version 5"

# --- a reload (SIGHUP) restarts the watcher on the new tenants
kill -HUP "$PID_a"
wait_log a 0 "reloaded" || not_ok "node a did not reload"
upload_ok b "$T/v6" 6
serves_within a "version 6"

if grep -q "refused\|not stored" "$T/kvm-fpm.log.b"; then
	not_ok "node b logged a refusal"; grep "refused\|not stored" "$T/kvm-fpm.log.b"
fi
cat "$T/kvm-fpm.log.a" "$T/kvm-fpm.log.b" >"$T/kvm-fpm.log"
finish
