#!/bin/sh
# `make bench`: the micro benchmark, strace counts, the end-to-end runs, then
# the table: printed, written to bench/results/latest.md (raw output in
# bench/results/raw/) and spliced into doc/benchmarks.md between its
# markers (BENCH_DOC=0 leaves the doc alone).  See doc/benchmarks.md.
#   bench/run.sh [BUILD_DIR]
set -eu
B=${1:-build}
RES=bench/results
RAW=$RES/raw
DOC=doc/benchmarks.md

[ -w /dev/kvm ] || { echo "bench: /dev/kvm is not usable" >&2; exit 1; }
rm -rf "$RAW"
mkdir -p "$RAW"

kvm=kvm
for mod in kvm_pvm kvm_intel kvm_amd; do
	[ -d "/sys/module/$mod" ] && kvm=$mod && break
done
{
	echo "command ${BENCH_COMMAND:-make bench}"
	echo "date $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cpu $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
	echo "cpus $(nproc)"
	echo "kernel $(uname -r)"
	echo "kvm $kvm"
	echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RAW/host.txt"

echo "bench: micro, in process on one core" >&2
"$B/bench/micro" tenant-sdk/examples/hello "$B/programs/dirty64" \
	>"$RAW/micro.txt"

if command -v strace >/dev/null; then
	echo "bench: system calls per request (strace -c -f)" >&2
	for prog in tenant-sdk/examples/hello "$B/programs/dirty64"; do
		for n in 0 1000; do
			strace -f -c -o "$RAW/strace-$(basename "$prog")-$n.txt" \
				"$B/bench/micro" --loop "$prog" $n
		done
	done
fi

echo "bench: kernel memory per resident VM" >&2
bench/kmem.sh "$B" 200 >"$RAW/kmem.txt"

echo "bench: end to end through nginx" >&2
BENCH_RAW=$RAW bench/e2e.sh "$B" >"$RAW/e2e.txt"

python3 bench/report.py "$RAW" >"$RES/latest.md"
cat "$RES/latest.md"
if [ "${BENCH_DOC:-1}" = 1 ] && [ -f "$DOC" ]; then
	python3 bench/report.py --splice "$DOC" "$RES/latest.md"
	echo "bench: wrote $RES/latest.md and the table in $DOC" >&2
else
	echo "bench: wrote $RES/latest.md" >&2
fi
