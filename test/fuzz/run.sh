#!/bin/sh
# Run the libFuzzer harnesses (B/fuzz/fuzz_*), one after the other.
#   run.sh brief B                  each over its stored corpus plus a few
#                                   thousand new inputs (make test)
#   run.sh long B SECONDS REQUESTS  each for SECONDS on a copy of its
#                                   corpus kept in B/fuzz/corpus, then the
#                                   guest fuzzer for REQUESTS (make fuzz)
# FUZZ_ONLY="scgi guest" runs only those (harness names, "guest").
# Prints one line per harness; exits non-zero when any found a crash.
set -u
mode=${1:?usage: run.sh brief|long B [SECONDS REQUESTS]}
B=${2:-build}
secs=${3:-180}
requests=${4:-20000}
# Enough new inputs to find a shallow bug, few enough for ~5 s each here.
BRIEF_RUNS=${FUZZ_BRIEF_RUNS:-10000}
failed=0

# Is this one asked for (all are when FUZZ_ONLY is empty)?
wanted() {
	case " ${FUZZ_ONLY:-$1} " in *" $1 "*) return 0 ;; esac
	return 1
}

# The last value of "key: N" in a libFuzzer log ("" when absent).
logstat() {
	sed -n "s/.*$1 *\([0-9][0-9]*\).*/\1/p" "$2" | tail -n 1
}

brief() {
	h=$1 name=$2 log=$3 new=$(mktemp -d) art=$B/fuzz/artifacts
	mkdir -p "$art"
	seeds=test/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=""
	# New inputs go to the first directory: keep the stored corpus as
	# committed.  A fixed seed makes the run the same every time.
	"$h" -seed=1 -runs="$BRIEF_RUNS" -max_total_time=20 -timeout=10 \
		-artifact_prefix="$art/$name-" "$new" $seeds >"$log" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		echo "$name: $(logstat 'Done' "$log") runs, no crash"
	else
		echo "$name: FAILED (exit $rc)"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix)' "$log" |
			sed 's/^/   /'
		grep -A2 '^MS:' "$log" | tail -n 1 | sed 's/^/   input: /' 
	fi
	rm -rf "$new"
	return $rc
}

long() {
	h=$1 name=$2 log=$3 corpus=$B/fuzz/corpus/$name art=$B/fuzz/artifacts
	mkdir -p "$corpus" "$art"
	[ -d "test/fuzz/corpus/$name" ] && cp -n "test/fuzz/corpus/$name"/* \
		"$corpus"/ 2>/dev/null
	t0=$(date +%s)
	"$h" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$art/$name-" "$corpus" >"$log" 2>&1
	rc=$?
	printf '%s: %s executions in %s s, coverage %s, corpus %s inputs' \
		"$name" "$(logstat 'stat::number_of_executed_units:' "$log")" \
		"$(($(date +%s) - t0))" \
		"$(logstat 'cov:' "$log")" "$(ls "$corpus" | wc -l)"
	if [ $rc = 0 ]; then
		echo ", no crash"
	else
		echo ", CRASH (exit $rc): $(sed -n 's/.*Test unit written to //p' "$log")"
		grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY)' "$log"
	fi
	return $rc
}

mkdir -p "$B/fuzz/logs"
for h in "$B"/fuzz/fuzz_*; do
	[ -x "$h" ] || continue
	name=${h##*/fuzz_}
	wanted "$name" || continue
	if ! "$mode" "$h" "$name" "$B/fuzz/logs/$name-$mode.log"; then
		failed=$((failed + 1))
		echo "   log: $B/fuzz/logs/$name-$mode.log"
	fi
done

if [ "$mode" = long ] && wanted guest; then
	echo "guest fuzzer: $requests requests (test/guest/test_fuzz.c)"
	[ -c /dev/kvm ] || echo "guest fuzzer: skipped, no /dev/kvm here"
	if ! KVM_FPM_GUEST_FUZZ_REQUESTS=$requests ASAN_OPTIONS=detect_leaks=0 \
		"$B/test/guest-san" --filter 'guest_fuzz/*'; then
		failed=$((failed + 1))
	fi
fi
echo "fuzz: $failed failed"
[ "$failed" = 0 ]
