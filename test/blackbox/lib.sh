# Helpers for black-box tests: start the real kvm-fpm and nginx on free
# loopback ports in a temporary directory, talk to them like a client, and
# fail on crashes, sanitizer reports or nginx alerts.  Sourced by tests.
set -u
B=${B:-build}
ROOT=$(pwd)
KVM_FPM=${KVM_FPM:-$ROOT/$B/kvm-fpm-san}
T=$(mktemp -d /tmp/kvm-fpm-test.XXXXXX)
PASS=0
FAIL=0
PIDS=""
# Whatever happens, leave no server behind.
trap 'for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done' EXIT

# How many times slower than a real host this one is (an emulated CPU:
# test/run-all.sh sets 30 in its VM, README "Testing without /dev/kvm").
TIME_SCALE=${KVM_FPM_TEST_TIME_SCALE:-1}

# scaled SECONDS: SECONDS (decimals allowed) times TIME_SCALE.  Only for a
# bound on something that ends by itself, never a limit under test.
scaled() {
	awk -v s="$1" -v k="$TIME_SCALE" 'BEGIN { print s * k }'
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds (0) or
# SECONDS (scaled) have passed by the clock (1).  By the clock, not by a
# count of tries: under an emulated CPU one try of CMD can take a second.
wait_until() {
	end=$(awk -v s="$1" -v k="$TIME_SCALE" -v now="$(date +%s)" \
		'BEGIN { printf "%d", now + s * k + 1 }')
	shift
	while :; do
		"$@" && return 0
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# emulator_errors LOG FROM HOST: under the emulator (TIME_SCALE above 1),
# how many requests to HOST after line FROM of LOG kvm-fpm ended as a fault
# or a timeout.  Only for a HOST whose program never faults nor spins (the
# hello example): under QEMU's nested SVM a request now and then stands
# still until its time limit (the vCPU then at an address of the VM's own
# kernel, which no tenant VM maps) or ends in a triple fault, about one in
# 30,000 under load (README, "Testing without /dev/kvm").  0 on hardware.
emulator_errors() {
	if [ "$TIME_SCALE" = 1 ]; then
		echo 0
		return
	fi
	tail -n "+$(($2 + 1))" "$1" | grep -c "\] $3: [A-Z]* [^ ]*: \(fault\|timeout\): "
}

# has_lines FILE N: FILE exists with at least N lines
has_lines() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

SCGI_PORT=$(free_port)

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
# check NAME COMMAND...: passes when the command succeeds
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

require_kvm() {
	if [ ! -w /dev/kvm ]; then
		if [ "${CI:-}" = true ]; then
			echo "not ok - /dev/kvm is required under CI"
			exit 1
		fi
		echo "skip - no usable /dev/kvm: $0 skipped"
		echo "0 passed, 0 failed, 1 skipped"
		exit 0
	fi
}

# write_ini FILE [EXTRA GLOBAL LINES]: the standard test tenants.  Tests
# run as root; their workers stay uid 0 (without any capability, under
# seccomp) unless WORKER_USER sets the lines, as test-privilege.sh does
# to run them as an unprivileged user.
write_ini() {
	cat >"$1" <<INI
[global]
${WORKER_USER:-allow_run_as_root = yes}
listen = $T/kvm-fpm.sock
scgi_listen = 127.0.0.1:$SCGI_PORT
workers = ${WORKERS:-2}
log = $T/kvm-fpm.log
log_level = info
program_dir = $T/programs
${2:-}

[tenant:hello.test]
program = $ROOT/tenant-sdk/examples/hello
aliases = www.hello.test
max_request_time = $(scaled 1)s

[tenant:echo.test]
program = $ROOT/tenant-sdk/examples/echo
max_body_size = 4K
max_request_time = $(scaled 1)s

[tenant:fault.test]
program = $ROOT/tenant-sdk/examples/fault
max_request_time = 0.3s

[tenant:slow.test]
program = $ROOT/$B/programs/slow
max_request_time = $(scaled 10)s

[tenant:busy.test]
program = $ROOT/$B/programs/loop
max_request_time = 3s
INI
}

start_kvm_fpm() {
	[ -f "$T/kvm-fpm.ini" ] || write_ini "$T/kvm-fpm.ini"
	ASAN_OPTIONS=detect_leaks=0:log_path=$T/asan "$KVM_FPM" -F -c "$T/kvm-fpm.ini" 2>>"$T/kvm-fpm.stderr" &
	KVM_FPM_PID=$!
	PIDS="$PIDS $KVM_FPM_PID"
	wait_until 10 grep -q "ready:" "$T/kvm-fpm.log" 2>/dev/null && return 0
	echo "kvm-fpm did not start:"
	cat "$T/kvm-fpm.log" "$T/kvm-fpm.stderr" 2>/dev/null
	return 1
}

# fcgi HOST URI [METHOD]: one request straight to kvm-fpm with cgi-fcgi
fcgi() {
	env -i REQUEST_METHOD="${3:-GET}" REQUEST_URI="$2" HTTP_HOST="$1" \
		REMOTE_ADDR=127.0.0.1 SERVER_PROTOCOL=HTTP/1.1 \
		cgi-fcgi -bind -connect "$T/kvm-fpm.sock"
}

# start_nginx [NAME]: nginx in $T/NAME (default nginx); keepalive to
# kvm-fpm from $NGINX_KEEPALIVE (default 2)
start_nginx() {
	N=$T/${1:-nginx}
	HTTP_PORT=$(free_port)
	mkdir -p "$N"
	cat >"$N/nginx.conf" <<NGX
user root;
worker_processes 1;
daemon off;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $N/body;
	fastcgi_temp_path $N/fcgi;
	scgi_temp_path $N/scgi;
	proxy_temp_path $N/proxy;
	uwsgi_temp_path $N/uwsgi;
	client_max_body_size 16m;
	upstream kvmfpm {
		server unix:$T/kvm-fpm.sock;
		keepalive ${NGINX_KEEPALIVE:-2};
	}
	server {
		listen 127.0.0.1:$HTTP_PORT;
		location /scgi/ {
			include /etc/nginx/scgi_params;
			scgi_param REQUEST_URI \$request_uri;
			scgi_pass 127.0.0.1:$SCGI_PORT;
		}
		location / {
			include /etc/nginx/fastcgi_params;
			fastcgi_param SERVER_NAME \$host;
			fastcgi_keep_conn on;
			fastcgi_pass kvmfpm;
		}
	}
}
NGX
	nginx -p "$N" -c "$N/nginx.conf" &
	NGINX_PID=$!
	PIDS="$PIDS $NGINX_PID"
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/" && return 0
		sleep 0.1
	done
	echo "nginx did not start"; cat "$N/error.log"
	return 1
}

# get HOST PATH: a GET through nginx; sets STATUS and BODY
get() {
	STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H "Host: $1" \
		"http://127.0.0.1:$HTTP_PORT$2")
	BODY=$(cat "$T/body")
}

worker_pids() {
	pgrep -P "$KVM_FPM_PID" | sort | tr '\n' ' '
}

finish() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if ls "$T"/asan* >/dev/null 2>&1; then
		not_ok "sanitizer reports"; cat "$T"/asan*
	fi
	if cat "$T"/nginx*/error.log 2>/dev/null | grep -E '\[(alert|crit|emerg)\]'; then
		not_ok "nginx alerts"
	fi
	# Deaths the master did not expect are warnings; tests kill with 9.
	if cat "$T"/kvm-fpm.log* | grep -E '\[warning\].*killed by signal' |
		grep -v "signal 9$" | grep -q .; then
		not_ok "unexpected worker death"; cat "$T"/kvm-fpm.log* | grep 'killed by signal'
	fi
	if [ "$FAIL" != 0 ]; then
		echo "--- kvm-fpm's error answers (every log of this run)"
		grep -h -E ': [45][0-9][0-9]: |\[(warning|error)\]' \
			"$T"/kvm-fpm.log* | tail -30
		echo "--- kvm-fpm log"; tail -30 "$T/kvm-fpm.log"
	fi
	[ -n "${KEEP_T:-}" ] || rm -rf "$T"
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
}
