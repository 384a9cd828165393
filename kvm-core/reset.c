/* Reset a VM to its image's snapshot by restoring only what the last
 * request dirtied, found through the guest's own page-table bits. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "kc_files.h"
#include "kc_kvm.h"
#include "kc_layout.h"
#include "kc_pagetable.h"
#include "kc_reset.h"
#include "kc_vm.h"
#include "kc_x86.h"

/*
 * Which pages to restore.  The dirty bits name the pages a request wrote
 * for the first time; a page once written stays on the VM's "restore" list
 * and is copied back after every request.  That is needed on hosts with
 * shadow paging (PVM, nested clouds): there KVM leaves a page writable
 * once it has set its dirty bit, so later writes set no bit at all.  Under
 * EPT the list is a small superset.  Copying a page costs ~0.1 us; making
 * KVM fault it again would cost tens.
 *
 * Pages beyond the snapshot (fresh heap) are zeroed; past
 * ZERO_IN_PLACE_MAX of them per request they are given back to the kernel
 * with madvise and leave the list, so a memory-hungry request does not
 * leave resident memory or work behind it.
 */
#define ZERO_IN_PLACE_MAX 64
#define PAGE_NO(va)       ((uint32_t)((va) >> 12))

static void bit_set(uint64_t *bits, uint32_t n)
{
	bits[n >> 6] |= 1ULL << (n & 63);
}

static bool bit_test(const uint64_t *bits, uint32_t n)
{
	return bits[n >> 6] & (1ULL << (n & 63));
}

/* Put page pn on the restore list (once).  A failure leaves it off the
 * list and unmarked, so that a reset tried again finds it again. */
static int note_dirty(struct kc_vm *vm, uint32_t pn)
{
	struct kc_restore *rs = &vm->restore;

	if (bit_test(rs->bits, pn))
		return 0;
	if (rs->count == rs->cap) {
		uint32_t cap = rs->cap ? rs->cap * 2 : 64, *grown;

		grown = realloc(rs->pages, cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		rs->pages = grown;
		rs->cap = cap;
	}
	bit_set(rs->bits, pn);
	rs->pages[rs->count++] = pn;
	return 0;
}

/* Whether any of the SCAN_GROUP entries at e (16-byte aligned) has one
 * of bits: an OR of whole cache lines, two entries per SSE2 instruction.
 * After a request the entries with A or D set are few, so most groups
 * end the look here. */
#define SCAN_GROUP 16
typedef uint64_t u64x2 __attribute__((vector_size(16)));
static bool any_set(const uint64_t *e, uint64_t bits)
{
	const u64x2 *v = (const u64x2 *)e;
	u64x2 any = v[0];
	unsigned k;

#pragma GCC unroll 8
	for (k = 1; k < SCAN_GROUP / 2; k++)
		any |= v[k];
	return (any[0] | any[1]) & bits;
}

/* Note the dirty pages one page table maps, clearing their dirty bits. */
static int scan_table(struct kc_vm *vm, uint64_t *pt, uint64_t base)
{
	unsigned g, j;

	for (g = 0; g < 512; g += SCAN_GROUP) {
		if (!any_set(pt + g, KC_PTE_D))
			continue;
		for (j = g; j < g + SCAN_GROUP; j++) {
			uint64_t va = base + ((uint64_t)j << 12);

			if ((pt[j] & (KC_PTE_P | KC_PTE_D)) !=
			        (KC_PTE_P | KC_PTE_D) ||
			    (pt[j] & KC_PTE_ADDR) != va) /* the call page */
				continue;
			if (note_dirty(vm, PAGE_NO(va)))
				return -ENOMEM; /* D stays for a retry */
			pt[j] &= ~KC_PTE_D;
		}
	}
	return 0;
}

/*
 * Only page directory entries with the accessed bit lead to tables worth
 * scanning: every walk that sets a dirty bit sets it too.  The bit is
 * left set once seen, so a table once used is scanned after every request
 * (the snapshot cleared them all: image.c).  Nothing flushes the guest's
 * TLB between requests (the host enters user mode, where no CR3 reload
 * runs), and a CPU that caches a directory entry does not set its
 * accessed bit again: cleared, it would hide the table's new dirty bits.
 * The same holds for the dirty bits themselves, which is why a page once
 * dirty stays on the restore list.
 */
static int scan_dirty(struct kc_vm *vm)
{
	const struct kc_layout *lay = &vm->img->lay;
	uint32_t pdi;
	unsigned g, i;
	int r = 0;

	for (pdi = 0; pdi < lay->pd_count; pdi++) {
		uint64_t *pd = (uint64_t *)(vm->mem + KC_PD(lay, pdi));

		for (g = 0; g < 512; g += SCAN_GROUP) {
			if (!any_set(pd + g, KC_PTE_A))
				continue;
			for (i = g; i < g + SCAN_GROUP; i++) {
				if ((pd[i] & (KC_PTE_P | KC_PTE_A)) !=
				    (KC_PTE_P | KC_PTE_A))
					continue;
				r |= scan_table(
				    vm,
				    (uint64_t *)(vm->mem +
				                 (pd[i] & KC_PTE_ADDR)),
				    ((uint64_t)pdi << 30) |
				        ((uint64_t)i << 21));
			}
		}
	}
	return r;
}

/* Copy back every page on the restore list; zero or drop fresh ones. */
static void restore_pages(struct kc_vm *vm)
{
	struct kc_restore *rs = &vm->restore;
	const struct kc_image *img = vm->img;
	uint32_t i, kept = 0, zeroed = 0;

	for (i = 0; i < rs->count; i++) {
		uint32_t pn = rs->pages[i];
		uint64_t va = (uint64_t)pn << 12;

		if (bit_test(img->present, pn)) {
			memcpy(vm->mem + va, img->snap + va, KC_PAGE_SIZE);
			vm->stats.pages_restored++;
		} else if (++zeroed <= ZERO_IN_PLACE_MAX) {
			memset(vm->mem + va, 0, KC_PAGE_SIZE);
			vm->stats.pages_zeroed++;
		} else {
			/* The snapshot file is a hole here: dropping our copy
			 * reads back zeros and frees the memory. */
			madvise(vm->mem + va, KC_PAGE_SIZE, MADV_DONTNEED);
			vm->flush_tlb = true; /* see drop_translations */
			rs->bits[pn >> 6] &= ~(1ULL << (pn & 63));
			vm->stats.pages_zeroed++;
			continue;
		}
		rs->pages[kept++] = pn;
	}
	rs->count = kept;
}

/*
 * Page tables the host changed go back to the snapshot's too, all but the
 * page directories: a directory entry a request added stays, leading to
 * a page table the reset empties, and that table stays this VM's for that
 * 2 MiB of addresses (vm->alloc.pt_next is not reset).  The address space
 * is the snapshot's all the same.  Under shadow paging KVM keeps its copy
 * of a directory entry after the host rewrote it; were the table handed
 * out again for other addresses, the old ones would reach its pages.
 */
static void restore_one_table(struct kc_vm *vm, uint64_t page)
{
	if (page < KC_PT_POOL(&vm->img->lay))
		return; /* a page directory */
	if (page < vm->img->alloc.pt_next)
		memcpy(vm->mem + page, vm->img->snap + page, KC_PAGE_SIZE);
	else
		memset(vm->mem + page, 0, KC_PAGE_SIZE);
}

static void restore_tables(struct kc_vm *vm)
{
	const struct kc_layout *lay = &vm->img->lay;
	uint64_t page;
	unsigned i;

	if (vm->touch.overflow) {
		for (page = KC_PT_POOL(lay); page < vm->alloc.pt_next;
		     page += KC_PAGE_SIZE)
			restore_one_table(vm, page);
	} else {
		for (i = 0; i < vm->touch.count; i++)
			restore_one_table(vm, vm->touch.page[i]);
	}
	vm->touch.count = 0;
	vm->touch.overflow = false;
}

/*
 * The pages a request mapped beyond the snapshot lose their page-table
 * entries at the reset, and must lose their translations with them, or
 * the next request could still reach those pages through its TLB.  No
 * guest code flushes it (requests enter user mode from the host), and
 * under shadow paging (PVM, nested hosts) KVM never sees the host rewrite
 * guest page tables and keeps its shadow entries too.  Changing the
 * protection of the host mapping makes KVM drop every translation of the
 * range (its MMU notifier), and flush the guest TLB with them, under EPT
 * and NPT as under shadow paging, while the pages stay resident for the
 * zeroing and for reuse.  Only requests that grew their memory pay: two
 * mprotect calls per side.
 *
 * The next entry flushes the guest's TLB as well (KC_STUB_ENTRY_FLUSH: a
 * CR3 reload in ring 0), as it does after pages were given back with
 * madvise or the memory slots changed.  That flush is KVM's job too, and
 * KVM does it on hardware; an emulated host (QEMU's nested SVM, where the
 * tests run) was seen to corrupt its own kernel's memory without it, as if
 * guest writes still reached pages the host had freed.  Requests that
 * only touch their memory pay nothing.
 */
static int drop_translations(struct kc_vm *vm, uint64_t lo, uint64_t hi)
{
	void *p = vm->mem + lo;

	if (lo >= hi)
		return 0;
	if (mprotect(p, hi - lo, PROT_NONE) ||
	    mprotect(p, hi - lo, PROT_READ | PROT_WRITE))
		return -errno;
	vm->stats.fresh_unmaps++;
	vm->flush_tlb = true;
	return 0;
}

static int drop_fresh_translations(struct kc_vm *vm)
{
	const struct kc_alloc *snap = &vm->img->alloc, *now = &vm->alloc;
	int r;

	r = drop_translations(vm, snap->brk_high, now->brk_high);
	if (r == 0)
		r = drop_translations(vm, now->mmap_min, snap->mmap_min);
	return r;
}

/*
 * What user code can change of the segments (kc_x86_user_segments_differ)
 * goes back to the snapshot's.  KVM hands the segments over at every exit
 * when it has KVM_SYNC_X86_SREGS, and takes them back with the next
 * KVM_RUN: a request that changed none costs no ioctl and no work in KVM.
 */
static int restore_segments(struct kc_vm *vm)
{
	struct kvm_run *run = vm->run;
	const struct kvm_sregs *snap = &vm->img->sregs;
	struct kvm_sregs now;

	if (run->kvm_valid_regs & KVM_SYNC_X86_SREGS) {
		if (vm->sregs_dirty ||
		    kc_x86_user_segments_differ(&run->s.regs.sregs, snap)) {
			run->s.regs.sregs = *snap;
			run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
			vm->stats.sregs_restores++;
		}
		return 0;
	}
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &now))
		return -errno;
	if (!vm->sregs_dirty && !kc_x86_user_segments_differ(&now, snap))
		return 0;
	vm->stats.sregs_restores++;
	return ioctl(vm->vcpu_fd, KVM_SET_SREGS, snap) ? -errno : 0;
}

/*
 * An exit in the middle of an event's delivery (a timer tick between a
 * call's ud2 and its #UD handler) leaves the event queued in KVM, to be
 * delivered at the next KVM_RUN: into the next request.  A run that was
 * stopped anywhere (time limit, debugger) drops every queued exception,
 * interrupt and NMI and any interrupt shadow.  A run that ended at one of
 * the stubs' exits has none: its last instruction completed.  With
 * KVM_SYNC_X86_EVENTS this costs no ioctl.
 */
static int drop_events(struct kc_vm *vm)
{
	struct kvm_vcpu_events ev;

	memset(&ev, 0, sizeof(ev));
	ev.flags = KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_NMI_PENDING;
	vm->stats.events_dropped++;
	if (kc_kvm_sync_events()) {
		vm->run->s.regs.events = ev;
		vm->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
		return 0;
	}
	return ioctl(vm->vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) ? -errno : 0;
}

/* A broken vCPU (triple fault) is rebuilt from the image; any other
 * gets the snapshot's segments back when the request changed them or left
 * it outside user mode, and loses its queued events when the request was
 * stopped anywhere.  The registers are set for every entry, the FPU by
 * the entry stub. */
static int restore_vcpu(struct kc_vm *vm)
{
	char err[128];
	int r = 0;

	if (vm->broken) {
		kc_vm_close_kvm(vm);
		if (kc_vm_open_kvm(vm, &vm->img->sregs, err, sizeof(err)))
			return -EIO;
		vm->stats.rebuilds++;
	} else {
		r = restore_segments(vm);
		if (r == 0 && vm->stopped)
			r = drop_events(vm);
	}
	if (r == 0)
		vm->broken = vm->sregs_dirty = vm->stopped = false;
	return r;
}

int kc_vm_user_mode(struct kc_vm *vm)
{
	int cpl = kc_vm_cpl(vm);

	if (cpl == 3)
		return 0;
	vm->stats.sregs_restores++;
	if (vm->run->kvm_valid_regs & KVM_SYNC_X86_SREGS) {
		vm->run->s.regs.sregs = vm->img->sregs;
		vm->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
		return 0;
	}
	return ioctl(vm->vcpu_fd, KVM_SET_SREGS, &vm->img->sregs) ? -errno : 0;
}

int kc_vm_reset(struct kc_vm *vm)
{
	uint64_t pt_next = vm->alloc.pt_next;
	int r;

	if (!vm->dirty)
		return 0;
	kc_files_reset(vm->files, vm->img->files);
	if (scan_dirty(vm)) /* before the tables: it reads them */
		return -ENOMEM;
	restore_pages(vm);
	restore_tables(vm);
	r = drop_fresh_translations(vm);
	if (r)
		return r;
	memset(vm->mem + vm->img->lay.req_base, 0, vm->req_used);
	vm->req_used = 0;
	vm->alloc = vm->img->alloc;
	vm->alloc.pt_next = pt_next; /* see restore_tables */
	r = restore_vcpu(vm);
	/* Reset only when all of it is: kc_vm_request refuses the VM until
	 * then (the caller destroys it, or may try again). */
	if (r == 0)
		vm->dirty = false;
	return r;
}
