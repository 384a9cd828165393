#!/bin/sh
# The README's five-minute tour, step by step, as a newcomer runs it: in a
# clean clone of this repository (its committed HEAD), `make`, `make run`,
# the URLs and commands of each step, then Ctrl-C.  The GDB step (6) has
# its own suite (test-gdb.sh).  Ports are free ones rather than 8080/8443
# (make run takes them from VARNISH_PORT etc.); everything else is literal.
. test/blackbox/lib.sh
require_kvm
for tool in git nginx varnishd curl python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		[ "${CI:-}" = true ] && { echo "not ok - $tool is required under CI"; exit 1; }
		echo "skip - $tool is not installed: $0 skipped"
		echo "0 passed, 0 failed, 1 skipped"
		exit 0
	fi
done

# Step 1 (`make` in a clean clone) is tour-clone.sh's, which test/run-all.sh
# runs first, outside any emulated VM; alone, this runs it too.
C=$ROOT/$B/tour-clone
if [ ! -f "$C.make-status" ] || [ "$(git -C "$C" rev-parse HEAD 2>/dev/null)" != \
	"$(git rev-parse HEAD)" ]; then
	sh test/blackbox/tour-clone.sh "$B" >/dev/null 2>&1
fi
check "make in a clean clone (tour-clone.sh)" [ "$(cat "$C.make-status" 2>/dev/null)" = 0 ]
rm -f "$C.make-status" # the tour changes the clone: a next run makes another
# The rest in a copy under $T, times kept (so make finds it built): make
# run's sockets cannot live on every file system (not on the emulated VM's
# 9p view of the repository).
cp -a "$C" "$T/clone" || { not_ok "copy the clone"; finish; exit 1; }
C=$T/clone
cd "$C" || exit 1
# As a newcomer's shell would be: nothing of the test harness's choosing.
unset KVM_FPM RUN_DIR KVM_FPM_URL KVM_FPM_KEY KVM_FPM_KEY_FILE
VARNISH_PORT=$(free_port)
VARNISH_PROXY_PORT=$(free_port)
NGINX_PORT=$(free_port)
HITCH_PORT=$(free_port)
export VARNISH_PORT VARNISH_PROXY_PORT NGINX_PORT HITCH_PORT
V=http://127.0.0.1:$VARNISH_PORT

# make run in a process group of its own, as a terminal's foreground job,
# so that Ctrl-C can be sent the way a terminal sends it: to the group.
# A shell starts background commands with SIGINT ignored, and no shell
# can undo that: python gives make the default action back.
python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])' make run >"$T/run.out" 2>&1 &
RUN=$!
PIDS="$PIDS $RUN"
i=0
while [ $i -lt 600 ] && ! grep -q "The stack is up" "$T/run.out"; do
	kill -0 $RUN 2>/dev/null || break
	sleep 0.5
	i=$((i + 1))
done
if ! grep -q "The stack is up" "$T/run.out"; then
	not_ok "make run starts the stack"
	cat "$T/run.out"
	kill -s INT -- "-$RUN" 2>/dev/null
	finish
	exit 1
fi
ok "make run: the stack is up"

# req URL [CURL ARGS...]: sets STATUS and TYPE; headers in $T/h, body $T/b
req() {
	url=$1
	shift
	out=$(curl -s --max-time 10 -D "$T/h" -o "$T/b" \
		-w '%{http_code} %{content_type}' "$@" "$url")
	STATUS=${out%% *}
	TYPE=${out#* }
}
hdr() { grep -i "^$1:" "$T/h" | tail -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }
body_has() { grep -qF -- "$1" "$T/b"; }
is_png() { [ "$(head -c 8 "$T/b" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
# links: the href="..." of the last body, one per line
links() { grep -o 'href="[^"]*"' "$T/b" | sed 's/^href="//; s/"$//'; }

# --- step 1: the first page lists the tenants; each link answers
req "$V/"
check "1: $V/ answers 200 HTML" [ "$STATUS" = 200 ]
for p in /v /w /x /y /z /cpp /rust; do
	check "1: / links to $p" sh -c "grep -q 'href=\"$p\"' '$T/b'"
done
for l in $(links); do
	req "$V$l"
	check "1: the index's link $l answers 200 ($STATUS)" [ "$STATUS" = 200 ]
done
req "$V/x"
check "1: /x is a PNG" is_png
req "$V/x/olive,basil"
check "1: /x/olive,basil is a PNG" is_png
req "$V/v"
check "1: /v says hello" body_has 'Hello from kvm-fpm'
req "$V/w"
check "1: /w is the counter that never moves" [ "$(cat "$T/b")" = counter=43 ]
req "$V/y"
check "1: /y is JSON" python3 -m json.tool "$T/b"
req "$V/z"
check "1: /z is the menu" body_has '<h1>Pizza menu</h1>'
# Every link of the menu, and every link of the pages they lead to,
# stays under /z and answers.
for l in $(links); do
	check "1: the menu's link $l stays under /z" sh -c "case '$l' in /z/*) exit 0;; esac; exit 1"
	req "$V$l"
	check "1: $l answers 200" [ "$STATUS" = 200 ]
	case $l in
	*/pizza/*)
		back=$(links | head -1)
		req "$V$back"
		check "1: $l links back to the menu ($back)" body_has '<h1>Pizza menu</h1>'
		;;
	esac
done
curl -s -D - -H "Host: xpizza.com" "$V/" -o "$T/b" >"$T/h"
check "1: by Host: xpizza.com is a PNG" is_png
if grep -q "https://127.0.0.1:$HITCH_PORT" "$T/run.out"; then
	curl -sk "https://127.0.0.1:$HITCH_PORT/x" -o "$T/b"
	check "1: through TLS: a PNG" is_png
fi

# --- step 2: the second /v comes from Varnish's cache
req "$V/v"
req "$V/v"
check "2: /v again: Age and two ids in X-Varnish ($(hdr X-Varnish))" \
	sh -c "[ -n '$(hdr Age)' ] && [ $(hdr X-Varnish | wc -w) = 2 ]"

# --- step 3: the status page
req "$V/kvm-fpm/status"
check "3: status page" sh -c "[ '$STATUS' = 200 ] && grep -q '^accepted conn' '$T/b'"
req "$V/kvm-fpm/status?json"
check "3: ?json" python3 -m json.tool "$T/b"
req "$V/kvm-fpm/status?openmetrics"
check "3: ?openmetrics" sh -c "[ '$STATUS' = 200 ] && grep -q '^# EOF' '$T/b'"

# --- step 4: write a tenant, try it, add it to etc/kvm-fpm.ini, SIGHUP
# The tenant of "Writing a tenant", built and run as the README says.
sed -n '/^## Writing a tenant/,/^Build and try/p' README.md |
	sed -n '/^```c$/,/^```$/p' | sed '1d;$d' >hello.c
tenant-sdk/bin/kvm-fpm-cc -O2 -o hello hello.c
check "4: the README's tenant builds" [ $? = 0 ]
build/kvm-fpm run hello / /other?x=1 >"$T/runout" 2>&1
check "4: kvm-fpm run hello answers both URLs" \
	sh -c "[ \$(grep -c '<h1>Hello</h1>' '$T/runout') = 2 ]"
add=$(grep -o "printf '.*' >>etc/kvm-fpm.ini" README.md | head -1)
hup=$(grep -o 'kill -HUP $(cat build/run/kvm-fpm.pid)' README.md | head -1)
[ -n "$add" ] && [ -n "$hup" ]
check "4: the README says how to add a tenant and reload" [ $? = 0 ]
check "4: build/run/kvm-fpm.pid is the master" \
	sh -c "grep -q kvm-fpm /proc/\$(cat build/run/kvm-fpm.pid)/cmdline"
eval "$add"
eval "$hup"
i=0
while [ $i -lt 100 ] && ! grep -q 'reloaded .*: 8 tenants' build/run/kvm-fpm.log; do
	sleep 0.1
	i=$((i + 1))
done
check "4: the log says reloaded ...: 8 tenants" grep -q 'reloaded .*: 8 tenants' build/run/kvm-fpm.log
req "$V/" -H 'Host: hello.test'
check "4: the new tenant answers ($STATUS)" sh -c "[ '$STATUS' = 200 ] && grep -q 'Hello from kvm-fpm' '$T/b'"

# --- step 5: live update, and back
KVM_FPM_URL=$V/ tenant-sdk/build_and_upload.sh xpizza.com tenant-sdk/examples/hello.c >"$T/up" 2>&1
check "5: build_and_upload.sh xpizza.com hello.c" [ $? = 0 ]
req "$V/x"
check "5: /x says hello now" body_has 'Hello from kvm-fpm'
KVM_FPM_URL=$V/ LDLIBS=-lz tenant-sdk/build_and_upload.sh xpizza.com tenant-sdk/examples/png.c >"$T/up" 2>&1
check "5: build_and_upload.sh xpizza.com png.c" [ $? = 0 ]
req "$V/x"
check "5: the pizza is back" is_png

# --- Ctrl-C: to the whole foreground process group, as a terminal does
kill -s INT -- "-$RUN"
# A stop that hangs fails the test (status 137) rather than blocking it.
(sleep 120 && kill -s KILL -- "-$RUN") 2>/dev/null &
WATCHDOG=$!
wait $RUN
rc=$?
kill "$WATCHDOG" 2>/dev/null
# GNU make re-raises the SIGINT it got once its child is done: 130.
check "Ctrl-C: make run ends (status $rc)" sh -c "[ $rc = 130 ] || [ $rc = 0 ]"
check "Ctrl-C: no error from make" sh -c "! grep -q 'make: \*\*\*' '$T/run.out'"
check "Ctrl-C: no daemon reported dead" sh -c "! grep -q 'exited; see the logs' '$T/run.out'"
check "Ctrl-C: make run stopped" grep -q 'make run: stopped' "$T/run.out"
check "Ctrl-C: no worker killed by a signal" sh -c "! grep -q 'killed by signal' build/run/kvm-fpm.log"
check "Ctrl-C: kvm-fpm stopped and removed its pid file" \
	sh -c "grep -q 'stopped' build/run/kvm-fpm.log && [ ! -e build/run/kvm-fpm.pid ]"
# Not inside sh -c, whose own command line would name the clone.
left=$(pgrep -f "$C/" | tr '\n' ' ')
check "Ctrl-C: nothing left running from the clone (${left% })" [ -z "$left" ]
# finish shows kvm-fpm's log when something failed.
cp build/run/kvm-fpm.log "$T/kvm-fpm.log" 2>/dev/null
cd "$ROOT" || exit 1
finish
