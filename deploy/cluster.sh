# Start and stop a fleet on this machine: N nodes, each a network namespace
# with an address of its own on one bridge and running nginx and kvm-fpm
# (program_store = etcd), a three-member etcd cluster in the first three
# nodes, and Varnish on the host in front of them all.  The files are the
# ones a real fleet uses (deploy/render.sh writes each node's, as for
# `make run`); only the machines are namespaces.  Sourced by
# deploy/run-cluster.sh (`make cluster`) and test/blackbox/test-cluster.sh;
# every name here starts with cluster_/CLUSTER_.  Needs root.
#
#   cluster_start DIR     set up the network and start everything, wait
#                         until each part answers; on failure say why,
#                         stop what started, return 1
#   cluster_stop          stop everything, remove the namespaces and bridge
#   cluster_node_stop I   SIGKILL node I's kvm-fpm and nginx (a crash)
#   cluster_node_start I  start them again; wait for kvm-fpm's "ready:"
#   cluster_link I up|down  connect or cut node I (its etcd member too)
#   cluster_addr I        node I's address
#
# Environment (defaults in brackets):
#   CLUSTER_NODES   how many nodes [3]
#   CLUSTER_NET     the first three octets of the fleet's /24 [10.77.0]
#   CLUSTER_NAME    prefix of the namespaces and links, at most 8
#                   characters [kvmfpm]
#   INI             the tenants, as for deploy/render.sh [etc/kvm-fpm.ini]
#   VARNISH_PORT, VARNISH_PROXY_PORT   Varnish on 127.0.0.1 [8090, 8098]
#   KVM_FPM         the server binary [build/kvm-fpm]

CLUSTER_ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$CLUSTER_ROOT/deploy/cluster.sh" ] || CLUSTER_ROOT=$(pwd)
CLUSTER_NODES=${CLUSTER_NODES:-3}
CLUSTER_NET=${CLUSTER_NET:-10.77.0}
CLUSTER_NAME=${CLUSTER_NAME:-kvmfpm}
CLUSTER_PIDS=""
CLUSTER_UP=0

cluster_addr() { echo "$CLUSTER_NET.$((10 + $1))"; }
cluster_ns() { echo "$CLUSTER_NAME$1"; }
cluster_members() {
	[ "$CLUSTER_NODES" -lt 3 ] && echo "$CLUSTER_NODES" || echo 3
}

# cluster_wait WHAT TRIES COMMAND...: until COMMAND succeeds (0.1 s apart)
cluster_wait() {
	CLUSTER_WHAT=$1 CLUSTER_TRIES=$2
	shift 2
	while [ "$CLUSTER_TRIES" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		CLUSTER_TRIES=$((CLUSTER_TRIES - 1))
	done
	echo "cluster: $CLUSTER_WHAT does not answer" >&2
	return 1
}

# cluster_run NAME NS CMD...: CMD in namespace NS (or the host's for "-"),
# in a session of its own, output to DIR/NAME.out; remembered as NAME.
cluster_run() {
	CLUSTER_N=$1 CLUSTER_IN=$2
	shift 2
	if [ "$CLUSTER_IN" = - ]; then
		setsid "$@" </dev/null >>"$CLUSTER_DIR/$CLUSTER_N.out" 2>&1 &
	else
		ip netns exec "$CLUSTER_IN" setsid "$@" \
			</dev/null >>"$CLUSTER_DIR/$CLUSTER_N.out" 2>&1 &
	fi
	CLUSTER_PIDS="$CLUSTER_PIDS $CLUSTER_N:$!"
}

# cluster_kill NAME: SIGKILL NAME's whole session (a daemon and its
# children: kvm-fpm's workers, nginx's)
cluster_kill() {
	for CLUSTER_P in $CLUSTER_PIDS; do
		[ "${CLUSTER_P%%:*}" = "$1" ] || continue
		pkill -KILL -s "${CLUSTER_P#*:}" 2>/dev/null
		wait "${CLUSTER_P#*:}" 2>/dev/null
	done
	CLUSTER_KEEP=""
	for CLUSTER_P in $CLUSTER_PIDS; do
		[ "${CLUSTER_P%%:*}" = "$1" ] || CLUSTER_KEEP="$CLUSTER_KEEP $CLUSTER_P"
	done
	CLUSTER_PIDS=$CLUSTER_KEEP
}

cluster_network() {
	CLUSTER_BR=${CLUSTER_NAME}br
	ip link add "$CLUSTER_BR" type bridge || return 1
	ip addr add "$CLUSTER_NET.1/24" dev "$CLUSTER_BR"
	ip link set "$CLUSTER_BR" up
	for CLUSTER_I in $(seq "$CLUSTER_NODES"); do
		CLUSTER_S=$(cluster_ns "$CLUSTER_I")
		ip netns add "$CLUSTER_S" || return 1
		ip link add "$CLUSTER_S" type veth peer name eth0 \
			netns "$CLUSTER_S" || return 1
		ip link set "$CLUSTER_S" master "$CLUSTER_BR" up
		ip -n "$CLUSTER_S" addr add "$(cluster_addr "$CLUSTER_I")/24" dev eth0
		ip -n "$CLUSTER_S" link set eth0 up
		ip -n "$CLUSTER_S" link set lo up
	done
}

cluster_link() {
	ip link set "$(cluster_ns "$1")" "$2"
}

cluster_etcd_start() {
	CLUSTER_PEERS=""
	for CLUSTER_I in $(seq "$(cluster_members)"); do
		CLUSTER_PEERS="$CLUSTER_PEERS${CLUSTER_PEERS:+,}e$CLUSTER_I=http://$(cluster_addr "$CLUSTER_I"):2380"
	done
	for CLUSTER_I in $(seq "$(cluster_members)"); do
		CLUSTER_A=$(cluster_addr "$CLUSTER_I")
		cluster_run "etcd$CLUSTER_I" "$(cluster_ns "$CLUSTER_I")" \
			etcd --name "e$CLUSTER_I" \
			--data-dir "$CLUSTER_DIR/etcd$CLUSTER_I" \
			--listen-client-urls "http://$CLUSTER_A:2379,http://127.0.0.1:2379" \
			--advertise-client-urls "http://$CLUSTER_A:2379" \
			--listen-peer-urls "http://$CLUSTER_A:2380" \
			--initial-advertise-peer-urls "http://$CLUSTER_A:2380" \
			--initial-cluster "$CLUSTER_PEERS" \
			--initial-cluster-token "$CLUSTER_NAME" \
			--initial-cluster-state new
	done
	for CLUSTER_I in $(seq "$(cluster_members)"); do
		cluster_wait "etcd on node $CLUSTER_I" 600 sh -c \
			"curl -sf http://$(cluster_addr "$CLUSTER_I"):2379/health | grep -q true" ||
			return 1
	done
}

# The etcd endpoints every node is given: all members, its own first.
cluster_endpoints() {
	CLUSTER_E=""
	[ "$1" -le "$(cluster_members)" ] && CLUSTER_E="http://127.0.0.1:2379"
	for CLUSTER_J in $(seq "$(cluster_members)"); do
		[ "$CLUSTER_J" = "$1" ] && continue
		CLUSTER_E="$CLUSTER_E${CLUSTER_E:+,}http://$(cluster_addr "$CLUSTER_J"):2379"
	done
	echo "$CLUSTER_E"
}

cluster_render() {
	CLUSTER_NODELIST=""
	for CLUSTER_I in $(seq "$CLUSTER_NODES"); do
		HITCH=0 NGINX_ADDR=$(cluster_addr "$CLUSTER_I") NGINX_PORT=8081 \
			VARNISH_FROM=$CLUSTER_NET.1 KEY_DIR=$CLUSTER_DIR/keys \
			KVM_FPM_SET="program_store=etcd etcd_endpoints=$(cluster_endpoints "$CLUSTER_I")" \
			sh "$CLUSTER_ROOT/deploy/render.sh" "$CLUSTER_DIR/node$CLUSTER_I" ||
			return 1
		CLUSTER_NODELIST="$CLUSTER_NODELIST $(cluster_addr "$CLUSTER_I"):8081"
	done
	HITCH=0 NODES=$CLUSTER_NODELIST KEY_DIR=$CLUSTER_DIR/keys \
		VARNISH_PORT=${VARNISH_PORT:-8090} \
		VARNISH_PROXY_PORT=${VARNISH_PROXY_PORT:-8098} \
		sh "$CLUSTER_ROOT/deploy/render.sh" "$CLUSTER_DIR/front"
}

cluster_node_start() {
	CLUSTER_D=$CLUSTER_DIR/node$1
	CLUSTER_S=$(cluster_ns "$1")
	rm -f "$CLUSTER_D/kvm-fpm.sock"
	CLUSTER_READY=$(grep -c "ready:" "$CLUSTER_D/kvm-fpm.log" 2>/dev/null)
	cluster_run "kvm-fpm$1" "$CLUSTER_S" "$CLUSTER_D/bin/kvm-fpm"
	cluster_wait "kvm-fpm on node $1" 1500 sh -c \
		"[ \"\$(grep -c 'ready:' '$CLUSTER_D/kvm-fpm.log')\" -gt ${CLUSTER_READY:-0} ]" ||
		return 1
	cluster_run "nginx$1" "$CLUSTER_S" "$CLUSTER_D/bin/nginx"
	cluster_wait "nginx on node $1" 300 curl -s -o /dev/null \
		"http://$(cluster_addr "$1"):8081/kvm-fpm/ping"
}

cluster_node_stop() {
	cluster_kill "nginx$1"
	cluster_kill "kvm-fpm$1"
}

cluster_start() {
	mkdir -p "$1"
	CLUSTER_DIR=$(cd "$1" && pwd)
	CLUSTER_UP=1
	cluster_network || { echo "cluster: network setup failed" >&2; cluster_stop; return 1; }
	cluster_render >"$CLUSTER_DIR/render.out" 2>&1 ||
		{ cat "$CLUSTER_DIR/render.out" >&2; cluster_stop; return 1; }
	cluster_etcd_start || { cluster_stop; return 1; }
	for CLUSTER_I in $(seq "$CLUSTER_NODES"); do
		cluster_node_start "$CLUSTER_I" || { cluster_stop; return 1; }
	done
	cluster_run varnishd - "$CLUSTER_DIR/front/bin/varnishd"
	cluster_wait varnishd 300 curl -sf -o /dev/null \
		"http://127.0.0.1:${VARNISH_PORT:-8090}/kvm-fpm/ping" ||
		{ cluster_stop; return 1; }
}

cluster_stop() {
	[ "$CLUSTER_UP" = 1 ] || return 0
	for CLUSTER_P in $CLUSTER_PIDS; do
		pkill -TERM -s "${CLUSTER_P#*:}" 2>/dev/null
	done
	sleep 1
	for CLUSTER_P in $CLUSTER_PIDS; do
		pkill -KILL -s "${CLUSTER_P#*:}" 2>/dev/null
		wait "${CLUSTER_P#*:}" 2>/dev/null
	done
	CLUSTER_PIDS=""
	for CLUSTER_I in $(seq "$CLUSTER_NODES"); do
		ip netns del "$(cluster_ns "$CLUSTER_I")" 2>/dev/null
	done
	ip link del "${CLUSTER_NAME}br" 2>/dev/null
	CLUSTER_UP=0
}
