#!/bin/sh
# make soak: a long run of mixed tenants (good, faulting, timing out, memory
# bombs) through nginx, showing that nothing grows and no worker dies.
# Not part of make test.  SOAK_REQUESTS (default 1000000) sets the length;
# SOAK_ROUND (seconds, default 10) how often the figures are sampled.
set -u
cd "$(dirname "$0")/../.."
B=${1:-build}
KVM_FPM=${KVM_FPM:-$(pwd)/$B/kvm-fpm} # the plain build: real speed
. test/blackbox/lib.sh
require_kvm

REQUESTS=${SOAK_REQUESTS:-1000000}
ROUND=${SOAK_ROUND:-10}

# Weights per 1000 requests: a mix where every kind of failure recurs
# thousands of times in a million, with the timeouts short enough for the
# run to stay in minutes (each holds a worker for its limit).
write_ini "$T/kvm-fpm.ini" "max_requests = 0"
cat >>"$T/kvm-fpm.ini" <<INI

[tenant:bomb.test]
program = $ROOT/$B/programs/malloc_bomb
max_request_memory = 8M

[tenant:wild.test]
program = $ROOT/$B/programs/wild_write

[tenant:spin.test]
program = $ROOT/$B/programs/loop
max_request_time = 10ms
INI
start_kvm_fpm || exit 1
start_nginx || exit 1

cat >"$T/mix.lua" <<'LUA'
-- One Host per request by weight; statuses counted per thread.
local mix = {
	{"hello.test", "/soak", 940},
	{"fault.test", "/crash", 20},
	{"wild.test", "/", 20},
	{"bomb.test", "/", 10},
	{"spin.test", "/", 10},
}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init()
	statuses = {}
	math.randomseed(os.time() + math.random(1000))
end
function request()
	local r = math.random(1000)
	for _, m in ipairs(mix) do
		if r <= m[3] then
			return wrk.format("GET", m[2], {Host = m[1]})
		end
		r = r - m[3]
	end
end
function response(status)
	statuses[status] = (statuses[status] or 0) + 1
end
function done()
	local total = {}
	for _, t in ipairs(threads) do
		for s, n in pairs(t:get("statuses")) do
			total[s] = (total[s] or 0) + n
		end
	end
	for s, n in pairs(total) do io.write("status ", s, " ", n, "\n") end
end
LUA

# Figures of the moment: requests so far, the workers' summed RSS (KiB)
# and open fds, and the kernel's Slab + PageTables + KernelStack (KiB).
sample() {
	rss=0
	fds=0
	for p in $(worker_pids); do
		r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
		rss=$((rss + ${r:-0}))
		fds=$((fds + $(ls "/proc/$p/fd" 2>/dev/null | wc -l)))
	done
	kmem=$(awk '/^(Slab|PageTables|KernelStack):/ {s += $2} END {print s}' \
		/proc/meminfo)
	echo "$done_requests $rss $fds $kmem $(worker_pids)"
}

first_pids=$(worker_pids)
done_requests=0
: >"$T/statuses"
: >"$T/samples"
echo "soak: $REQUESTS requests, sampled every ${ROUND}s"
while [ "$done_requests" -lt "$REQUESTS" ]; do
	wrk -t2 -c16 -d"${ROUND}s" -s "$T/mix.lua" \
		"http://127.0.0.1:$HTTP_PORT/" >"$T/wrk.out" 2>&1
	n=$(awk '/requests in/ {print $1}' "$T/wrk.out")
	done_requests=$((done_requests + ${n:-0}))
	grep '^status ' "$T/wrk.out" >>"$T/statuses"
	sample | tee -a "$T/samples"
	[ "${n:-0}" -gt 0 ] || { not_ok "a round answered nothing"; break; }
done

# Statuses: 200 (hello), 500 (faults, wild writes, bombs), 504 (spins).
awk '{n[$2] += $3} END {for (s in n) print s, n[s]}' "$T/statuses" |
	sort >"$T/status-totals"
echo "statuses:"; sed 's/^/  /' "$T/status-totals"
check "only 200, 500 and 504 answered" \
	sh -c "! grep -qvE '^(200|500|504) ' '$T/status-totals'"

# Flat from the first 10% to the end: the sample where 10% was reached is
# the baseline.  Bounds: RSS may move by 8 MiB over all workers (malloc
# arenas, VM caches already warm by then), fds not at all, kernel memory
# by 8 MiB (the whole machine's: nginx and wrk included).
tenth=$((REQUESTS / 10))
base=$(awk -v t="$tenth" '$1 >= t {print; exit}' "$T/samples")
last=$(tail -n 1 "$T/samples")
set -- $base
b_rss=$2 b_fds=$3 b_kmem=$4
set -- $last
e_rss=$2 e_fds=$3 e_kmem=$4
printf 'soak: at 10%% rss %s KiB fds %s kmem %s KiB; at the end rss %s KiB fds %s kmem %s KiB\n' \
	"$b_rss" "$b_fds" "$b_kmem" "$e_rss" "$e_fds" "$e_kmem"
check "worker RSS flat (+$((e_rss - b_rss)) KiB)" [ $((e_rss - b_rss)) -le 8192 ]
check "open fds flat ($b_fds -> $e_fds)" [ "$e_fds" -le "$b_fds" ]
check "kernel memory flat (+$((e_kmem - b_kmem)) KiB)" \
	[ $((e_kmem - b_kmem)) -le 8192 ]
check "no worker replaced ($first_pids -> $(worker_pids))" \
	[ "$first_pids" = "$(worker_pids)" ]
check "no worker died" sh -c "! grep -q 'killed by signal\|exited with' '$T/kvm-fpm.log'"
echo "samples (requests rss fds kmem pids):"
sed 's/^/  /' "$T/samples"
finish
