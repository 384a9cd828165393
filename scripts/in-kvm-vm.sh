#!/bin/bash
# Run a command inside a QEMU VM whose emulated (TCG) CPU offers AMD SVM, so
# that its Linux kernel loads kvm_amd and gives the command a real /dev/kvm.
#
#   scripts/in-kvm-vm.sh CMD [ARGS...]
#
# For machines without a usable /dev/kvm (e.g. a KVM-PVM guest, whose kernel
# cannot host KVM), and to test kvm-fpm on a true SVM host at all.  It is
# slow (everything is emulated, the tenant VMs twice over) but real KVM.
#
# The VM sees this machine's whole root filesystem (9p, read-only) under a
# RAM overlay, so every installed tool is there and writes outside the
# repository are thrown away at exit; the repository itself is shared
# read-write at its own path.  CMD runs as root in the caller's directory
# with the caller's environment; its exit status is ours.  The kernel and
# initramfs are cached under build/kvm-vm/.
#
# Environment: KVM_VM_CPU (QEMU -cpu, default max: an AMD CPU with SVM,
# NPT, SMEP and SMAP but, under TCG, no NRIPS or decode assists; e.g.
# max,-smep to run without SMEP),
# KVM_VM_MEM (MiB, default 2048), KVM_VM_SMP (default 2),
# KVM_VM_KERNEL (Debian package, default linux-image-amd64's dependency),
# KVM_VM_KVM_AMD (kvm-amd module parameters, comma-separated, e.g.
# npt=0), KVM_VM_TIMEOUT (seconds before the VM is stopped, default 0:
# never), KVM_VM_VERBOSE=1 (show the kernel's boot messages),
# KVM_VM_RUN_FILE (a file to write the run directory's path to).
# While it runs, QEMU's monitor listens on build/kvm-vm/run/r.*/monitor
# (e.g. `echo "info registers -a" | socat - UNIX-CONNECT:...` shows where
# a VM that seems stuck is).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=$REPO/build/kvm-vm
MEM=${KVM_VM_MEM:-2048}
SMP=${KVM_VM_SMP:-2}
# Debian packages this needs; installed when missing (the kernel is not
# installed, only downloaded and unpacked into $CACHE).
PKGS="qemu-system-x86 busybox-static"
# Modules the init loads, each after what it depends on (resolved below):
# the VM's own devices and KVM, then what the tests use that Debian builds
# as modules (the listen queue's sock_diag for unix and TCP sockets; veth
# and bridges for tests in network namespaces).  Nothing else is loaded on
# demand: the root filesystem holds another kernel's modules.
MODULES="virtio_pci 9pnet_virtio 9p overlay kvm-amd unix_diag tcp_diag veth bridge"

die() {
	echo "in-kvm-vm: $*" >&2
	exit 125
}

[ $# -gt 0 ] || die "usage: $0 CMD [ARGS...]"

# QEMU 10 or later.  Under bookworm's 7.2 a nested guest spinning in a
# tight loop now and then never left guest mode (the whole run hung: in
# about one VM run in three of the guest suites), and the guest suites
# under ASan took about 7 minutes there against about 5 under 10.0
# (one run of each on this project's machine).
qemu_recent() {
	local v
	v=$(qemu-system-x86_64 --version 2>/dev/null |
		sed -n 's/^QEMU emulator version \([0-9]*\)\..*/\1/p')
	[ -n "$v" ] && [ "$v" -ge 10 ]
}

# On Debian 12, QEMU 10 comes from bookworm-backports (Debian's own
# build for 12; apt never takes other packages from there unasked).
BACKPORTS=""
use_backports() {
	. /etc/os-release
	[ "${VERSION_CODENAME:-}" = bookworm ] || return 0
	BACKPORTS="-t bookworm-backports"
	grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/ &&
		return 0
	echo "deb http://deb.debian.org/debian bookworm-backports main" \
		>/etc/apt/sources.list.d/bookworm-backports.list
	apt-get update -qq >&2
}

install_packages() {
	local missing="" p
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	qemu_recent || missing="$missing qemu-system-x86"
	[ -z "$missing" ] && return 0
	echo "in-kvm-vm: installing$missing" >&2
	use_backports
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $BACKPORTS \
		--no-install-recommends $missing >&2 ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq $BACKPORTS --no-install-recommends \
			$missing >&2; }
	qemu_recent || die "QEMU 10 or later is needed (bookworm-backports on Debian 12)"
}

# Download and unpack the Debian kernel once; sets KVER and KROOT.
fetch_kernel() {
	local pkg=${KVM_VM_KERNEL:-}
	if [ -z "$pkg" ]; then
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
		[ -n "$pkg" ] || { apt-get update -qq && pkg=$(apt-cache depends \
			linux-image-amd64 | sed -n \
			's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1); }
		[ -n "$pkg" ] || die "cannot name the Debian kernel package"
	fi
	KROOT=$CACHE/$pkg
	if [ ! -d "$KROOT/boot" ]; then
		mkdir -p "$CACHE/deb"
		(cd "$CACHE/deb" && apt-get download "$pkg" >&2) ||
			die "apt-get download $pkg failed"
		rm -rf "$KROOT.tmp"
		dpkg -x "$CACHE"/deb/"$pkg"_*.deb "$KROOT.tmp"
		mv "$KROOT.tmp" "$KROOT"
	fi
	KVER=${pkg#linux-image-}
	[ -f "$KROOT/boot/vmlinuz-$KVER" ] || die "no vmlinuz in $KROOT"
}

# The module file and its dependencies, dependencies first (a module's
# "depends=" line in .modinfo is all modprobe would read from modules.dep).
module_order() {
	local name=$1 f dep
	case " $SEEN " in *" $name "*) return 0 ;; esac
	SEEN="$SEEN $name"
	f=$(find "$KROOT/lib/modules/$KVER/kernel" -name "$name.ko" -o \
		-name "$(echo "$name" | tr _ -).ko" | head -1)
	[ -n "$f" ] || die "module $name not found"
	for dep in $(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | head -1 | tr , ' '); do
		module_order "$dep"
	done
	echo "$f"
}

build_initramfs() {
	# Not "*.d": the GNUmakefile includes every build/**/*.d.
	local dir=$CACHE/initramfs-tree f list
	INITRD=$CACHE/initramfs-$KVER.cpio.gz
	# Rebuilt whenever this script (which holds the init) changes.
	[ "$INITRD" -nt "$0" ] && return 0
	rm -rf "$dir"
	mkdir -p "$dir/bin" "$dir/lib/modules" "$dir/proc" "$dir/sys" "$dir/dev" \
		"$dir/mnt" "$dir/newroot"
	cp /bin/busybox "$dir/bin/busybox"
	SEEN=""
	list=""
	for m in $MODULES; do
		for f in $(module_order "$m"); do
			# module_order runs in a subshell: drop what came before.
			case " $list " in *" $(basename "$f") "*) continue ;; esac
			cp "$f" "$dir/lib/modules/"
			list="$list $(basename "$f")"
		done
	done
	echo "$list" >"$dir/lib/modules/order"
	write_init >"$dir/init"
	chmod +x "$dir/init"
	(cd "$dir" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"
}

# The VM's /init (busybox sh).  Kernel command line: kvmvm.run=DIR, the
# run directory (inside the repository) holding cmd.sh; the status of
# cmd.sh is written to DIR/status.
write_init() {
	cat <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
echo KVMVM-BEGIN
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
run=$(sed -n 's/.*kvmvm\.run=\([^ ]*\).*/\1/p' /proc/cmdline)
repo=$(sed -n 's/.*kvmvm\.repo=\([^ ]*\).*/\1/p' /proc/cmdline)
fail() { echo "in-kvm-vm(guest): $*"; echo "KVMVM-STATUS 125"; poweroff -f; }
# kvmvm.kvm_amd=a=1,b=0: parameters for kvm-amd (insmod reads no cmdline).
amd=$(sed -n 's/.*kvmvm\.kvm_amd=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' ')
for m in $(cat /lib/modules/order); do
	args=""
	[ "$m" = kvm-amd.ko ] && args=$amd
	insmod /lib/modules/$m $args || fail "insmod $m $args failed"
done
[ -c /dev/kvm ] || fail "no /dev/kvm after loading kvm-amd (dmesg: $(dmesg | grep -i -E 'kvm|svm' | tail -3))"
o=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o ro,$o,cache=loose hostroot /mnt || fail "mounting the host root"
mkdir /ovl
mount -t tmpfs -o mode=0755 tmpfs /ovl
mkdir /ovl/upper /ovl/work
mount -t overlay -o lowerdir=/mnt,upperdir=/ovl/upper,workdir=/ovl/work \
	overlay /newroot || fail "mounting the overlay root"
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm
mount -t tmpfs tmpfs /newroot/tmp
mount -t tmpfs tmpfs /newroot/run
# After /tmp's tmpfs, which would hide a repository under /tmp.
mkdir -p /newroot$repo
mount -t 9p -o $o,cache=mmap repo /newroot$repo || fail "mounting $repo"
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
hostname kvm-vm
stty -onlcr 2>/dev/null
chroot /newroot /bin/bash "$run/cmd.sh" </dev/null
st=$?
echo "$st" >"/newroot$run/status"
dmesg >"/newroot$run/dmesg"
sync
echo "KVMVM-STATUS $st"
poweroff -f
INIT
}

# The console between our markers, without the firmware's and the kernel's
# noise, line by line as the command prints it (so no sed '$' address,
# which reads a line ahead, and no mawk, which reads whole blocks).
filter_console() {
	if [ "${KVM_VM_VERBOSE:-0}" = 1 ]; then
		sed -u 's/\r$//'
	else
		sed -u -n -e 's/\r$//' -e '/KVMVM-BEGIN$/,/^KVMVM-STATUS /!d' \
			-e '/KVMVM-BEGIN$/d' -e '/^KVMVM-STATUS /d' -e p
	fi
}

install_packages
fetch_kernel
build_initramfs

# Two runs at once each get their own run directory.
mkdir -p "$CACHE/run"
RUN=$(mktemp -d "$CACHE/run/r.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
# For a caller that watches the VM (test/run-all.sh): where its monitor is.
[ -n "${KVM_VM_RUN_FILE:-}" ] && echo "$RUN" >"$KVM_VM_RUN_FILE"
{
	echo "cd $(printf %q "$PWD") || exit 125"
	# The caller's environment, less what belongs to this shell.
	export -p | grep -v -E '^declare -x (PWD|OLDPWD|SHLVL|_|TERM)=' || true
	echo "export TERM=dumb"
	printf 'exec'
	printf ' %q' "$@"
	echo
} >"$RUN/cmd.sh"

quiet="quiet loglevel=3"
[ "${KVM_VM_VERBOSE:-0}" = 1 ] && quiet=""
# -cpu max under TCG is an AuthenticAMD CPU with SVM and NPT, which is
# what kvm_amd requires; no host KVM is used (-accel tcg).
# A guest test whose failure is a hang would otherwise keep the VM forever.
rc=0
timeout "${KVM_VM_TIMEOUT:-0}" \
	qemu-system-x86_64 -accel tcg -cpu "${KVM_VM_CPU:-max}" -m "$MEM" -smp "$SMP" \
	-machine q35 -nographic -no-reboot -nic none \
	-kernel "$KROOT/boot/vmlinuz-$KVER" -initrd "$INITRD" \
	-append "console=ttyS0 $quiet panic=-1 kvmvm.run=$RUN kvmvm.repo=$REPO kvmvm.kvm_amd=${KVM_VM_KVM_AMD:-}" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$REPO,mount_tag=repo,security_model=none" \
	-monitor "unix:$RUN/monitor,server=on,wait=off" \
	</dev/null | tee "$RUN/console" | filter_console || rc=$?
cp "$RUN/dmesg" "$CACHE/last-dmesg.txt" 2>/dev/null || true
if [ ! -f "$RUN/status" ]; then
	[ "$rc" = 124 ] && die "stopped after KVM_VM_TIMEOUT=$KVM_VM_TIMEOUT s"
	tail -n 30 "$RUN/console" >&2
	die "the VM ended without a status (its console's end is above)"
fi
exit "$(cat "$RUN/status")"
