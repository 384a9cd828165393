#!/bin/sh
# Run every test suite: unit and guest tests, plain and under ASan/UBSan,
# the fuzzers briefly, the format check and the black-box suites.
#
#   test/run-all.sh [BUILD_DIR [all|host|kvm]]
#
# "host" runs what needs no KVM, "kvm" what does, "all" (the default)
# both.  Where /dev/kvm cannot be opened (a KVM-PVM guest cannot host KVM,
# see README "Testing without /dev/kvm"), "all" runs the KVM suites in a
# QEMU machine whose emulated CPU has AMD SVM (scripts/in-kvm-vm.sh): real
# KVM, only slower.  KVM_FPM_TEST_VM=no skips that VM, and the KVM suites
# then skip (or fail, when CI=true) as each of them says.
#
# Prints one summary line; exits non-zero when any suite failed.
set -u
B=${1:-build}
PART=${2:-all}
failed=0
passed=0

suite() { # NAME CMD...: run one suite, count it
	echo "== $1"
	shift
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

# ASan cannot follow Criterion's forked workers' leak reports through KVM
# mappings reliably; leaks are checked in the plain build by valgrind
# separately when needed.
criterion() { ASAN_OPTIONS=detect_leaks=0 "$@" --jobs=2; }

host_part() {
	suite unit-plain criterion "$B/test/unit-plain"
	suite unit-san criterion "$B/test/unit-san"
	# The libFuzzer harnesses, briefly, over their stored corpus (make
	# fuzz runs them for minutes).
	suite "fuzz (brief)" test/fuzz/run.sh brief "$B"
	# The tree is kept formatted with its .clang-format (make format).
	suite format make -s check-format
	# The tour's first step, `make` in a clean clone, for test-tour.sh:
	# here rather than in the emulated VM, where it takes many minutes.
	suite test/blackbox/tour-clone.sh sh test/blackbox/tour-clone.sh "$B"
	# Every header compiles alone and included twice (make check-headers).
	suite headers make -s check-headers
}

kvm_part() {
	suite guest-plain criterion "$B/test/guest-plain"
	suite guest-san criterion "$B/test/guest-san"
	for s in test/blackbox/test-*.sh; do
		[ -e "$s" ] || continue
		suite "$s" sh "$s" "$B"
	done
}

kvm_usable() { [ -c /dev/kvm ] && : 2>/dev/null </dev/kvm; }

case $PART in
host) host_part ;;
kvm)
	kvm_part
	# For the caller outside the VM (below), which cannot see our
	# variables.
	echo "$passed $failed" >"$B/run-all.kvm"
	;;
all)
	host_part
	if kvm_usable || [ "${KVM_FPM_TEST_VM:-yes}" = no ]; then
		kvm_part
	else
		echo "== no usable /dev/kvm here: the KVM suites run in an" \
			"emulated AMD SVM machine (scripts/in-kvm-vm.sh)"
		rm -f "$B/run-all.kvm"
		# Everything in it is emulated, tenants twice over: a request
		# takes tens of times longer, and the tests whose time limits
		# only bound a request that ends by itself stretch them.
		KVM_FPM_TEST_TIME_SCALE=${KVM_FPM_TEST_TIME_SCALE:-30} \
			KVM_VM_MEM=${KVM_VM_MEM:-8192} \
			KVM_VM_TIMEOUT=${KVM_VM_TIMEOUT:-3600} \
			scripts/in-kvm-vm.sh test/run-all.sh "$B" kvm
		rc=$?
		if [ -f "$B/run-all.kvm" ]; then
			read -r p f <"$B/run-all.kvm"
			passed=$((passed + p))
			failed=$((failed + f))
		else
			echo "not ok - the KVM suites' VM ended without a result (exit $rc)"
			failed=$((failed + 1))
		fi
	fi
	;;
*)
	echo "usage: $0 [BUILD_DIR [all|host|kvm]]" >&2
	exit 2
	;;
esac
echo "suites: $passed passed, $failed failed"
[ "$failed" = 0 ]
