#!/bin/sh
# The whole stack end to end, as `make run` starts it: hitch -> Varnish ->
# nginx -> kvm-fpm, rendered from etc/ and deploy/ (deploy/render.sh) on
# free loopback ports, with the example tenants and a hostile one.
. test/blackbox/lib.sh
require_kvm
for tool in nginx varnishd varnishadm curl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		[ "${CI:-}" = true ] && { echo "not ok - $tool is required under CI"; exit 1; }
		echo "skip - $tool is not installed: $0 skipped"
		echo "0 passed, 0 failed, 1 skipped"
		exit 0
	fi
done

# The default tenants, and fault.test with room to loop while we watch
# (longer where the CPU is emulated: the other requests take longer too).
{
	cat etc/kvm-fpm.ini
	cat <<INI

[tenant:fault.test]
program = $ROOT/tenant-sdk/examples/fault
max_request_time = $(scaled 2)s
INI
} >"$T/tenants.ini"

INI=$T/tenants.ini
VARNISH_PORT=$(free_port)
VARNISH_PROXY_PORT=$(free_port)
NGINX_PORT=$(free_port)
HITCH_PORT=$(free_port)
DEBUG_PORT=0
ASAN_OPTIONS=detect_leaks=0:log_path=$T/asan
export INI KVM_FPM VARNISH_PORT VARNISH_PROXY_PORT NGINX_PORT HITCH_PORT \
	DEBUG_PORT ASAN_OPTIONS
if ! deploy/render.sh "$T"; then
	not_ok "deploy/render.sh writes the configs"
	finish
	exit 1
fi
. deploy/stack.sh
if ! stack_start "$T"; then
	not_ok "the stack starts"
	finish
	exit 1
fi
for p in $STACK_PIDS; do PIDS="$PIDS ${p#*:}"; done
V=http://127.0.0.1:$VARNISH_PORT
S=https://127.0.0.1:$HITCH_PORT

# req URL [CURL ARGS...]: sets STATUS and TYPE; headers in $T/h, body $T/b
req() {
	url=$1
	shift
	out=$(curl -s --max-time 10 -D "$T/h" -o "$T/b" \
		-w '%{http_code} %{content_type}' "$@" "$url")
	STATUS=${out%% *}
	TYPE=${out#* }
}
# hdr NAME: the last response's header NAME
hdr() {
	grep -i "^$1:" "$T/h" | tail -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}
# body_has TEXT: the last response's body contains TEXT
body_has() { grep -qF -- "$1" "$T/b"; }
# json EXPR: evaluates the Python expression EXPR on the last JSON body (d)
json() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/b" "$1"
}
# hits: how many ids X-Varnish has (2: served from the cache)
ids() { hdr X-Varnish | wc -w; }
is_png() {
	[ "$(head -c 8 "$T/b" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
		[ "$(head -c 16 "$T/b" | tail -c 4)" = IHDR ] &&
		[ "$(head -c 24 "$T/b" | tail -c 8 | od -An -tx1 | tr -d ' \n')" = 0000010000000100 ]
}
html=text/html\;\ charset=utf-8

# --- every example tenant through Varnish
req "$V/" -H 'Host: vpizza.com'
check "hello (vpizza.com): 200 $html" [ "$STATUS $TYPE" = "200 $html" ]
check "hello: body" body_has '<h1>Hello from kvm-fpm</h1>'
req "$V/" -H 'Host: wpizza.com'
check "counter (wpizza.com): 200 text/plain" [ "$STATUS $TYPE" = "200 text/plain" ]
check "counter: body is counter=43" [ "$(cat "$T/b")" = counter=43 ]
req "$V/" -H 'Host: xpizza.com'
check "png (xpizza.com): 200 image/png" [ "$STATUS $TYPE" = "200 image/png" ]
check "png: PNG signature, IHDR, 256x256" is_png
req "$V/order?size=l" -H 'Host: ypizza.com' -H 'User-Agent: stack-test'
check "echo (ypizza.com): 200 application/json" [ "$STATUS $TYPE" = "200 application/json" ]
check "echo: method, uri, query, headers" json \
	'd["method"] == "GET" and d["uri"] == "/order?size=l" and d["query"] == "size=l" and d["headers"]["user-agent"] == "stack-test" and d["headers"]["host"] == "ypizza.com"'
req "$V/" -H 'Host: zpizza.com'
check "menu (zpizza.com): 200 $html" [ "$STATUS $TYPE" = "200 $html" ]
check "menu: body" body_has '<h1>Pizza menu</h1>'
req "$V/menu.json" -H 'Host: zpizza.com'
check "menu: /menu.json is JSON" sh -c "[ '$STATUS $TYPE' = '200 application/json' ] && python3 -m json.tool '$T/b' >/dev/null"
req "$V/" -H 'Host: WWW.XPizza.com:8080'
check "alias www.xpizza.com, any case, with a port" sh -c "[ '$STATUS $TYPE' = '200 image/png' ]"
req "$V/" -H 'Host: nope.example'
check "unknown Host: 404" [ "$STATUS" = 404 ]

# --- the /v ... /z shortcuts
req "$V/x"
check "/x is xpizza.com" sh -c "[ '$STATUS $TYPE' = '200 image/png' ]"
check "/x: a PNG" is_png
req "$V/x/olive,basil"
check "/x/olive,basil is xpizza.com" [ "$STATUS $TYPE" = "200 image/png" ]
req "$V/y/deep/path?q=1"
check "/y/deep/path?q=1: ypizza.com sees /deep/path?q=1" json \
	'd["uri"] == "/deep/path?q=1" and d["headers"]["host"] == "ypizza.com"'
req "$V/y?q=2"
check "/y?q=2: ypizza.com sees /?q=2" json 'd["uri"] == "/?q=2"'
req "$V/v"
check "/v is vpizza.com at /" body_has 'You asked for <code>/</code>'
req "$V/w"
check "/w is wpizza.com" [ "$(cat "$T/b")" = counter=43 ]
req "$V/z"
check "/z is zpizza.com" body_has '<h1>Pizza menu</h1>'
req "$V/x" -H 'Host: vpizza.com'
check "a tenant's own /x is not a shortcut" body_has 'You asked for <code>/x</code>'
req "$V/xylophone"
check "/xylophone is not a shortcut" [ "$STATUS" = 404 ]

# --- the first page, and the menu's links under its shortcut
links() { grep -o 'href="[^"]*"' "$T/b" | sed 's/^href="//; s/"$//'; }
req "$V/"
check "/ on the address: 200 $html, a page of its own" sh -c "[ '$STATUS $TYPE' = '200 $html' ] && grep -q 'the example tenants' '$T/b'"
check "/ links to /v /w /x /y /z /cpp /rust and the status page" \
	[ "$(links | grep -c -x -E '/[v-z]|/cpp|/rust|/kvm-fpm/status')" = 8 ]
req "$V/" -H 'Host: localhost:8080'
check "/ on localhost: the same page" body_has 'the example tenants'
req "$V/z" -H 'X-Forwarded-Prefix: /evil'
check "/z: every link of the menu is under /z ($(links | head -2 | tr '\n' ' '))" \
	sh -c "[ \$(grep -o 'href=\"[^\"]*\"' '$T/b' | grep -c -v 'href=\"/z/') = 0 ] && grep -q 'href=\"/z/pizza/margherita\"' '$T/b'"
check "/z: the menu says it varies by X-Forwarded-Prefix" [ "$(hdr Vary)" = X-Forwarded-Prefix ]
req "$V/z/pizza/margherita"
check "/z/pizza/margherita: a pizza, back to /z/" sh -c "[ '$STATUS' = 200 ] && grep -q 'href=\"/z/\"' '$T/b'"
req "$V/z/menu.json"
check "/z/menu.json: JSON" [ "$STATUS $TYPE" = "200 application/json" ]
req "$V/" -H 'Host: zpizza.com' -H 'X-Forwarded-Prefix: /evil'
check "zpizza.com/ (after /z was cached): links from /, a client's prefix ignored" \
	sh -c "grep -q 'href=\"/pizza/margherita\"' '$T/b' && ! grep -q evil '$T/b'"

# --- the menu's search (its SQLite database, data_dir), C++ and Rust
req "$V/z/search?q=ham"
printf '%s\n' "Capricciosa, €12.00: tomato, mozzarella, ham, mushrooms, artichokes, olives" \
	"Hawaii, €10.00: tomato, mozzarella, ham, pineapple" \
	"Calzone, €11.50: mozzarella, ricotta, ham, mushrooms" >"$T/want"
check "/z/search?q=ham: the three pizzas with ham, from SQLite" \
	sh -c "[ '$STATUS $TYPE' = '200 text/plain; charset=utf-8' ] && cmp -s '$T/b' '$T/want'"
req "$V/z/search?q=kebab"
check "/z/search?q=kebab: none" [ "$(cat "$T/b")" = 'no pizza with "kebab"' ]
req "$V/cpp"
check "/cpp is the C++ glossary, its links under /cpp" \
	sh -c "[ '$STATUS' = 200 ] && grep -q '<h1>Glossary</h1>' '$T/b' && grep -q 'href=\"/cpp/snapshot\"' '$T/b'"
req "$V/cpp/snapshot"
check "/cpp/snapshot: a term" sh -c "[ '$STATUS' = 200 ] && grep -q '<h1>snapshot</h1>' '$T/b'"
req "$V/cpp/nope"
check "/cpp/nope: 404 (std::out_of_range caught)" [ "$STATUS" = 404 ]
if [ -x tenant-sdk/examples/primes ]; then
	req "$V/rust?n=10"
	check "/rust?n=10 is the Rust tenant: the tenth prime" \
		[ "$STATUS $(cat "$T/b")" = "200 prime number 10 is 29" ]
else
	echo "ok - # skip /rust: no rustc, tenant-sdk/examples/primes not built"
fi

# --- caching: the tenant's Cache-Control decides
u=/cached-$$
req "$V$u" -H 'Host: vpizza.com'
first=$(ids)
req "$V$u" -H 'Host: vpizza.com'
check "hello (public, max-age=60): a miss, then a hit (X-Varnish $(hdr X-Varnish))" \
	[ "$first $(ids)" = "1 2" ]
check "hello: the hit has an Age" [ -n "$(hdr Age)" ]
req "$V/v$u"
check "/v$u hits the object vpizza.com$u" [ "$(ids)" = 2 ]
req "$V/" -H 'Host: wpizza.com'
req "$V/" -H 'Host: wpizza.com'
check "counter (no-store): never from the cache" [ "$(ids)" = 1 ]
req "$V/" -H 'Host: nope.example'
req "$V/" -H 'Host: nope.example'
check "no Cache-Control (the 404): not cached" [ "$(ids)" = 1 ]
req "$V$u" -H 'Host: vpizza.com' -H 'Cookie: a=b'
check "a request with a Cookie: passed" [ "$(ids)" = 1 ]
req "$V/kvm-fpm/status"
req "$V/kvm-fpm/status"
check "status page through Varnish, never cached" sh -c "[ '$STATUS' = 200 ] && [ '$(ids)' = 1 ] && grep -q '^accepted conn' '$T/b'"

# --- POSTs pass; a successful live update bans the tenant's objects
u=/ban-$$
for h in vpizza.com www.vpizza.com; do
	req "$V$u" -H "Host: $h"
	req "$V$u" -H "Host: $h"
done
check "before: $u cached for vpizza.com and www.vpizza.com" [ "$(ids)" = 2 ]
req "$V$u" -H 'Host: vpizza.com' --data-binary 'pizza=1'
check "POST: passed, not from the cache" [ "$(ids)" = 1 ]
req "$V$u" -H 'Host: vpizza.com'
check "a POST without X-LiveUpdate bans nothing" [ "$(ids)" = 2 ]
req "$V$u" -H 'Host: vpizza.com' -H 'X-LiveUpdate: stack-test'
check "GET with X-LiveUpdate: passed" [ "$(ids)" = 1 ]
req "$V$u" -H 'Host: wpizza.com'
req "$V$u" -H 'Host: xpizza.com'
req "$V$u" -H 'Host: xpizza.com'
req "$V/" -H 'Host: vpizza.com' -H 'X-LiveUpdate: stack-test' --data-binary 'not an ELF'
check "POST with a wrong X-LiveUpdate key: 403, passed" sh -c "[ '$STATUS $(ids)' = '403 1' ]"
req "$V$u" -H 'Host: vpizza.com'
check "a refused upload bans nothing" [ "$(ids)" = 2 ]

# The README's workflow: a new hello through the whole stack.  Its key is
# the one render.sh generated for make run.
sed 's/Hello from kvm-fpm/Hello again from kvm-fpm/' tenant-sdk/examples/hello.c >"$T/hello2.c"
KVM_FPM_URL=$V/ KVM_FPM_KEY_FILE=$T/keys/vpizza.com.key \
	tenant-sdk/build_and_upload.sh vpizza.com "$T/hello2.c" >"$T/upload.out" 2>&1
upload=$?
check "build_and_upload.sh vpizza.com hello2.c through Varnish: $(head -c 200 "$T/upload.out")" \
	[ "$upload" = 0 ]
req "$V$u" -H 'Host: vpizza.com'
a=$(ids)
check "after the upload the next GET answers with the new hello" grep -q 'Hello again' "$T/b"
req "$V$u" -H 'Host: www.vpizza.com'
b=$(ids)
req "$V$u" -H 'Host: xpizza.com'
c=$(ids)
check "live update answered 200: vpizza.com and www.vpizza.com banned" [ "$a $b" = "1 1" ]
check "live update: other tenants' objects stay" [ "$c" = 2 ]

# --- a hostile tenant: 504 and 500, while the others keep answering
curl -s -o /dev/null --max-time "$(scaled 20)" -w '%{http_code} %{time_total}' \
	-H 'Host: fault.test' "$V/loop" >"$T/loop" &
LOOP=$!
sleep 0.3
during=""
for i in 1 2 3 4 5; do
	req "$V/during-$i-$$" -H 'Host: vpizza.com'
	during="$during$STATUS "
	req "$V/" -H 'Host: wpizza.com'
	during="$during$STATUS "
done
check "during the loop the others answer: $during" [ "$during" = "200 200 200 200 200 200 200 200 200 200 " ]
check "... and the loop is still running" kill -0 "$LOOP"
wait "$LOOP"
check "fault.test /loop: 504 after max_request_time ($(cat "$T/loop"))" \
	[ "$(cut -d' ' -f1 "$T/loop")" = 504 ]
req "$V/crash" -H 'Host: fault.test'
check "fault.test /crash: 500" [ "$STATUS" = 500 ]
req "$V/" -H 'Host: fault.test'
check "fault.test / still answers" [ "$STATUS $(cat "$T/b")" = "200 ok" ]

# --- TLS through hitch, and the client's address
if [ "$HITCH" = 1 ]; then
	req "$S/x" --cacert "$T/tls/cert.pem"
	check "https://127.0.0.1/x with the generated certificate" sh -c "[ '$STATUS $TYPE' = '200 image/png' ]"
	req "https://xpizza.com:$HITCH_PORT/" --cacert "$T/tls/cert.pem" \
		--resolve "xpizza.com:$HITCH_PORT:127.0.0.1"
	check "https://xpizza.com/: the certificate names the tenants" is_png
	req "$S/y?h=x-forwarded-for&h=x-forwarded-proto" --cacert "$T/tls/cert.pem" \
		--interface 127.0.0.5
	check "https from 127.0.0.5: the tenant sees remote_addr 127.0.0.5 (PROXY v2)" \
		json 'd["remote_addr"] == "127.0.0.5" and d["headers"]["x-forwarded-for"] == "127.0.0.5"'
	check "https: X-Forwarded-Proto is https" json 'd["headers"]["x-forwarded-proto"] == "https"'
else
	echo "# hitch is not installed: no TLS checks"
fi
req "$V/y?h=x-forwarded-for&h=x-forwarded-proto" --interface 127.0.0.6 \
	-H 'X-Forwarded-For: 192.0.2.9' -H 'X-Forwarded-Proto: https'
check "http from 127.0.0.6: remote_addr 127.0.0.6, a client's X-Forwarded-For is not trusted" \
	json 'd["remote_addr"] == "127.0.0.6" and d["headers"]["x-forwarded-for"] == "192.0.2.9, 127.0.0.6"'
check "http: a client's X-Forwarded-Proto is replaced" json 'd["headers"]["x-forwarded-proto"] == "http"'

# --- the other nginx variants are valid configs
for f in kvm-fpm-tcp kvm-fpm-scgi; do
	printf 'pid %s;\nevents {}\nhttp { include %s.conf; }\n' "$T/nginx/t.pid" "$f" \
		>"$T/nginx/test-$f.conf"
	check "deploy/nginx/$f.conf passes nginx -t" \
		nginx -q -t -e "$T/nginx/test.log" -p "$T/nginx" -c "$T/nginx/test-$f.conf"
done

# --- the pid file, a reload of the ini kvm-fpm reads itself (render.sh
# passes only where things go, with -d), and a second master refused
for p in $STACK_PIDS; do
	case $p in kvm-fpm:*) KVM_FPM_PID=${p#*:} ;; esac
done
check "kvm-fpm.pid holds the master's pid" [ "$(cat "$T/kvm-fpm.pid")" = "$KVM_FPM_PID" ]
printf '\n[tenant:added.test]\nprogram = tenant-sdk/examples/hello\n' >>"$INI"
kill -HUP "$(cat "$T/kvm-fpm.pid")"
# A reload boots every tenant again (C++ and Rust ones too): 15 s in CI's
# emulated VM, beyond a fixed 10 s.  Scaled, by the clock.
check "SIGHUP reloads the edited ini: 9 tenants" \
	wait_until 10 grep -q "reloaded $INI: 9 tenants" "$T/kvm-fpm.log"
req "$V/" -H 'Host: added.test'
check "the added tenant answers through the stack" sh -c "[ '$STATUS' = 200 ] && grep -q 'Hello from kvm-fpm' '$T/b'"
"$KVM_FPM" -F -c "$INI" -d pid="$T/kvm-fpm.pid" -d listen="$T/second.sock" \
	-d log="$T/second.log" -d program_dir="$T/second-programs" -d user= \
	-d allow_run_as_root=yes >/dev/null 2>&1
check "a second master with the same pid file exits 1" [ $? = 1 ]
check "... saying who holds it" grep -q "pid file $T/kvm-fpm.pid: another kvm-fpm (pid $KVM_FPM_PID) is running" "$T/second.log"
check "... before touching a listener" [ ! -e "$T/second.sock" ]
check "... and the pid file is still the first master's" [ "$(cat "$T/kvm-fpm.pid")" = "$KVM_FPM_PID" ]

# --- nothing died; Varnish did not panic
dead=$(stack_dead)
check "every daemon still running${dead:+ ($dead exited)}" [ -z "$dead" ]
varnishadm -n "$T/varnish" panic.show >"$T/panic" 2>&1
check "Varnish: no panic" grep -q 'has not panicked' "$T/panic"

# --- nginx gone: Varnish's small error page
for p in $STACK_PIDS; do
	case $p in nginx:*) NGINX_PID=${p#*:} ;; esac
done
kill -TERM "$NGINX_PID"
wait "$NGINX_PID"
req "$V/down-$$" -H 'Host: vpizza.com'
check "backend down: 503 with an HTML page" sh -c "[ '$STATUS $TYPE' = '503 $html' ] && grep -q 'Temporarily unavailable' '$T/b'"

# --- teardown leaves nothing behind
all=""
for p in $STACK_PIDS; do all="$all ${p#*:} $(pgrep -P "${p#*:}" | tr '\n' ' ')"; done
stack_stop
left=""
# Zombies do not count: they wait for init, which reaps orphans.
for p in $all; do stack_alive "$p" && left="$left $p"; done
left="$left $(pgrep -f "$T" | tr '\n' ' ')"
check "teardown: no process left (${left## })" [ -z "$(echo "$left" | tr -d ' ')" ]
check "teardown: kvm-fpm removed its pid file" [ ! -e "$T/kvm-fpm.pid" ]
if [ -n "$(echo "$left" | tr -d ' ')" ]; then
	# shellcheck disable=SC2086
	ps -o pid,args -p "$(echo $left | tr ' ' ,)"
fi
grep -E '\[(alert|crit|emerg)\]' "$T/hitch.out" "$T/varnishd.out" 2>/dev/null &&
	not_ok "alerts from hitch or Varnish"

finish
