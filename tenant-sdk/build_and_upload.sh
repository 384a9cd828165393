#!/bin/sh
# build_and_upload.sh: make a tenant program live on a running kvm-fpm.
#
#   tenant-sdk/build_and_upload.sh HOSTNAME SOURCE.c|PROGRAM
#
# A .c file is compiled with kvm-fpm-cc (-O2); anything else is taken as a
# built program and sent as it is.  The program goes as the body of a POST
# to HOSTNAME with the header "X-LiveUpdate: KEY"; the server boots it,
# and only when main() succeeded does it replace the old one.
#
# Environment:
#   KVM_FPM_URL       where to POST [http://127.0.0.1:8080/, make run's Varnish]
#   KVM_FPM_KEY       the tenant's key (its `key` in the ini)
#   KVM_FPM_KEY_FILE  a file holding the key, when KVM_FPM_KEY is unset
#                     [build/run/keys/HOSTNAME.key, written by make run]
#   CFLAGS            extra flags for kvm-fpm-cc
#   LDLIBS            libraries, after the source (e.g. -lz for png.c)
# Prints the server's answer; exits 0 on 200, 1 on any refusal, 2 on usage.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
usage() {
	echo "usage: $0 HOSTNAME SOURCE.c|PROGRAM" >&2
	exit 2
}
[ $# = 2 ] || usage
host=$1
src=$2
case "$host" in
"" | */* | *" "*) echo "build_and_upload: bad host name: $host" >&2; exit 2 ;;
esac
[ -f "$src" ] || { echo "build_and_upload: no such file: $src" >&2; exit 2; }

url=${KVM_FPM_URL:-http://127.0.0.1:8080/}
key=${KVM_FPM_KEY:-}
if [ -z "$key" ]; then
	key_file=${KVM_FPM_KEY_FILE:-$here/../build/run/keys/$host.key}
	if [ ! -r "$key_file" ]; then
		echo "build_and_upload: no key: set KVM_FPM_KEY, or KVM_FPM_KEY_FILE (no $key_file)" >&2
		exit 1
	fi
	key=$(cat "$key_file")
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvm-fpm-upload.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
case "$src" in
*.c)
	prog=$tmp/program
	# shellcheck disable=SC2086
	"$here/bin/kvm-fpm-cc" -O2 ${CFLAGS:-} -o "$prog" "$src" ${LDLIBS:-} ||
		{ echo "build_and_upload: $src did not compile" >&2; exit 1; }
	;;
*) prog=$src ;;
esac

# The key goes in a header file, not on curl's command line (ps shows it).
printf 'X-LiveUpdate: %s\n' "$key" >"$tmp/headers"
status=$(curl -sS -o "$tmp/answer" -w '%{http_code}' -X POST \
	-H "Host: $host" -H "@$tmp/headers" \
	-H 'Content-Type: application/octet-stream' \
	--data-binary "@$prog" "$url") || {
	echo "build_and_upload: cannot reach $url" >&2
	exit 1
}
cat "$tmp/answer"
if [ "$status" != 200 ]; then
	echo "build_and_upload: $host refused the upload: HTTP $status" >&2
	exit 1
fi
