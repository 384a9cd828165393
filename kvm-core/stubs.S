/* The code every guest has besides its program: copied into guest memory
 * at KC_STUBS_ADDR by the loader.  To the host it is only bytes.
 *
 * A request never runs ring-0 code unless it faults: the host enters user
 * mode itself (run.c kc_vm_enter_user), and every call leaves with one
 * store to the call page (x86_defs.h KC_CALL_ADDR), which exits to the
 * host from user mode and ring 0 alike.  Under PVM ring-0 code is
 * emulated one instruction at a time; user code runs natively there as
 * on VMX/SVM. */
#include "x86_defs.h"

	.section .rodata
	.code64
	.globl kc_stubs_begin, kc_stubs_end
	.balign 16
kc_stubs_begin:
	/* The entry after a reset that took pages out of the address
	 * space: a TLB flush first (reset.c), through the one software
	 * interrupt user mode may raise besides int3. */
	int $KC_VEC_FLUSH
	.org kc_stubs_begin + KC_STUB_ENTRY
	/* Entry for boot and every request, in user mode: the host sets
	 * rcx = where to go, rsp, rdi and rflags.  Every request starts
	 * with the FPU, SSE and x87 state of the image at KC_FXAREA_ADDR
	 * (XCR0 enables nothing more: kvm.c limit_xcr0).  AMD CPUs before
	 * Zen 2 leave the x87 last-instruction, -operand and opcode
	 * pointers alone in fxrstor when no x87 exception is pending, so
	 * the request before would show through: an x87 load first sets
	 * them to its own (fninit first, so that it can neither fault nor
	 * overflow the stack), as Linux does for its tasks.  None of these
	 * is a privileged instruction.  The .org below fails to assemble
	 * when this runs into the flush stub. */
	fninit
	fildl KC_FXAREA_ADDR
	fxrstor64 KC_FXAREA_ADDR
	jmp *%rcx

	.org kc_stubs_begin + KC_STUB_FLUSH
	/* int $KC_VEC_FLUSH, on the IST stack: a CR3 reload drops every
	 * translation the guest's TLB holds; back to user mode. */
	mov %cr3, %rax
	mov %rax, %cr3
	iretq

	.org kc_stubs_begin + KC_STUB_SYSCALL
	/* LSTAR, and the direct call path (KFPM_CALL_ENTRY): rcx = where
	 * to return, r11 = rflags, as the syscall instruction leaves them.
	 * One exit.  The host handles the call and sets rax; then
	 *  - when the exit came from user mode (a direct call; a syscall
	 *    under PVM, where syscall does not leave user mode), the host
	 *    itself resumes the caller at rcx with r11 as flags, clamped;
	 *  - when it came from ring 0 (a syscall under VMX/SVM), the host
	 *    clamps r11 (no IOPL) and checks rcx, and the sysretq below
	 *    returns.  It runs in ring 0 only: the host never resumes user
	 *    mode there (run.c return_from_call).
	 * The store is 7 bytes (ModRM, SIB, 32-bit address): the .org
	 * below fails to assemble if it were longer. */
	movb %al, KC_CALL_ADDR
	.org kc_stubs_begin + KC_STUB_SYSRET
	sysretq

	.org kc_stubs_begin + KC_STUB_RESUME
	/* The GDB stub returns to user mode from an exception frame it
	 * stopped at (gdb_session.c): rsp points at that frame, whose
	 * rflags the host clamped like a call's. */
	iretq

	/* One stub per exception vector, on the IST stack. */
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.org kc_stubs_begin + KC_STUB_EXC + \v * KC_STUB_EXC_SIZE
1:	outb %al, $(KC_PORT_EXC + \v)
	hlt
	jmp 1b
	.endr
kc_stubs_end:
	/* An error here ("moving backwards") when the stubs would run into
	 * the FXSAVE image that kc_x86_build_system() puts after them. */
	.org kc_stubs_begin + KC_FXAREA_ADDR - KC_STUBS_ADDR
	.section .note.GNU-stack,"",@progbits
