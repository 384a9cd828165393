#!/bin/sh
# Kernel memory per resident VM, which RSS does not show: /proc/meminfo
# and the slab caches before and while `micro --hold` keeps N hello VMs
# (each having served one request).  Prints "key value" lines, KiB per VM.
#   bench/kmem.sh [BUILD_DIR] [N]
# MICRO_MAX_MEMORY_MIB sets the VMs' max_memory (default kvm-core's).
# Machine-wide figures: other work on the machine adds noise.
set -eu
B=${1:-build}
N=${2:-200}
T=$(mktemp -d /tmp/kvm-fpm-kmem.XXXXXX)
trap 'exec 3>&- 2>/dev/null; rm -rf "$T"' EXIT
mkfifo "$T/in" "$T/out"
cat /proc/slabinfo >"$T/slab.a"
grep -E '^(Slab|PageTables|SecPageTables|KernelStack|VmallocUsed|MemFree):' /proc/meminfo >"$T/mem.a"
"$B/bench/micro" --hold tenant-sdk/examples/hello "$N" <"$T/in" >"$T/out" &
pid=$!
exec 3>"$T/in"
read -r line <"$T/out"
[ "$line" = resident ] || { echo "kmem: micro did not start" >&2; exit 1; }
cat /proc/slabinfo >"$T/slab.b"
grep -E '^(Slab|PageTables|SecPageTables|KernelStack|VmallocUsed|MemFree):' /proc/meminfo >"$T/mem.b"
echo >&3
wait $pid
# "key value" lines for bench/report.py, KiB per VM.
echo "kmem_vms $N"
paste "$T/mem.a" "$T/mem.b" | awk -v n="$N" '{
	k = $1; sub(/:$/, "", k)
	printf "kmem_%s_kib %.1f\n", k, ($5 - $2) / n }'
awk -v n="$N" 'FNR == 1 { f++ } /^#|^slabinfo/ { next }
	f == 1 { a[$1] = $3 * $4 } f == 2 { b[$1] = $3 * $4 }
	END { for (k in b) { d = (b[k] - a[k]) / 1024 / n
		if (d >= 1) printf "kmem_slab_%s_kib %.1f\n", k, d } }' \
	"$T/slab.a" "$T/slab.b" | sort -k2 -rn | head -8
