/* Fixed guest addresses and x86-64 constants shared by the C code and the
 * ring-0 stubs (stubs.S).  Plain #defines only: included from assembly. */
#ifndef KC_X86_DEFS_H
#define KC_X86_DEFS_H

#define KC_PAGE_SIZE 0x1000

/* Low fixed area, supervisor only but for the stubs page, which user mode
 * may read and run.  Page 0 stays unmapped. */
#define KC_GDT_ADDR        0x1000
#define KC_IDT_ADDR        0x2000
#define KC_TSS_ADDR        0x3000
#define KC_STUBS_ADDR      0x4000
#define KC_FXAREA_ADDR     0x4800 /* FXSAVE image restored on every entry */
#define KC_CALL_ADDR       0x5000 /* user-writable; stores here are calls */
#define KC_IST_BASE        0x6000
#define KC_IST_TOP         0x9000   /* exceptions run on [KC_IST_BASE, TOP) */
#define KC_USER_MIN        0x100000 /* lowest address a program may use */
#define KC_CANONICAL_LIMIT 0x0000800000000000 /* user addresses are below */

/* GDT selectors. syscall: CS=0x08 SS=0x10; sysret: SS=0x18|3 CS=0x20|3. */
#define KC_SEL_KCODE 0x08
#define KC_SEL_KDATA 0x10
#define KC_SEL_UDATA 0x1b
#define KC_SEL_UCODE 0x23
#define KC_SEL_TSS   0x28

/*
 * RFLAGS on every return to user mode (see kc_x86_user_rflags): the user
 * keeps what it could set itself with popf (CF PF AF ZF SF TF DF OF AC
 * ID); IF and the reserved bit 1 are forced; IOPL, NT, RF, VM, VIF and
 * VIP are cleared, so ring 3 never gets the I/O ports or a task return.
 */
#define KC_RFLAGS_USER_KEEP 0x240dd5
#define KC_RFLAGS_USER_SET  0x202

/*
 * How the guest leaves for the host.  A call is a one-byte store to
 * KC_CALL_ADDR, which the page tables map to KC_CALL_GPA: a guest-physical
 * page outside every memory slot (guest memory ends at KC_MAX_MEMORY at
 * most), so the store exits to the host (KVM_EXIT_MMIO) from user mode
 * and ring 0 alike.  Exceptions leave from ring 0 by an I/O port each;
 * user mode has no port.
 */
#define KC_CALL_GPA (64ULL << 30)
#define KC_PORT_EXC 0x80 /* + vector, for vectors 0..31 */

/* Offsets of the entry points inside the stubs page. */
#define KC_VEC_BP           3  /* int3: a gate user code may use */
#define KC_VEC_FLUSH        32 /* int $32: flush the TLB (the other one) */
#define KC_VEC_UD           6
#define KC_STUB_ENTRY_FLUSH 0x00 /* user mode: int $KC_VEC_FLUSH, then: */
#define KC_STUB_ENTRY       0x02 /* user mode: restore FPU, jump to rcx */
#define KC_STUB_FLUSH       0x18 /* ring 0: reload CR3, iretq */
#define KC_STUB_SYSCALL     0x20 /* LSTAR and KFPM_CALL_ENTRY: the call */
#define KC_STUB_SYSRET      0x27 /* then sysretq (ring 0 only) */
#define KC_STUB_RESUME      0x70 /* iretq: the debugger resumes a stop */
#define KC_STUB_EXC         0x80 /* 16 bytes per vector */
#define KC_STUB_EXC_SIZE    16

/* Exceptions the CPU pushes an error code for: 8 10-14 17 21 29 30. */
#define KC_VECTORS_WITH_ERROR_CODE 0x60227d00

/*
 * The frame an exception stub sits on (on the IST stack, past the error
 * code, if any), and the #UD stub during a system call: what iretq pops,
 * in 8-byte slots.
 */
#define KC_FRAME_RIP    0
#define KC_FRAME_CS     1
#define KC_FRAME_RFLAGS 2
#define KC_FRAME_RSP    3
#define KC_FRAME_SS     4
#define KC_FRAME_SIZE   (5 * 8)

#endif
