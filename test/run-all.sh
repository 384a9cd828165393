#!/bin/sh
# Run every test suite: unit and guest tests, plain and under ASan/UBSan,
# the fuzzers briefly, the format and header checks and the black-box
# suites.
#
#   test/run-all.sh [BUILD_DIR [all|host|kvm|vm]]
#
# "host" runs what needs no KVM, "kvm" what does, "all" (the default)
# both; "vm" runs the KVM suites in the emulated VM below.  Where /dev/kvm cannot be opened (a KVM-PVM guest cannot host KVM,
# see README "Testing without /dev/kvm"), "all" runs the KVM suites in a
# QEMU machine whose emulated CPU has AMD SVM (scripts/in-kvm-vm.sh): real
# KVM, only slower.  KVM_FPM_TEST_VM=no skips that VM, and the KVM suites
# then skip (or fail, when CI=true) as each of them says.
#
# Prints a summary: the count of suites, then each failed suite with the
# lines of its output that say what failed (CI shows only the end of a
# run's output); exits non-zero when any suite failed.
set -u
B=${1:-build}
PART=${2:-all}
failed=0
passed=0
R=$B/kvm-results
# Each suite's output, kept for the summary of the failed ones.
L=$B/test-logs
FAILED=$L/failed
if [ "$PART" != kvm-list ]; then
	rm -rf "$L"
	mkdir -p "$L"
	: >"$FAILED"
fi

count() { # STATUS NAME [LOG]: count one suite
	if [ "$1" = 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		printf '%s\t%s\n' "$2" "${3:-}" >>"$FAILED"
	fi
}

# What a failed suite's log says of its failures: Criterion's failed
# assertions and tests, TAP's "not ok" lines, crashes, and the last lines.
why_failed() { # LOG
	[ -f "$1" ] || {
		echo "   (no output kept)"
		return
	}
	grep -E 'not ok|\[FAIL\]|\[----\].*:[0-9]+:|CRASH|[Cc]rash|Assert|panic|Timed out|hung|SUMMARY' "$1" |
		grep -v 'Test is disabled' | head -n 40 | cut -c 1-300 | sed 's/^/   /'
	echo "   ... its last lines:"
	tail -n 8 "$1" | cut -c 1-300 | sed 's/^/   /'
}

summary() {
	echo "suites: $passed passed, $failed failed"
	[ -s "$FAILED" ] || return 0
	echo "== failed suites (whole logs in $L):"
	while IFS="$(printf '\t')" read -r name log; do
		echo "-- $name"
		why_failed "$log"
	done <"$FAILED"
	echo "suites: $passed passed, $failed failed"
}

# Runs CMD with its output shown and kept in LOG; returns CMD's status.
logged() { # LOG CMD...
	log=$1
	shift
	{
		"$@" 2>&1
		echo $? >"$log.status"
	} | tee "$log"
	return "$(cat "$log.status")"
}

suite() { # NAME CMD...: run one suite, count it
	name=$1
	echo "== $name"
	shift
	log=$L/$(printf '%s' "$name" | tr -c 'A-Za-z0-9_.-' '_').log
	logged "$log" "$@"
	count $? "$name" "$log"
}

# ASan cannot follow Criterion's forked workers' leak reports through KVM
# mappings reliably; leaks are checked in the plain build by valgrind
# separately when needed.
criterion() { ASAN_OPTIONS=detect_leaks=0 "$@" --jobs=2; }

host_part() {
	suite unit-plain criterion test/unit-all.sh "$B/test/unit-plain"
	suite unit-san criterion test/unit-all.sh "$B/test/unit-san"
	# The libFuzzer harnesses, briefly, over their stored corpus (make
	# fuzz runs them for minutes).
	suite "fuzz (brief)" test/fuzz/run.sh brief "$B"
	# The tree is kept formatted with its .clang-format (make format).
	suite format make -s check-format
	# The tour's first step, `make` in a clean clone, for test-tour.sh:
	# here rather than in the emulated VM, where it takes many minutes.
	suite test/blackbox/tour-clone.sh sh test/blackbox/tour-clone.sh "$B"
	# `make -j` compiles nothing before the deps script has ended.
	suite test/blackbox/deps-first.sh sh test/blackbox/deps-first.sh "$B"
	# Every header compiles alone and included twice (make check-headers).
	suite headers make -s check-headers
	# kvm-core's and the server's objects call one another in layers,
	# never round (make check-layers).
	suite layers make -s check-layers
}

# KVM_FPM_SUITES (names as below, space-separated) picks some of them.
kvm_suites() {
	if [ -n "${KVM_FPM_SUITES:-}" ]; then
		printf '%s\n' $KVM_FPM_SUITES
		return
	fi
	echo guest-plain
	echo guest-san
	for s in test/blackbox/test-*.sh; do
		[ -e "$s" ] && echo "$s"
	done
}

# The guest suites one Criterion suite at a time (guest-san:hostile), so
# that a hang of the emulated VM costs a rerun of that part only.
split_guest() {
	while read -r s; do
		case $s in
		guest-plain | guest-san)
			"$B/test/$s" --list |
				sed -n "s/^\([A-Za-z0-9_]*\): [0-9]* tests*\$/$s:\1/p"
			;;
		*) echo "$s" ;;
		esac
	done
}

run_kvm_suite() { # NAME
	case $1 in
	# In the emulated VM each test is named as it starts, so that a hang
	# shows where it was.
	guest-*:*)
		# --verbose also lists every test the filter left out.
		{
			criterion "$B/test/${1%%:*}" --filter "${1#*:}/*" \
				${IN_KVM_VM:+--verbose} 2>&1
			echo $? >"$R/status"
		} | grep --line-buffered -v 'Test is disabled$'
		return "$(cat "$R/status")"
		;;
	guest-*) criterion "$B/test/$1" ${IN_KVM_VM:+--verbose} ;;
	*) sh "$1" "$B" ;;
	esac
}

kvm_usable() { [ -c /dev/kvm ] && : 2>/dev/null </dev/kvm; }

# ---- The KVM suites in emulated VMs, for a machine without /dev/kvm.
# Inside (kvm-list FILE): each suite of FILE in turn; $R/current names the
# one running, $R/done.N holds the status of the Nth, and $R/beat counts
# up every 10 s while the VM lives.  Outside: one VM for all of them.
# Should the emulator hang, the VM is stopped once its heartbeat has
# stood still for KVM_FPM_VM_STALL seconds (default 240), once one of its
# vCPUs has stood at one user-mode instruction for KVM_FPM_VM_SPIN
# seconds (default 300: now and then a vCPU under TCG never leaves a
# tenant's `jmp .` loop, not even for an interrupt or an NMI, while the
# other vCPU keeps the heartbeat going; no test lets a tenant spin that
# long on one instruction, every sample in user mode), or once a suite
# has run for KVM_FPM_SUITE_LIMIT seconds (default 1500).  That suite is
# run once more in a new VM and the rest go on.  A suite that fails is
# retried only when its failure is one of the emulator's own breaks
# (emulator_broke), once the list is through; each suite gets one second
# chance, whether it hung or broke, and counts as failed after that.
kvm_list() { # FILE
	IN_KVM_VM=1
	(
		i=0
		while :; do
			i=$((i + 1))
			echo "$i" >"$R/beat"
			sleep 10
		done
	) &
	beat=$!
	n=0
	while read -r s; do
		n=$((n + 1))
		echo "$n $s" >"$R/current"
		echo "== $s"
		t0=$(date +%s)
		logged "$R/out.$n" run_kvm_suite "$s"
		st=$?
		echo "== $s: status $st after $(($(date +%s) - t0)) s"
		echo "$st" >"$R/done.$n"
	done <"$1"
	rm -f "$R/current"
	kill "$beat"
}

# The vCPUs that stand in user mode, running: "CPU:RIP ..." (or nothing).
vm_user_cpus() {
	[ -s "$R/vm-run" ] || return 0
	python3 scripts/vm-cpus.py "$(cat "$R/vm-run")/monitor" |
		awk '$2 == 3 && $4 == 0 { printf "%s:%s ", $1, $3 }'
}

# Why the VM of this round counts as hung, or nothing; T is now.
vm_stuck() {
	if [ $((T - since)) -gt "${KVM_FPM_SUITE_LIMIT:-1500}" ]; then
		echo "has run '${seen#* }' for over ${KVM_FPM_SUITE_LIMIT:-1500} s"
	elif [ -n "$beat" ] &&
		[ $((T - beat_at)) -gt "${KVM_FPM_VM_STALL:-240}" ]; then
		echo "has shown no sign of life for ${KVM_FPM_VM_STALL:-240} s" \
			"(in '${seen#* }')"
	elif [ -n "$spin" ] &&
		[ $((T - spin_at)) -gt "${KVM_FPM_VM_SPIN:-300}" ]; then
		echo "has had a vCPU at user RIP ($spin) for over" \
			"${KVM_FPM_VM_SPIN:-300} s (in '${seen#* }')"
	fi
}

# One VM over the suites in $R/todo; sets HUNG to "N SUITE" for the suite
# it was stopped in ("0 boot" before the first, "" when none) and counts
# every suite that ended.
vm_round() {
	rm -f "$R"/done.* "$R"/out.* "$R/current" "$R/beat" "$R/vm-run"
	# A session of its own, so that a hung VM can be stopped whole (GNU
	# timeout in in-kvm-vm.sh puts QEMU in a process group of its own).
	KVM_FPM_TEST_TIME_SCALE=${KVM_FPM_TEST_TIME_SCALE:-30} \
		KVM_VM_MEM=${KVM_VM_MEM:-8192} KVM_VM_RUN_FILE=$R/vm-run \
		setsid scripts/in-kvm-vm.sh test/run-all.sh "$B" kvm-list "$R/todo" &
	vm=$!
	T=$(date +%s)
	seen="" since=$T beat="" beat_at=$T spin="" spin_at=$T
	HUNG=""
	while kill -0 "$vm" 2>/dev/null; do
		sleep 5
		T=$(date +%s)
		now=$(cat "$R/current" 2>/dev/null || echo "0 boot")
		[ "$now" != "$seen" ] && seen=$now since=$T
		b=$(cat "$R/beat" 2>/dev/null || true)
		[ "$b" != "$beat" ] && beat=$b beat_at=$T
		# The same vCPUs at the same user RIPs as at every sample since
		# spin_at (a sample that differs starts again).
		u=$(vm_user_cpus)
		[ "$u" != "$spin" ] && spin=$u spin_at=$T
		why=$(vm_stuck)
		if [ -n "$why" ]; then
			echo "== the VM $why: stopping it"
			HUNG=$seen
			pkill -TERM -s "$vm"
			sleep 5
			pkill -KILL -s "$vm"
			break
		fi
	done
	wait "$vm"
	rc=$?
	# A VM that died without a hang (e.g. at boot) stopped at its current
	# suite just the same.
	[ -z "$HUNG" ] && [ -f "$R/current" ] && HUNG=$(cat "$R/current")
	[ -z "$HUNG" ] && [ "$rc" = 125 ] && [ ! -f "$R/done.1" ] && HUNG="0 boot"
	i=0
	while read -r s; do
		i=$((i + 1))
		[ -f "$R/done.$i" ] || continue
		k=$(ls "$L" | wc -l)
		cp "$R/out.$i" "$L/vm.$k.log" 2>/dev/null
		st=$(cat "$R/done.$i")
		if [ "$st" != 0 ] && emulator_broke "$L/vm.$k.log" &&
			! once_more "$s"; then
			echo "== $s: failed on the emulator's own break" \
				"($(emulator_broke "$L/vm.$k.log")); once more in a new VM"
			echo "$s" >>"$R/again"
			continue
		fi
		count "$st" "$s" "$L/vm.$k.log"
	done <"$R/todo"
}

# The emulator's own breaks (README, "Testing without /dev/kvm"): a
# triple fault, which SVM reports at the reset vector, as a failed
# assertion reports it; or a request stopped at an upper-half RIP, where
# no tenant VM maps anything, anywhere in the log (a black-box suite's
# kvm-fpm log: such a stall can fail a check about another request, one
# that waited behind it).  Prints the first such line; 1 when none.
emulator_broke() { # LOG
	{
		grep -E '^\[----\]|^not ok' "$1" |
			grep -oE 'triple fault at RIP 0xfff0'
		grep -oE 'timed out after [0-9.]+s at RIP 0xffff[0-9a-f]{12}' "$1"
	} 2>/dev/null | head -n 1 | grep .
}

# Whether SUITE already had its second chance (a hang or a break); notes
# that it has one now.
once_more() { # SUITE
	case " $retried " in
	*" $1 "*) return 0 ;;
	esac
	retried="$retried $1"
	return 1
}

kvm_in_vms() {
	mkdir -p "$R"
	kvm_suites | split_guest >"$R/todo"
	: >"$R/again"
	retried=""
	while [ -s "$R/todo" ] || [ -s "$R/again" ]; do
		# Suites that failed on the emulator's break, once the list is
		# through.
		if [ ! -s "$R/todo" ]; then
			mv "$R/again" "$R/todo"
			: >"$R/again"
		fi
		vm_round
		if [ -z "$HUNG" ]; then
			: >"$R/todo"
			continue
		fi
		n=${HUNG%% *}
		name=${HUNG#* }
		# The rest of the list, from the suite that hung on.
		if [ "$n" = 0 ]; then
			cp "$R/todo" "$R/rest"
		else
			tail -n +"$n" "$R/todo" >"$R/rest"
		fi
		if once_more "$name"; then
			echo "not ok - $name: the emulated VM hung in it, after a first chance"
			count 1 "$name (the emulated VM hung in it, after a first chance)"
			[ "$n" = 0 ] && break # it cannot boot: give up
			tail -n +2 "$R/rest" >"$R/todo"
		else
			echo "== $name: the emulated VM hung; once more in a new VM"
			mv "$R/rest" "$R/todo"
		fi
	done
}

case $PART in
host) host_part ;;
kvm)
	for s in $(kvm_suites); do
		suite "$s" run_kvm_suite "$s"
	done
	;;
kvm-list) kvm_list "$3" ;;
vm) kvm_in_vms ;;
all)
	host_part
	if kvm_usable || [ "${KVM_FPM_TEST_VM:-yes}" = no ]; then
		for s in $(kvm_suites); do
			suite "$s" run_kvm_suite "$s"
		done
	else
		echo "== no usable /dev/kvm here: the KVM suites run in an" \
			"emulated AMD SVM machine (scripts/in-kvm-vm.sh)"
		kvm_in_vms
	fi
	;;
*)
	echo "usage: $0 [BUILD_DIR [all|host|kvm|vm]]" >&2
	exit 2
	;;
esac
[ "$PART" = kvm-list ] && exit 0
summary
[ "$failed" = 0 ]
