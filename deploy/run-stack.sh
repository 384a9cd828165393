#!/bin/sh
# `make run`: the whole stack on loopback, in the foreground:
#   hitch (HTTPS) -> Varnish -> nginx -> kvm-fpm -> tenant VMs
# with etc/kvm-fpm.ini's tenants.  Configs go to build/run (RUN_DIR);
# ports come from VARNISH_PORT (8080), HITCH_PORT (8443), NGINX_PORT (8081)
# and VARNISH_PROXY_PORT (8088).  Ctrl-C or SIGTERM stops everything.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
RUN_DIR=${RUN_DIR:-$ROOT/build/run}
KVM_FPM=${KVM_FPM:-$ROOT/build/kvm-fpm}
VARNISH_PORT=${VARNISH_PORT:-8080}
HITCH_PORT=${HITCH_PORT:-8443}
NGINX_PORT=${NGINX_PORT:-8081}
VARNISH_PROXY_PORT=${VARNISH_PROXY_PORT:-8088}
export KVM_FPM VARNISH_PORT HITCH_PORT NGINX_PORT VARNISH_PROXY_PORT

die() {
	echo "make run: $*" >&2
	exit 1
}

[ -x "$KVM_FPM" ] || die "$KVM_FPM is missing: run make first"
for tool in nginx varnishd curl python3; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (scripts/deps.sh installs it)"
done
[ -w /dev/kvm ] || die "/dev/kvm is missing or not writable for $(id -un)"
if command -v hitch >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then
	HITCH=1
else
	HITCH=0
	echo "make run: hitch or openssl is not installed: no HTTPS" >&2
fi
export HITCH

busy=""
# check_port VAR PORT: nothing listens on 127.0.0.1:PORT
check_port() {
	python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$2" 2>/dev/null && return 0
	echo "make run: port $2 ($1) on 127.0.0.1 is in use" >&2
	busy="$busy $1=$(($2 + 1000))"
}
check_port VARNISH_PORT "$VARNISH_PORT"
check_port NGINX_PORT "$NGINX_PORT"
if [ "$HITCH" = 1 ]; then
	check_port HITCH_PORT "$HITCH_PORT"
	check_port VARNISH_PROXY_PORT "$VARNISH_PROXY_PORT"
fi
[ -z "$busy" ] || die "choose other ports, e.g.: make run$busy"

# A previous run's state, except its certificate (browsers remember it).
rm -rf "${RUN_DIR:?}/varnish" "${RUN_DIR:?}/nginx" "${RUN_DIR:?}/bin" "${RUN_DIR:?}"/*.out \
	"${RUN_DIR:?}/kvm-fpm.ini"
deploy/render.sh "$RUN_DIR" || die "could not write the configs into $RUN_DIR"
# shellcheck source=deploy/stack.sh
. deploy/stack.sh

SLEEP_PID=""
# Ctrl-C (or SIGTERM, or the terminal closing) is how make run is meant to
# end: stop the daemons in order and exit 0, so that make reports no
# error.  Another Ctrl-C meanwhile does not cut the stop short.
stop() {
	trap '' INT TERM HUP
	trap - EXIT
	[ -n "$SLEEP_PID" ] && kill "$SLEEP_PID" 2>/dev/null
	echo
	echo "make run: stopping"
	stack_stop
	echo "make run: stopped"
	exit "${1:-0}"
}
trap 'stop 0' INT TERM HUP
trap 'stop 1' EXIT

echo "make run: starting kvm-fpm, nginx, Varnish$([ "$HITCH" = 1 ] && echo ", hitch") in $RUN_DIR"
stack_start "$RUN_DIR" || { echo "make run: the stack did not start" >&2; exit 1; }

V=http://127.0.0.1:$VARNISH_PORT
cat <<EOF

The stack is up: hitch :$HITCH_PORT -> Varnish :$VARNISH_PORT -> nginx :$NGINX_PORT -> kvm-fpm -> VMs

In a browser: $V/ lists the tenants:
  $V/v   vpizza.com  hello     (cached 60s)
  $V/w   wpizza.com  counter   (never cached)
  $V/x   xpizza.com  PNG pizza (try $V/x/olive,basil)
  $V/y   ypizza.com  echo      (JSON of your request)
  $V/z   zpizza.com  menu
With curl:
  curl -D - -H "Host: xpizza.com" $V/ -o pizza.png
  curl -D - -H "Host: vpizza.com" $V/      (twice: Age and X-Varnish show the hit)
  curl -s $V/kvm-fpm/status
Live update (keys in $RUN_DIR/keys):
  tenant-sdk/build_and_upload.sh xpizza.com tenant-sdk/examples/hello.c
  tenant-sdk/build_and_upload.sh xpizza.com tenant-sdk/examples/png.c
EOF
[ "$HITCH" = 1 ] && cat <<EOF
  curl -k https://127.0.0.1:$HITCH_PORT/x -o pizza.png
  curl --cacert $RUN_DIR/tls/cert.pem https://127.0.0.1:$HITCH_PORT/y
EOF
cat <<EOF
Reload etc/kvm-fpm.ini after editing it:
  kill -HUP \$(cat $RUN_DIR/kvm-fpm.pid)
Logs: $RUN_DIR/kvm-fpm.log, $RUN_DIR/access.log, $RUN_DIR/nginx/error.log
      varnishlog -n $RUN_DIR/varnish
Ctrl-C stops everything.
EOF

# Watch: stop when a daemon dies, or when our parent (make) is gone.
parent=$PPID
while :; do
	dead=$(stack_dead) && { echo "make run: $dead exited; see the logs in $RUN_DIR" >&2; stop 1; }
	kill -0 "$parent" 2>/dev/null || stop 0
	sleep 1 &
	SLEEP_PID=$!
	wait "$SLEEP_PID"
	SLEEP_PID=""
done
