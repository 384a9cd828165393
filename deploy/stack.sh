# Start and stop the loopback stack that deploy/render.sh wrote: kvm-fpm,
# nginx, Varnish and (when rendered) hitch, each in the foreground as a
# child of the caller, in a session of its own.  Sourced by deploy/run-stack.sh and
# test/blackbox/test-stack.sh; every name here starts with stack_/STACK_.
#
#   stack_start DIR   start everything, wait until each one answers;
#                     STACK_PIDS lists "name:pid" pairs.  On failure it
#                     says why, stops what it started and returns 1.
#   stack_stop        SIGTERM, then SIGKILL after 8s, for each of them.
#   stack_dead        prints the name of a daemon that exited, if any.

STACK_PIDS=""

# stack_alive PID: running, not a zombie waiting to be reaped.
stack_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	case $(ps -o stat= -p "$1" 2>/dev/null) in Z*) return 1 ;; esac
}

stack_dead() {
	for STACK_P in $STACK_PIDS; do
		stack_alive "${STACK_P#*:}" || { echo "${STACK_P%%:*}"; return 0; }
	done
	return 1
}

# stack_wait NAME PID TRIES COMMAND...: until COMMAND succeeds (0.1s apart)
stack_wait() {
	STACK_NAME=$1 STACK_PID=$2 STACK_TRIES=$3
	shift 3
	while [ "$STACK_TRIES" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		stack_alive "$STACK_PID" || break
		sleep 0.1
		STACK_TRIES=$((STACK_TRIES - 1))
	done
	if stack_alive "$STACK_PID"; then
		echo "stack: $STACK_NAME started but does not answer" >&2
	else
		echo "stack: $STACK_NAME exited" >&2
	fi
	case $STACK_NAME in
	kvm-fpm) STACK_LOG=$STACK_DIR/kvm-fpm.log ;;
	nginx) STACK_LOG=$STACK_DIR/nginx/error.log ;;
	*) STACK_LOG=$STACK_DIR/$STACK_NAME.out ;;
	esac
	for STACK_F in "$STACK_LOG" "$STACK_DIR/$STACK_NAME.out"; do
		[ -s "$STACK_F" ] && { echo "--- $STACK_F" >&2; tail -15 "$STACK_F" >&2; }
		[ "$STACK_LOG" = "$STACK_DIR/$STACK_NAME.out" ] && break
	done
	return 1
}

# stack_get URL: succeeds on a 200 (TLS checked against our certificate)
stack_get() {
	curl -sf -o /dev/null --max-time 2 --cacert "$STACK_DIR/tls/cert.pem" "$1"
}

# Each daemon in a session of its own: a terminal's Ctrl-C reaches only
# the caller, which stops them in order (stack_stop), rather than every
# daemon and worker at once.  setsid execs (the shell's background child
# leads no process group), so $! is the daemon.
stack_run() {
	setsid "$STACK_DIR/bin/$1" &
	STACK_PIDS="$STACK_PIDS $1:$!"
}

stack_start() {
	STACK_DIR=$1
	# shellcheck disable=SC1091
	. "$STACK_DIR/stack.env"
	STACK_PIDS=""
	rm -f "$STACK_DIR/kvm-fpm.sock" "$STACK_DIR/kvm-fpm.log"

	stack_run kvm-fpm
	stack_wait kvm-fpm "$!" 150 grep -q "ready:" "$STACK_DIR/kvm-fpm.log" ||
		{ stack_stop; return 1; }
	stack_run nginx
	stack_wait nginx "$!" 50 \
		stack_get "http://127.0.0.1:$NGINX_PORT/kvm-fpm/ping" ||
		{ stack_stop; return 1; }
	# Answers once its health probe has seen nginx (at start, 2s apart).
	stack_run varnishd
	stack_wait varnishd "$!" 150 \
		stack_get "http://127.0.0.1:$VARNISH_PORT/kvm-fpm/ping" ||
		{ stack_stop; return 1; }
	if [ "$HITCH" = 1 ]; then
		stack_run hitch
		stack_wait hitch "$!" 50 \
			stack_get "https://127.0.0.1:$HITCH_PORT/kvm-fpm/ping" ||
			{ stack_stop; return 1; }
	fi
	return 0
}

stack_stop() {
	# In reverse order: the front stops taking requests first.
	STACK_REV=""
	for STACK_P in $STACK_PIDS; do STACK_REV="$STACK_P $STACK_REV"; done
	for STACK_P in $STACK_REV; do kill -TERM "${STACK_P#*:}" 2>/dev/null; done
	for STACK_P in $STACK_REV; do
		STACK_TRIES=80
		while [ "$STACK_TRIES" -gt 0 ] && stack_alive "${STACK_P#*:}"; do
			sleep 0.1
			STACK_TRIES=$((STACK_TRIES - 1))
		done
		if stack_alive "${STACK_P#*:}"; then
			echo "stack: ${STACK_P%%:*} did not stop; killing it" >&2
			# Its children too (kvm-fpm's workers, Varnish's cache
			# process): they may not outlive it by themselves.
			kill -KILL "${STACK_P#*:}" $(pgrep -P "${STACK_P#*:}") 2>/dev/null
		fi
		wait "${STACK_P#*:}" 2>/dev/null
	done
	STACK_PIDS=""
}
