#!/bin/sh
# Run every unit test binary in DIR (one per test file: make builds them
# as build/test/unit-plain/test_x86, ...), passing Criterion options on;
# ends with the sum of their counts, and fails when any of them failed.
#
#   test/unit-all.sh DIR [CRITERION_OPTIONS...]
set -u
dir=$1
shift
rc=0 tested=0 passing=0 failing=0 crashing=0 n=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	"$t" "$@" >"$out" 2>&1 || rc=1
	grep -v '^\[====\] Synthesis' "$out"
	line=$(grep 'Synthesis: Tested' "$out" | tail -n 1)
	[ -n "$line" ] || {
		echo "$t: no synthesis (it did not run)"
		rc=1
		continue
	}
	echo "[====] $(basename "$t"): ${line#*Synthesis: }"
	eval "$(echo "$line" | sed -n 's/.*Tested: \([0-9]*\) | Passing: \([0-9]*\) | Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/tested=$((tested + \1)) passing=$((passing + \2)) failing=$((failing + \3)) crashing=$((crashing + \4))/p')"
done
[ "$n" -gt 0 ] || {
	echo "no unit test binaries in $dir"
	exit 1
}
echo "[====] Synthesis of $n binaries: Tested: $tested | Passing: $passing | Failing: $failing | Crashing: $crashing"
exit $rc
