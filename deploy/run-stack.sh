#!/bin/sh
# `make run`: start kvm-fpm, nginx and Varnish on loopback.  The daemon and
# the stack are not built yet (issues 3 and 4); say so plainly.
echo "make run: the FastCGI daemon and the nginx/Varnish stack are not" >&2
echo "built yet. Try a tenant directly:" >&2
echo "  build/kvm-fpm run tenant-sdk/examples/hello /" >&2
exit 1
