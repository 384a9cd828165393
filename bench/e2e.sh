#!/bin/sh
# End-to-end benchmark: one nginx on loopback in front of four FastCGI
# backends with the same number of workers, loaded in turn by wrk.  Prints
# "key value" lines for bench/report.py; wrk's own output goes to
# $BENCH_RAW (a directory) when set.
#   bench/e2e.sh [BUILD_DIR]
# Each backend is measured in BENCH_ROUNDS rounds (default 2) of
# BENCH_DURATION seconds (default 5), after one BENCH_WARMUP-second
# unmeasured run (default 3); figures are the mean over the rounds.
# Tunables (environment): BENCH_ROUNDS, BENCH_DURATION, BENCH_WARMUP,
# BENCH_CONNECTIONS (16), BENCH_THREADS (2), BENCH_WORKERS (2),
# BENCH_RUNS (which runs, in order; default all: kvm native php cgi
# kvmka1 tenants1 tenants10 tenants100; kvmka1 is kvm-fpm with the peers'
# keepalive), BENCH_KVM_KEEPALIVE (nginx's keepalive to kvm-fpm; default
# BENCH_CONNECTIONS).
set -eu
B=${1:-build}
ROOT=$(pwd)
DUR=${BENCH_DURATION:-5}
ROUNDS=${BENCH_ROUNDS:-2}
WARM=${BENCH_WARMUP:-3}
CONNS=${BENCH_CONNECTIONS:-16}
THREADS=${BENCH_THREADS:-2}
WORKERS=${BENCH_WORKERS:-2}
# nginx keeps fewer idle FastCGI connections than there are workers: a
# libfcgi worker (native, fcgiwrap) or a PHP-FPM child is pinned to a kept
# connection, and kvm-fpm's deploy files keep it below `workers` too.
KEEPALIVE=$((WORKERS > 1 ? WORKERS - 1 : 1))
# kvm-fpm's workers poll every kept connection instead of being pinned to
# one (README, "kept-alive FastCGI connections"), so nginx may keep one per
# client: no connection set-up per request.
KVM_KEEPALIVE=${BENCH_KVM_KEEPALIVE:-$CONNS}
TENANTS=100
RUNS=${BENCH_RUNS:-kvm native php cgi kvmka1 tenants1 tenants10 tenants100}
PHP_FPM=${PHP_FPM:-$(command -v php-fpm8.2 || command -v php-fpm || echo php-fpm)}

T=$(mktemp -d /tmp/kvm-fpm-bench.XXXXXX)
GROUPS_STARTED=""

# Every daemon runs in its own session: stopping its process group stops
# its workers too, and nothing else.
cleanup() {
	for g in $GROUPS_STARTED; do kill -TERM "-$g" 2>/dev/null || :; done
	for g in $GROUPS_STARTED; do
		for _ in $(seq 50); do
			kill -0 "-$g" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "-$g" 2>/dev/null || :
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

say() { echo "e2e: $*" >&2; }
die() { say "$*"; exit 1; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start NAME COMMAND...: a daemon in its own session, output in $T/NAME.out
start() {
	name=$1
	shift
	setsid "$@" >"$T/$name.out" 2>&1 &
	GROUPS_STARTED="$GROUPS_STARTED $!"
	eval "GROUP_$(echo "$name" | tr -c 'a-z0-9\n' _)=$!"
}

# CPU time (user + system, reaped children included) of a process group,
# in clock ticks.
group_ticks() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v g="$1" '{
		sub(/.*\) /, "")
		if ($3 == g) t += $12 + $13 + $14 + $15
	} END { print t + 0 }'
}

wait_for() { # wait_for WHAT COMMAND...: up to 10 s
	what=$1
	shift
	for _ in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "$what did not start"
}

for tool in wrk nginx "$PHP_FPM" fcgiwrap curl python3 setsid; do
	command -v "$tool" >/dev/null || die "$tool is missing (make bench installs it)"
done
[ -x "$B/kvm-fpm" ] && [ -x "$B/bench/native-fcgi" ] &&
	[ -x "$B/bench/hello-cgi" ] || die "build first: make $B/kvm-fpm and the bench binaries"

# ---- kvm-fpm: hello, plus t0..t99.bench (hello too) for the tenant runs
{
	cat <<INI
[global]
listen = $T/kvm-fpm.sock
workers = $WORKERS
; Room for every tenant of the round-robin run in each worker.
max_vms = $((TENANTS + 28))
log = $T/kvm-fpm.log
log_level = notice
access_log = off

[tenant:hello.bench]
program = $ROOT/tenant-sdk/examples/hello
INI
	i=0
	while [ $i -lt $TENANTS ]; do
		printf '\n[tenant:t%d.bench]\nprogram = %s\n' $i "$ROOT/tenant-sdk/examples/hello"
		i=$((i + 1))
	done
} >"$T/kvm-fpm.ini"
start kvm-fpm "$ROOT/$B/kvm-fpm" -F -c "$T/kvm-fpm.ini"
wait_for kvm-fpm grep -q "ready:" "$T/kvm-fpm.log"

# ---- native libfcgi responder
start native "$ROOT/$B/bench/native-fcgi" "$T/native.sock" "$WORKERS"

# ---- PHP-FPM, pm = static
mkdir -p "$T/php"
cp bench/hello.php "$T/php/hello.php"
{
	cat <<PHP
[global]
pid = $T/php/php-fpm.pid
error_log = $T/php/error.log
daemonize = no

[bench]
listen = $T/php/php.sock
pm = static
pm.max_children = $WORKERS
PHP
	[ "$(id -u)" = 0 ] && printf 'user = root\ngroup = root\n'
} >"$T/php/php-fpm.conf"
if [ "$(id -u)" = 0 ]; then
	start php-fpm "$PHP_FPM" -R -F -y "$T/php/php-fpm.conf"
else
	start php-fpm "$PHP_FPM" -F -y "$T/php/php-fpm.conf"
fi

# ---- fcgiwrap running the compiled CGI
start fcgiwrap fcgiwrap -c "$WORKERS" -s "unix:$T/fcgiwrap.sock"

for s in native.sock php/php.sock fcgiwrap.sock; do
	wait_for "$s" test -S "$T/$s"
done

# ---- one nginx, one port per backend
P_KVM=$(free_port)
P_KVM1=$(free_port)
P_NATIVE=$(free_port)
P_PHP=$(free_port)
P_CGI=$(free_port)
N=$T/nginx
mkdir -p "$N"
server() { # server PORT UPSTREAM SOCKET KEEPALIVE [EXTRA PARAMS]
	cat <<NGX
	upstream $2 {
		server unix:$T/$3;
		keepalive $4;
	}
	server {
		listen 127.0.0.1:$1;
		location / {
			include /etc/nginx/fastcgi_params;
			fastcgi_param SERVER_NAME \$host;
			${5:-}
			fastcgi_keep_conn on;
			fastcgi_pass $2;
		}
	}
NGX
}
{
	cat <<NGX
$( [ "$(id -u)" = 0 ] && echo "user root;")
worker_processes 1;
daemon off;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $N/body;
	fastcgi_temp_path $N/fcgi;
	scgi_temp_path $N/scgi;
	proxy_temp_path $N/proxy;
	uwsgi_temp_path $N/uwsgi;
NGX
	server "$P_KVM" kvmfpm kvm-fpm.sock "$KVM_KEEPALIVE"
	server "$P_KVM1" kvmfpm1 kvm-fpm.sock "$KEEPALIVE"
	server "$P_NATIVE" native native.sock "$KEEPALIVE"
	server "$P_PHP" php php/php.sock "$KEEPALIVE" \
		"fastcgi_param SCRIPT_FILENAME $T/php/hello.php;"
	server "$P_CGI" cgi fcgiwrap.sock "$KEEPALIVE" \
		"fastcgi_param SCRIPT_FILENAME $ROOT/$B/bench/hello-cgi;"
	echo "}"
} >"$N/nginx.conf"
start nginx nginx -p "$N" -c "$N/nginx.conf"
wait_for nginx curl -sf -o /dev/null -H "Host: hello.bench" "http://127.0.0.1:$P_KVM/"

# ---- the same bytes from every backend (the time in the page masked)
fetch() { # fetch PORT FILE: status line check, body to FILE
	code=$(curl -s -o "$2" -w '%{http_code}' -H "Host: hello.bench" \
		"http://127.0.0.1:$1/")
	sed -i 's/Unix time [0-9]*\./Unix time N./' "$2"
	[ "$code" = 200 ]
}
fetch "$P_KVM" "$T/body.kvm" || die "kvm-fpm does not answer 200"
for b in native:$P_NATIVE php:$P_PHP cgi:$P_CGI; do
	name=${b%%:*}
	fetch "${b#*:}" "$T/body.$name" || die "$name does not answer 200"
	if cmp -s "$T/body.kvm" "$T/body.$name"; then
		echo "e2e_${name}_same_body 1"
	else
		say "$name's body differs from kvm-fpm's:"
		diff "$T/body.kvm" "$T/body.$name" >&2 || :
		echo "e2e_${name}_same_body 0"
	fi
done

cat >"$T/hosts.lua" <<'LUA'
-- Each request to a different tenant, round-robin over HOSTS of them.
local n = tonumber(os.getenv("HOSTS") or "1")
local i = 0
request = function()
	i = i + 1
	return wrk.format("GET", "/", { Host = "t" .. (i % n) .. ".bench" })
end
LUA

# wrk's figures as key lines: req/s, p50 and p99 in ms, bad answers.
parse_wrk() { # parse_wrk NAME FILE
	awk -v name="$1" '
	function ms(v) {
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /m$/) return v * 60000
		return v * 1000
	}
	$1 == "50%" { p50 = ms($2) }
	$1 == "99%" { p99 = ms($2) }
	/^Requests\/sec:/ { rps = $2 }
	/requests in/ { n = $1 }
	/Non-2xx/ { bad = $NF }
	/Socket errors:/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
	END {
		printf "e2e_%s_rps %.0f\n", name, rps
		printf "e2e_%s_p50_ms %.3f\n", name, p50
		printf "e2e_%s_p99_ms %.3f\n", name, p99
		printf "e2e_%s_requests %d\n", name, n
		printf "e2e_%s_bad %d\n", name, bad + err
	}' "$2"
}

load() { # load NAME ROUND PORT [HOSTS]: a warm-up run in round 1, then
	#         the measured one
	name=$1
	round=$2
	port=$3
	if [ -n "${4:-}" ]; then
		export HOSTS="$4"
		set -- -s "$T/hosts.lua"
	else
		set -- -H "Host: hello.bench"
	fi
	if [ "$round" = 1 ]; then
		say "$name: ${WARM}s warm-up"
		wrk -t"$THREADS" -c"$CONNS" -d"${WARM}s" "$@" \
			"http://127.0.0.1:$port/" >/dev/null
	fi
	case $name in
	kvm | kvmka1 | tenants*) group=$GROUP_kvm_fpm ;;
	native) group=$GROUP_native ;;
	php) group=$GROUP_php_fpm ;;
	cgi) group=$GROUP_fcgiwrap ;;
	esac
	say "$name: round $round, ${DUR}s"
	b0=$(group_ticks "$group")
	n0=$(group_ticks "$GROUP_nginx")
	wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency "$@" \
		"http://127.0.0.1:$port/" >"$T/wrk.$name.$round"
	b1=$(group_ticks "$group")
	n1=$(group_ticks "$GROUP_nginx")
	# CPU per request, in microseconds, of the backend and of nginx.
	awk -v name="$name" -v b=$((b1 - b0)) -v n=$((n1 - n0)) \
		-v hz="$(getconf CLK_TCK)" '/requests in/ && $1 > 0 {
		printf "e2e_%s_backend_cpu_us %.1f\n", name, b * 1e6 / hz / $1
		printf "e2e_%s_nginx_cpu_us %.1f\n", name, n * 1e6 / hz / $1
	}' "$T/wrk.$name.$round" >>"$T/rounds"
	if [ -n "${BENCH_RAW:-}" ]; then
		cp "$T/wrk.$name.$round" "$BENCH_RAW/wrk-$name-$round.txt"
	fi
	parse_wrk "$name" "$T/wrk.$name.$round" >>"$T/rounds"
}

# The mean over the rounds of each figure (errors: the sum).
mean_rounds() {
	awk '{ sum[$1] += $2; n[$1]++ }
	END {
		for (k in sum)
			if (k ~ /_(bad|requests)$/) printf "%s %d\n", k, sum[k]
			else if (k ~ /_rps$/) printf "%s %.0f\n", k, sum[k] / n[k]
			else printf "%s %.3f\n", k, sum[k] / n[k]
	}' "$T/rounds" | sort
}

echo "e2e_threads $THREADS"
echo "e2e_connections $CONNS"
echo "e2e_duration_s $DUR"
echo "e2e_warmup_s $WARM"
echo "e2e_workers $WORKERS"
echo "e2e_keepalive $KEEPALIVE"
echo "e2e_kvm_keepalive $KVM_KEEPALIVE"
echo "e2e_php $($PHP_FPM -v | head -1 | cut -d' ' -f1-2)"
echo "e2e_rounds $ROUNDS"
: >"$T/rounds"
# Rounds interleave the backends, so that a burst of other work on the
# machine does not land on one backend only.
round=1
while [ $round -le "$ROUNDS" ]; do
	for run in $RUNS; do
		case $run in
		kvm) load kvm $round "$P_KVM" ;;
		kvmka1) load kvmka1 $round "$P_KVM1" ;;
		native) load native $round "$P_NATIVE" ;;
		php) load php $round "$P_PHP" ;;
		cgi) load cgi $round "$P_CGI" ;;
		tenants*) load "$run" $round "$P_KVM" "${run#tenants}" ;;
		*) die "unknown run $run" ;;
		esac
	done
	round=$((round + 1))
done
mean_rounds

# kvm-fpm must have answered everything itself: no worker died.
if grep -E '\[(alert|crit|emerg)\]' "$N/error.log" >&2; then
	die "nginx reported errors"
fi
if grep -q 'killed by signal' "$T/kvm-fpm.log"; then
	grep 'killed by signal' "$T/kvm-fpm.log" >&2
	die "a kvm-fpm worker died"
fi
