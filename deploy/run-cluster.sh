#!/bin/sh
# `make cluster`: a fleet on this machine, in the foreground:
#   Varnish :8090 (shard director by Host, probes, retries)
#     -> N nodes (network namespaces on a bridge, 10.77.0.11...), each
#        nginx :8081 -> kvm-fpm (program_store = etcd)
#     -> an etcd cluster of three members in the first three nodes
# with etc/kvm-fpm.ini's tenants.  deploy/cluster.sh does the work;
# CLUSTER_NODES (3), CLUSTER_NET (10.77.0), VARNISH_PORT (8090) and
# CLUSTER_DIR (build/cluster) change it.  Ctrl-C or SIGTERM stops
# everything and removes the namespaces.  Needs root.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
CLUSTER_DIR=${CLUSTER_DIR:-$ROOT/build/cluster}
KVM_FPM=${KVM_FPM:-$ROOT/build/kvm-fpm}
VARNISH_PORT=${VARNISH_PORT:-8090}
VARNISH_PROXY_PORT=${VARNISH_PROXY_PORT:-8098}
export KVM_FPM VARNISH_PORT VARNISH_PROXY_PORT

die() {
	echo "make cluster: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "network namespaces need root"
[ -x "$KVM_FPM" ] || die "$KVM_FPM is missing: run make first"
for tool in nginx varnishd etcd curl ip; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (scripts/deps.sh installs it)"
done
[ -w /dev/kvm ] || die "/dev/kvm is missing or not writable"
# shellcheck source=deploy/cluster.sh
. deploy/cluster.sh
ip link show "${CLUSTER_NAME}br" >/dev/null 2>&1 &&
	die "${CLUSTER_NAME}br exists: is another make cluster running? (CLUSTER_NAME=other CLUSTER_NET=10.78.0 for a second one)"

# Programs and etcd's data are the previous run's, except what a new
# etcd cluster cannot reuse.
rm -rf "${CLUSTER_DIR:?}"/node* "${CLUSTER_DIR:?}"/etcd* "${CLUSTER_DIR:?}/front" \
	"${CLUSTER_DIR:?}"/*.out

stop() {
	trap '' INT TERM HUP
	trap - EXIT
	echo
	echo "make cluster: stopping"
	cluster_stop
	echo "make cluster: stopped"
	exit "${1:-0}"
}
trap 'stop 0' INT TERM HUP
trap 'stop 1' EXIT

echo "make cluster: $CLUSTER_NODES nodes in $CLUSTER_DIR"
cluster_start "$CLUSTER_DIR" || { echo "make cluster: the fleet did not start" >&2; exit 1; }

V=http://127.0.0.1:$VARNISH_PORT
cat <<EOF

The fleet is up: Varnish :$VARNISH_PORT -> $CLUSTER_NODES nodes (nginx :8081 -> kvm-fpm), etcd on the first $(cluster_members)

Through Varnish:  $V/x  $V/z  curl -s $V/kvm-fpm/status
Each node:
EOF
for i in $(seq "$CLUSTER_NODES"); do
	echo "  node $i: http://$(cluster_addr "$i"):8081/  (namespace $(cluster_ns "$i"); logs in $CLUSTER_DIR/node$i)"
done
cat <<EOF
Live update, reaching every node (keys in $CLUSTER_DIR/keys):
  curl -H "Host: xpizza.com" -H "X-LiveUpdate: \$(cat $CLUSTER_DIR/keys/xpizza.com.key)" \\
       --data-binary @PROGRAM $V/
Health of the nodes, as Varnish sees it:
  varnishadm -n $CLUSTER_DIR/front/varnish backend.list
A node's crash: ip netns pids $(cluster_ns 1) | xargs kill -9
Ctrl-C stops everything.
EOF

# Watch: stop when our parent (make) is gone.
parent=$PPID
while kill -0 "$parent" 2>/dev/null; do
	sleep 1
done
stop 0
