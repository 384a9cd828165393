/* A bare KVM guest for the micro benchmark's floor and creation cost. */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

#include <stdint.h>

struct kvm_sregs;

enum floor_kind {
	FLOOR_RING0_RAW,  /* ring-0 `out`, re-entered with no register write */
	FLOOR_RING0,      /* the same, registers set through sync regs */
	FLOOR_USER,       /* ring 0 -> sysret -> user ud2 -> #UD -> `out` */
	FLOOR_USER_OUT,   /* `out` from user mode (IOPL 3), re-entered there */
	FLOOR_RING0_LOOP, /* ring 0: 128 instructions (a loop), then `out` */
	FLOOR_USER_LOOP,  /* FLOOR_USER with the same loop before the `ud2` */
	FLOOR_USER_MMIO,  /* kvm-core's way: the host enters user mode (CPL 3
	                     set once), user code stores to an unbacked page */
};

struct floor_vm {
	int vm_fd, vcpu_fd;
	struct kvm_run *run;
	uint8_t *mem;
	enum floor_kind last;           /* where the vCPU stopped */
	struct kvm_sregs *ring0, *user; /* segments for each kind of entry */
};

/* Open /dev/kvm for the floor VMs.  0 or -errno. */
int floor_init(void);

/* A VM with 2 MiB of memory in one slot and one vCPU with its kvm_run
 * mapped: what any guest needs before it can run.  0 or -errno; call
 * floor_destroy() either way. */
int floor_create(struct floor_vm *f);
void floor_destroy(struct floor_vm *f);

/* Write the guest (GDT, IDT, TSS, page tables, code) and its registers. */
int floor_setup(struct floor_vm *f);

/* One KVM_RUN that ends at the guest's `out` (or store, for
 * FLOOR_USER_MMIO; changing between it and the others costs a
 * KVM_SET_SREGS more, once).  0, -EPERM when the guest
 * took an exception instead (#GP for a user-mode `out` when the host does
 * not give the guest IOPL 3), -EIO on any other exit, or -errno from
 * KVM_RUN. */
int floor_round_trip(struct floor_vm *f, enum floor_kind kind);

/* After -EPERM with an error-code exception: the RFLAGS it saved. */
uint64_t floor_fault_rflags(const struct floor_vm *f);

#endif
