/* The process and standard-fd system calls (sys_proc.c, sys_fd.c) on a
 * VM made of plain memory and page tables: no /dev/kvm needed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fake_vm.h"
#include "kc_pagetable.h"
#include "kc_result.h"
#include "kc_vm.h"
#include "sys_proc.h"

#define RW 0x400000ULL /* two writable user pages */
#define RO 0x402000ULL /* one read-only user page */

static struct kc_image img;
static struct kc_vm vm;
static struct kc_result res;
static char logged[1024];

static void capture(void *ctx, int fd, const char *line, size_t len)
{
	(void)ctx;
	snprintf(logged + strlen(logged), sizeof(logged) - strlen(logged),
	         "%d:%.*s\n", fd, (int)len, line);
}

static void make_vm(void)
{
	uint64_t next;

	memset(&res, 0, sizeof(res));
	logged[0] = 0;
	fake_vm_init(&vm, &img, 0x500000, &next);
	fake_vm_map(&vm, &next, RW, 0x2000, KC_PTE_U | KC_PTE_W);
	fake_vm_map(&vm, &next, RO, 0x1000, KC_PTE_U);
	vm.res = &res;
	vm.out = capture;
}

static void free_vm(void)
{
	free(vm.mem);
}

TestSuite(sysproc, .init = make_vm, .fini = free_vm);

/* Call fn with the Linux arguments; the value it answered, or the status
 * that ended the run (as a positive number) in *status. */
static int64_t call(int (*fn)(struct kc_vm *, struct kvm_regs *), int *status,
                    uint64_t nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                    uint64_t e, uint64_t f)
{
	struct kvm_regs r = {.rax = nr,
	                     .rdi = a,
	                     .rsi = b,
	                     .rdx = c,
	                     .r10 = d,
	                     .r8 = e,
	                     .r9 = f,
	                     .rcx = 0x401234};
	int st = fn(&vm, &r);

	*status = st == KC_RESUME ? 0 : st;
	return (int64_t)r.rax;
}

#define CALL(fn, ...)                                                          \
	({                                                                     \
		int st_;                                                       \
		int64_t v_ = call(fn, &st_, 0, __VA_ARGS__);                   \
		cr_assert_eq(st_, 0, "run ended: %s", res.error);              \
		v_;                                                            \
	})

static uint32_t *word(uint64_t gva)
{
	return (uint32_t *)(vm.mem + gva);
}

Test(sysproc, futex_wake_answers_zero)
{
	cr_assert_eq(
	    CALL(kc_sys_futex, RW, FUTEX_WAKE_PRIVATE, INT32_MAX, 0, 0, 0), 0);
	cr_assert_eq(CALL(kc_sys_futex, RW + 2, FUTEX_WAKE, 1, 0, 0, 0),
	             -EINVAL);
	cr_assert_eq(CALL(kc_sys_futex, RW, FUTEX_WAKE_BITSET, 1, 0, 0, 0),
	             -EINVAL, "a zero bitset wakes nobody: EINVAL");
}

Test(sysproc, futex_wait_on_changed_value_is_eagain)
{
	*word(RW) = 5;
	cr_assert_eq(CALL(kc_sys_futex, RW, FUTEX_WAIT_PRIVATE, 4, 0, 0, 0),
	             -EAGAIN);
	cr_assert_eq(CALL(kc_sys_futex, RO, FUTEX_WAIT, 1, 0, 0, 0), -EAGAIN,
	             "a read-only word may be waited on");
	cr_assert_eq(CALL(kc_sys_futex, 0x300000, FUTEX_WAIT, 0, 0, 0, 0),
	             -EFAULT);
}

Test(sysproc, futex_wait_nothing_can_end_is_a_deadlock)
{
	int st;

	*word(RW) = 2;
	call(kc_sys_futex, &st, 0, RW, FUTEX_WAIT_PRIVATE, 2, 0, 0, 0);
	cr_assert_eq(st, KC_ERR_DEADLOCK);
	cr_assert_eq(res.status, KC_ERR_DEADLOCK);
	cr_assert(strstr(res.error, "deadlock: futex wait on 0x400000 "
	                            "(value 2) at RIP 0x401234"),
	          "%s", res.error);
	cr_assert_str_eq(kc_status_name(KC_ERR_DEADLOCK), "deadlock");
}

Test(sysproc, futex_timed_wait_times_out_at_once)
{
	*word(RW) = 2;
	cr_assert_eq(CALL(kc_sys_futex, RW, FUTEX_WAIT_BITSET_PRIVATE, 2,
	                  RW + 16, 0, FUTEX_BITSET_MATCH_ANY),
	             -ETIMEDOUT);
	cr_assert_eq(CALL(kc_sys_futex, RW, FUTEX_WAIT, 2, 0x300000, 0, 0),
	             -EFAULT);
}

/* Linux's FUTEX_OP() shifts an int into the sign bit: UBSan objects. */
static uint32_t wake_op(uint32_t op, uint32_t oparg, uint32_t cmp,
                        uint32_t cmparg)
{
	return op << 28 | cmp << 24 | (oparg & 0xfff) << 12 | (cmparg & 0xfff);
}

Test(sysproc, futex_requeue_and_wake_op)
{
	*word(RW) = 7;
	cr_assert_eq(CALL(kc_sys_futex, RW, FUTEX_CMP_REQUEUE, 1, 1, RW + 4, 8),
	             -EAGAIN);
	cr_assert_eq(CALL(kc_sys_futex, RW, FUTEX_CMP_REQUEUE, 1, 1, RW + 4, 7),
	             0);
	*word(RW + 4) = 0xf0;
	cr_assert_eq(CALL(kc_sys_futex, RW, FUTEX_WAKE_OP, 1, 1, RW + 4,
	                  wake_op(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 0)),
	             0);
	cr_assert_eq(*word(RW + 4), 0xf3);
	cr_assert_eq(CALL(kc_sys_futex, RW, FUTEX_WAKE_OP, 1, 1, RW + 4,
	                  wake_op(FUTEX_OP_ANDN | FUTEX_OP_OPARG_SHIFT, 4,
	                          FUTEX_OP_CMP_EQ, 0)),
	             0);
	cr_assert_eq(*word(RW + 4), 0xe3);
	cr_assert_eq(CALL(kc_sys_futex, RW, FUTEX_WAKE_OP, 1, 1, RO,
	                  wake_op(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0)),
	             -EFAULT);
	cr_assert_eq(CALL(kc_sys_futex, RW, FUTEX_LOCK_PI, 0, 0, 0, 0),
	             -ENOSYS);
}

Test(sysproc, robust_list_rseq_getcpu)
{
	cr_assert_eq(CALL(kc_sys_set_robust_list, RW, 24, 0, 0, 0, 0), 0);
	cr_assert_eq(CALL(kc_sys_set_robust_list, RW, 16, 0, 0, 0, 0), -EINVAL);
	cr_assert_eq(CALL(kc_sys_rseq, RW, 32, 0, 0x53053053, 0, 0), -ENOSYS);
	*word(RW) = *word(RW + 4) = 9;
	cr_assert_eq(CALL(kc_sys_getcpu, RW, RW + 4, 0, 0, 0, 0), 0);
	cr_assert_eq(*word(RW), 0);
	cr_assert_eq(*word(RW + 4), 0);
}

Test(sysproc, limits_are_the_tenants_and_read_only)
{
	struct rlimit *l = (struct rlimit *)(vm.mem + RW);

	cr_assert_eq(CALL(kc_sys_prlimit64, 0, RLIMIT_STACK, 0, RW, 0, 0), 0);
	cr_assert_eq(l->rlim_cur, 1 << 20);
	cr_assert_eq(l->rlim_max, 1 << 20);
	cr_assert_eq(CALL(kc_sys_getrlimit, RLIMIT_NOFILE, RW, 0, 0, 0, 0), 0);
	cr_assert_eq(l->rlim_cur, KC_NOFILE);
	cr_assert_eq(CALL(kc_sys_prlimit64, 1, RLIMIT_AS, 0, RW, 0, 0), 0);
	cr_assert_eq(l->rlim_max, 16ULL << 20);
	/* Setting a limit to what it is succeeds; anything else is EPERM. */
	cr_assert_eq(CALL(kc_sys_setrlimit, RLIMIT_AS, RW, 0, 0, 0, 0), 0);
	l->rlim_cur = 4096;
	cr_assert_eq(CALL(kc_sys_setrlimit, RLIMIT_AS, RW, 0, 0, 0, 0), -EPERM);
	cr_assert_eq(CALL(kc_sys_prlimit64, 7, RLIMIT_AS, 0, RW, 0, 0), -ESRCH);
	cr_assert_eq(CALL(kc_sys_prlimit64, 0, 99, 0, RW, 0, 0), -EINVAL);
	cr_assert_eq(CALL(kc_sys_prlimit64, 0, RLIMIT_AS, 0, RO, 0, 0),
	             -EFAULT);
}

Test(sysproc, one_cpu)
{
	uint64_t *mask = (uint64_t *)(vm.mem + RW);

	mask[0] = mask[1] = ~0ULL;
	cr_assert_eq(CALL(kc_sys_sched_getaffinity, 0, 128, RW, 0, 0, 0), 8);
	cr_assert_eq(mask[0], 1);
	cr_assert_eq(mask[1], ~0ULL, "only the bytes it reports are written");
	cr_assert_eq(CALL(kc_sys_sched_getaffinity, 0, 4, RW, 0, 0, 0),
	             -EINVAL);
	cr_assert_eq(CALL(kc_sys_sched_getaffinity, 2, 8, RW, 0, 0, 0), -ESRCH);
}

Test(sysproc, abort_ends_the_run_with_the_signal)
{
	int st;

	cr_assert_eq(CALL(kc_sys_tgkill, 1, 1, 0, 0, 0, 0), 0);
	cr_assert_eq(CALL(kc_sys_tgkill, 1, 2, SIGABRT, 0, 0, 0), -ESRCH);
	cr_assert_eq(CALL(kc_sys_kill, 1, SIGCHLD, 0, 0, 0, 0), 0);
	cr_assert_eq(CALL(kc_sys_kill, 5, SIGTERM, 0, 0, 0, 0), -ESRCH);
	call(kc_sys_tgkill, &st, 0, 1, 1, SIGABRT, 0, 0, 0);
	cr_assert_eq(st, KC_ERR_EXIT);
	cr_assert_str_eq(res.error,
	                 "the request was killed by signal 6 (SIGABRT)");
	vm.booting = true;
	call(kc_sys_kill, &st, 0, 0, SIGSEGV, 0, 0, 0, 0);
	cr_assert_eq(st, KC_ERR_EXIT);
	cr_assert_str_eq(res.error, "main() was killed by signal 11 (SIGSEGV)");
}

static struct pollfd *pollfds(void)
{
	struct pollfd *p = (struct pollfd *)(vm.mem + RW);

	p[0] = (struct pollfd){.fd = 0, .events = POLLIN | POLLOUT};
	p[1] = (struct pollfd){.fd = 1, .events = POLLIN | POLLOUT};
	p[2] = (struct pollfd){.fd = 2, .events = 0, .revents = 77};
	p[3] = (struct pollfd){.fd = 9, .events = POLLIN};
	p[4] = (struct pollfd){.fd = -1, .events = POLLIN, .revents = 5};
	return p;
}

Test(sysproc, poll_sees_the_standard_fds)
{
	struct pollfd *p = pollfds();

	cr_assert_eq(CALL(kc_sys_poll, RW, 5, -1, 0, 0, 0), 3);
	cr_assert_eq(p[0].revents, POLLIN, "stdin is at end of file");
	cr_assert_eq(p[1].revents, POLLOUT);
	cr_assert_eq(p[2].revents, 0);
	cr_assert_eq(p[3].revents, POLLNVAL);
	cr_assert_eq(p[4].revents, 0);
	/* Rust's start-up: fds 0-2 with no events, timeout 0. */
	p[0].events = p[1].events = 0;
	cr_assert_eq(CALL(kc_sys_poll, RW, 3, 0, 0, 0, 0), 0);
	cr_assert_eq(CALL(kc_sys_poll, RO, 1, 0, 0, 0, 0), -EFAULT);
	cr_assert_eq(CALL(kc_sys_poll, RW, KC_NOFILE + 1, 0, 0, 0, 0), -EINVAL);
}

Test(sysproc, poll_forever_on_nothing_is_a_deadlock)
{
	int64_t *ts = (int64_t *)(vm.mem + RW + 0x1000);
	int st;

	pollfds();
	ts[0] = 1;
	ts[1] = 0;
	cr_assert_eq(CALL(kc_sys_ppoll, RW + 16, 1, RW + 0x1000, 0, 8, 0), 0,
	             "a timeout passes at once");
	ts[1] = 1000000000;
	cr_assert_eq(CALL(kc_sys_ppoll, RW + 16, 1, RW + 0x1000, 0, 8, 0),
	             -EINVAL);
	cr_assert_eq(CALL(kc_sys_poll, RW + 16, 1, 10, 0, 0, 0), 0);
	call(kc_sys_ppoll, &st, 0, RW + 16, 1, 0, 0, 8, 0);
	cr_assert_eq(st, KC_ERR_DEADLOCK);
	cr_assert(strstr(res.error, "deadlock: poll()"), "%s", res.error);
}

Test(sysproc, standard_fds_are_pipes)
{
	struct stat *s = (struct stat *)(vm.mem + RW);

	cr_assert_eq(CALL(kc_sys_fstat, 1, RW, 0, 0, 0, 0), 0);
	cr_assert(S_ISFIFO(s->st_mode));
	cr_assert_eq(s->st_blksize, 4096);
	memset(s, 0, sizeof(*s));
	strcpy((char *)vm.mem + RW + 0x1800, "");
	cr_assert_eq(
	    CALL(kc_sys_newfstatat, 2, RW + 0x1800, RW, AT_EMPTY_PATH, 0, 0),
	    0);
	cr_assert(S_ISFIFO(s->st_mode));
	cr_assert_eq(CALL(kc_sys_fstat, 3, RW, 0, 0, 0, 0), -EBADF);
	cr_assert_eq(CALL(kc_sys_fstat, 0, RO, 0, 0, 0, 0), -EFAULT);
	strcpy((char *)vm.mem + RW + 0x1800, "/etc/passwd");
	cr_assert_eq(
	    CALL(kc_sys_newfstatat, AT_FDCWD, RW + 0x1800, RW, 0, 0, 0),
	    -ENOENT);
	cr_assert_eq(
	    CALL(kc_sys_openat, AT_FDCWD, RW + 0x1800, O_RDONLY, 0, 0, 0),
	    -ENOENT);
	cr_assert_eq(CALL(kc_sys_fcntl, 1, F_GETFL, 0, 0, 0, 0), O_WRONLY);
	cr_assert_eq(CALL(kc_sys_fcntl, 0, F_GETFD, 0, 0, 0, 0), 0);
	cr_assert_eq(CALL(kc_sys_fcntl, 4, F_GETFD, 0, 0, 0, 0), -EBADF);
	cr_assert_eq(CALL(kc_sys_fcntl, 1, F_DUPFD, 0, 0, 0, 0), -EINVAL);
}

Test(sysproc, proc_self_exe)
{
	char *path = (char *)vm.mem + RW + 0x1800, *buf = (char *)vm.mem + RW;

	strcpy(path, "/proc/self/exe");
	cr_assert_eq(CALL(kc_sys_readlink, RW + 0x1800, RW, 4096, 0, 0, 0), 7);
	cr_assert_eq(memcmp(buf, "/tenant", 7), 0);
	memset(buf, 'x', 8);
	cr_assert_eq(
	    CALL(kc_sys_readlinkat, AT_FDCWD, RW + 0x1800, RW, 3, 0, 0), 3,
	    "truncated, as Linux does");
	cr_assert_eq(memcmp(buf, "/texxxxx", 8), 0);
	cr_assert_eq(CALL(kc_sys_readlink, RW + 0x1800, RO, 64, 0, 0, 0),
	             -EFAULT);
	cr_assert_eq(CALL(kc_sys_readlink, RW + 0x1800, RW, 0, 0, 0, 0),
	             -EINVAL);
	strcpy(path, "/proc/self/cwd");
	cr_assert_eq(CALL(kc_sys_readlink, RW + 0x1800, RW, 64, 0, 0, 0),
	             -ENOENT);
	cr_assert_eq(CALL(kc_sys_readlink, 0x300000, RW, 64, 0, 0, 0), -EFAULT);
}

Test(sysproc, unknown_calls_are_enosys_and_logged_once)
{
	int st;

	cr_assert_eq(call(kc_sys_unknown, &st, SYS_clone, 0, 0, 0, 0, 0, 0),
	             -ENOSYS);
	cr_assert_eq(call(kc_sys_unknown, &st, SYS_clone, 0, 0, 0, 0, 0, 0),
	             -ENOSYS);
	cr_assert_eq(call(kc_sys_unknown, &st, SYS_socket, 0, 0, 0, 0, 0, 0),
	             -ENOSYS);
	cr_assert_eq(vm.stats.enosys, 3);
	cr_assert_str_eq(logged,
	                 "2:kvm-fpm: system call 56 is not emulated: ENOSYS "
	                 "(logged once per VM)\n"
	                 "2:kvm-fpm: system call 41 is not emulated: ENOSYS "
	                 "(logged once per VM)\n");
}
