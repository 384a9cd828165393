#!/bin/sh
# kvm-fpm behind the other common front ends, from Debian's packages:
# Apache httpd 2.4 (mod_proxy_fcgi with enablereuse=on over the unix socket
# and over TCP, mod_proxy_scgi), lighttpd 1.4 (mod_fastcgi, mod_scgi) and
# h2o 2.2 (fastcgi.connect).
# Each gets the same checks: status and headers both ways, byte-exact
# bodies, chunked and 1 MiB POSTs, 413, HEAD, encoded URLs, a live update
# and a short keep-alive load with no failed request (issue 13).
. test/blackbox/lib.sh
require_kvm

for tool in apache2 lighttpd h2o ab; do
	command -v "$tool" >/dev/null && continue
	if [ "${CI:-}" = true ]; then
		echo "not ok - $tool is required under CI (scripts/deps.sh)"
		exit 1
	fi
	echo "skip - no $tool (scripts/deps.sh installs it): $0 skipped"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
done

# Requests per keep-alive load (ab -k -c 8); lower it under an emulator.
LOAD_N=${LOAD_N:-2000}
KEY=frontends-key-$$
# Seven ports in one go (python starts slowly under an emulator).
set -- $(python3 -c 'import socket
ss = [socket.socket() for _ in range(7)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
FCGI_PORT=$1 AP_UNIX=$2 AP_TCP=$3 AP_SCGI=$4 LI_FCGI=$5 LI_SCGI=$6 H2O=$7
# Apache's workers drop root (it refuses User root): they need the way in
# to the socket.
chmod 711 "$T"
write_ini "$T/kvm-fpm.ini" "upload_max_size = 1M
listen.mode = 0666"
# The echo tenant takes a 1 MiB body here; 3 MiB is over its limit.
sed -i '/^\[tenant:echo.test\]/,/^$/s/^max_body_size = .*/max_body_size = 2M/' \
	"$T/kvm-fpm.ini"
cat >>"$T/kvm-fpm.ini" <<INI

[tenant:keyed.test]
program = $ROOT/$B/programs/version
key = $KEY
INI
# Two versions, uploaded in turn: each front end's upload changes the
# program (a compile is slow under an emulator).
for v in 1 2; do
	tenant-sdk/bin/kvm-fpm-cc -O1 -DVERSION="$v" -o "$T/v$v" \
		test/guest/programs/version.c || not_ok "build version $v"
done

# --- Apache: one port per way to reach kvm-fpm.
A=$T/apache
mkdir -p "$A"
chmod 755 "$A"
M=/usr/lib/apache2/modules
cat >"$A/httpd.conf" <<CONF
ServerRoot $A
ServerName 127.0.0.1
DefaultRuntimeDir $A
PidFile $A/httpd.pid
ErrorLog $A/error.log
LogLevel warn
User www-data
Group www-data
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule proxy_module $M/mod_proxy.so
LoadModule proxy_fcgi_module $M/mod_proxy_fcgi.so
LoadModule proxy_scgi_module $M/mod_proxy_scgi.so
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
# Below the default 25, which one process of 16 threads can never reach
# (AH10159 at error level in the log).
MinSpareThreads 1
MaxSpareThreads 32
Listen 127.0.0.1:$AP_UNIX
Listen 127.0.0.1:$AP_TCP
Listen 127.0.0.1:$AP_SCGI
<VirtualHost 127.0.0.1:$AP_UNIX>
	ProxyPass / "unix:$T/kvm-fpm.sock|fcgi://localhost/" enablereuse=on
</VirtualHost>
<VirtualHost 127.0.0.1:$AP_TCP>
	ProxyPass / "fcgi://127.0.0.1:$FCGI_PORT/" enablereuse=on
</VirtualHost>
<VirtualHost 127.0.0.1:$AP_SCGI>
	ProxyPass / "scgi://127.0.0.1:$SCGI_PORT/"
</VirtualHost>
CONF

# --- lighttpd: one port for FastCGI (unix socket), one for SCGI.
L=$T/lighttpd
mkdir -p "$L"
cat >"$L/lighttpd.conf" <<CONF
server.modules = ("mod_fastcgi", "mod_scgi")
server.document-root = "$L"
server.bind = "127.0.0.1"
server.port = $LI_FCGI
server.pid-file = "$L/lighttpd.pid"
server.errorlog = "$L/error.log"
\$SERVER["socket"] == "127.0.0.1:$LI_FCGI" {
	fastcgi.server = ("/" => ((
		"socket" => "$T/kvm-fpm.sock",
		"check-local" => "disable"
	)))
}
\$SERVER["socket"] == "127.0.0.1:$LI_SCGI" {
	scgi.server = ("/" => ((
		"host" => "127.0.0.1",
		"port" => $SCGI_PORT,
		"check-local" => "disable"
	)))
}
CONF

# --- h2o: FastCGI over the unix socket (it has no SCGI).  Running as root
# it wants a user to drop to.
H=$T/h2o
mkdir -p "$H"
chown www-data "$H" # its pid file is written after the drop
cat >"$H/h2o.conf" <<CONF
user: www-data
pid-file: $H/h2o.pid
error-log: $H/error.log
listen:
  host: 127.0.0.1
  port: $H2O
hosts:
  default:
    paths:
      /:
        fastcgi.connect:
          port: $T/kvm-fpm.sock
          type: unix
CONF

# wait_http PORT NAME LOG: until the front end answers
wait_http() {
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
		sleep 0.2
	done
	echo "$2 did not start"
	cat "$3"
	return 1
}

start_kvm_fpm || exit 1
apache2 -f "$A/httpd.conf" -DFOREGROUND 2>>"$A/error.log" &
PIDS="$PIDS $!"
lighttpd -D -f "$L/lighttpd.conf" 2>>"$L/error.log" &
PIDS="$PIDS $!"
h2o -c "$H/h2o.conf" 2>>"$H/error.log" &
PIDS="$PIDS $!"
wait_http "$AP_UNIX" apache2 "$A/error.log" || exit 1
wait_http "$LI_FCGI" lighttpd "$L/error.log" || exit 1
wait_http "$H2O" h2o "$H/error.log" || exit 1

# header NAME FILE: the value of a response header curl saved with -D
header() {
	tr -d '\r' <"$2" | sed -n "s/^$1: //Ip" | head -1
}
# status FILE: the status code in a header file curl saved with -D
status() {
	tr -d '\r' <"$1" | sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p'
}
# echo_json METHOD PATH QUERY CTYPE BODYFILE [EXTRA HEADERS JSON]: what the
# echo tenant answers, byte for byte (curl -A fe sends User-Agent: fe); its
# "uri" is REQUEST_URI, the query included
echo_json() {
	printf '{"method":"%s","uri":"%s%s","query":"%s","remote_addr":"127.0.0.1",' \
		"$1" "$2" "${3:+?$3}" "$3"
	printf '"headers":{"host":"echo.test","user-agent":"fe","content-type":%s%s},"body":"' \
		"$4" "${6:-}"
	cat "$5"
	printf '","body_length":%s}\n' "$(wc -c <"$5")"
}

# Bodies: letters, digits, + and / need no JSON escaping, so the echo of
# each is its own bytes.
printf 'a,b\n' | tr -d '\n' >"$T/small"
head -c 150000 /dev/urandom | base64 -w0 >"$T/chunked"
head -c 786432 /dev/urandom | base64 -w0 >"$T/mib"
head -c 3145728 /dev/zero >"$T/big"
: >"$T/empty"

# same WANT GOT: the files are equal; if not, where they part is shown
same() {
	cmp -s "$1" "$2" && return 0
	python3 - "$1" "$2" <<'PY'
import sys
a, b = (open(f, "rb").read() for f in sys.argv[1:3])
i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
print("# want %d bytes, got %d; from byte %d:" % (len(a), len(b), i))
print("#  want: %r" % a[max(0, i - 40):i + 80])
print("#  got:  %r" % b[max(0, i - 40):i + 80])
PY
	return 1
}

# length_ok GOT WANT: a Content-Length the front end passed on is right.
# Apache (mod_proxy_fcgi, and for HEAD mod_proxy_scgi too) drops the one
# kvm-fpm sends and streams the answer chunked, its own choice: none is
# accepted from Apache, a wrong one from nobody.  kvm-fpm's own sending
# of it is checked on the raw protocols (test-frontends-proto.sh).
length_ok() {
	[ "$1" = "$2" ] && return 0
	case $n in apache-*) [ -z "$1" ] ;; *) return 1 ;; esac
}

# head_ok STATUS LENGTH BODY_BYTES GET_LENGTH
head_ok() {
	[ "$1" = 200 ] && [ "$3" = 0 ] && length_ok "$2" "$4"
}

# frontend NAME PORT VERSION: every check through one front end; VERSION
# is the live update it makes.
frontend() {
	n=$1 url=http://127.0.0.1:$2 D=$T/$1
	mkdir -p "$D"

	# GET: status, the tenant's headers, Content-Length, the exact page.
	curl -s -A fe -D "$D/h" -o "$D/b" -H 'Host: hello.test' "$url/menu"
	check "$n: GET hello.test: 200" [ "$(status "$D/h")" = 200 ]
	check "$n: Content-Type from the tenant" \
		[ "$(header content-type "$D/h")" = "text/html; charset=utf-8" ]
	check "$n: the tenant's own Cache-Control header" \
		[ "$(header cache-control "$D/h")" = "public, max-age=60" ]
	check "$n: Content-Length is the body's length ('$(header content-length "$D/h")' for $(wc -c <"$D/b"))" \
		length_ok "$(header content-length "$D/h")" "$(wc -c <"$D/b")"
	t=$(sed -n 's/^<p>Page prepared at Unix time \([0-9]*\)\.<\/p>$/\1/p' "$D/b")
	printf '%s\n' '<!DOCTYPE html>' '<html>' \
		'<head><meta charset="utf-8"><title>kvm-fpm</title></head>' \
		'<body>' '<h1>Hello from kvm-fpm</h1>' \
		"<p>Page prepared at Unix time $t.</p>" \
		'<p>You asked for <code>/menu</code></p>' '</body>' '</html>' \
		>"$D/want"
	check "$n: the hello page, byte for byte" same "$D/want" "$D/b"

	# HEAD: the GET's head, no body (raw socket: nothing after the head).
	python3 - "$2" >"$D/head" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"HEAD /menu HTTP/1.1\r\nHost: hello.test\r\nConnection: close\r\n\r\n")
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
head, sep, rest = data.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
length = [l.split(":", 1)[1].strip() for l in lines if l.lower().startswith("content-length:")]
print(lines[0].split(" ")[1], length[0] if length else "none", len(rest))
PY
	read -r hst hlen hbody <"$D/head"
	[ "$hlen" = none ] && hlen=""
	check "$n: HEAD: 200, the GET's Content-Length, no body ($(cat "$D/head"))" \
		head_ok "$hst" "$hlen" "$hbody" "$(wc -c <"$D/b")"

	# Request headers in: a custom one, Content-Type, Content-Length.
	curl -s -A fe -o "$D/b" -H 'Host: echo.test' -H 'X-Custom: one two' \
		-H 'Content-Type: text/csv' --data-binary @"$T/small" \
		"$url/e?h=x-custom&h=content-length"
	echo_json POST /e 'h=x-custom&h=content-length' '"text/csv"' "$T/small" \
		',"x-custom":"one two","content-length":"3"' >"$D/want"
	check "$n: X-Custom, Content-Type and Content-Length reach the tenant" \
		same "$D/want" "$D/b"

	# POST bodies: chunked (no Content-Length on the way in), and 1 MiB.
	st=$(curl -s -A fe -o "$D/b" -w '%{http_code}' -H 'Host: echo.test' \
		-H 'Content-Type: text/plain' -H 'Transfer-Encoding: chunked' \
		--data-binary @"$T/chunked" "$url/c")
	echo_json POST /c '' '"text/plain"' "$T/chunked" >"$D/want"
	if [ "$n" = apache-scgi ]; then
		# mod_proxy_scgi answers 411 itself (REQUEST_CHUNKED_ERROR):
		# SCGI needs CONTENT_LENGTH first, and Apache does not spool.
		check "$n: a chunked POST: Apache's own 411 ($st)" [ "$st" = 411 ]
	else
		check "$n: a chunked 200 KB POST arrives whole ($st)" \
			same "$D/want" "$D/b"
	fi
	curl -s -A fe -D "$D/h" -o "$D/b" -H 'Host: echo.test' \
		-H 'Content-Type: text/plain' --data-binary @"$T/mib" "$url/m"
	echo_json POST /m '' '"text/plain"' "$T/mib" >"$D/want"
	check "$n: a 1 MiB POST arrives whole" same "$D/want" "$D/b"
	check "$n: ... answered with its Content-Length ('$(header content-length "$D/h")')" \
		length_ok "$(header content-length "$D/h")" "$(wc -c <"$D/want")"
	st=$(curl -s -o "$D/b" -w '%{http_code}' -H 'Host: echo.test' \
		--data-binary @"$T/big" "$url/big")
	check "$n: 3 MiB over max_body_size (2M): 413 ($st)" [ "$st" = 413 ]

	# URLs: percent-encoded and raw UTF-8 reach the tenant as sent.
	curl -s -A fe -o "$D/b" -H 'Host: echo.test' \
		"$url/caf%C3%A9/a%20b?x=%26y%3D"
	echo_json GET /caf%C3%A9/a%20b 'x=%26y%3D' null "$T/empty" >"$D/want"
	check "$n: a percent-encoded URL, as sent" same "$D/want" "$D/b"
	# Raw UTF-8: curl percent-encodes the path, lighttpd the query, so
	# the tenant must see the same characters, not the same escapes.
	curl -s -A fe -o "$D/b" -H 'Host: echo.test' "$url/café/ü?ß=ö"
	check "$n: a raw UTF-8 URL, its characters intact ($(head -c 80 "$D/b"))" \
		python3 -c 'import json, sys, urllib.parse as u
d = json.load(open(sys.argv[1], encoding="utf-8"))
sys.exit(u.unquote(d["uri"]) != "/café/ü?ß=ö" or u.unquote(d["query"]) != "ß=ö")' "$D/b"

	# Live update: 200, and the next request runs the new program.
	st=$(curl -s -o "$D/b" -w '%{http_code}' -H 'Host: keyed.test' \
		-H "X-LiveUpdate: $KEY" --data-binary @"$T/v$3" "$url/")
	check "$n: upload with the key: $st $(head -1 "$D/b")" [ "$st" = 200 ]
	curl -s -o "$D/b" -H 'Host: keyed.test' "$url/"
	check "$n: ... the new program answers ($(head -1 "$D/b"))" \
		[ "$(head -1 "$D/b")" = "version $3" ]

	# A short keep-alive load: every request answered, all 2xx.
	from=$(wc -l <"$T/kvm-fpm.log")
	ab -k -c 8 -n "$LOAD_N" -H 'Host: hello.test' "$url/menu" >"$D/ab" 2>&1
	stalls=$(emulator_errors "$T/kvm-fpm.log" "$from" hello.test)
	check "$n: ab -k -c 8 -n $LOAD_N: all complete, none failed, no non-2xx" \
		ab_ok "$D/ab" "$stalls"
	grep -E '^(Complete|Failed|Non-2xx|Time taken)' "$D/ab" | sed "s/^/# $n: /"
	[ "$stalls" = 0 ] ||
		echo "# $n: $stalls of them the emulator's (hello.test faulted or stood still)"
}

# ab_ok AB_OUTPUT STALLS: every request answered and 2xx, but for STALLS
# requests the emulator broke (emulator_errors).
ab_ok() {
	awk -v n="$LOAD_N" -v stalls="$2" '
		/^Complete requests:/ { done = $3 }
		/^Failed requests:/ { failed = $3 }
		/^Non-2xx responses:/ { non2xx = $3 }
		END { exit !(done == n && failed <= stalls && non2xx + 0 == stalls) }
	' "$1"
}

frontend apache-fcgi-unix "$AP_UNIX" 1
frontend apache-scgi "$AP_SCGI" 2
frontend lighttpd-fcgi "$LI_FCGI" 1
frontend lighttpd-scgi "$LI_SCGI" 2
frontend h2o-fcgi "$H2O" 1

# kvm-fpm has one FastCGI listener: again, on TCP, for Apache over TCP.
kill -TERM "$KVM_FPM_PID"
for _ in $(seq 100); do kill -0 "$KVM_FPM_PID" 2>/dev/null || break; sleep 0.1; done
mv "$T/kvm-fpm.log" "$T/kvm-fpm.log.unix"
sed -i "s|^listen = .*|listen = 127.0.0.1:$FCGI_PORT|; /^listen.mode/d" "$T/kvm-fpm.ini"
start_kvm_fpm || exit 1
frontend apache-fcgi-tcp "$AP_TCP" 1

check "apache: no FastCGI or proxy errors in its log" sh -c \
	"! grep -E 'AH01067|AH01075|AH00898|AH01097|error' '$A/error.log'"
check "lighttpd: no backend errors in its log" sh -c \
	"! grep -E 'fastcgi|scgi|backend|error' '$L/error.log'"
check "h2o: no FastCGI errors in its log" sh -c \
	"! grep -i -E 'fastcgi|error' '$H/error.log'"
if [ "$FAIL" != 0 ]; then
	echo "--- apache error.log"; tail -20 "$A/error.log"
	echo "--- lighttpd error.log"; tail -20 "$L/error.log"
	echo "--- h2o error.log"; tail -20 "$H/error.log"
fi
finish
