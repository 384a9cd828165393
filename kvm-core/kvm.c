/* The KVM side of a guest: /dev/kvm, VM and vCPU setup, and the timer
 * that bounds how long a guest may run. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kc_kvm.h"
#include "kc_layout.h"
#include "kc_sys.h"
#include "kc_vm.h"
#include "kc_x86.h"

#define MSR_STAR                  0xc0000081
#define MSR_LSTAR                 0xc0000082
#define MSR_CSTAR                 0xc0000083
#define MSR_SYSCALL_MASK          0xc0000084
#define RFLAGS_CLEARED_ON_SYSCALL 0x47700 /* TF IF DF IOPL NT AC */
#define CR4_OSXSAVE               (1u << 18)
#define CPUID1_ECX_XSAVE          (1u << 26)
#define XCR0_X87_SSE              0x3
#define CPUID_ADDRESS_SIZES       0x80000008
#define TIMER_SIGNAL              (SIGRTMIN + 1)
#define DEBUG_SIGNAL              (SIGRTMIN + 2) /* GDB wrote: see gdb_session.c */

static int kvm_fd = -1;
static int run_mmap_size;
static struct kvm_cpuid2 *cpuid;
static bool have_xsave;
static bool have_sync_sregs;  /* segments read at every exit, for free */
static bool have_sync_events; /* vCPU events written with KVM_RUN */

bool kc_kvm_sync_events(void)
{
	return have_sync_events;
}

int kc_init(char *err, size_t errlen)
{
	int r, n, phys_bits = 0;

	if (kvm_fd >= 0)
		return 0;
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open /dev/kvm: %s", strerror(-r));
		return r;
	}
	if (ioctl(kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(err, errlen, "unsupported KVM API version");
		goto fail;
	}
	r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	if (r <= 0 || !(r & KVM_SYNC_X86_REGS) ||
	    ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		snprintf(
		    err, errlen,
		    "KVM lacks KVM_CAP_SYNC_REGS or KVM_CAP_IMMEDIATE_EXIT");
		goto fail;
	}
	have_sync_sregs = r & KVM_SYNC_X86_SREGS;
	have_sync_events = r & KVM_SYNC_X86_EVENTS;
	run_mmap_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	for (n = 64; n <= 4096; n *= 2) {
		free(cpuid);
		cpuid =
		    calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
		if (cpuid == NULL)
			break;
		cpuid->nent = (uint32_t)n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		if (errno != E2BIG) {
			n = 8192;
			break;
		}
	}
	if (cpuid == NULL || n > 4096 || run_mmap_size <= 0) {
		snprintf(err, errlen, "cannot read KVM's supported CPUID");
		goto fail;
	}
	for (n = 0; n < (int)cpuid->nent; n++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[n];

		if (e->function == 1)
			have_xsave = e->ecx & CPUID1_ECX_XSAVE;
		if (e->function == CPUID_ADDRESS_SIZES)
			phys_bits = e->eax & 0xff;
	}
	/* The call page's guest-physical address must be one the guest's
	 * page tables can hold (x86_defs.h KC_CALL_GPA). */
	if (phys_bits && (KC_CALL_GPA >> phys_bits) != 0) {
		snprintf(err, errlen,
		         "the CPU has %d physical address bits; kvm-fpm "
		         "needs at least 37",
		         phys_bits);
		goto fail;
	}
	return 0;
fail:
	close(kvm_fd);
	kvm_fd = -1;
	return -ENODEV;
}

static int set_msrs(int vcpu_fd)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[4];
	} m;
	uint64_t star = ((uint64_t)(KC_SEL_KDATA | 3) << 48) |
	                ((uint64_t)KC_SEL_KCODE << 32);

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 4;
	m.e[0].index = MSR_STAR;
	m.e[0].data = star;
	m.e[1].index = MSR_LSTAR;
	m.e[1].data = KC_STUBS_ADDR + KC_STUB_SYSCALL;
	m.e[2].index = MSR_CSTAR;
	m.e[2].data = 0;
	m.e[3].index = MSR_SYSCALL_MASK;
	m.e[3].data = RFLAGS_CLEARED_ON_SYSCALL;
	return ioctl(vcpu_fd, KVM_SET_MSRS, &m) == 4 ? 0 : -EIO;
}

/*
 * Only x87 and SSE state is enabled: the entry stub's fxrstor resets all
 * of it for every request, and AVX (whose upper YMM halves fxrstor leaves
 * alone) is an invalid opcode.  Under PVM guest user code runs with the
 * host's CR4, so AVX would run with the host's XCR0 unless the guest's
 * CR4.OSXSAVE makes KVM load this XCR0 for it.
 */
static int limit_xcr0(int vcpu_fd)
{
	struct kvm_xcrs x;

	memset(&x, 0, sizeof(x));
	x.nr_xcrs = 1;
	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = XCR0_X87_SSE;
	return ioctl(vcpu_fd, KVM_SET_XCRS, &x) ? -errno : 0;
}

/* Back [start, end) of guest memory with slot from the host view mem, or
 * delete the slot when the range is empty. */
static int set_slot(struct kc_vm *vm, uint32_t slot, uint8_t *mem,
                    uint64_t start, uint64_t end)
{
	struct kvm_userspace_memory_region region = {
	    .slot = slot,
	    .guest_phys_addr = start,
	    .memory_size = end - start,
	    .userspace_addr = (uintptr_t)(mem + start),
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region))
		return -errno;
	return 0;
}

int kc_vm_set_memory(struct kc_vm *vm, uint8_t *mem)
{
	const struct kc_slots *s = &vm->slots;
	uint64_t mem_size = vm->img->lay.mem_size;
	int r = 0;

	/* A slot's backing cannot change in place: delete, then add. */
	if (vm->mem) {
		r = set_slot(vm, 0, vm->mem, 0, 0);
		if (r == 0)
			r = set_slot(vm, 1, vm->mem, 0, 0);
	}
	if (r == 0)
		r = set_slot(vm, 0, mem, 0, s->low_end);
	if (r == 0)
		r = set_slot(vm, 1, mem, s->high_start, mem_size);
	if (r == 0)
		vm->mem = mem;
	return r;
}

/* Nor can its size: a slot grows by being deleted and added again, which
 * makes KVM drop its shadow pages.  Rare: a slot at least doubles. */
int kc_vm_grow_memory(struct kc_vm *vm)
{
	struct kc_slots s = vm->slots;
	uint64_t mem_size = vm->img->lay.mem_size;
	int r = 0;

	if (kc_slots_cover(&s, vm->alloc.brk_high, vm->alloc.mmap_min))
		return 0;
	kc_slots_plan(&vm->img->lay, vm->alloc.brk_high, vm->alloc.mmap_min,
	              &s);
	if (s.low_end != vm->slots.low_end) {
		r = set_slot(vm, 0, vm->mem, 0, 0);
		if (r == 0)
			r = set_slot(vm, 0, vm->mem, 0, s.low_end);
	}
	if (r == 0 && s.high_start != vm->slots.high_start) {
		r = set_slot(vm, 1, vm->mem, 0, 0);
		if (r == 0)
			r = set_slot(vm, 1, vm->mem, s.high_start, mem_size);
	}
	if (r) {
		vm->broken = true; /* the rebuild backs the snapshot again */
		return r;
	}
	vm->slots = s;
	vm->stats.slot_grows++;
	vm->flush_tlb = true; /* see reset.c drop_translations */
	return 0;
}

/* The vCPU runs with the thread's signal mask but for the request timer's
 * signal, which is blocked elsewhere (see timer_setup).  KVM keeps a copy:
 * the mask of the thread when the vCPU is made, which must be the one that
 * runs it.  kvm-fpm sets its masks before it makes VMs (a worker holds
 * SIGQUIT and SIGUSR1 from its start: worker.c). */
static int set_vcpu_signal_mask(int vcpu_fd)
{
	struct {
		struct kvm_signal_mask hdr;
		uint8_t bits[8]; /* the kernel's sigset_t on x86-64 */
	} m;
	sigset_t cur;

	if (pthread_sigmask(SIG_SETMASK, NULL, &cur))
		return -errno;
	sigdelset(&cur, TIMER_SIGNAL);
	m.hdr.len = sizeof(m.bits);
	memcpy(m.bits, &cur, sizeof(m.bits));
	return ioctl(vcpu_fd, KVM_SET_SIGNAL_MASK, &m) ? -errno : 0;
}

int kc_vm_open_kvm(struct kc_vm *vm, const struct kvm_sregs *sregs, char *err,
                   size_t errlen)
{
	struct kvm_sregs s = *sregs;
	uint8_t *mem = vm->mem;
	const char *what;
	void *run;

	vm->vcpu_fd = -1;
	vm->mem = NULL;
	/* A new VM backs what the allocations reach now (at a rebuild, the
	 * snapshot's: a grown slot shrinks back for free). */
	kc_slots_empty(&vm->img->lay, &vm->slots);
	kc_slots_plan(&vm->img->lay, vm->alloc.brk_high, vm->alloc.mmap_min,
	              &vm->slots);
	what = "KVM_CREATE_VM";
	vm->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		goto fail;
	what = "KVM_SET_USER_MEMORY_REGION";
	if (kc_vm_set_memory(vm, mem))
		goto fail;
	what = "KVM_CREATE_VCPU";
	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		goto fail;
	what = "mmap(kvm_run)";
	run = mmap(NULL, (size_t)run_mmap_size, PROT_READ | PROT_WRITE,
	           MAP_SHARED, vm->vcpu_fd, 0);
	if (run == MAP_FAILED)
		goto fail;
	vm->run = run;
	what = "KVM_SET_CPUID2";
	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, cpuid))
		goto fail;
	/* No SMEP: the ring-0 stubs share their page with the user-mode
	 * entries (image.c maps it user-executable), so with SMEP ring 0
	 * could not run its own stubs and nothing would boot on a VMX/SVM
	 * host that has it (PVM hides SMEP from CPUID).  Ring 0 runs only
	 * those stubs and reaches user pages only through iretq/sysret. */
	if (have_xsave)
		s.cr4 |= CR4_OSXSAVE; /* for the XCR0 below to count */
	what = "KVM_SET_SREGS";
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s))
		goto fail;
	what = "KVM_SET_XCRS";
	if (have_xsave && limit_xcr0(vm->vcpu_fd))
		goto fail;
	what = "KVM_SET_MSRS";
	if (set_msrs(vm->vcpu_fd))
		goto fail;
	what = "KVM_SET_SIGNAL_MASK";
	if (set_vcpu_signal_mask(vm->vcpu_fd))
		goto fail;
	/* The reset compares the segments with the snapshot's (reset.c).
	 * Until the first exit fills them in, the synced ones are those
	 * just set: a new vCPU is in user mode (kc_vm_user_mode). */
	vm->run->kvm_valid_regs =
	    KVM_SYNC_X86_REGS | (have_sync_sregs ? KVM_SYNC_X86_SREGS : 0);
	vm->run->s.regs.sregs = s;
	return 0;
fail:
	snprintf(err, errlen, "%s failed: %s", what, strerror(errno));
	vm->mem = mem;
	kc_vm_close_kvm(vm);
	return -EIO;
}

void kc_vm_close_kvm(struct kc_vm *vm)
{
	if (vm->run)
		munmap(vm->run, (size_t)run_mmap_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	vm->run = NULL;
	vm->vcpu_fd = vm->vm_fd = -1;
}

/*
 * One POSIX timer per process, aimed at the thread that runs guests, and
 * one timer_settime per run: the run's deadline is kept here, and the
 * timer is never disarmed.  Its signal stays blocked in the thread (so a
 * late expiry interrupts none of the server's own calls) and is let
 * through only inside KVM_RUN, by the vCPU's signal mask
 * (KVM_SET_SIGNAL_MASK): pending, it makes KVM_RUN return EINTR at once,
 * even when it came just before the call.  No handler runs: the loop takes
 * the signal off with sigtimedwait and asks the clock whether the run's
 * deadline has passed, so an expiry left from an earlier run (one that
 * ended before its limit) costs one more KVM_RUN, nothing else.
 */
static timer_t run_timer;
static bool timer_ready;      /* in this process: timers do not survive fork */
static uint64_t run_deadline; /* CLOCK_MONOTONIC ns; 0: no limit running */
static bool run_expired;      /* this run's limit ran out (and stays so) */
static struct kvm_run *volatile timer_run; /* for the debugger's signal */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000 + (uint64_t)t.tv_nsec;
}

static void timer_forget(void)
{
	timer_ready = false;
}

static void timer_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, TIMER_SIGNAL);
}

/* Never called: a blocked signal must have a handler all the same, or its
 * default action (and SIG_IGN drops it before KVM can see it). */
static void on_timer(int sig)
{
	(void)sig;
}

static int timer_setup(void)
{
	static bool hooked;
	struct sigaction sa;
	struct sigevent sev;
	sigset_t set;

	if (timer_ready)
		return 0;
	if (!hooked && pthread_atfork(NULL, NULL, timer_forget) == 0)
		hooked = true;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timer;
	sigemptyset(&sa.sa_mask);
	timer_signal_set(&set);
	if (sigaction(TIMER_SIGNAL, &sa, NULL) ||
	    pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -errno;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = TIMER_SIGNAL;
	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &run_timer))
		return -errno;
	timer_ready = true;
	return 0;
}

/* Take a pending expiry off: after KVM_RUN returned EINTR. */
static void timer_signal_take(void)
{
	const struct timespec zero = {0, 0};
	sigset_t set;

	timer_signal_set(&set);
	while (sigtimedwait(&set, NULL, &zero) == TIMER_SIGNAL)
		;
}

static int timer_arm(struct kvm_run *run, uint64_t ns)
{
	struct itimerspec its = {
	    .it_value = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)},
	};
	int r = timer_setup();

	if (r)
		return r;
	run->immediate_exit = 0;
	timer_run = run;
	run_expired = false;
	run_deadline = now_ns() + ns;
	return timer_settime(run_timer, 0, &its, NULL) ? -errno : 0;
}

/* The run is over: no call, the timer may fire late (see above).  Whether
 * it ran out stays known until the next run (output is dropped then). */
static void timer_end(struct kvm_run *run)
{
	run_expired = kc_vm_timer_fired();
	timer_run = NULL;
	run_deadline = 0;
	run->immediate_exit = 0;
}

uint64_t kc_vm_timer_pause(void)
{
	struct itimerspec off;
	uint64_t now = now_ns(), left;

	if (!timer_ready || run_deadline == 0)
		return 0;
	left = run_deadline > now ? run_deadline - now : 0;
	run_expired = left == 0;
	memset(&off, 0, sizeof(off));
	timer_settime(run_timer, 0, &off, NULL);
	run_deadline = 0;
	return left;
}

int kc_vm_timer_resume(struct kc_vm *vm, uint64_t left_ns)
{
	if (run_expired) { /* the run ends as timed out at its next entry */
		vm->run->immediate_exit = 1;
		return 0;
	}
	return timer_arm(vm->run, left_ns ? left_ns : 1);
}

bool kc_vm_timer_fired(void)
{
	return run_expired || (run_deadline != 0 && now_ns() >= run_deadline);
}

int kc_vm_timer_left_ms(void)
{
	uint64_t now = now_ns();

	if (run_deadline == 0)
		return -1;
	if (now >= run_deadline)
		return 0;
	return (int)((run_deadline - now + 999999) / 1000000);
}

/*
 * While a request runs under GDB, bytes from GDB (its ^C) or a dropped
 * connection raise DEBUG_SIGNAL on this thread (O_ASYNC on the socket),
 * which makes KVM_RUN return like the timer does.
 */
static volatile sig_atomic_t debug_poked;

static void on_debug_signal(int sig)
{
	struct kvm_run *run = timer_run;

	(void)sig;
	debug_poked = 1;
	if (run)
		run->immediate_exit = 1;
}

int kc_vm_debug_signal(void)
{
	static bool hooked;
	struct sigaction sa;

	if (!hooked) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_debug_signal; /* no SA_RESTART */
		sigemptyset(&sa.sa_mask);
		if (sigaction(DEBUG_SIGNAL, &sa, NULL))
			return -errno;
		hooked = true;
	}
	return DEBUG_SIGNAL;
}

void kc_vm_debug_unpoke(struct kc_vm *vm)
{
	debug_poked = 0;
	/* A limit that ran out while the debugger held the VM ends the run
	 * at its next entry (kc_vm_timer_resume): keep that. */
	if (!run_expired)
		vm->run->immediate_exit = 0;
}

int kc_vm_cpl(struct kc_vm *vm)
{
	struct kvm_sregs s;

	if (vm->run->kvm_valid_regs & KVM_SYNC_X86_SREGS)
		return vm->run->s.regs.sregs.cs.selector & 3;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s))
		return -1;
	return s.cs.selector & 3;
}

/*
 * Back to the caller of a call (stubs.S KC_STUB_SYSCALL), at rcx with r11
 * as RFLAGS, both the caller's own on the direct call path: clamped, so
 * that ring 3 never gets IOPL (on VMX/SVM it would give it the ports),
 * and rcx canonical (no VM entry could take it; Intel's sysret would
 * fault in ring 0, on the user's stack).  From user mode the host
 * resumes the caller itself: no guest instruction runs.  From ring 0
 * (syscall under VMX/SVM) the stub's sysretq, where the store left rip,
 * returns.  Where the request
 * ends instead, the reset finds the vCPU outside user mode and reloads
 * the snapshot's segments.
 */
static int return_from_call(struct kc_vm *vm, int cpl)
{
	struct kvm_regs *r = &vm->run->s.regs.regs;

	if (r->rcx >= KC_CANONICAL_LIMIT ||
	    (cpl == 0 && r->rip != KC_STUBS_ADDR + KC_STUB_SYSRET) ||
	    (cpl != 0 && cpl != 3))
		return kc_vm_fail(vm, KC_ERR_FAULT,
		                  "bad return address 0x%llx from a system "
		                  "call (CPL %d)",
		                  (unsigned long long)r->rcx, cpl);
	r->r11 = kc_x86_user_rflags(r->r11);
	if (cpl == 3) {
		r->rip = r->rcx;
		r->rflags = r->r11;
	}
	vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return KC_RESUME;
}

/* A call: handled, shown to GDB when it asks, then returned from. */
static int handle_call(struct kc_vm *vm)
{
	int cpl = kc_vm_cpl(vm), st;

	st = kc_sys_handle(vm);
	/* One predictable branch is all a request without a debugger
	 * pays. */
	if (__builtin_expect(vm->hooks != NULL, 0) && st == KC_RESUME)
		st = vm->hooks->after_call(vm);
	if (st != KC_RESUME)
		return st;
	return return_from_call(vm, cpl);
}

/* KC_RESUME, or the status that ends the run. */
static int handle_exit(struct kc_vm *vm)
{
	struct kvm_run *run = vm->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (run->io.port >= KC_PORT_EXC &&
		    run->io.port < KC_PORT_EXC + 32) {
			/* The exception stubs' ports are ring 0's alone. */
			if (kc_vm_cpl(vm) != 0)
				return kc_vm_fail(
				    vm, KC_ERR_FAULT,
				    "I/O port 0x%x used from user "
				    "mode",
				    run->io.port);
			if (vm->hooks)
				return vm->hooks->exception(
				    vm, run->io.port - KC_PORT_EXC);
			return kc_vm_fault(vm, run->io.port - KC_PORT_EXC);
		}
		return kc_vm_fault(vm, 13);
	case KVM_EXIT_SHUTDOWN:
		vm->broken = true;
		return kc_vm_fail(vm, KC_ERR_FAULT,
		                  "triple fault at RIP 0x%llx",
		                  (unsigned long long)run->s.regs.regs.rip);
	case KVM_EXIT_MMIO:
		/* A call is a one-byte store to the call page (stubs.S);
		 * KVM has finished it, rip is past it. */
		if (run->mmio.phys_addr == KC_CALL_GPA && run->mmio.is_write &&
		    run->mmio.len == 1)
			return handle_call(vm);
		/* Any other access there (the only unbacked page the page
		 * tables map): KVM would finish it at the next KVM_RUN, with
		 * data for a read.  Rebuild the vCPU instead. */
		vm->broken = true;
		if (run->mmio.phys_addr >= KC_CALL_GPA &&
		    run->mmio.phys_addr < KC_CALL_GPA + KC_PAGE_SIZE)
			return kc_vm_fail(
			    vm, KC_ERR_FAULT,
			    "bad access to the call page (%s of "
			    "%u bytes) at RIP 0x%llx",
			    run->mmio.is_write ? "write" : "read",
			    run->mmio.len,
			    (unsigned long long)run->s.regs.regs.rip);
		return kc_vm_fail(vm, KC_ERR_FAULT,
		                  "access to unbacked memory at 0x%llx",
		                  (unsigned long long)run->mmio.phys_addr);
	case KVM_EXIT_HLT:
		return kc_vm_fail(vm, KC_ERR_FAULT, "halted");
	case KVM_EXIT_INTERNAL_ERROR:
		vm->broken = true;
		return kc_vm_fail(vm, KC_ERR_INTERNAL,
		                  "KVM internal error %u at RIP 0x%llx",
		                  run->internal.suberror,
		                  (unsigned long long)run->s.regs.regs.rip);
	default:
		vm->broken = true;
		return kc_vm_fail(vm, KC_ERR_INTERNAL, "unexpected VM exit %u",
		                  run->exit_reason);
	}
}

/* The run's limit ran out: where the guest was goes to the log (and to
 * GDB, when one is attached). */
static int timed_out(struct kc_vm *vm, uint64_t limit_ns)
{
	vm->sregs_dirty = vm->stopped = true; /* stopped anywhere */
	if (vm->hooks) /* let a debugger see where the time went */
		vm->hooks->timed_out(vm);
	return kc_vm_fail(vm, KC_ERR_TIMEOUT,
	                  "timed out after %.3fs at RIP 0x%llx",
	                  (double)limit_ns / 1e9,
	                  (unsigned long long)vm->run->s.regs.regs.rip);
}

enum kc_status kc_vm_run(struct kc_vm *vm, uint64_t limit_ns)
{
	int r, st;

	r = timer_arm(vm->run, limit_ns);
	if (r)
		return kc_vm_fail(vm, KC_ERR_INTERNAL, "timer: %s",
		                  strerror(-r));
	vm->dirty = true;
	for (;;) {
		r = ioctl(vm->vcpu_fd, KVM_RUN, 0);
		vm->stats.exits++;
		if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
			if (errno == EINTR)
				timer_signal_take();
			if (!kc_vm_timer_fired()) {
				vm->run->immediate_exit = 0;
				if (!debug_poked || vm->hooks == NULL)
					continue;
				debug_poked = 0;
				st = vm->hooks->poked(vm);
				if (st == KC_RESUME)
					continue;
				break;
			}
			st = timed_out(vm, limit_ns);
			break;
		}
		if (r < 0) {
			vm->broken = true;
			st = kc_vm_fail(vm, KC_ERR_INTERNAL, "KVM_RUN: %s",
			                strerror(errno));
			break;
		}
		st = handle_exit(vm);
		if (st != KC_RESUME)
			break;
		/* The limit ran out while the host served a call: end now,
		 * not after another entry (the handlers stop early too). */
		if (kc_vm_timer_fired()) {
			st = timed_out(vm, limit_ns);
			break;
		}
	}
	timer_end(vm->run);
	kc_vm_output_flush(vm);
	return (enum kc_status)st;
}

void kc_vm_enter_user(struct kc_vm *vm, uint64_t rip, uint64_t rsp,
                      uint64_t rdi)
{
	struct kvm_regs *r = &vm->run->s.regs.regs;

	memset(r, 0, sizeof(*r));
	/* The vCPU is in user mode: every exit that leaves it elsewhere
	 * makes the reset load the snapshot's user-mode segments. */
	r->rip = KC_STUBS_ADDR +
	         (vm->flush_tlb ? KC_STUB_ENTRY_FLUSH : KC_STUB_ENTRY);
	vm->flush_tlb = false;
	r->rsp = rsp;
	r->rflags = kc_x86_user_rflags(0); /* IF, IOPL 0 */
	r->rcx = rip;
	r->rdi = rdi;
	vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}
