#!/bin/sh
# The server side of issue 13, items 3 to 6, over raw FastCGI and SCGI and
# through nginx: Content-Type and Content-Length sent as CGI variables
# reach the tenant (once), every answer carries Content-Length, HEAD gets
# the GET's head and no body, and a refused body (413, 403) is answered
# and followed by end of file, never a reset (lingering close).
. test/blackbox/lib.sh
require_kvm

RAW="python3 test/blackbox/frontend_raw.py"
SOCK=$T/kvm-fpm.sock
KEY=right-key-$$
write_ini "$T/kvm-fpm.ini" "upload_max_size = 1M"
cat >>"$T/kvm-fpm.ini" <<INI

[tenant:keyed.test]
program = $ROOT/tenant-sdk/examples/hello
key = $KEY
INI
start_kvm_fpm || exit 1
start_nginx || exit 1

for kind in fcgi scgi; do
	addr=$SOCK
	[ $kind = scgi ] && addr=$SCGI_PORT
	check "$kind: GET carries Content-Length; HEAD the same head, no body" \
		$RAW head-get "$addr" $kind hello.test /menu
	check "$kind: the same for the server's own 404" \
		$RAW head-get "$addr" $kind nowhere.test /
	check "$kind: Content-Type/-Length as CGI variables reach the tenant" \
		$RAW ctype "$addr" $kind apache
	check "$kind: sent in both forms (nginx), each reaches it once" \
		$RAW ctype "$addr" $kind nginx
	check "$kind: 2 MiB over max_body_size: 413, then end of file" \
		$RAW refused "$addr" $kind echo.test 2097152 413
	check "$kind: upload with a wrong key: 403, then end of file" \
		$RAW refused "$addr" $kind keyed.test 300000 403 wrong-key
	# Refused before its Content-Length is looked at (SCGI closed
	# without draining here: a reset, so 502 from a front end).
	check "$kind: 2 MiB POST to an unknown host: 404, then end of file" \
		$RAW refused "$addr" $kind nowhere.test 2097152 404
done

# Through nginx: FastCGI at /, SCGI at /scgi/.
URL=http://127.0.0.1:$HTTP_PORT
head -c 2097152 /dev/zero >"$T/big"
for path in /big /scgi/big; do
	st=$(curl -s -o "$T/out" -w '%{http_code}' -H 'Host: echo.test' \
		--data-binary @"$T/big" "$URL$path")
	check "nginx $path: a 2 MiB POST is 413 (was 502)" [ "$st" = 413 ]
	check "nginx $path: with the server's text" \
		grep -qx 'request body too large' "$T/out"
	st=$(curl -s -o "$T/out" -w '%{http_code}' -H 'Host: keyed.test' \
		-H 'X-LiveUpdate: wrong' --data-binary @"$T/big" "$URL$path")
	check "nginx $path: a wrong upload key is 403" [ "$st" = 403 ]
	st=$(curl -s -o "$T/out" -w '%{http_code}' -H 'Host: nowhere.test' \
		--data-binary @"$T/big" "$URL$path")
	check "nginx $path: a 2 MiB POST to an unknown host is 404" \
		[ "$st" = 404 ]
done
# 300 headers more than usual: kvm-fpm's 431, where the connection used
# to close with no answer (nginx: 502).
many=""
i=0
while [ $i -lt 300 ]; do
	many="$many -H X-Many-$i:v"
	i=$((i + 1))
done
for path in / /scgi/; do
	# shellcheck disable=SC2086 # many is a list of curl options
	st=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: hello.test' \
		$many "$URL$path")
	check "nginx $path: 300 more headers is 431" [ "$st" = 431 ]
done
check "nginx: no broken pipe or reset from kvm-fpm" sh -c \
	"! grep -E 'writev\(\) failed|reset by peer|prematurely closed' '$T/nginx/error.log'"

# header NAME FILE: the value of a response header curl saved with -D
header() {
	tr -d '\r' <"$2" | sed -n "s/^$1: //Ip" | head -1
}
for path in / /scgi/; do
	curl -s -D "$T/h" -o "$T/b" -H 'Host: hello.test' "$URL$path"
	check "nginx GET $path: Content-Length is the body's length" \
		[ "$(header content-length "$T/h")" = "$(wc -c <"$T/b")" ]
	check "nginx GET $path: not chunked" \
		[ -z "$(header transfer-encoding "$T/h")" ]
	curl -s -I -o "$T/hh" -H 'Host: hello.test' "$URL$path"
	check "nginx HEAD $path: the GET's Content-Length" \
		[ "$(header content-length "$T/hh")" = "$(wc -c <"$T/b")" ]
	curl -s -o "$T/b" -H 'Host: echo.test' -H 'Content-Type: text/csv' \
		--data-binary 'a,b' "$URL$path?h=content-length"
	check "nginx POST $path: the tenant sees Content-Type and -Length" \
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
h=d["headers"]; sys.exit(not (h["content-type"] == "text/csv" and
h["content-length"] == "3" and d["body"] == "a,b"))' "$T/b"
done

finish
