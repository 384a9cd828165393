#!/bin/sh
# Least privilege: started as root, kvm-fpm refuses root workers unless
# told (-R); with `user = kvm-fpm` its workers run as that user with no
# capability, no_new_privs and the seccomp filter, and still serve
# requests, store live uploads in program_dir and reopen their logs.
. test/blackbox/lib.sh

if [ "$(id -u)" != 0 ]; then
	echo "skip - needs root: $0 skipped"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

# --- as root without `user`: refused before anything is opened (no KVM
# needed); -R or allow_run_as_root lets it go on
WORKER_USER=" " write_ini "$T/root.ini"
"$KVM_FPM" -F -c "$T/root.ini" >"$T/root.out" 2>&1
rc=$?
check "root without user: refused (exit $rc)" [ "$rc" = 1 ]
check "root without user: the log says why" \
	grep -q 'started as root without `user`: set user' "$T/kvm-fpm.log"
check "root without user: no listener was opened" [ ! -e "$T/kvm-fpm.sock" ]
rm -f "$T/kvm-fpm.log"
WORKER_USER="user = root" write_ini "$T/root.ini"
"$KVM_FPM" -F -c "$T/root.ini" >"$T/root.out" 2>&1
check "user = root: refused" grep -q 'user root is root: refused' "$T/kvm-fpm.log"

if [ ! -w /dev/kvm ] && [ "${CI:-}" != true ]; then
	echo "skip - no usable /dev/kvm: the rest of $0 skipped"
	finish
	exit
fi
require_kvm
if ! id -u kvm-fpm >/dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		echo "not ok - no kvm-fpm user (scripts/deps.sh creates it)"
		exit 1
	fi
	echo "skip - no kvm-fpm user (run scripts/deps.sh): $0 skipped"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
UID_W=$(id -u kvm-fpm)
GID_W=$(id -g kvm-fpm)
# The workers' user reaches program_dir and the logs in $T (mktemp: 0700).
chmod 711 "$T"

# --- a worker that cannot drop its privileges stops the server rather
# than serving, or forking in a loop (here the master lacks CAP_SETGID)
WORKER_USER="user = kvm-fpm" write_ini "$T/nojail.ini"
ASAN_OPTIONS=detect_leaks=0:log_path=$T/asan timeout 20 \
	setpriv --bounding-set=-setgid "$KVM_FPM" -F -c "$T/nojail.ini" \
	>"$T/nojail.out" 2>&1
rc=$?
check "no jail: the master stops by itself (rc $rc)" [ "$rc" != 124 ]
check "no jail: the worker says which step failed" \
	grep -q 'cannot drop privileges to kvm-fpm:(primary) (setgroups/setresgid/setresuid)' "$T/kvm-fpm.log"
check "no jail: the master stops" \
	grep -q 'a worker could not drop its privileges: stopping' "$T/kvm-fpm.log"
n=$(grep -c 'cannot drop privileges' "$T/kvm-fpm.log")
check "no jail: no fork loop ($n failed workers)" [ "$n" -le 2 ]
mv "$T/kvm-fpm.log" "$T/nojail.log"

KEY=privilege-key-$$
WORKER_USER="user = kvm-fpm
group = kvm-fpm" write_ini "$T/kvm-fpm.ini" "access_log = $T/access.log"
cat >>"$T/kvm-fpm.ini" <<INI

[tenant:upload.test]
program = $ROOT/$B/programs/version
key = $KEY
INI
tenant-sdk/bin/kvm-fpm-cc -O1 -DVERSION=7 -o "$T/v7" test/guest/programs/version.c ||
	not_ok "build version 7"

start_kvm_fpm || exit 1
start_nginx || exit 1

check "ready line names the workers' user" \
	grep -q "ready: 2 workers as kvm-fpm:kvm-fpm" "$T/kvm-fpm.log"
get hello.test /
check "an unprivileged worker answers (200)" [ "$STATUS" = 200 ]

# field PID NAME: the value of NAME: in /proc/PID/status
field() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s '\t ' ' '
}
pids=$(worker_pids)
check "two workers" [ "$(echo $pids | wc -w)" = 2 ]
for p in $pids; do
	check "worker $p: Uid $UID_W" [ "$(field "$p" Uid)" = "$UID_W $UID_W $UID_W $UID_W" ]
	check "worker $p: Gid $GID_W" [ "$(field "$p" Gid)" = "$GID_W $GID_W $GID_W $GID_W" ]
	check "worker $p: no supplementary groups" [ -z "$(field "$p" Groups)" ]
	check "worker $p: CapEff 0" [ "$(field "$p" CapEff)" = 0000000000000000 ]
	check "worker $p: CapPrm 0" [ "$(field "$p" CapPrm)" = 0000000000000000 ]
	check "worker $p: CapBnd 0" [ "$(field "$p" CapBnd)" = 0000000000000000 ]
	check "worker $p: CapAmb 0" [ "$(field "$p" CapAmb)" = 0000000000000000 ]
	check "worker $p: NoNewPrivs 1" [ "$(field "$p" NoNewPrivs)" = 1 ]
	check "worker $p: Seccomp 2 (filter)" [ "$(field "$p" Seccomp)" = 2 ]
done
check "the master stays root (it opens listeners, boots programs)" \
	[ "$(field "$KVM_FPM_PID" Uid)" = "0 0 0 0" ]
check "program_dir belongs to the workers' user, 0700" \
	[ "$(stat -c '%u %g %a' "$T/programs")" = "$UID_W $GID_W 700" ]

# --- a live upload: validated and stored by an unprivileged worker
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H "Host: upload.test" \
	-H "X-LiveUpdate: $KEY" --data-binary "@$T/v7" \
	"http://127.0.0.1:$HTTP_PORT/")
check "upload by an unprivileged worker: 200 ($(cat "$T/body"))" [ "$STATUS" = 200 ]
check "the stored program belongs to the workers' user" \
	[ "$(stat -c '%u' "$T/programs/upload.test.elf")" = "$UID_W" ]
first_line_is() { [ "$(printf '%s\n' "$BODY" | head -1)" = "$1" ]; }
get upload.test /
check "the upload answers" first_line_is "version 7"
get upload.test /
check "the upload answers (2)" first_line_is "version 7"

# --- SIGUSR1: the master reopens the logs, gives them to the workers'
# user, and the workers reopen them too
mv "$T/kvm-fpm.log" "$T/kvm-fpm.log.1"
mv "$T/access.log" "$T/access.log.1"
kill -USR1 "$KVM_FPM_PID"
sleep 0.5
get nope.test /reopened
get nope.test /reopened
check "SIGUSR1: an unprivileged worker logs to the new file" \
	grep -q 'unknown host' "$T/kvm-fpm.log"
check "SIGUSR1: and to the new access log" grep -q '/reopened' "$T/access.log"
check "no forbidden system call" sh -c "! grep -q 'forbidden system call' $T/kvm-fpm.log*"

finish
