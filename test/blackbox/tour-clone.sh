#!/bin/sh
# The first step of the README's tour, which needs no KVM: `make` in a
# clean clone of this repository (its committed HEAD), into BUILD/tour-clone.
# test-tour.sh then follows the rest of the tour in that clone.  Run on the
# machine itself by test/run-all.sh, so that where the KVM suites run in an
# emulated VM the clone is not compiled there (tens of times slower).
#
#   test/blackbox/tour-clone.sh [BUILD_DIR]
set -u
B=${1:-build}
C=$(pwd)/$B/tour-clone
rm -rf "$C" "$C.make-status"
if ! git clone -q "$(pwd)" "$C"; then
	echo "not ok - git clone"
	echo "0 passed, 1 failed"
	exit 1
fi
# As a newcomer's shell would be: nothing of the test harness's choosing.
(cd "$C" && env -u KVM_FPM -u RUN_DIR -u KVM_FPM_URL -u KVM_FPM_KEY \
	-u KVM_FPM_KEY_FILE make) >"$C.make-out" 2>&1
rc=$?
# What the README says plain `make` builds: the server and the SDK.
for f in build/kvm-fpm tenant-sdk/lib/libkvmfpm.a tenant-sdk/examples/hello; do
	[ "$rc" = 0 ] && [ ! -x "$C/$f" ] && [ ! -f "$C/$f" ] && {
		echo "make built no $f" >>"$C.make-out"
		rc=1
	}
done
echo "$rc" >"$C.make-status"
if [ "$rc" = 0 ]; then
	echo "ok - make in a clean clone"
	echo "1 passed, 0 failed"
else
	tail -30 "$C.make-out"
	echo "not ok - make in a clean clone (exit $rc)"
	echo "0 passed, 1 failed"
fi
[ "$rc" = 0 ]
