#!/bin/sh
# Write the configuration of a loopback stack (kvm-fpm, nginx, Varnish,
# hitch) into a run directory, from the files in etc/ and deploy/ with only
# ports and paths changed.  Used by `make run` (deploy/run-stack.sh) and
# the end-to-end test (test/blackbox/test-stack.sh); deploy/stack.sh starts
# what it wrote.
#
# usage: deploy/render.sh DIR
# Environment (defaults in brackets):
#   INI                 the tenants [etc/kvm-fpm.ini]
#   KVM_FPM             the server binary [build/kvm-fpm]
#   VARNISH_PORT        HTTP, Varnish [8080]
#   VARNISH_PROXY_PORT  PROXY protocol, Varnish, for hitch [8088]
#   NGINX_PORT          HTTP, nginx, Varnish's backend [8081]
#   HITCH_PORT          HTTPS, hitch [8443]
#   HITCH               1: with hitch, 0: without [1 when installed]
#   DEBUG_PORT          kvm-fpm's debug_port, when set [the ini's]
#   NGINX_ADDR          the address nginx listens on [127.0.0.1]
#   VARNISH_FROM        the address Varnish connects to nginx from, whose
#                       X-Forwarded-For nginx trusts [127.0.0.1]
#   NODES               the nodes Varnish spreads requests over, as
#                       ADDR:PORT words [127.0.0.1:NGINX_PORT]
#   KEY_DIR             the live-update keys, shared by a fleet [DIR/keys]
#   KVM_FPM_SET         more of kvm-fpm's settings, as KEY=VALUE words
#                       (program_store=etcd, etcd_endpoints=...) [none]
#   WORKER_USER         whom workers run as: a user, root, or empty for the
#                       caller [kvm-fpm as root, when it can reach DIR]
# Everything listens on 127.0.0.1 (nginx on NGINX_ADDR).  kvm-fpm serves
# INI itself (SIGHUP reloads it), with what moves into DIR given by -d.
# Writes KEY_DIR/ (each tenant's live-update key, generated when the ini
# sets none), DIR/nginx/, DIR/varnish.vcl and DIR/nodes.vcl,
# DIR/hitch.conf, DIR/tls/ (a self-signed certificate, kept when present),
# DIR/stack.env (the ports) and DIR/bin/NAME: one script per daemon that
# execs it in the foreground.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# = 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
INI=${INI:-$ROOT/etc/kvm-fpm.ini}
KVM_FPM=${KVM_FPM:-$ROOT/build/kvm-fpm}
VARNISH_PORT=${VARNISH_PORT:-8080}
VARNISH_PROXY_PORT=${VARNISH_PROXY_PORT:-8088}
NGINX_PORT=${NGINX_PORT:-8081}
HITCH_PORT=${HITCH_PORT:-8443}
if [ -z "${HITCH:-}" ]; then
	if command -v hitch >/dev/null 2>&1; then HITCH=1; else HITCH=0; fi
fi
DEBUG_PORT=${DEBUG_PORT:-}
NGINX_ADDR=${NGINX_ADDR:-127.0.0.1}
VARNISH_FROM=${VARNISH_FROM:-127.0.0.1}
NODES=${NODES:-127.0.0.1:$NGINX_PORT}
KEY_DIR=${KEY_DIR:-$DIR/keys}
KVM_FPM_SET=${KVM_FPM_SET:-}

# The generated scripts quote paths with '...'.
case "$DIR$ROOT$KVM_FPM$KEY_DIR" in
*"'"* | *'"'*) echo "render: quotes in a path: $DIR" >&2; exit 1 ;;
esac
# Started as root, kvm-fpm runs its workers as the kvm-fpm user
# (scripts/deps.sh creates it) when that user can reach DIR, where
# program_dir and the logs are; else as root without capabilities.
# Not started as root, workers run as the caller, whatever the ini says.
if [ -z "${WORKER_USER+set}" ]; then
	if [ "$(id -u)" != 0 ]; then
		WORKER_USER=""
	elif id -u kvm-fpm >/dev/null 2>&1 &&
		runuser -u kvm-fpm -- test -x "$DIR"; then
		WORKER_USER=kvm-fpm
	else
		echo "render: no kvm-fpm user that can reach $DIR:" \
			"workers run as root (without capabilities)" >&2
		WORKER_USER=root
	fi
fi

# subst FROM TO [FROM TO...] <IN >OUT: replace literal strings (no regex).
subst() {
	awk 'BEGIN { for (i = 1; i < ARGC; i += 2) { from[i] = ARGV[i]; to[i] = ARGV[i + 1] }
	             n = ARGC; ARGC = 1 }
	{ for (i = 1; i < n; i += 2) {
		out = ""; s = $0
		while ((p = index(s, from[i])) > 0) {
			out = out substr(s, 1, p - 1) to[i]
			s = substr(s, p + length(from[i]))
		}
		$0 = out s
	  }
	  print }' "$@"
}

mkdir -p "$DIR/bin" "$DIR/nginx/tmp" "$DIR/tls" "$DIR/programs"

# ---- live-update keys: a tenant without a key gets a random one, kept in
# DIR/keys/HOST.key across runs; kvm-fpm reads them there (key_dir), and
# so does tenant-sdk/build_and_upload.sh, for which a key the ini sets is
# copied there too.
mkdir -p "$KEY_DIR"
chmod 700 "$KEY_DIR"
for h in $(awk '/^[ \t]*\[tenant:/ { s = $0; sub(/^[ \t]*\[tenant:/, "", s); sub(/\].*/, "", s); print s }' "$INI"); do
	[ -s "$KEY_DIR/$h.key" ] ||
		(umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$KEY_DIR/$h.key")
done
awk -v keys="$KEY_DIR" '
/^[ \t]*\[/ {
	name = ""
	if ($0 ~ /^[ \t]*\[tenant:/) {
		name = $0
		sub(/^[ \t]*\[tenant:/, "", name)
		sub(/\].*/, "", name)
	}
}
name != "" && /^[ \t]*key[ \t]*=/ {
	k = $0
	sub(/^[^=]*=[ \t]*/, "", k)
	sub(/[ \t]+;.*$/, "", k)
	printf "%s", k >(keys "/" name ".key")
}
' "$INI"
# A previous version of this script wrote a copy of the ini here.
rm -f "$DIR/kvm-fpm.ini"

# ---- nginx: the deploy server blocks, inside a main config of our own
for f in kvm-fpm kvm-fpm-tcp kvm-fpm-scgi; do
	subst "unix:/run/kvm-fpm/kvm-fpm.sock" "unix:$DIR/kvm-fpm.sock" \
		"127.0.0.1:8081" "$NGINX_ADDR:$NGINX_PORT" \
		"set_real_ip_from 127.0.0.1;" "set_real_ip_from $VARNISH_FROM;" \
		<"$ROOT/deploy/nginx/$f.conf" >"$DIR/nginx/$f.conf"
done
cp /etc/nginx/fastcgi_params /etc/nginx/scgi_params "$DIR/nginx/"
N=$DIR/nginx
{
	echo "# Generated by deploy/render.sh: nginx for the loopback stack."
	# As root, nginx's workers would otherwise be nobody, who may not
	# open kvm-fpm's 0660 socket.
	[ "$(id -u)" = 0 ] && echo "user root;"
	cat <<NGX
worker_processes 2;
daemon off;
pid "$N/nginx.pid";
error_log "$N/error.log" warn;
events { worker_connections 512; }
http {
	access_log "$N/access.log";
	client_body_temp_path "$N/tmp/body";
	fastcgi_temp_path "$N/tmp/fastcgi";
	scgi_temp_path "$N/tmp/scgi";
	proxy_temp_path "$N/tmp/proxy";
	uwsgi_temp_path "$N/tmp/uwsgi";
	include kvm-fpm.conf;
}
NGX
} >"$N/nginx.conf"

# ---- Varnish: default.vcl as it is, and a nodes.vcl next to it with one
# backend per node, each like deploy/varnish/nodes.vcl's.
cp "$ROOT/deploy/varnish/default.vcl" "$DIR/varnish.vcl"
{
	echo "# Generated by deploy/render.sh: the nodes behind Varnish."
	i=0
	for node in $NODES; do
		i=$((i + 1))
		sed -n '/^backend node1 {/,/^}/p' "$ROOT/deploy/varnish/nodes.vcl" |
			subst "backend node1 {" "backend node$i {" \
				'.host = "127.0.0.1";' ".host = \"${node%:*}\";" \
				'.port = "8081";' ".port = \"${node##*:}\";"
	done
	echo "sub vcl_init {"
	for j in $(seq "$i"); do echo "	fleet.add_backend(node$j);"; done
	echo "}"
} >"$DIR/nodes.vcl"

# ---- hitch, and its certificate: for 127.0.0.1, localhost and the tenants
if [ "$HITCH" = 1 ]; then
	if [ ! -s "$DIR/tls/hitch.pem" ]; then
		san="IP:127.0.0.1,IP:::1,DNS:localhost"
		# shellcheck disable=SC2013 # host names are words
		for h in $(awk -F= '
			/^[ \t]*\[tenant:/ { s = $0; sub(/^[ \t]*\[tenant:/, "", s); sub(/\].*/, "", s); print s }
			/^[ \t]*aliases[ \t]*=/ { gsub(/,/, " ", $2); print $2 }' "$INI"); do
			san="$san,DNS:$h"
		done
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-nodes -days 825 -subj "/CN=kvm-fpm local stack" \
			-addext "subjectAltName=$san" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-keyout "$DIR/tls/key.pem" -out "$DIR/tls/cert.pem" 2>/dev/null
		cat "$DIR/tls/key.pem" "$DIR/tls/cert.pem" >"$DIR/tls/hitch.pem"
		chmod 600 "$DIR/tls/key.pem" "$DIR/tls/hitch.pem"
	fi
	mkdir -p "$DIR/hitch-ocsp"
	subst '"[127.0.0.1]:8443"' "\"[127.0.0.1]:$HITCH_PORT\"" \
		'"[127.0.0.1]:8088"' "\"[127.0.0.1]:$VARNISH_PROXY_PORT\"" \
		'"/etc/hitch/kvm-fpm.pem"' "\"$DIR/tls/hitch.pem\"" \
		'"/var/lib/hitch"' "\"$DIR/hitch-ocsp\"" \
		<"$ROOT/deploy/hitch/hitch.conf" >"$DIR/hitch.conf.tmp"
	# hitch drops root for its workers (to _hitch, or nobody where Debian's
	# user is missing); anyone else stays who they are.
	if [ "$(id -u)" != 0 ]; then
		sed '/^user = /d; /^group = /d' "$DIR/hitch.conf.tmp" >"$DIR/hitch.conf"
	elif ! getent passwd _hitch >/dev/null; then
		sed 's/^user = .*/user = "nobody"/; s/^group = .*/group = "nogroup"/' \
			"$DIR/hitch.conf.tmp" >"$DIR/hitch.conf"
	else
		cp "$DIR/hitch.conf.tmp" "$DIR/hitch.conf"
	fi
	rm "$DIR/hitch.conf.tmp"
fi

# ---- one script per daemon, each exec'ing it in the foreground
script() {
	{
		echo "#!/bin/sh"
		echo "# Generated by deploy/render.sh: $1 in the foreground."
		echo "exec $2 </dev/null >>'$DIR/$1.out' 2>&1"
	} >"$DIR/bin/$1"
	chmod +x "$DIR/bin/$1"
}
# kvm-fpm reads the ini itself, so that editing it and sending SIGHUP
# (kill -HUP $(cat DIR/kvm-fpm.pid)) reloads it; -d puts what moves into DIR
# over the file's values, on every reload too.  Relative program paths
# are the repository's: it runs in ROOT.
d() { printf ' \\\n\t-d %s=%s' "$1" "'$2'"; }
kvm_fpm_args="-F -c '$INI'$(d listen "$DIR/kvm-fpm.sock")$(d listen.owner "")\
$(d listen.group "")$(d scgi_listen off)$(d log "$DIR/kvm-fpm.log")\
$(d access_log "$DIR/access.log")$(d program_dir "$DIR/programs")\
$(d pid "$DIR/kvm-fpm.pid")$(d key_dir "$KEY_DIR")"
case $WORKER_USER in
root) kvm_fpm_args="$kvm_fpm_args$(d user "")$(d group "")$(d allow_run_as_root yes)" ;;
"") ;;
*) kvm_fpm_args="$kvm_fpm_args$(d user "$WORKER_USER")$(d group "")" ;;
esac
[ -n "$DEBUG_PORT" ] && kvm_fpm_args="$kvm_fpm_args$(d debug_port "$DEBUG_PORT")"
for kv in $KVM_FPM_SET; do
	kvm_fpm_args="$kvm_fpm_args$(d "${kv%%=*}" "${kv#*=}")"
done
{
	echo "#!/bin/sh"
	echo "# Generated by deploy/render.sh: kvm-fpm in the foreground."
	echo "cd '$ROOT' || exit 1"
	# printf, not echo: dash's echo would read the backslashes.
	printf '%s\n' "exec '$KVM_FPM' $kvm_fpm_args </dev/null >>'$DIR/kvm-fpm.out' 2>&1"
} >"$DIR/bin/kvm-fpm"
chmod +x "$DIR/bin/kvm-fpm"
script nginx "nginx -e '$N/error.log' -p '$N' -c '$N/nginx.conf'"
# -j none: run as the caller, so that the work directory may be anywhere.
script varnishd "varnishd -F -j none -n '$DIR/varnish' -f '$DIR/varnish.vcl' \
-a 127.0.0.1:$VARNISH_PORT -a 127.0.0.1:$VARNISH_PROXY_PORT,PROXY \
-T 127.0.0.1:0 -s malloc,64m"
[ "$HITCH" = 1 ] && script hitch "hitch --config='$DIR/hitch.conf'"

cat >"$DIR/stack.env" <<ENV
# Generated by deploy/render.sh: what deploy/stack.sh starts.
STACK_DIR='$DIR'
VARNISH_PORT=$VARNISH_PORT
VARNISH_PROXY_PORT=$VARNISH_PROXY_PORT
NGINX_PORT=$NGINX_PORT
HITCH_PORT=$HITCH_PORT
HITCH=$HITCH
ENV
