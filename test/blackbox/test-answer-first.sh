#!/bin/sh
# The answer before the reset (issue 14 item 2): a worker ends a request
# for its client (FastCGI: FCGI_END_REQUEST written; SCGI: the connection
# closed) and only then resets the VM that served it.  Shown without any
# timing, by the order of the worker's system calls under strace: the
# request opens a file of its data_dir, and the reset closes it.
. test/blackbox/lib.sh
require_kvm
if ! command -v strace >/dev/null; then
	not_ok "strace is required (scripts/deps.sh installs it)"
	finish
	exit 1
fi

RAW="python3 test/blackbox/fcgi_raw.py"
mkdir -p "$T/data/sub" "$T/trace"
printf 'alpha beta\n' >"$T/data/words"
printf 'other\n' >"$T/data/sub/other"
WORKERS=1 write_ini "$T/kvm-fpm.ini"
cat >>"$T/kvm-fpm.ini" <<INI

[tenant:files.test]
program = $ROOT/$B/programs/data_files
data_dir = $T/data
INI

# kvm-fpm under strace, one trace file per process (-ff): a process's
# calls in the order the kernel saw them, strings in hex (-xx).
ASAN_OPTIONS=detect_leaks=0:log_path=$T/asan strace -ff -xx -s 64 \
	-e trace=openat,openat2,write,close -o "$T/trace/t" \
	"$KVM_FPM" -F -c "$T/kvm-fpm.ini" 2>>"$T/kvm-fpm.stderr" &
STRACE_PID=$!
PIDS="$PIDS $STRACE_PID"
for _ in $(seq 300); do
	grep -q "ready:" "$T/kvm-fpm.log" 2>/dev/null && break
	sleep 0.1
done
KVM_FPM_PID=$(pgrep -P "$STRACE_PID")
PIDS="$KVM_FPM_PID $PIDS" # stopped first: strace ends with it
check "kvm-fpm started under strace" grep -q "ready:" "$T/kvm-fpm.log"

$RAW fcgi-get "$T/kvm-fpm.sock" /open files.test >"$T/fcgi.out"
check "FastCGI: the request opened its file" grep -q '^fd=4' "$T/fcgi.out"
$RAW scgi-get "$SCGI_PORT" /open files.test >"$T/scgi.out"
check "SCGI: the request opened its file" grep -q '^fd=4' "$T/scgi.out"

# Stop kvm-fpm; strace ends with it, its traces complete.
kill -TERM "$KVM_FPM_PID"
for _ in $(seq 300); do kill -0 "$KVM_FPM_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$KVM_FPM_PID" 2>/dev/null || wait "$STRACE_PID"
order() { python3 test/blackbox/answer_order.py "$1" "$T"/trace/t.*; }
check "FastCGI: FCGI_END_REQUEST written before the VM's reset" order fcgi
check "SCGI: the connection closed before the VM's reset" order scgi

finish
