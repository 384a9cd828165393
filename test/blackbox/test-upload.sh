#!/bin/sh
# Live update: uploads through nginx (with tenant-sdk/build_and_upload.sh)
# and straight to kvm-fpm; every refusal with its reason while the old
# program keeps answering; 20 uploads under load with no failed request;
# the uploaded program outlives a restart.
. test/blackbox/lib.sh
require_kvm

KEY=upload-test-key-$$
TOOL=$ROOT/tenant-sdk/build_and_upload.sh
write_ini "$T/kvm-fpm.ini" "upload_max_size = 1M"
cat >>"$T/kvm-fpm.ini" <<INI

[tenant:upload.test]
program = $ROOT/$B/programs/version
key = $KEY
max_boot_time = 0.5s

[tenant:nokey.test]
program = $ROOT/$B/programs/version

[tenant:broken.test]
program = $T/no-such-program
key = $KEY
INI

# Versions 1..21 of the version tenant.
for v in $(seq 21); do
	tenant-sdk/bin/kvm-fpm-cc -O1 -DVERSION="$v" -o "$T/v$v" \
		test/guest/programs/version.c || not_ok "build version $v"
done

start_kvm_fpm || exit 1
start_nginx || exit 1

# version HOST: the version the tenant answers with, or its status
version() {
	get "$1" /
	if [ "$STATUS" = 200 ]; then
		echo "$BODY" | head -1
	else
		echo "status $STATUS"
	fi
}
# upload HOST FILE [KEY]: POST through nginx; sets STATUS and BODY
upload() {
	hdr="X-LiveUpdate: ${3-$KEY}"
	[ -n "${3-$KEY}" ] || hdr="X-LiveUpdate;" # curl's way to send it empty
	STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H "Host: $1" \
		-H "$hdr" --data-binary "@$2" \
		"http://127.0.0.1:$HTTP_PORT/")
	BODY=$(cat "$T/body")
}
# refused NAME WANT_STATUS WANT_TEXT HOST FILE [KEY]
refused() {
	name=$1 want=$2 text=$3
	shift 3
	upload "$@"
	if [ "$STATUS" = "$want" ] && echo "$BODY" | grep -qF "$text" &&
		[ "$(version upload.test)" = "version 0" ] &&
		[ ! -e "$T/programs/upload.test.elf" ]; then
		ok "$name: $STATUS $BODY"
	else
		not_ok "$name: $STATUS $BODY (want $want, \"$text\"; now $(version upload.test))"
	fi
}

check "before any upload: version 0" [ "$(version upload.test)" = "version 0" ]

# --- refusals: each has its reason; the old program stays, nothing stored
refused "wrong key" 403 "wrong live-update key" upload.test "$T/v1" wrong-key
refused "empty key" 403 "wrong live-update key" upload.test "$T/v1" ""
refused "no key configured" 403 "not enabled for this site" nokey.test "$T/v1"
check "... and nokey.test still answers version 0" [ "$(version nokey.test)" = "version 0" ]
printf 'hello, I am not a program\n' >"$T/text"
refused "not an ELF" 400 "not an ELF file" upload.test "$T/text"
head -c 3000 "$T/v1" >"$T/truncated"
refused "truncated ELF" 400 "upload refused" upload.test "$T/truncated"
# The same program, marked for AArch64 (e_machine 183 at offset 18).
{ head -c 18 "$T/v1"; printf '\267\000'; tail -c +21 "$T/v1"; } >"$T/arm64"
refused "ELF for another architecture" 400 "x86-64" upload.test "$T/arm64"
musl-gcc -shared -fPIC -o "$T/lib.so" test/guest/programs/no_backend.c
refused "shared library" 400 "shared object or PIE" upload.test "$T/lib.so"
refused "main() crashes" 422 "main() failed: page fault (not mapped) writing 0x0" upload.test "$ROOT/$B/programs/main_crash"
refused "main() loops forever (max_boot_time 0.5s)" 422 "main() failed: timed out after 0.500s" \
	upload.test "$ROOT/$B/programs/main_loop"
refused "no my_backend()" 422 "no my_backend" upload.test "$ROOT/$B/programs/no_backend"
cat >"$T/huge.c" <<'C'
#include "kvm-fpm.h"
static char huge[300 << 20]; /* more than max_memory (256M) */
void my_backend(const char *url) { backend_response_str(200, "text/plain", huge + (url[0] & 1)); }
int main(void) { return 0; }
C
tenant-sdk/bin/kvm-fpm-cc -o "$T/huge" "$T/huge.c"
refused "a program larger than max_memory" 400 "beyond max_memory (256M)" upload.test "$T/huge"
head -c 2000000 /dev/zero >"$T/big"
refused "over upload_max_size (1M)" 413 "upload_max_size" upload.test "$T/big"
get upload.test /
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Host: upload.test' \
	-H "X-LiveUpdate: $KEY" "http://127.0.0.1:$HTTP_PORT/")
check "GET with X-LiveUpdate: 405" [ "$STATUS $(cat "$T/body")" = "405 live update needs POST" ]
grep -q 'upload.test: upload of 26 bytes refused: not an ELF file' "$T/kvm-fpm.log"
check "refusals are logged with the reason" [ $? = 0 ]

# --- the tool: refuses without a key, reports the server's refusal
KVM_FPM_URL=http://127.0.0.1:$HTTP_PORT/ KVM_FPM_KEY_FILE=$T/none \
	"$TOOL" upload.test "$T/v1" >"$T/tool.out" 2>&1
check "build_and_upload.sh without a key: exit 1" [ $? = 1 ]
KVM_FPM_URL=http://127.0.0.1:$HTTP_PORT/ KVM_FPM_KEY=wrong \
	"$TOOL" upload.test "$T/v1" >"$T/tool.out" 2>&1
check "build_and_upload.sh with a wrong key: exit 1, says 403" \
	sh -c "[ $? = 1 ] && grep -q 'HTTP 403' '$T/tool.out'"

# --- 20 uploads back to back under load; hello.test must not notice
KVM_FPM_KEY=$KEY python3 test/blackbox/upload_load.py "$HTTP_PORT" \
	upload.test hello.test "$TOOL" $(for v in $(seq 20); do echo "$T/v$v"; done) \
	>"$T/load.out" 2>&1
rc=$?
check "20 uploads under load: $(head -1 "$T/load.out")" [ "$rc" = 0 ]
[ "$rc" = 0 ] || cat "$T/load.out"
check "the stored program is the last one uploaded" cmp -s "$T/v20" "$T/programs/upload.test.elf"
check "no temporary file left in program_dir" [ "$(ls -A "$T/programs")" = upload.test.elf ]

# --- an upload repairs a tenant whose program did not load
check "broken.test: 503 before" [ "$(version broken.test)" = "status 503" ]
upload broken.test "$T/v3"
check "broken.test: the upload is taken ($STATUS)" [ "$STATUS" = 200 ]
got=""
for _ in 1 2 3 4; do got="$got$(version broken.test);"; done
check "broken.test: every worker answers version 3 ($got)" \
	[ "$got" = "version 3;version 3;version 3;version 3;" ]

# --- straight to kvm-fpm over FastCGI, without nginx
env -i REQUEST_METHOD=POST REQUEST_URI=/ HTTP_HOST=upload.test \
	HTTP_X_LIVEUPDATE="$KEY" CONTENT_LENGTH="$(stat -c %s "$T/v21")" \
	cgi-fcgi -bind -connect "$T/kvm-fpm.sock" <"$T/v21" >"$T/direct" 2>&1
check "upload straight to kvm-fpm (cgi-fcgi): 200" grep -q 'now runs the uploaded program' "$T/direct"
check "... the next request answers version 21" [ "$(version upload.test)" = "version 21" ]
env -i REQUEST_METHOD=POST REQUEST_URI=/ HTTP_HOST=upload.test \
	HTTP_X_LIVEUPDATE="$KEY" \
	cgi-fcgi -bind -connect "$T/kvm-fpm.sock" </dev/null >"$T/direct" 2>&1
check "no Content-Length: 411" grep -q '^Status: 411' "$T/direct"

get upload.test '/kvm-fpm/status?json'
echo "$BODY" >"$T/status.json"
check "the status page counts 21 uploads for upload.test, none for hello.test" \
	python3 -c 'import json, sys
t = {x["name"]: x for x in json.load(open(sys.argv[1]))["tenants"]}
sys.exit(not (t["upload.test"]["uploads"] == 21 and t["hello.test"]["uploads"] == 0))' "$T/status.json"

# --- a restart serves the uploaded program, and says so
kill -TERM "$KVM_FPM_PID"
for _ in $(seq 50); do kill -0 "$KVM_FPM_PID" 2>/dev/null || break; sleep 0.1; done
mv "$T/kvm-fpm.log" "$T/kvm-fpm.log.1"
start_kvm_fpm || exit 1
check "after a restart: version 21" [ "$(version upload.test)" = "version 21" ]
check "the start log says the uploaded program wins" \
	grep -q 'upload.test: loaded .*/upload.test.elf .*uploaded: it wins' "$T/kvm-fpm.log"
check "hello.test still answers" sh -c "[ '$(version hello.test)' = '<!DOCTYPE html>' ]"

finish
