/* The Linux system calls a musl program needs, emulated on guest memory
 * alone, and the kvm-fpm hypercalls.  Nothing here touches host files,
 * sockets or processes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include "kc_gmem.h"
#include "kc_kvm.h"
#include "kc_layout.h"
#include "kc_pagetable.h"
#include "kc_result.h"
#include "kc_sys.h"
#include "kc_vm.h"
#include "sys_proc.h"

#define ARCH_SET_FS   0x1002
#define ARCH_GET_FS   0x1003
#define WRITE_MAX     (1u << 20)
#define IOV_MAX_GUEST 1024
#define RANDOM_MAX    (256u << 10)
#define GUEST_ID      65534 /* uid, gid: nobody */

typedef int sys_fn(struct kc_vm *vm, struct kvm_regs *r);

static int ret(struct kvm_regs *r, int64_t value)
{
	r->rax = (uint64_t)value;
	return KC_RESUME;
}

static void *guest(struct kc_vm *vm, uint64_t gva, uint64_t len, int flags)
{
	return kc_gmem(vm->mem, &vm->img->lay, gva, len, flags);
}

static int sys_zero(struct kc_vm *vm, struct kvm_regs *r)
{
	(void)vm;
	return ret(r, 0);
}

static int sys_one(struct kc_vm *vm, struct kvm_regs *r)
{
	(void)vm;
	return ret(r, 1);
}

static int sys_id(struct kc_vm *vm, struct kvm_regs *r)
{
	(void)vm;
	return ret(r, GUEST_ID);
}

/*
 * Output a write of len bytes at gva to fd: the part within what the run
 * may still log is read and passed on; the rest is dropped unread, as
 * /dev/null would, so that the host's work is bounded by max_log_size
 * whatever the guest asks.  0 or -EFAULT.
 */
static int output(struct kc_vm *vm, int fd, uint64_t gva, uint64_t len)
{
	uint64_t room = kc_vm_output_room(vm), take = len < room ? len : room;
	const char *p = take ? guest(vm, gva, take, 0) : NULL;

	if (take && p == NULL)
		return -EFAULT;
	if (take)
		kc_vm_output(vm, fd, p, take);
	if (take < len)
		kc_vm_output_cut(vm);
	return 0;
}

static int sys_write(struct kc_vm *vm, struct kvm_regs *r)
{
	uint64_t len = r->rdx < WRITE_MAX ? r->rdx : WRITE_MAX;
	int e;

	if (r->rdi != 1 && r->rdi != 2)
		return ret(r, -EBADF);
	e = output(vm, (int)r->rdi, r->rsi, len);
	return ret(r, e ? e : (int64_t)len);
}

static int sys_writev(struct kc_vm *vm, struct kvm_regs *r)
{
	struct iovec iov[IOV_MAX_GUEST];
	uint64_t i, total = 0;

	if (r->rdi != 1 && r->rdi != 2)
		return ret(r, -EBADF);
	if (r->rdx > IOV_MAX_GUEST)
		return ret(r, -EINVAL);
	if (kc_sys_get(vm, iov, r->rsi, r->rdx * sizeof(*iov)))
		return ret(r, -EFAULT);
	for (i = 0; i < r->rdx; i++) {
		uint64_t len = iov[i].iov_len;

		if (len > WRITE_MAX - total)
			len = WRITE_MAX - total;
		if (output(vm, (int)r->rdi, (uintptr_t)iov[i].iov_base, len))
			return ret(r, total ? (int64_t)total : -EFAULT);
		total += len;
	}
	return ret(r, (int64_t)total);
}

static int sys_read(struct kc_vm *vm, struct kvm_regs *r)
{
	if (r->rdi > 2)
		return kc_file_read(vm, r);
	return ret(r, r->rdi == 0 ? 0 : -EBADF); /* stdin is empty */
}

static int sys_readv(struct kc_vm *vm, struct kvm_regs *r)
{
	if (r->rdi > 2)
		return kc_file_readv(vm, r);
	return ret(r, r->rdi == 0 ? 0 : -EBADF); /* stdin is empty */
}

static int sys_close(struct kc_vm *vm, struct kvm_regs *r)
{
	return r->rdi <= 2 ? ret(r, 0) : kc_file_close(vm, r);
}

static int sys_ioctl(struct kc_vm *vm, struct kvm_regs *r)
{
	return ret(r, r->rdi <= 2 || kc_file_is_open(vm, r->rdi) ? -ENOTTY
	                                                         : -EBADF);
}

static int sys_lseek(struct kc_vm *vm, struct kvm_regs *r)
{
	return r->rdi <= 2 ? ret(r, -ESPIPE) : kc_file_lseek(vm, r);
}

static int out_of_memory(struct kc_vm *vm, uint64_t want)
{
	if (vm->booting)
		return kc_vm_fail(
		    vm, KC_ERR_OOM,
		    "main() ran out of guest memory (asked for "
		    "%lluK more; max_memory %lluM)",
		    (unsigned long long)(want >> 10),
		    (unsigned long long)(vm->img->lim.max_memory >> 20));
	return kc_vm_fail(
	    vm, KC_ERR_OOM,
	    "the request allocated over %lluM "
	    "(max_request_memory %lluM)",
	    (unsigned long long)(kc_vm_charged(vm) >> 20),
	    (unsigned long long)(vm->img->lim.max_request_memory >> 20));
}

/* Map fresh pages for the guest, or stop it when over its limits. */
static int map_fresh(struct kc_vm *vm, uint64_t va, uint64_t len)
{
	const struct kc_layout *lay = &vm->img->lay;
	int r;

	if (kc_pt_map(vm->mem, lay, &vm->alloc.pt_next, va, len,
	              KC_PTE_U | KC_PTE_W | KC_PTE_NX,
	              vm->booting ? NULL : &vm->touch))
		return out_of_memory(vm, len);
	if (!vm->booting && kc_vm_charged(vm) > vm->img->lim.max_request_memory)
		return out_of_memory(vm, len);
	r = kc_vm_grow_memory(vm);
	if (r)
		return kc_vm_fail(vm, KC_ERR_INTERNAL,
		                  "growing guest memory: %s", strerror(-r));
	return 0;
}

/* Zero pages handed out again: anonymous memory starts zeroed. */
static void zero_reused(struct kc_vm *vm, uint64_t va, uint64_t len)
{
	void *p = len ? guest(vm, va, len, KC_GMEM_WRITE) : NULL;

	if (p)
		memset(p, 0, len);
}

static int sys_brk(struct kc_vm *vm, struct kvm_regs *r)
{
	struct kc_alloc *a = &vm->alloc;
	uint64_t want = r->rdi, high = KC_PAGE_UP(want), old_high = a->brk_high;
	int st;

	if (want < vm->img->lay.heap_base)
		return ret(r, (int64_t)a->brk);
	if (want <= a->brk) {
		a->brk = want; /* pages stay mapped; reused ones are zeroed */
		return ret(r, (int64_t)want);
	}
	if (high > a->mmap_min - KC_STACK_GUARD || high < want)
		return ret(r, (int64_t)a->brk); /* malloc falls back to mmap */
	if (high > old_high) {
		a->brk_high = high;
		st = map_fresh(vm, old_high, high - old_high);
		if (st)
			return st;
	}
	zero_reused(vm, a->brk, (want < old_high ? want : old_high) - a->brk);
	a->brk = want;
	return ret(r, (int64_t)want);
}

static int sys_mmap(struct kc_vm *vm, struct kvm_regs *r)
{
	struct kc_alloc *a = &vm->alloc;
	uint64_t len = KC_PAGE_UP(r->rsi), low, fresh_end;
	int st;

	if (!(r->r10 & MAP_ANONYMOUS))
		return ret(r, -EBADF); /* there are no files */
	if (r->r10 & MAP_FIXED)
		return ret(r, -EPERM);
	if (r->rsi == 0 || len < r->rsi)
		return ret(r, -EINVAL);
	low = a->mmap_low - len;
	if (len > a->mmap_low || low < a->brk_high + KC_STACK_GUARD)
		return out_of_memory(vm, len);
	fresh_end = a->mmap_min < a->mmap_low ? a->mmap_min : a->mmap_low;
	if (low < a->mmap_min) {
		a->mmap_min = low;
		st = map_fresh(vm, low, fresh_end - low);
		if (st)
			return st;
	}
	zero_reused(vm, fresh_end > low ? fresh_end : low,
	            a->mmap_low - (fresh_end > low ? fresh_end : low));
	a->mmap_low = low;
	return ret(r, (int64_t)low);
}

static int sys_munmap(struct kc_vm *vm, struct kvm_regs *r)
{
	struct kc_alloc *a = &vm->alloc;
	uint64_t len = KC_PAGE_UP(r->rsi);

	if ((r->rdi & (KC_PAGE_SIZE - 1)) || len < r->rsi)
		return ret(r, -EINVAL);
	/* Only the lowest mapping gives its address space back; the rest
	 * waits for the reset.  Pages stay mapped until then. */
	if (r->rdi == a->mmap_low && len <= vm->img->lay.mmap_top - a->mmap_low)
		a->mmap_low += len;
	return ret(r, 0);
}

static int sys_madvise(struct kc_vm *vm, struct kvm_regs *r)
{
	if (r->rdx == MADV_DONTNEED)
		zero_reused(vm, r->rdi, KC_PAGE_UP(r->rsi));
	return ret(r, 0);
}

static int sys_mremap(struct kc_vm *vm, struct kvm_regs *r)
{
	(void)vm;
	return ret(r, -ENOMEM); /* musl's realloc then copies */
}

static int sys_exit(struct kc_vm *vm, struct kvm_regs *r)
{
	return kc_vm_fail(vm, KC_ERR_EXIT, "%s exited with status %d",
	                  vm->booting ? "main()" : "the request",
	                  (int)(r->rdi & 0xff));
}

static int put_timespec(struct kc_vm *vm, uint64_t gva, clockid_t clk,
                        bool usec)
{
	struct timespec ts;
	int64_t v[2];

	clock_gettime(clk, &ts);
	v[0] = ts.tv_sec;
	v[1] = usec ? ts.tv_nsec / 1000 : ts.tv_nsec;
	return kc_sys_put(vm, gva, v, sizeof(v));
}

static int sys_clock_gettime(struct kc_vm *vm, struct kvm_regs *r)
{
	switch (r->rdi) {
	case CLOCK_REALTIME:
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
		return ret(r,
		           put_timespec(vm, r->rsi, (clockid_t)r->rdi, false));
	default:
		return ret(r, -EINVAL);
	}
}

static int sys_gettimeofday(struct kc_vm *vm, struct kvm_regs *r)
{
	return ret(r,
	           r->rdi ? put_timespec(vm, r->rdi, CLOCK_REALTIME, true) : 0);
}

static int sys_time(struct kc_vm *vm, struct kvm_regs *r)
{
	int64_t now = (int64_t)time(NULL);

	if (r->rdi && kc_sys_put(vm, r->rdi, &now, sizeof(now)))
		return ret(r, -EFAULT);
	return ret(r, now);
}

static int sys_getrandom(struct kc_vm *vm, struct kvm_regs *r)
{
	uint64_t len = r->rsi < RANDOM_MAX ? r->rsi : RANDOM_MAX;
	void *p = guest(vm, r->rdi, len, KC_GMEM_WRITE);
	ssize_t n;

	if (p == NULL)
		return ret(r, -EFAULT);
	n = getrandom(p, len, 0);
	return ret(r, n < 0 ? -errno : n);
}

static int sys_arch_prctl(struct kc_vm *vm, struct kvm_regs *r)
{
	struct kvm_sregs s;

	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s))
		return ret(r, -EIO);
	if (r->rdi == ARCH_GET_FS)
		return ret(
		    r, kc_sys_put(vm, r->rsi, &s.fs.base, sizeof(s.fs.base)));
	if (r->rdi != ARCH_SET_FS)
		return ret(r, -EINVAL);
	if (r->rsi >= KC_CANONICAL_LIMIT)
		return ret(r, -EPERM);
	s.fs.base = r->rsi;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s))
		return ret(r, -EIO);
	if (!vm->booting)
		vm->sregs_dirty = true; /* the snapshot's FS comes back */
	return ret(r, 0);
}

static int sys_uname(struct kc_vm *vm, struct kvm_regs *r)
{
	static const char fields[6][65] = {"Linux",   "kvm-fpm", "6.1.0",
	                                   "kvm-fpm", "x86_64",  "(none)"};
	void *p = guest(vm, r->rdi, sizeof(fields), KC_GMEM_WRITE);

	if (p == NULL)
		return ret(r, -EFAULT);
	memcpy(p, fields, sizeof(fields));
	return ret(r, 0);
}

static int hyper_breakpoint(struct kc_vm *vm, struct kvm_regs *r)
{
	if (vm->hooks) /* the stop comes once the call has returned */
		vm->hooks->breakpoint_call(vm);
	return ret(r, 0);
}

static sys_fn *const syscalls[] = {
    [SYS_read] = sys_read,
    [SYS_write] = sys_write,
    [SYS_close] = sys_close,
    [SYS_lseek] = sys_lseek,
    [SYS_mmap] = sys_mmap,
    [SYS_mprotect] = sys_zero,
    [SYS_munmap] = sys_munmap,
    [SYS_brk] = sys_brk,
    [SYS_rt_sigaction] = sys_zero,
    [SYS_rt_sigprocmask] = sys_zero,
    [SYS_ioctl] = sys_ioctl,
    [SYS_writev] = sys_writev,
    [SYS_sched_yield] = sys_zero,
    [SYS_mremap] = sys_mremap,
    [SYS_madvise] = sys_madvise,
    [SYS_nanosleep] = sys_zero,
    [SYS_getpid] = sys_one,
    [SYS_exit] = sys_exit,
    [SYS_uname] = sys_uname,
    [SYS_gettimeofday] = sys_gettimeofday,
    [SYS_getuid] = sys_id,
    [SYS_getgid] = sys_id,
    [SYS_geteuid] = sys_id,
    [SYS_getegid] = sys_id,
    [SYS_getppid] = sys_zero,
    [SYS_sigaltstack] = sys_zero,
    [SYS_arch_prctl] = sys_arch_prctl,
    [SYS_gettid] = sys_one,
    [SYS_time] = sys_time,
    [SYS_set_tid_address] = sys_one,
    [SYS_clock_gettime] = sys_clock_gettime,
    [SYS_clock_nanosleep] = sys_zero,
    [SYS_exit_group] = sys_exit,
    [SYS_getrandom] = sys_getrandom,
    /* glibc, libstdc++ and Rust std (sys_proc.c, sys_fd.c) */
    [SYS_open] = kc_sys_open,
    [SYS_stat] = kc_file_stat_path,
    [SYS_fstat] = kc_sys_fstat,
    [SYS_lstat] = kc_file_stat_path,
    [SYS_poll] = kc_sys_poll,
    [SYS_pread64] = kc_file_pread64,
    [SYS_readv] = sys_readv,
    [SYS_preadv] = kc_file_preadv,
    [SYS_access] = kc_file_access,
    [SYS_kill] = kc_sys_kill,
    [SYS_fcntl] = kc_sys_fcntl,
    [SYS_readlink] = kc_sys_readlink,
    [SYS_getrlimit] = kc_sys_getrlimit,
    [SYS_setrlimit] = kc_sys_setrlimit,
    [SYS_tkill] = kc_sys_tkill,
    [SYS_futex] = kc_sys_futex,
    [SYS_sched_getaffinity] = kc_sys_sched_getaffinity,
    [SYS_getdents64] = kc_file_getdents64,
    [SYS_tgkill] = kc_sys_tgkill,
    [SYS_openat] = kc_sys_openat,
    [SYS_newfstatat] = kc_sys_newfstatat,
    [SYS_readlinkat] = kc_sys_readlinkat,
    [SYS_faccessat] = kc_file_faccessat,
    [SYS_ppoll] = kc_sys_ppoll,
    [SYS_set_robust_list] = kc_sys_set_robust_list,
    [SYS_prlimit64] = kc_sys_prlimit64,
    [SYS_getcpu] = kc_sys_getcpu,
    [SYS_statx] = kc_file_statx,
    [SYS_rseq] = kc_sys_rseq,
    [SYS_faccessat2] = kc_file_faccessat,
};

static sys_fn *const hypercalls[KFPM_CALL_MAX] = {
    [KFPM_CALL_READY] = kc_hyper_ready,
    [KFPM_CALL_RESPONSE] = kc_hyper_response,
    [KFPM_CALL_BREAKPOINT] = hyper_breakpoint,
};

int kc_sys_handle(struct kc_vm *vm)
{
	struct kvm_regs *r = &vm->run->s.regs.regs;
	uint64_t nr = r->rax;
	sys_fn *fn = NULL;
	int st;

	if (nr - KFPM_CALL_BASE < KFPM_CALL_MAX)
		fn = hypercalls[nr - KFPM_CALL_BASE];
	else if (nr < sizeof(syscalls) / sizeof(syscalls[0]))
		fn = syscalls[nr];
	/* Everything else (files, sockets, processes, ...) does not exist. */
	st = fn ? fn(vm, r) : kc_sys_unknown(vm, r);
	if (st != KC_RESUME)
		return st;
	vm->run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	return KC_RESUME;
}
