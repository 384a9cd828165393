/* Images and VMs: the state of a snapshot (struct kc_image) and of a VM
 * serving requests from it (struct kc_vm), and how a debugger attaches
 * to a run. */
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
 * request it serves): the run loop (run.c) and the system calls call
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

#endif
