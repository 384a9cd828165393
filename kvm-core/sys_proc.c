/* The process calls glibc, libstdc++ and Rust std make in one thread:
 * futexes, limits, affinity, signals to itself, and the log of calls
 * nothing emulates.  Only guest memory is touched; no host calls. */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "kc_result.h"
#include "kc_vm.h"
#include "sys_proc.h"

#define GUEST_PID     1  /* getpid() and gettid() in syscall.c */
#define ROBUST_HEAD   24 /* sizeof(struct robust_list_head) */
#define NR_LIMITS     16 /* RLIM_NLIMITS */
#define FUTEX_CMD(op) ((op) & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

/* Where a call came from: the syscall instruction left it in rcx. */
static void describe_caller(struct kc_vm *vm, struct kvm_regs *r, char *buf,
                            size_t len)
{
	char sym[96];

	kc_symtab_describe(&vm->img->syms, r->rcx, sym, sizeof(sym));
	snprintf(buf, len, "RIP 0x%llx%s%s%s", (unsigned long long)r->rcx,
	         sym[0] ? " <" : "", sym, sym[0] ? ">" : "");
}

static int futex_deadlock(struct kc_vm *vm, struct kvm_regs *r, uint32_t val)
{
	char where[128];

	describe_caller(vm, r, where, sizeof(where));
	return kc_vm_fail(vm, KC_ERR_DEADLOCK,
	                  "deadlock: futex wait on 0x%llx (value %u) at %s, "
	                  "and there is no other thread to wake it",
	                  (unsigned long long)r->rdi, val, where);
}

/* FUTEX_WAIT and FUTEX_WAIT_BITSET: the value decides, then the timeout.
 * Time passes at once here as in nanosleep: a timed wait times out. */
static int futex_wait(struct kc_vm *vm, struct kvm_regs *r)
{
	const uint32_t *word = kc_sys_mem(vm, r->rdi, 4, 0);
	uint32_t val = (uint32_t)r->rdx;

	if (FUTEX_CMD(r->rsi) == FUTEX_WAIT_BITSET && (uint32_t)r->r9 == 0)
		return kc_sys_ret(r, -EINVAL);
	if (word == NULL)
		return kc_sys_ret(r, -EFAULT);
	if (*word != val)
		return kc_sys_ret(r, -EAGAIN);
	if (r->r10 == 0)
		return futex_deadlock(vm, r, val);
	if (kc_sys_mem(vm, r->r10, 16, 0) == NULL)
		return kc_sys_ret(r, -EFAULT);
	return kc_sys_ret(r, -ETIMEDOUT);
}

/* A 12-bit field of FUTEX_WAKE_OP's encoding, sign-extended. */
static int32_t op_field(uint32_t v, unsigned shift)
{
	int32_t x = (int32_t)((v >> shift) & 0xfff);

	return x >= 0x800 ? x - 0x1000 : x;
}

/* FUTEX_WAKE_OP: the operation on *uaddr2 happens; nobody waits to be
 * woken by either address, so the comparison changes nothing. */
static int futex_wake_op(struct kc_vm *vm, struct kvm_regs *r)
{
	uint32_t enc = (uint32_t)r->r9, op = (enc >> 28) & 7, old;
	int32_t arg = op_field(enc, 12);
	uint32_t *word;

	if (r->r8 & 3)
		return kc_sys_ret(r, -EINVAL);
	if ((enc >> 24 & 15) > FUTEX_OP_CMP_GE)
		return kc_sys_ret(r, -ENOSYS);
	if (enc & ((uint32_t)FUTEX_OP_OPARG_SHIFT << 28))
		arg = (int32_t)(1u << (arg & 31));
	word = kc_sys_mem(vm, r->r8, 4, KC_GMEM_WRITE);
	if (word == NULL)
		return kc_sys_ret(r, -EFAULT);
	old = *word;
	switch (op & 7) {
	case FUTEX_OP_SET:
		*word = (uint32_t)arg;
		break;
	case FUTEX_OP_ADD:
		*word = old + (uint32_t)arg;
		break;
	case FUTEX_OP_OR:
		*word = old | (uint32_t)arg;
		break;
	case FUTEX_OP_ANDN:
		*word = old & ~(uint32_t)arg;
		break;
	case FUTEX_OP_XOR:
		*word = old ^ (uint32_t)arg;
		break;
	default:
		return kc_sys_ret(r, -ENOSYS);
	}
	return kc_sys_ret(r, 0);
}

int kc_sys_futex(struct kc_vm *vm, struct kvm_regs *r)
{
	const uint32_t *word;

	if (r->rdi & 3)
		return kc_sys_ret(r, -EINVAL);
	switch (FUTEX_CMD(r->rsi)) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
		return futex_wait(vm, r);
	case FUTEX_WAKE_BITSET:
		if ((uint32_t)r->r9 == 0)
			return kc_sys_ret(r, -EINVAL);
		return kc_sys_ret(r, 0);
	case FUTEX_WAKE:
	case FUTEX_REQUEUE:
		return kc_sys_ret(r, 0); /* no thread waits: none woken */
	case FUTEX_CMP_REQUEUE:
		word = kc_sys_mem(vm, r->rdi, 4, 0);
		if (word == NULL)
			return kc_sys_ret(r, -EFAULT);
		return kc_sys_ret(r, *word == (uint32_t)r->r9 ? 0 : -EAGAIN);
	case FUTEX_WAKE_OP:
		return futex_wake_op(vm, r);
	default: /* priority inheritance, requeue-PI: no threads to boost */
		return kc_sys_ret(r, -ENOSYS);
	}
}

int kc_sys_set_robust_list(struct kc_vm *vm, struct kvm_regs *r)
{
	(void)vm;
	return kc_sys_ret(r, r->rsi == ROBUST_HEAD ? 0 : -EINVAL);
}

/* Restartable sequences matter when a thread is preempted or migrated;
 * one thread on one vCPU never is.  glibc takes ENOSYS as "rseq off" and
 * reads the CPU number through getcpu instead: that costs nothing and
 * spares the host from writing the guest's TLS behind its back. */
int kc_sys_rseq(struct kc_vm *vm, struct kvm_regs *r)
{
	(void)vm;
	return kc_sys_ret(r, -ENOSYS);
}

/* The limits a guest sees: what the operator configured, where Linux has
 * a matching limit; unlimited where nothing here limits. */
static void limit_of(struct kc_vm *vm, unsigned res, struct rlimit *l)
{
	const struct kc_limits *lim = &vm->img->lim;
	uint64_t v = RLIM_INFINITY;

	switch (res) {
	case RLIMIT_STACK:
		v = lim->stack_size;
		break;
	case RLIMIT_AS:
	case RLIMIT_DATA:
		v = lim->max_memory;
		break;
	case RLIMIT_NOFILE:
		v = KC_NOFILE;
		break;
	case RLIMIT_NPROC:
		v = 1;
		break;
	case RLIMIT_CORE:
	case RLIMIT_MEMLOCK:
	case RLIMIT_NICE:
	case RLIMIT_RTPRIO:
		v = 0;
		break;
	}
	l->rlim_cur = l->rlim_max = v;
}

/* Read, and "set" to what it already is: the operator owns the limits. */
static int64_t limits(struct kc_vm *vm, uint64_t res, uint64_t new_gva,
                      uint64_t old_gva)
{
	struct rlimit cur, want;

	if (res >= NR_LIMITS)
		return -EINVAL;
	limit_of(vm, (unsigned)res, &cur);
	if (new_gva) {
		if (kc_sys_get(vm, &want, new_gva, sizeof(want)))
			return -EFAULT;
		if (want.rlim_cur > want.rlim_max)
			return -EINVAL;
		if (want.rlim_cur != cur.rlim_cur ||
		    want.rlim_max != cur.rlim_max)
			return -EPERM;
	}
	if (old_gva)
		return kc_sys_put(vm, old_gva, &cur, sizeof(cur));
	return 0;
}

int kc_sys_prlimit64(struct kc_vm *vm, struct kvm_regs *r)
{
	if (r->rdi != 0 && r->rdi != GUEST_PID)
		return kc_sys_ret(r, -ESRCH);
	return kc_sys_ret(r, limits(vm, r->rsi, r->rdx, r->r10));
}

int kc_sys_getrlimit(struct kc_vm *vm, struct kvm_regs *r)
{
	if (r->rsi == 0)
		return kc_sys_ret(r, -EFAULT);
	return kc_sys_ret(r, limits(vm, r->rdi, 0, r->rsi));
}

int kc_sys_setrlimit(struct kc_vm *vm, struct kvm_regs *r)
{
	if (r->rsi == 0)
		return kc_sys_ret(r, -EFAULT);
	return kc_sys_ret(r, limits(vm, r->rdi, r->rsi, 0));
}

/* One CPU: the kernel writes one long of mask and says how many bytes. */
int kc_sys_sched_getaffinity(struct kc_vm *vm, struct kvm_regs *r)
{
	static const uint64_t mask = 1;

	if (r->rdi != 0 && r->rdi != GUEST_PID)
		return kc_sys_ret(r, -ESRCH);
	if (r->rsi == 0 || (r->rsi & 7))
		return kc_sys_ret(r, -EINVAL);
	if (kc_sys_put(vm, r->rdx, &mask, sizeof(mask)))
		return kc_sys_ret(r, -EFAULT);
	return kc_sys_ret(r, 8);
}

int kc_sys_getcpu(struct kc_vm *vm, struct kvm_regs *r)
{
	uint64_t gva[2] = {r->rdi, r->rsi};
	static const uint32_t zero;
	int i;

	for (i = 0; i < 2; i++)
		if (gva[i] && kc_sys_put(vm, gva[i], &zero, sizeof(zero)))
			return kc_sys_ret(r, -EFAULT);
	return kc_sys_ret(r, 0);
}

/* A signal to itself.  No handler ever runs (rt_sigaction is accepted and
 * ignored), so a signal whose default is to terminate ends the run, the
 * way abort(), assert() and an uncaught C++ exception end a process. */
static int signal_self(struct kc_vm *vm, struct kvm_regs *r, uint64_t sig)
{
	const char *name;

	if (sig > 64)
		return kc_sys_ret(r, -EINVAL);
	switch (sig) {
	case 0: /* "may I signal it?" */
	case SIGCHLD:
	case SIGCONT:
	case SIGURG:
	case SIGWINCH:
		return kc_sys_ret(r, 0);
	}
	name = sig < 32 ? sigabbrev_np((int)sig) : NULL;
	return kc_vm_fail(vm, KC_ERR_EXIT, "%s was killed by signal %d%s%s%s",
	                  vm->booting ? "main()" : "the request", (int)sig,
	                  name ? " (SIG" : "", name ? name : "",
	                  name ? ")" : "");
}

int kc_sys_kill(struct kc_vm *vm, struct kvm_regs *r)
{
	int64_t pid = (int64_t)(int32_t)r->rdi;

	/* -1 is every process it may signal, 0 its group: itself either way */
	if (pid != GUEST_PID && pid != 0 && pid != -1)
		return kc_sys_ret(r, -ESRCH);
	return signal_self(vm, r, r->rsi);
}

int kc_sys_tkill(struct kc_vm *vm, struct kvm_regs *r)
{
	int64_t tid = (int64_t)(int32_t)r->rdi;

	if (tid <= 0)
		return kc_sys_ret(r, -EINVAL);
	if (tid != GUEST_PID)
		return kc_sys_ret(r, -ESRCH);
	return signal_self(vm, r, r->rsi);
}

int kc_sys_tgkill(struct kc_vm *vm, struct kvm_regs *r)
{
	int64_t tgid = (int64_t)(int32_t)r->rdi, tid = (int64_t)(int32_t)r->rsi;

	if (tgid <= 0 || tid <= 0)
		return kc_sys_ret(r, -EINVAL);
	if (tgid != GUEST_PID || tid != GUEST_PID)
		return kc_sys_ret(r, -ESRCH);
	return signal_self(vm, r, r->rdx);
}

int kc_sys_unknown(struct kc_vm *vm, struct kvm_regs *r)
{
	uint64_t nr = r->rax, bit = 1ULL << (nr & 63);
	char line[128];
	int n;

	vm->stats.enosys++;
	if (nr < 64 * KC_ENOSYS_LOGGED_WORDS &&
	    !(vm->enosys_logged[nr / 64] & bit)) {
		vm->enosys_logged[nr / 64] |= bit;
		n = snprintf(line, sizeof(line),
		             "kvm-fpm: system call %llu is not emulated: "
		             "ENOSYS (logged once per VM)",
		             (unsigned long long)nr);
		if (vm->out && n > 0)
			vm->out(vm->out_ctx, 2, line, (size_t)n);
	}
	return kc_sys_ret(r, -ENOSYS);
}
