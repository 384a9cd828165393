#!/bin/sh
# The FastCGI and SCGI input side under hostile and unusual clients: bad
# SCGI netstrings, huge FastCGI lengths, clients trickling a byte a second,
# management records, a request's stdin ended after its answer.  No worker
# may die, and every worker must be free again within request_read_timeout.
. test/blackbox/lib.sh
require_kvm

RAW="python3 test/blackbox/fcgi_raw.py"
SOCK=$T/kvm-fpm.sock
WORKERS=2 write_ini "$T/kvm-fpm.ini" "request_read_timeout = 2s
status_listen = $T/status.sock"
start_kvm_fpm || exit 1
pids=$(worker_pids)

# --- issue 11 finding 1: '4:abcd,' freed an uninitialised pointer
check "SCGI '4:abcd,' x200: each answered 400" $RAW scgi-garbage "$SCGI_PORT" 200
$RAW scgi-get "$SCGI_PORT" >"$T/out"
check "SCGI: a normal request answered after them" grep -q '^pong' "$T/out"
check "SCGI garbage: the same worker pids" [ "$(worker_pids)" = "$pids" ]

# --- issue 11 finding 6: a parameter length near 2^31 (libfcgi aborted)
check "FastCGI name length 0x7fffffff: connection closed" $RAW fcgi-biglen "$SOCK"
check "FastCGI name length 0x7fffffff: logged" \
	grep -q 'FastCGI: a parameter declares a 2147483647-byte name.*closing the connection' "$T/kvm-fpm.log"
$RAW fcgi-get "$SOCK" >"$T/out"
check "FastCGI: a normal request answered after it" grep -q '^pong' "$T/out"
check "FastCGI huge length: the same worker pids" [ "$(worker_pids)" = "$pids" ]

# --- management records, and the empty FCGI_STDIN sent after the answer
check "FCGI_GET_VALUES and an unknown type answered" $RAW get-values "$SOCK"
check "stdin ended after the answer: the kept connection goes on" \
	$RAW late-stdin-end "$SOCK"

# --- a client that never reads what it asked for: the worker's write
# gives up after request_read_timeout (2 s), not never.
check "FastCGI: a client reading no answer is closed within 6 s" \
	$RAW no-reader "$SOCK" $(scaled 6)
check "... logged" grep -q 'FastCGI: the peer took no byte of the answer within request_read_timeout (2000 ms)' "$T/kvm-fpm.log"
$RAW fcgi-get "$SOCK" >"$T/out"
check "... and a normal request answered after it" grep -q '^pong' "$T/out"

# --- more idle kept-alive connections than the two workers hold (256
# each): the one idle longest makes room, no new connection is refused.
check "600 idle kept-alive connections: each one's request answered" \
	$RAW many-kept "$SOCK" 600
check "... the longest idle closed to make room" grep -q 'kept-alive connections, the most a worker holds: closing the one idle longest' "$T/kvm-fpm.log"
check "... no connection refused" sh -c "! grep -q 'too many connections' '$T/kvm-fpm.log'"

# --- more headers than a request may carry (256): a 431, where FastCGI
# closed with no answer (a 502 from nginx) and SCGI dropped the rest.
check "FastCGI: 300 more headers: 431" $RAW many-params fcgi "$SOCK" 300
check "SCGI: 300 more headers: 431" $RAW many-params scgi "$SCGI_PORT" 300

# --- issue 13 item 2: a chunked body comes without CONTENT_LENGTH
check "chunked body without CONTENT_LENGTH reaches the tenant" \
	$RAW chunked "$SOCK" echo.test 3000 '"body_length":3000}'
check "chunked body over max_body_size (4K) is 413" \
	$RAW chunked "$SOCK" echo.test 5000 'Status: 413'

# --- issue 11 finding 5: slowloris.  Two trickling clients hold both
# workers; a normal request must still be answered once the 2 s
# request_read_timeout closes them (limit 2 s + 2 s of margin).
both() { wait "$1"; a=$?; wait "$2"; [ $a = 0 ] && [ $? = 0 ]; }
slowloris() { # KIND ADDRESS
	$RAW "$1-trickle" "$2" >"$T/trickle1" &
	t1=$!
	$RAW "$1-trickle" "$2" >"$T/trickle2" &
	t2=$!
	sleep 0.5
	check "$1 slowloris: a normal request answered within 4 s" \
		$RAW timed "$2" "$1" 4
	check "$1 slowloris: the tricklers were closed" both $t1 $t2
	cat "$T/trickle1" "$T/trickle2"
}
slowloris fcgi "$SOCK"
check "fcgi slowloris: logged" \
	grep -q 'FastCGI: request not read within request_read_timeout (2000 ms)' "$T/kvm-fpm.log"
slowloris scgi "$SCGI_PORT"
check "scgi slowloris: logged" \
	grep -q 'SCGI: request not read within request_read_timeout (2000 ms)' "$T/kvm-fpm.log"
# The master serves status_listen itself and keeps its own 1 s limit.
check "status_listen: a trickler is closed within 1.8 s" \
	$RAW fcgi-trickle "$T/status.sock" 1.8
check "status_listen: answers after it" $RAW timed "$T/status.sock" fcgi 2
check "slowloris: the same worker pids" [ "$(worker_pids)" = "$pids" ]
check "no worker died" sh -c "! grep -Eq 'killed by signal|exited with [1-9]' '$T/kvm-fpm.log'"

finish
