/* System calls of a single-threaded process with only its standard fds,
 * its files and the hypercalls: the handlers syscall.c's table points at
 * (sys_proc.c, sys_fd.c, sys_file.c, hyper.c). */
#ifndef KC_SYS_PROC_H
#define KC_SYS_PROC_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <linux/kvm.h>

#include "kc_gmem.h"
#include "kc_sys.h"
#include "kc_vm.h"

/* The open-file limit a guest is told (RLIMIT_NOFILE); only 0-2 exist. */
#define KC_NOFILE 64

/* The path /proc/self/exe reads as: argv[0] is "tenant" (image.c). */
#define KC_EXE_PATH "/tenant"

/* Answer value to the guest and resume it. */
static inline int kc_sys_ret(struct kvm_regs *r, int64_t value)
{
	r->rax = (uint64_t)value;
	return KC_RESUME;
}

/* The guest range [gva, gva + len) through the one checked translation. */
static inline void *kc_sys_mem(struct kc_vm *vm, uint64_t gva, uint64_t len,
                               int flags)
{
	return kc_gmem(vm->mem, &vm->img->lay, gva, len, flags);
}

/*
 * Copy len bytes out of (get) or into (put) the guest at gva: 0, or
 * -EFAULT.  A guest address may have any alignment, so values wider than
 * a byte are copied through these, never read or written in place
 * through a typed pointer (undefined behaviour the compiler may act on).
 */
static inline int kc_sys_get(struct kc_vm *vm, void *dst, uint64_t gva,
                             uint64_t len)
{
	const void *p = kc_sys_mem(vm, gva, len, 0);

	if (p == NULL)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

static inline int kc_sys_put(struct kc_vm *vm, uint64_t gva, const void *src,
                             uint64_t len)
{
	void *p = kc_sys_mem(vm, gva, len, KC_GMEM_WRITE);

	if (p == NULL)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

/*
 * Every handler takes the Linux arguments from r (rdi, rsi, rdx, r10, r8,
 * r9), answers in r->rax and returns KC_RESUME, or ends the run with a
 * kc_status and vm->res filled.  Guest memory goes through kc_gmem only.
 */

/* futex: wake answers 0, a wait on a changed value EAGAIN, a wait with a
 * timeout ETIMEDOUT at once, a wait nothing can end KC_ERR_DEADLOCK. */
int kc_sys_futex(struct kc_vm *vm, struct kvm_regs *r);
/* set_robust_list: accepted (one thread never dies holding a lock). */
int kc_sys_set_robust_list(struct kc_vm *vm, struct kvm_regs *r);
/* rseq: ENOSYS, which glibc takes as "no rseq" (see sys_proc.c). */
int kc_sys_rseq(struct kc_vm *vm, struct kvm_regs *r);
/* prlimit64, getrlimit, setrlimit: the tenant's limits, read-only. */
int kc_sys_prlimit64(struct kc_vm *vm, struct kvm_regs *r);
int kc_sys_getrlimit(struct kc_vm *vm, struct kvm_regs *r);
int kc_sys_setrlimit(struct kc_vm *vm, struct kvm_regs *r);
/* sched_getaffinity: one CPU.  getcpu: CPU 0, node 0. */
int kc_sys_sched_getaffinity(struct kc_vm *vm, struct kvm_regs *r);
int kc_sys_getcpu(struct kc_vm *vm, struct kvm_regs *r);
/* kill, tkill, tgkill: to itself, a fatal signal ends the run
 * (KC_ERR_EXIT), as abort() does; to anyone else ESRCH. */
int kc_sys_kill(struct kc_vm *vm, struct kvm_regs *r);
int kc_sys_tkill(struct kc_vm *vm, struct kvm_regs *r);
int kc_sys_tgkill(struct kc_vm *vm, struct kvm_regs *r);

/* poll, ppoll on fds 0-2: stdin at end of file, stdout and stderr
 * writable; a wait that nothing can end is KC_ERR_DEADLOCK. */
int kc_sys_poll(struct kc_vm *vm, struct kvm_regs *r);
int kc_sys_ppoll(struct kc_vm *vm, struct kvm_regs *r);
/* fcntl, fstat, newfstatat on fds 0-2 (pipes); paths are ENOENT. */
int kc_sys_fcntl(struct kc_vm *vm, struct kvm_regs *r);
int kc_sys_fstat(struct kc_vm *vm, struct kvm_regs *r);
int kc_sys_newfstatat(struct kc_vm *vm, struct kvm_regs *r);
/* open, openat: ENOENT for every path (there are no files). */
int kc_sys_open(struct kc_vm *vm, struct kvm_regs *r);
int kc_sys_openat(struct kc_vm *vm, struct kvm_regs *r);
/* readlink, readlinkat: /proc/self/exe is KC_EXE_PATH, the rest ENOENT. */
int kc_sys_readlink(struct kc_vm *vm, struct kvm_regs *r);
int kc_sys_readlinkat(struct kc_vm *vm, struct kvm_regs *r);

/* Files (sys_file.c): the data_dir at /data, read-only, and /dev/urandom.
 * Handlers as above; the helpers answer a value or -errno. */
int kc_file_open(struct kc_vm *vm, struct kvm_regs *r);
int kc_file_openat(struct kc_vm *vm, struct kvm_regs *r);
int kc_file_read(struct kc_vm *vm, struct kvm_regs *r);
int kc_file_pread64(struct kc_vm *vm, struct kvm_regs *r);
int kc_file_readv(struct kc_vm *vm, struct kvm_regs *r);
int kc_file_preadv(struct kc_vm *vm, struct kvm_regs *r);
int kc_file_lseek(struct kc_vm *vm, struct kvm_regs *r);
int kc_file_close(struct kc_vm *vm, struct kvm_regs *r);
int kc_file_getdents64(struct kc_vm *vm, struct kvm_regs *r);
int kc_file_access(struct kc_vm *vm, struct kvm_regs *r);
int kc_file_faccessat(struct kc_vm *vm, struct kvm_regs *r);
/* stat (r->rax SYS_stat) and lstat (SYS_lstat) of a path. */
int kc_file_stat_path(struct kc_vm *vm, struct kvm_regs *r);
int kc_file_statx(struct kc_vm *vm, struct kvm_regs *r);
bool kc_file_is_open(struct kc_vm *vm, uint64_t fd);
int kc_file_fstat(struct kc_vm *vm, uint64_t fd, uint64_t gva);
int kc_file_stat(struct kc_vm *vm, int64_t dirfd, const char *path,
                 uint64_t gva, bool nofollow);
int64_t kc_file_fcntl(struct kc_vm *vm, uint64_t fd, uint64_t cmd,
                      uint64_t arg);

/* The hypercalls that end a phase (hyper.c): READY and RESPONSE. */
int kc_hyper_ready(struct kc_vm *vm, struct kvm_regs *r);
int kc_hyper_response(struct kc_vm *vm, struct kvm_regs *r);

/* A call nothing emulates: ENOSYS, counted, and the first of each number
 * logged on the VM's stderr so that a porter sees what is missing. */
int kc_sys_unknown(struct kc_vm *vm, struct kvm_regs *r);

#endif
