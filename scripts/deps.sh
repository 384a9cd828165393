#!/bin/sh
# Install the Debian packages kvm-fpm needs to build, test and run, and say
# which ones were missing. Idempotent: does nothing when all are present.
set -eu

PKGS="build-essential pkg-config libfcgi-dev libfcgi-bin linux-libc-dev \
libelf-dev libinih-dev libcriterion-dev libseccomp-dev libcap-dev \
musl-tools file \
nginx varnish hitch spawn-fcgi openssl curl gdb wrk python3 \
zlib1g-dev libsqlite3-dev liblua5.4-dev libjansson-dev"
# clang and its runtimes build the libFuzzer harnesses (make fuzz, make test).
PKGS="$PKGS clang-14 libclang-rt-14-dev"
# The sqlite3 shell builds the menu example's database from its SQL.
PKGS="$PKGS sqlite3"
# make check-format, one of make test's suites.
PKGS="$PKGS clang-format"
# program_store = etcd: libcurl for etcd's JSON gateway; etcd itself for
# the tests (and for a node that runs its own member).
PKGS="$PKGS libcurl4-openssl-dev etcd-server"
# test/blackbox/test-answer-first.sh reads the order of a worker's calls.
PKGS="$PKGS strace"
# The other front ends test/blackbox/test-frontends.sh runs kvm-fpm behind
# (ab, from apache2-utils, is its keep-alive load).
PKGS="$PKGS apache2 apache2-utils lighttpd h2o"
# make cluster and test/blackbox/test-cluster.sh: nodes in network
# namespaces, on veth pairs and a bridge.
PKGS="$PKGS iproute2"
[ "${KVM_FPM_BENCH_DEPS:-0}" = 1 ] && PKGS="$PKGS php-fpm fcgiwrap"

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# Started as root, kvm-fpm runs its workers as this user (`user` in the
# ini); `make run` and test/blackbox/test-privilege.sh use it.
if ! id -u kvm-fpm >/dev/null 2>&1; then
	echo "deps: creating the system user kvm-fpm (kvm-fpm's workers)"
	$SUDO useradd --system --user-group --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin kvm-fpm
fi

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing missing packages:$missing"
export DEBIAN_FRONTEND=noninteractive
# Debian's packages start their services on install; we run our own copies.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
