/* Ring-0 code that every guest runs: copied into guest memory at
 * KC_STUBS_ADDR by the loader.  To the host it is only bytes. */
#include "x86_defs.h"

	.section .rodata
	.code64
	.globl kc_stubs_begin, kc_stubs_end
	.balign 16
kc_stubs_begin:
	/* Entry for boot and every request, in ring 0: the host sets
	 * rcx = user rip, r11 = user rflags, r12 = user rsp, rdi = arg.
	 * Every request starts with the FPU, SSE and x87 state of the
	 * image below (XCR0 enables nothing more: kvm.c limit_xcr0). */
	mov %cr3, %rax
	mov %rax, %cr3		/* the host cleared dirty bits: flush the TLB */
	fxrstor64 KC_FXAREA_ADDR
	mov %r12, %rsp
	xor %eax, %eax
	xor %r12d, %r12d
	sysretq

	.org kc_stubs_begin + KC_STUB_SYSCALL
	/* LSTAR.  A fault here is a system call: it reaches ring 0 under
	 * hardware virtualisation and paravirtual KVM (PVM) alike, where
	 * syscall itself does not leave user mode. */
	ud2

	.org kc_stubs_begin + KC_STUB_UD
	/* #UD: the system call above, or a real invalid opcode. */
	cmpq $(KC_STUBS_ADDR + KC_STUB_SYSCALL), (%rsp)
	jne 1f
	/* The host handles it and sets rax; it also clamps r11, which the
	 * direct call path (KFPM_CALL_ENTRY) takes from the caller, to
	 * flags user code may have (kvm.c clamp_call_rflags): no IOPL. */
	outb %al, $KC_PORT_SYSCALL
	mov %rcx, (%rsp)		/* back to the caller, in user mode */
	movq $KC_SEL_UCODE, 8(%rsp)
	mov %r11, 16(%rsp)
	movq $KC_SEL_UDATA, 32(%rsp)
	iretq
1:	outb %al, $(KC_PORT_EXC + 6)
	hlt
	jmp 1b

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
	.section .note.GNU-stack,"",@progbits
