#!/bin/sh
# The fleet on this machine (deploy/cluster.sh, as `make cluster` runs
# it) with 1, 2 and 3 nodes: requests per second through Varnish, spread
# over BENCH_TENANTS tenants that Varnish cannot cache, the VMs resident in
# the whole fleet after it, and the time from an upload's 200 (through
# Varnish) to the last node serving the new version, asked directly.
# Then 3 nodes again with each request sent to a node at random instead of
# by Host (what a round-robin director does), for the VMs it costs.
# Needs root (network namespaces) and /dev/kvm.
#   bench/cluster.sh [BUILD_DIR]
# Tunables: BENCH_RUNS ("1:host 2:host 3:host 3:request", nodes:spread), BENCH_DURATION (10 s per figure),
# BENCH_CONNECTIONS (16), BENCH_TENANTS (6), BENCH_UPLOADS (5).
# All nodes share this machine's CPUs: more nodes add no capacity here,
# so the figure shows what the fleet's parts cost, not how it scales.
set -u
B=${1:-build}
ROOT=$(pwd)
DUR=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNECTIONS:-16}
NTEN=${BENCH_TENANTS:-6}
UPLOADS=${BENCH_UPLOADS:-5}
T=$(mktemp -d /tmp/kvm-fpm-cluster-bench.XXXXXX)
CLUSTER_NAME=kb$(($$ % 100000))
CLUSTER_NET=10.202.$(($$ % 250))
VARNISH_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
VARNISH_PROXY_PORT=$((VARNISH_PORT + 1))
KVM_FPM=$ROOT/$B/kvm-fpm
INI=$T/fleet.ini
export CLUSTER_NAME CLUSTER_NET VARNISH_PORT VARNISH_PROXY_PORT KVM_FPM INI
for tool in wrk etcd varnishd nginx ip curl; do
	command -v "$tool" >/dev/null || { echo "bench/cluster.sh: no $tool" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench/cluster.sh: needs root" >&2; exit 1; }

{
	printf '[global]\nworkers = 2\nlog_level = notice\n'
	# The host's side of the bridge reads each node's status page.
	printf 'status_allow = %s.1\n' "$CLUSTER_NET"
	for i in $(seq "$NTEN"); do
		printf '\n[tenant:t%s.bench]\nprogram = %s\n' "$i" "$ROOT/$B/programs/version"
	done
} >"$INI"
for v in 1 2; do
	tenant-sdk/bin/kvm-fpm-cc -O1 -DVERSION="$v" -o "$T/v$v" \
		test/guest/programs/version.c || exit 1
done
cat >"$T/hosts.lua" <<LUA
local i = 0
request = function()
	i = i + 1
	return wrk.format("GET", "/", { Host = "t" .. (i % $NTEN + 1) .. ".bench" })
end
LUA

. deploy/cluster.sh
trap 'cluster_stop; rm -rf "$T"' EXIT
now_ms() { date +%s%3N; }
# fleet_vms N: tenant VMs resident on nodes 1..N
fleet_vms() {
	for i in $(seq "$1"); do
		curl -s "http://$(cluster_addr "$i"):8081/kvm-fpm/status?openmetrics"
	done | awk '/^kvmfpm_resident_vms[{ ]/ { s += $NF } END { print s + 0 }'
}

for run in ${BENCH_RUNS:-1:host 2:host 3:host 3:request}; do
	n=${run%%:*} spread=${run#*:}
	CLUSTER_NODES=$n
	rm -rf "$T/c$n"
	cluster_start "$T/c$n" || exit 1
	V=http://127.0.0.1:$VARNISH_PORT
	if [ "$spread" = request ]; then
		# Each request its own shard key: spread like round robin.
		sed 's/key=fleet.key(bereq.http.host)/key=fleet.key(bereq.xid)/' \
			"$T/c$n/front/varnish.vcl" >"$T/c$n/front/spread.vcl"
		varnishadm -n "$T/c$n/front/varnish" vcl.load spread \
			"$T/c$n/front/spread.vcl" >/dev/null &&
			varnishadm -n "$T/c$n/front/varnish" vcl.use spread >/dev/null ||
			exit 1
	fi
	wrk -t 2 -c 2 -d 2 -s "$T/hosts.lua" "$V/" >/dev/null 2>&1 # warm-up
	wrk -t 2 -c "$CONNS" -d "$DUR" -s "$T/hosts.lua" "$V/" >"$T/wrk$n" 2>&1
	rps=$(awk '/^Requests\/sec/ { print $2 }' "$T/wrk$n")
	bad=$(awk '/Non-2xx/ { print $NF }' "$T/wrk$n")
	echo "nodes $n, by $spread: ${rps:-?} req/s through Varnish, $CONNS connections, $NTEN tenants, ${bad:-0} non-2xx, $(fleet_vms "$n") VMs resident in the fleet"
	[ "$spread" = host ] || { cluster_stop; continue; }
	# Upload -> last node: each upload alternates the program.
	key=$(cat "$T/c$n/keys/t1.bench.key")
	times=""
	for u in $(seq "$UPLOADS"); do
		v=$((u % 2 + 1))
		st=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: t1.bench' \
			-H "X-LiveUpdate: $key" --data-binary @"$T/v$v" "$V/")
		t0=$(now_ms)
		[ "$st" = 200 ] || { echo "upload: $st" >&2; continue; }
		for i in $(seq "$n"); do
			while [ "$(curl -s -H 'Host: t1.bench' "http://$(cluster_addr "$i"):8081/" | head -1)" != "version $v" ]; do
				[ $(($(now_ms) - t0)) -gt 60000 ] && break
				sleep 0.01
			done
		done
		times="$times $(($(now_ms) - t0))"
	done
	echo "nodes $n, by $spread: upload's 200 to the last node serving it, ms:$times"
	cluster_stop
done
