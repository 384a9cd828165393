/* kvm-core internals shared by its .c files; not for callers. */
#ifndef KC_INTERNAL_H
#define KC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "kc.h"
#include "x86_defs.h"

#define KC_PAGE_MASK    (~(uint64_t)(KC_PAGE_SIZE - 1))
#define KC_PAGE_UP(x)   (((x) + KC_PAGE_SIZE - 1) & KC_PAGE_MASK)
#define KC_MAX_MEMORY   (64ULL << 30)
#define KC_MIN_MEMORY   (16ULL << 20)
#define KC_STACK_GUARD  (64 * 1024) /* unmapped below the stack */
#define KC_REQ_HEADROOM (64 * 1024) /* request area beyond the body */

/* ---- ELF (elf.c): a validated program, as a plan of what to load ---- */

#define KC_MAX_SEGMENTS 16

struct kc_segment {
	uint64_t vaddr, memsz, filesz, offset;
	uint32_t flags; /* PF_R | PF_W | PF_X */
};

struct kc_symbol {
	uint64_t addr, size;
	uint32_t name; /* offset in kc_symtab.names */
};

struct kc_symtab {
	struct kc_symbol *syms; /* sorted by addr */
	size_t count;
	char *names;
};

struct kc_elf_plan {
	struct kc_segment seg[KC_MAX_SEGMENTS];
	unsigned nseg;
	uint64_t entry;
	uint64_t lo, hi;     /* page-aligned extent of all segments */
	uint64_t phdr_vaddr; /* program headers in memory, or 0 */
	uint64_t phoff;      /* program headers in the file */
	uint16_t phnum, phentsize;
	uint32_t abi_version; /* from the kvm-fpm note */
};

/* Validate the ELF against the limits and plan its load.  0, or -ENOEXEC
 * with the problem named in err. */
int kc_elf_check(const void *elf, size_t len, const struct kc_limits *lim,
                 struct kc_elf_plan *plan, char *err, size_t errlen);

/* Read the function symbols, if any, for fault reports.  0 or -ENOMEM. */
int kc_elf_symbols(const void *elf, size_t len, struct kc_symtab *tab);
void kc_symtab_free(struct kc_symtab *tab);

/* "name+0x12" for addr, or "" when no symbol covers it. */
void kc_symtab_describe(const struct kc_symtab *tab, uint64_t addr, char *buf,
                        size_t len);

/* ---- Layout (layout.c): where everything sits in guest memory ---- */

struct kc_layout {
	uint64_t mem_size;
	uint64_t heap_base;    /* first page after the program */
	uint64_t mmap_top;     /* anonymous mappings grow down from here */
	uint64_t stack_bottom; /* KC_STACK_GUARD below it stays unmapped */
	uint64_t stack_top;
	uint64_t req_base; /* request area: read-only to the guest */
	uint64_t req_size;
	uint64_t pt_base;  /* page tables: PML4, PDPT, PDs, then PTs */
	uint64_t pt_end;   /* == mem_size */
	uint32_t pd_count; /* one page directory per GiB */
};

#define KC_PML4(l)    ((l)->pt_base)
#define KC_PDPT(l)    ((l)->pt_base + KC_PAGE_SIZE)
#define KC_PD(l, i)   ((l)->pt_base + (2 + (uint64_t)(i)) * KC_PAGE_SIZE)
#define KC_PT_POOL(l) KC_PD(l, (l)->pd_count)

/* Place everything for lim and plan.  0, -EINVAL (bad limits) or -EFBIG
 * (the program does not fit), with the reason in err. */
int kc_layout_compute(const struct kc_limits *lim,
                      const struct kc_elf_plan *plan, struct kc_layout *lay,
                      char *err, size_t errlen);

/*
 * The guest-physical memory KVM backs: two memory slots, not one over all
 * of max_memory, because KVM's per-slot metadata (about 2.5 KiB per MiB
 * under shadow paging) scales with the slots.  Slot 0 is [0, low_end): the
 * system pages, the program and the heap.  Slot 1 is [high_start,
 * mem_size): the mmap area, the stack, the request area and the page
 * tables.  They never overlap; low_end == high_start covers everything.
 * Both map the same host view at the same offset.
 */
#define KC_SLOT_ALIGN    (2ULL << 20)
#define KC_SLOT_HEADROOM (2ULL << 20) /* beyond the allocations, per side */

struct kc_slots {
	uint64_t low_end;
	uint64_t high_start;
};

/* Slots with nothing in them yet: the start for kc_slots_plan. */
void kc_slots_empty(const struct kc_layout *lay, struct kc_slots *s);

/* Do the slots back [0, brk_high) and [mmap_min, mem_size)? */
static inline bool kc_slots_cover(const struct kc_slots *s, uint64_t brk_high,
                                  uint64_t mmap_min)
{
	return s->low_end >= s->high_start ||
	       (brk_high <= s->low_end && mmap_min >= s->high_start);
}

/*
 * Grow the slots *s so that they cover [0, brk_high) and [mmap_min,
 * mem_size) (brk_high <= mmap_min <= mmap_top), with headroom.  A side that
 * grows at least doubles, so a VM regrows a slot a few times at most.
 * Never shrinks a slot, never makes them overlap or leaves one empty.
 * Pure arithmetic.
 */
void kc_slots_plan(const struct kc_layout *lay, uint64_t brk_high,
                   uint64_t mmap_min, struct kc_slots *s);

/* ---- Page tables (pagetable.c), pure functions over guest memory ---- */

#define KC_PTE_P    (1ULL << 0)
#define KC_PTE_W    (1ULL << 1)
#define KC_PTE_U    (1ULL << 2)
#define KC_PTE_A    (1ULL << 5)
#define KC_PTE_D    (1ULL << 6)
#define KC_PTE_NX   (1ULL << 63)
#define KC_PTE_ADDR 0x000ffffffffff000ULL

/* Pages the host itself wrote during a request, restored at reset. */
#define KC_TOUCH_MAX 64
struct kc_touch {
	uint64_t page[KC_TOUCH_MAX];
	unsigned count;
	bool overflow; /* too many: restore every page-table page */
};

void kc_touch_add(struct kc_touch *t, uint64_t gpa);

/* Empty page tables: PML4 and PDPT pointing at every PD. */
void kc_pt_init(uint8_t *mem, const struct kc_layout *lay);

/*
 * Map [va, va + len) (page-aligned) with PTE flags, creating page tables
 * from the pool at *pt_next.  Records modified table pages in touch when
 * not NULL.  0, or -ENOMEM when the pool or the address range is exceeded.
 */
int kc_pt_map(uint8_t *mem, const struct kc_layout *lay, uint64_t *pt_next,
              uint64_t va, uint64_t len, uint64_t flags,
              struct kc_touch *touch);

/* The PTE mapping va, or NULL when no page table covers it; its PDE in
 * *pde when pde is not NULL. */
uint64_t *kc_pt_lookup(uint8_t *mem, const struct kc_layout *lay, uint64_t va,
                       uint64_t **pde);

/* Clear every PDE accessed bit and PTE dirty bit (taking a snapshot), and
 * set a bit in present (one per page) for each mapped page. */
void kc_pt_clear_dirty(uint8_t *mem, const struct kc_layout *lay,
                       uint64_t *present);

/* ---- x86 system structures (x86.c), pure ---- */

/* Write GDT, IDT, TSS, stubs and the initial FXSAVE image into mem. */
void kc_x86_build_system(uint8_t *mem);

/* Special registers for a guest at ring 0 with these page tables. */
void kc_x86_sregs(struct kvm_sregs *s, const struct kc_layout *lay);

/* The RFLAGS a return to user mode may carry when the guest asked for
 * rflags (KC_RFLAGS_USER_KEEP and _SET in x86_defs.h). */
uint64_t kc_x86_user_rflags(uint64_t rflags);

/*
 * Does now (the vCPU at an exit) differ from snap (the snapshot's, taken
 * in the stubs) in segment state a request could leave behind?  That is
 * DS, ES, FS, GS in full (user code loads selectors, arch_prctl sets the
 * FS base) and the CS and SS selectors (a stop outside the stubs, e.g. a
 * timeout in user mode).  The rest only ring 0 could change.
 */
bool kc_x86_user_segments_differ(const struct kvm_sregs *now,
                                 const struct kvm_sregs *snap);

/* ---- Guest memory access (gmem.c): the one checked translation ---- */

#define KC_GMEM_WRITE 1
#define KC_GMEM_DEBUG 2 /* a debugger's write: read-only pages too */

/*
 * Host pointer to guest range [gva, gva + len), or NULL when any page of it
 * is not mapped user-accessible (and writable, with KC_GMEM_WRITE).  A write
 * mapping marks the pages dirty so that the reset restores them.
 * KC_GMEM_DEBUG is a write that may also land on read-only pages (a
 * debugger's breakpoints in code): dirty-marked the same way.
 */
void *kc_gmem(uint8_t *mem, const struct kc_layout *lay, uint64_t gva,
              uint64_t len, int flags);

/*
 * Host pointer to [rsp, rsp + len) of the ring-0 exception stack, where
 * the stubs leave a call's or a fault's frame, or NULL when any of it is
 * outside that stack: rsp comes from the guest's registers (and, in user
 * mode, from the tenant), so it is never used unchecked.  kc_gmem refuses
 * these pages (supervisor only).
 */
void *kc_gmem_ist(uint8_t *mem, uint64_t rsp, uint64_t len);

/* Like kc_gmem for a NUL-terminated string of at most max bytes. */
const char *kc_gmem_str(uint8_t *mem, const struct kc_layout *lay, uint64_t gva,
                        size_t max, size_t *len);

#endif

/* ---- Images and VMs (image.c, vm.c, syscall.c, reset.c) ---- */

#include "kvm-fpm-abi.h"

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

struct kc_files; /* the guest's open files (sys_file.c) */

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
	bool broken;      /* vCPU unusable: rebuild it at reset */
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
	struct kc_gdb *gdb;    /* a request under the debugger, or NULL */
	struct kc_slots slots; /* what KVM backs of mem (see layout.c) */
	uint64_t enosys_logged[KC_ENOSYS_LOGGED_WORDS]; /* see sys_proc.c */
	struct kc_files *files; /* the snapshot's and the request's files */
};

/* The guest's file table (sys_file.c).  New: for a booting VM, opening
 * data_dir (NULL: none); 0 or -errno with the reason in err.  Clone: a
 * VM's table from the image's (NULL: out of memory).  Reset: close what the
 * request opened, bring back the snapshot's files and offsets. */
int kc_files_new(const char *data_dir, struct kc_files **out, char *err,
                 size_t errlen);
struct kc_files *kc_files_clone(const struct kc_files *img);
void kc_files_reset(struct kc_files *t, const struct kc_files *img);
void kc_files_free(struct kc_files *t);

/* Continue running the guest (a kc_sys_handle result). */
#define KC_RESUME (-1)

/* Handle the system call or hypercall the guest stopped at: KC_RESUME, or
 * a kc_status ending the run with vm->res filled. */
int kc_sys_handle(struct kc_vm *vm);

/* The hypercalls that end a phase (hyper.c): READY and RESPONSE. */
int kc_hyper_ready(struct kc_vm *vm, struct kvm_regs *r);
int kc_hyper_response(struct kc_vm *vm, struct kvm_regs *r);

/* Run the guest from its current registers until it ends the phase
 * (READY while booting, a response or an error otherwise). */
enum kc_status kc_vm_run(struct kc_vm *vm, uint64_t limit_ns);

/* Set up the vCPU registers to enter user code at rip with rsp and rdi. */
void kc_vm_enter_user(struct kc_vm *vm, uint64_t rip, uint64_t rsp,
                      uint64_t rdi);

/* Does KVM shadow the guest's page tables (no EPT or NPT: PVM, nested
 * hosts)?  Then it misses the host's own changes to them (reset.c). */
bool kc_kvm_shadow_paging(void);

/* Create the KVM VM and vCPU for vm->mem with sregs.  0 or -errno. */
int kc_vm_open_kvm(struct kc_vm *vm, const struct kvm_sregs *sregs, char *err,
                   size_t errlen);
void kc_vm_close_kvm(struct kc_vm *vm);

/* Point the guest's memory slots at a new host mapping.  0 or -errno. */
int kc_vm_set_memory(struct kc_vm *vm, uint8_t *mem);

/* Grow the memory slots when vm->alloc has gone beyond them: called
 * after mapping fresh pages, before the guest can touch them.  0, or
 * -errno with vm->broken set (a slot may be gone: rebuild the VM). */
int kc_vm_grow_memory(struct kc_vm *vm);

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

/* Allocate the VM's restore list.  0 or -ENOMEM. */
int kc_vm_init_restore(struct kc_vm *vm);

/* The request timer, paused while a debugger holds the VM: the time left
 * (0 when it already fired); resume re-arms it unless it fired. */
uint64_t kc_vm_timer_pause(void);
int kc_vm_timer_resume(struct kc_vm *vm, uint64_t left_ns);
bool kc_vm_timer_fired(void);

/* The signal a debugger's socket raises to interrupt KVM_RUN (installed
 * on first use), or -errno; and forgetting it once GDB was served. */
int kc_vm_debug_signal(void);
void kc_vm_debug_unpoke(struct kc_vm *vm);

/* Debugger hooks (gdb_session.c), called only when vm->gdb is set: an
 * exception the guest took, a system call just handled (KC_RESUME or a
 * status), breakpoint() called, GDB's socket signalled while the guest
 * ran (KC_RESUME or a status), the request timer ran out. */
int kc_gdb_exception(struct kc_vm *vm, unsigned vector);
int kc_gdb_after_call(struct kc_vm *vm);
void kc_gdb_breakpoint_call(struct kc_vm *vm);
int kc_gdb_poked(struct kc_vm *vm);
void kc_gdb_timed_out(struct kc_vm *vm);

/* Bytes the current request allocated beyond the snapshot. */
uint64_t kc_vm_charged(const struct kc_vm *vm);
