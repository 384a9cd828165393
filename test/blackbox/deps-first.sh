#!/bin/sh
# `make -j` on a machine that still lacks packages: no compiler (nor the
# header check) runs before the deps script has finished, since that
# script installs the headers and libraries they need.  The script and
# the compilers are stand-ins here: the deps one takes two seconds, each
# compiler refuses to run before it is done, then runs the real one.
#
#   test/blackbox/deps-first.sh [BUILD_DIR]
set -u
B=${1:-build}
T=$(pwd)/$B/deps-first
rm -rf "$T"
mkdir -p "$T/bin"
cat >"$T/bin/deps.sh" <<EOF
#!/bin/sh
sleep 2
touch "$T/deps-done"
EOF
stand_in() { # NAME REAL
	cat >"$T/bin/$1" <<EOF
#!/bin/sh
if [ ! -e "$T/deps-done" ]; then
	echo "$1 ran before the deps script ended: \$*" >>"$T/early"
	exit 1
fi
exec $2 "\$@"
EOF
}
stand_in cc cc
stand_in musl-gcc musl-gcc
stand_in clang clang-14
chmod +x "$T/bin/"*

# One object of each compiling rule, asked for by name and all at once.
O=$T/b
OBJS="$O/plain/kvm-core/x86.o $O/san/kvm-core/stubs.o $O/sdk/runtime.o
$O/sdk-glibc/runtime.o $O/fuzz/obj/kvm-core/layout.o $O/hdr/kvm-core/kc_x86.o"
# shellcheck disable=SC2086 # OBJS is a list
make -s -j8 B="$O" DEPS_SH="$T/bin/deps.sh" CC="$T/bin/cc" \
	GLIBC_CC="$T/bin/cc" MUSLCC="$T/bin/musl-gcc" FUZZ_CC="$T/bin/clang" \
	$OBJS >"$T/make-out" 2>&1
rc=$?
pass=0
fail=0
check() { # DESCRIPTION COMMAND...
	desc=$1
	shift
	if "$@"; then
		echo "ok - $desc"
		pass=$((pass + 1))
	else
		echo "not ok - $desc"
		fail=$((fail + 1))
	fi
}
all_built() {
	for o in $OBJS; do
		[ -f "$o" ] || return 1
	done
}
check "make -j8 succeeded" [ "$rc" = 0 ]
check "no compiler ran before the deps script ended" [ ! -e "$T/early" ]
check "the deps script ran" [ -e "$T/deps-done" ]
check "every object was built" all_built
if [ "$fail" != 0 ]; then
	cat "$T/early" "$T/make-out" 2>/dev/null | head -20
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && rm -rf "$T"
[ "$fail" = 0 ]
