/* Images: load a program into fresh guest memory, run its main() and keep
 * the result as the snapshot every request starts from. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_elf.h"
#include "kc_files.h"
#include "kc_gmem.h"
#include "kc_kvm.h"
#include "kc_layout.h"
#include "kc_pagetable.h"
#include "kc_run.h"
#include "kc_vm.h"
#include "kc_x86.h"

#define SYS_RW   (KC_PTE_W | KC_PTE_NX) /* supervisor data */
#define RED_ZONE 256

/* PTE flags for a page covered by segments with these PF_ flags. */
static uint64_t segment_pte(uint32_t pf)
{
	return KC_PTE_U | (pf & PF_W ? KC_PTE_W : 0) |
	       (pf & PF_X ? 0 : KC_PTE_NX);
}

static int map_program(uint8_t *mem, const struct kc_layout *lay,
                       uint64_t *pt_next, const struct kc_elf_plan *plan,
                       const uint8_t *elf)
{
	unsigned i;
	int r = 0;

	for (i = 0; i < plan->nseg && r == 0; i++) {
		const struct kc_segment *s = &plan->seg[i];
		uint64_t lo = s->vaddr & KC_PAGE_MASK;
		uint32_t pf = s->flags;

		/* A page shared with the previous segment gets both sets
		 * of rights (the checks refused writable+executable). */
		if (i > 0 && KC_PAGE_UP(plan->seg[i - 1].vaddr +
		                        plan->seg[i - 1].memsz) > lo)
			pf |= plan->seg[i - 1].flags;
		r = kc_pt_map(mem, lay, pt_next, lo,
		              KC_PAGE_UP(s->vaddr + s->memsz) - lo,
		              segment_pte(pf), NULL);
		memcpy(mem + s->vaddr, elf + s->offset, s->filesz);
	}
	return r;
}

/* The call page: user-writable, mapped to guest-physical KC_CALL_GPA,
 * which no memory slot backs, so that a store there exits to the host
 * (x86_defs.h).  Accessed and dirty preset: no bit for the CPU to set. */
static int map_call_page(uint8_t *mem, const struct kc_layout *lay,
                         uint64_t *pt_next)
{
	uint64_t *pte;

	if (kc_pt_map(mem, lay, pt_next, KC_CALL_ADDR, KC_PAGE_SIZE,
	              KC_PTE_U | KC_PTE_W | KC_PTE_NX, NULL))
		return -ENOMEM;
	pte = kc_pt_lookup(mem, lay, KC_CALL_ADDR, NULL);
	*pte = (*pte & ~KC_PTE_ADDR) | KC_CALL_GPA | KC_PTE_D;
	return 0;
}

static int map_system(uint8_t *mem, const struct kc_layout *lay,
                      uint64_t *pt_next)
{
	int r = 0;

	kc_x86_build_system(mem);
	kc_pt_init(mem, lay);
	r |= kc_pt_map(mem, lay, pt_next, KC_GDT_ADDR, 3 * KC_PAGE_SIZE, SYS_RW,
	               NULL);
	/* User-executable: requests enter through its user-mode entry, and
	 * calls leave through its `out`.  It holds no secret (the FXSAVE
	 * image is the same for all) and user code cannot write it. */
	r |= kc_pt_map(mem, lay, pt_next, KC_STUBS_ADDR, KC_PAGE_SIZE, KC_PTE_U,
	               NULL);
	r |= kc_pt_map(mem, lay, pt_next, KC_IST_BASE, KC_IST_TOP - KC_IST_BASE,
	               SYS_RW, NULL);
	r |= map_call_page(mem, lay, pt_next);
	r |= kc_pt_map(mem, lay, pt_next, lay->stack_bottom,
	               lay->stack_top - lay->stack_bottom,
	               KC_PTE_U | KC_PTE_W | KC_PTE_NX, NULL);
	r |= kc_pt_map(mem, lay, pt_next, lay->req_base, lay->req_size,
	               KC_PTE_U | KC_PTE_NX, NULL);
	return r ? -ENOMEM : 0;
}

/* Where the program headers are in guest memory: in a loaded segment
 * (required when there is PT_PHDR: musl derives the load base from it),
 * else 0 and the caller copies them onto the stack. */
static uint64_t phdr_in_memory(const struct kc_elf_plan *plan)
{
	uint64_t size = (uint64_t)plan->phnum * plan->phentsize;
	unsigned i;

	if (plan->phdr_vaddr)
		return plan->phdr_vaddr;
	for (i = 0; i < plan->nseg; i++) {
		const struct kc_segment *s = &plan->seg[i];

		if (plan->phoff >= s->offset &&
		    plan->phoff + size <= s->offset + s->filesz)
			return s->vaddr + (plan->phoff - s->offset);
	}
	return 0;
}

/* The System V initial stack: argc, argv, envp, auxv.  Returns rsp. */
static uint64_t build_stack(uint8_t *mem, const struct kc_layout *lay,
                            const struct kc_elf_plan *plan, const uint8_t *elf)
{
	uint64_t sp = lay->stack_top, at_random, argv0, phdr, *v;
	size_t phsize = (size_t)plan->phnum * plan->phentsize, n = 0;

	sp -= 16;
	at_random = sp;
	if (getrandom(mem + sp, 16, 0) != 16)
		memset(mem + sp, 0x5a, 16);
	sp -= 16;
	argv0 = sp;
	memcpy(mem + sp, "tenant", 7);
	phdr = phdr_in_memory(plan);
	if (phdr == 0) {
		sp = (sp - phsize) & ~7ULL;
		memcpy(mem + sp, elf + plan->phoff, phsize);
		phdr = sp;
	}
	sp = (sp - 32 * 8) & ~15ULL;
	v = (uint64_t *)(mem + sp);
	v[n++] = 1;     /* argc */
	v[n++] = argv0; /* argv */
	v[n++] = 0;
	v[n++] = 0; /* envp */
#define AUX(k, val) (v[n++] = (k), v[n++] = (val))
	AUX(AT_PHDR, phdr);
	AUX(AT_PHENT, plan->phentsize);
	AUX(AT_PHNUM, plan->phnum);
	AUX(AT_PAGESZ, KC_PAGE_SIZE);
	AUX(AT_ENTRY, plan->entry);
	AUX(AT_UID, 65534);
	AUX(AT_EUID, 65534);
	AUX(AT_GID, 65534);
	AUX(AT_EGID, 65534);
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, at_random);
	AUX(AT_CLKTCK, 100);
	AUX(AT_NULL, 0);
#undef AUX
	return sp;
}

/* Record the snapshot: registers, allocation state; clear dirty
 * bits so that requests record only their own writes. */
static int take_snapshot(struct kc_image *img, struct kc_vm *vm)
{
	struct stat st;
	uint64_t user_rsp;
	void *ra;

	/* Requests start with the clean FPU state of kc_x86_build_system():
	 * what main() left in FPU registers is not part of the snapshot
	 * (C keeps nothing there across calls; some hosts return an empty
	 * state from KVM_GET_FPU). */
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &img->sregs))
		return -errno;
	/* Requests start in user mode whichever way main() made its last
	 * call: from ring 0 too (a syscall under VMX/SVM). */
	kc_x86_user_segments(&img->sregs);
	img->entry = vm->ready.entry;
	img->backend = vm->ready.backend;
	/* Read from its call frame, checked, by kc_hyper_ready(). */
	user_rsp = vm->ready_rsp;
	img->user_rsp = ((user_rsp - RED_ZONE) & ~15ULL) - 8;
	/* The entry's return-address slot holds 0 in the snapshot, so that
	 * unwinders (C++ exceptions, Rust panics, backtraces) stop at the
	 * request's entry instead of walking into what main() left there. */
	ra = kc_gmem(vm->mem, &img->lay, img->user_rsp, 8, KC_GMEM_WRITE);
	if (ra == NULL)
		return -EFAULT;
	memset(ra, 0, 8);
	img->alloc = vm->alloc;
	img->present = kc_pt_page_bitmap(&img->lay);
	if (img->present == NULL)
		return -ENOMEM;
	kc_pt_clear_dirty(vm->mem, &img->lay, img->present);
	if (fstat(img->memfd, &st) == 0)
		img->snapshot_bytes = (uint64_t)st.st_blocks * 512;
	return 0;
}

/* The read-only view of the snapshot that resets copy pages from.
 * Private: a shared view of a writable fd would keep the memfd from
 * being sealed (EBUSY); read-only, it shows the file's own pages. */
static int map_snapshot(struct kc_image *img)
{
	void *ro = mmap(NULL, img->lay.mem_size, PROT_READ, MAP_PRIVATE,
	                img->memfd, 0);

	if (ro == MAP_FAILED)
		return -errno;
	img->snap = ro;
	return 0;
}

/* From now on the VM writes to its own copy-on-write view. */
static int switch_to_private(struct kc_image *img, struct kc_vm *vm)
{
	size_t size = img->lay.mem_size;
	void *priv;
	int r;

	priv = mmap(NULL, size, PROT_READ | PROT_WRITE,
	            MAP_PRIVATE | MAP_NORESERVE, img->memfd, 0);
	if (priv == MAP_FAILED)
		return -errno;
	r = kc_vm_set_memory(vm, priv);
	if (r) {
		munmap(priv, size);
		return r;
	}
	vm->booting = false;
	vm->dirty = false;
	vm->flush_tlb =
	    true; /* main()'s dirty bits are cleared: drop its TLB */
	return 0;
}

static int boot_fail(int r, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(-r));
	return r;
}

/* Build guest memory for the program; boots nothing yet. */
static int build_memory(struct kc_image *img, const uint8_t *elf,
                        const struct kc_elf_plan *plan, uint8_t **memp,
                        uint64_t *rsp, uint64_t *pt_next, char *err,
                        size_t errlen)
{
	uint8_t *mem;

	img->memfd =
	    memfd_create("kvm-fpm-guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (img->memfd < 0 || ftruncate(img->memfd, (off_t)img->lay.mem_size))
		return boot_fail(-errno, err, errlen, "guest memory");
	mem = mmap(NULL, img->lay.mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	           img->memfd, 0);
	if (mem == MAP_FAILED)
		return boot_fail(-errno, err, errlen, "mmap guest memory");
	*memp = mem;
	*pt_next = KC_PT_POOL(&img->lay);
	if (map_system(mem, &img->lay, pt_next) ||
	    map_program(mem, &img->lay, pt_next, plan, elf))
		return boot_fail(-ENOMEM, err, errlen, "page tables");
	*rsp = build_stack(mem, &img->lay, plan, elf);
	return 0;
}

/* Run main() in a new VM on the shared memory and snapshot it.  The VM
 * is kept for requests only when vmp is not NULL: moving it to a private
 * view costs two memory-slot changes nobody needs otherwise.  On failure
 * nothing of the VM remains. */
static int boot_vm(struct kc_image *img, const struct kc_elf_plan *plan,
                   uint8_t *mem, uint64_t rsp, uint64_t pt_next,
                   kc_output_fn *out, void *out_ctx, struct kc_vm **vmp,
                   char *err, size_t errlen)
{
	const struct kc_alloc alloc = {img->lay.heap_base, img->lay.heap_base,
	                               img->lay.mmap_top, img->lay.mmap_top,
	                               pt_next};
	struct kc_files *files;
	struct kvm_sregs sregs;
	struct kc_result res;
	struct kc_vm *vm;
	int r;

	kc_x86_sregs(&sregs, &img->lay);
	r = kc_files_new(img->lim.data_dir, &files, err, errlen);
	if (r == 0)
		r = kc_vm_new(img, mem, &alloc, &sregs, files, out, out_ctx,
		              &vm, err, errlen);
	if (r)
		return r;
	vm->booting = true;
	vm->res = &res;
	kc_vm_enter_user(vm, plan->entry, rsp, 0);
	r = (int)kc_vm_run(vm, img->lim.max_boot_time_ns);
	if (r != KC_OK) {
		snprintf(err, errlen, "main() failed: %s", res.error);
		goto fail;
	}
	r = take_snapshot(img, vm);
	if (r == 0) { /* main()'s files belong to the snapshot */
		img->files = vm->files;
		vm->files = kc_files_clone(img->files);
		r = vm->files ? 0 : -ENOMEM;
	}
	if (r == 0)
		r = map_snapshot(img);
	if (r == 0 && vmp)
		r = switch_to_private(img, vm);
	if (r) {
		boot_fail(r, err, errlen, "snapshot");
		goto fail;
	}
	if (vmp) {
		vm->res = NULL;
		*vmp = vm;
		return 0;
	}
	/* Booted; the VM is not kept. */
fail:
	if (vm->mem == mem)
		vm->mem = NULL; /* the build view: kc_image_boot unmaps it */
	kc_vm_destroy(vm);
	return r;
}

int kc_image_boot(const void *elf, size_t len, const struct kc_limits *lim,
                  kc_output_fn *out, void *out_ctx, struct kc_image **imagep,
                  struct kc_vm **vmp, char *err, size_t errlen)
{
	struct kc_image *img = calloc(1, sizeof(*img));
	struct kc_vm *vm = NULL;
	struct kc_elf_plan plan;
	uint8_t *mem = NULL;
	uint64_t rsp = 0, pt_next = 0;
	int r;

	if (img == NULL)
		return -ENOMEM;
	img->refs = 1;
	img->memfd = -1;
	img->lim = *lim;
	r = kc_elf_check(elf, len, lim, &plan, err, errlen);
	if (r == 0)
		r = kc_layout_compute(lim, &plan, &img->lay, err, errlen);
	if (r == 0 && kc_elf_symbols(elf, len, &img->syms))
		r = boot_fail(-ENOMEM, err, errlen, "symbols");
	if (r == 0)
		r = build_memory(img, elf, &plan, &mem, &rsp, &pt_next, err,
		                 errlen);
	if (r == 0)
		r = boot_vm(img, &plan, mem, rsp, pt_next, out, out_ctx,
		            vmp ? &vm : NULL, err, errlen);
	if (mem)
		munmap(mem, img->lay.mem_size); /* the build view */
	/* The last shared writable view is gone: from now on no process,
	 * this one or a worker that inherits the image, can change the
	 * snapshot the other workers' VMs map copy-on-write. */
	if (r == 0 &&
	    fcntl(img->memfd, F_ADD_SEALS,
	          F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL))
		r = boot_fail(-errno, err, errlen, "sealing the snapshot");
	if (r) {
		kc_image_put(img);
		return r;
	}
	if (vmp)
		*vmp = vm;
	*imagep = img;
	return 0;
}
