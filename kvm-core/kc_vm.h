/* Images and VMs: the state of a snapshot (struct kc_image) and of a VM
 * serving requests from it (struct kc_vm), and what vm.c does with them:
 * the one constructor, failures and faults, guest output. */
#ifndef KC_VM_H
#define KC_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "kc.h"
#include "kc_elf.h"
#include "kc_layout.h"
#include "kc_pagetable.h"
#include "kvm-fpm-abi.h"

struct kc_files; /* the guest's open files (kc_files.h) */
struct kc_gdb;   /* a request under the debugger (gdb/gdb_vm.h) */
struct kc_vm;

/*
 * What a debugger attaches to a run (gdb/session.c sets them for the
 * request it serves): the run loop (kvm.c) and the system calls call
 * these, and know nothing else of it.  Each int hook returns KC_RESUME
 * to go on, or the status that ends the run.
 */
struct kc_vm_hooks {
	/* A system call or hypercall was just handled. */
	int (*after_call)(struct kc_vm *vm);
	/* The guest took exception vector in user mode. */
	int (*exception)(struct kc_vm *vm, unsigned vector);
	/* The debugger's socket signalled while the guest ran. */
	int (*poked)(struct kc_vm *vm);
	/* The run's time limit ran out. */
	void (*timed_out)(struct kc_vm *vm);
	/* breakpoint() was called: stop once the call has returned. */
	void (*breakpoint_call)(struct kc_vm *vm);
};

/* Where the guest's allocations stand; the image keeps the snapshot's. */
struct kc_alloc {
	uint64_t brk;      /* the program break */
	uint64_t brk_high; /* end of the pages mapped for the heap */
	uint64_t mmap_low; /* lowest live anonymous mapping */
	uint64_t mmap_min; /* lowest page ever mapped for mmap */
	uint64_t pt_next;  /* next free page-table page */
};

/* Pages a VM copies back after each request (see reset.c). */
struct kc_restore {
	uint64_t *bits;  /* one bit per guest page: on the list */
	uint32_t *pages; /* page numbers */
	uint32_t count, cap;
};

struct kc_image {
	int refs;
	struct kc_files *files; /* those main() opened, and the data_dir */
	int memfd;              /* guest memory as of the snapshot */
	const uint8_t *snap;    /* read-only private view of memfd */
	struct kc_limits lim;
	struct kc_layout lay;
	struct kc_symtab syms;
	struct kvm_sregs sregs;
	struct kc_alloc alloc;
	uint64_t *present; /* one bit per guest page mapped in the snapshot */
	uint64_t entry;    /* the runtime's request entry */
	uint64_t backend;  /* my_backend, where X-Debug requests stop */
	uint64_t user_rsp; /* stack pointer a request starts with */
	uint64_t snapshot_bytes;
};

#define KC_ENOSYS_LOGGED_WORDS 8 /* system calls 0-511 */

struct kc_vm {
	struct kc_image *img;
	int vm_fd, vcpu_fd;
	struct kvm_run *run;
	uint8_t *mem;     /* guest memory: private view of img->memfd */
	bool booting;     /* running main(), memory shared with img */
	bool dirty;       /* ran since the last reset */
	bool sregs_dirty; /* segments changed: reload them at reset */
	bool stopped;     /* stopped anywhere: drop queued events at reset */
	bool broken;      /* vCPU unusable: rebuild it at reset */
	bool flush_tlb;   /* pages left the address space: flush at entry */
	struct kc_alloc alloc;
	uint64_t req_used;     /* bytes of the request area written */
	struct kc_touch touch; /* page-table pages the host changed */
	struct kc_restore restore;
	struct kfpm_ready ready;
	uint64_t ready_rsp; /* main()'s stack pointer at READY */
	struct kc_result *res;
	kc_output_fn *out;
	void *out_ctx;
	struct kc_line {
		size_t len;
		size_t counted; /* bytes of this line charged to the log */
		bool cut;       /* dropping the rest of an over-long line */
		char buf[KC_OUTPUT_LINE_MAX];
	} line[2];       /* stdout, stderr */
	uint64_t logged; /* charged to max_log_size in this run */
	bool log_cut;    /* over it: the run's output is dropped */
	struct kc_vm_stats stats;
	const struct kc_vm_hooks *hooks; /* a debugger's, or NULL */
	struct kc_gdb *gdb;              /* the debugger's state, or NULL */
	struct kc_slots slots; /* what KVM backs of mem (see layout.c) */
	uint64_t enosys_logged[KC_ENOSYS_LOGGED_WORDS]; /* see sys_proc.c */
	struct kc_files *files; /* the snapshot's and the request's files */
};

/*
 * The one constructor of a VM: on img (a new reference), guest memory at
 * the host view mem, allocations as in alloc, the file table files, and a
 * KVM VM and vCPU with sregs.  Takes files over, also on failure.  On
 * success kc_vm_destroy() unmaps mem (set vm->mem to NULL to keep it);
 * on failure the caller still owns it.  0 or -errno, reason in err.
 */
int kc_vm_new(struct kc_image *img, uint8_t *mem, const struct kc_alloc *alloc,
              const struct kvm_sregs *sregs, struct kc_files *files,
              kc_output_fn *out, void *out_ctx, struct kc_vm **vmp, char *err,
              size_t errlen);

/* Make the next entry one in user mode: a VM that last stopped anywhere
 * else (in ring 0, handed over without a reset) gets the snapshot's
 * segments with it (reset.c).  Free when the vCPU is in user mode.  0 or
 * -errno. */
int kc_vm_user_mode(struct kc_vm *vm);

/* Allocate the VM's restore list.  0 or -ENOMEM. */
int kc_vm_init_restore(struct kc_vm *vm);

/* Fill vm->res with an error and return status. */
__attribute__((format(printf, 3, 4))) enum kc_status
kc_vm_fail(struct kc_vm *vm, enum kc_status status, const char *fmt, ...);

/* Describe an exception the guest took into vm->res; KC_ERR_FAULT. */
enum kc_status kc_vm_fault(struct kc_vm *vm, unsigned vector);

/*
 * Pass guest output on as lines, charged to max_log_size; flush what is
 * left at the end of a run (which starts the next run's budget).  Work is
 * bounded by the budget left: callers hand at most kc_vm_output_room()
 * bytes and call kc_vm_output_cut() for whatever they drop beyond it.
 * Nothing more is passed on once the run's timer has fired.
 */
void kc_vm_output(struct kc_vm *vm, int fd, const char *p, size_t len);
uint64_t kc_vm_output_room(const struct kc_vm *vm);
void kc_vm_output_cut(struct kc_vm *vm);
void kc_vm_output_flush(struct kc_vm *vm);

/* Bytes the current request allocated beyond the snapshot. */
uint64_t kc_vm_charged(const struct kc_vm *vm);

#endif
