/* The vCPU run loop: enter the tenant's user code, serve its calls and
 * exits until the phase ends, within the run's time limit. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kc_kvm.h"
#include "kc_result.h"
#include "kc_run.h"
#include "kc_sys.h"
#include "kc_timer.h"
#include "kc_vm.h"
#include "kc_x86.h"

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

	/* Dirty from here on, whatever happens: the caller wrote the
	 * request into guest memory, and the entry took the TLB flush. */
	vm->dirty = true;
	r = kc_timer_arm(vm->run, limit_ns);
	if (r)
		return kc_vm_fail(vm, KC_ERR_INTERNAL, "timer: %s",
		                  strerror(-r));
	for (;;) {
		r = ioctl(vm->vcpu_fd, KVM_RUN, 0);
		vm->stats.exits++;
		if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
			if (errno == EINTR && (r = kc_timer_signal_take())) {
				vm->sregs_dirty = vm->stopped = true;
				st = kc_vm_fail(vm, KC_ERR_INTERNAL,
				                "timer: %s", strerror(-r));
				break;
			}
			if (!kc_vm_timer_fired()) {
				vm->run->immediate_exit = 0;
				if (vm->hooks == NULL || !kc_timer_take_poke())
					continue;
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
	kc_timer_end(vm->run);
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
