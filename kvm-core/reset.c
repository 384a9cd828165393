/* Reset a VM to its image's snapshot by restoring only what the last
 * request dirtied, found through the guest's own page-table bits. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "kc_internal.h"

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

static bool bit_test_set(uint64_t *bits, uint32_t n)
{
	uint64_t m = 1ULL << (n & 63);
	bool was = bits[n >> 6] & m;

	bits[n >> 6] |= m;
	return was;
}

static bool bit_test(const uint64_t *bits, uint32_t n)
{
	return bits[n >> 6] & (1ULL << (n & 63));
}

static int note_dirty(struct kc_vm *vm, uint32_t pn)
{
	struct kc_restore *rs = &vm->restore;

	if (bit_test_set(rs->bits, pn))
		return 0;
	if (rs->count == rs->cap) {
		uint32_t cap = rs->cap ? rs->cap * 2 : 64, *grown;

		grown = realloc(rs->pages, cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		rs->pages = grown;
		rs->cap = cap;
	}
	rs->pages[rs->count++] = pn;
	return 0;
}

/* Note the dirty pages one page table maps, clearing their dirty bits. */
static int scan_table(struct kc_vm *vm, uint64_t *pt, uint64_t base)
{
	unsigned j;
	int r = 0;

	for (j = 0; j < 512; j++) {
		if ((pt[j] & (KC_PTE_P | KC_PTE_D)) != (KC_PTE_P | KC_PTE_D))
			continue;
		pt[j] &= ~KC_PTE_D;
		r |= note_dirty(vm, PAGE_NO(base + ((uint64_t)j << 12)));
	}
	return r;
}

/* Only page directory entries with the accessed bit lead to tables worth
 * scanning: every walk that sets a dirty bit sets it too. */
static int scan_dirty(struct kc_vm *vm)
{
	const struct kc_layout *lay = &vm->img->lay;
	uint32_t pdi;
	unsigned i;
	int r = 0;

	for (pdi = 0; pdi < lay->pd_count; pdi++) {
		uint64_t *pd = (uint64_t *)(vm->mem + KC_PD(lay, pdi));

		for (i = 0; i < 512; i++) {
			if ((pd[i] & (KC_PTE_P | KC_PTE_A)) !=
			    (KC_PTE_P | KC_PTE_A))
				continue;
			pd[i] &= ~KC_PTE_A;
			r |= scan_table(
			    vm, (uint64_t *)(vm->mem + (pd[i] & KC_PTE_ADDR)),
			    ((uint64_t)pdi << 30) | ((uint64_t)i << 21));
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
			rs->bits[pn >> 6] &= ~(1ULL << (pn & 63));
			vm->stats.pages_zeroed++;
			continue;
		}
		rs->pages[kept++] = pn;
	}
	rs->count = kept;
}

/* Page-table pages the host changed go back to the snapshot's too. */
static void restore_one_table(struct kc_vm *vm, uint64_t page)
{
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
		for (page = KC_PD(lay, 0); page < vm->alloc.pt_next;
		     page += KC_PAGE_SIZE)
			restore_one_table(vm, page);
	} else {
		for (i = 0; i < vm->touch.count; i++)
			restore_one_table(vm, vm->touch.page[i]);
	}
	vm->touch.count = 0;
	vm->touch.overflow = false;
}

/* A vCPU stopped anywhere (timeout) or broken (triple fault) gets its
 * state back from the image, or is rebuilt. */
static int restore_vcpu(struct kc_vm *vm)
{
	char err[128];

	if (vm->broken) {
		kc_vm_close_kvm(vm);
		if (kc_vm_open_kvm(vm, &vm->img->sregs, err, sizeof(err)))
			return -EIO;
		vm->stats.rebuilds++;
	} else if (vm->sregs_dirty &&
	           ioctl(vm->vcpu_fd, KVM_SET_SREGS, &vm->img->sregs)) {
		return -errno;
	}
	vm->broken = vm->sregs_dirty = false;
	return 0;
}

int kc_vm_reset(struct kc_vm *vm)
{
	if (!vm->dirty)
		return 0;
	kc_files_reset(vm->files, vm->img->files);
	if (scan_dirty(vm)) /* before the tables: it reads them */
		return -ENOMEM;
	restore_pages(vm);
	restore_tables(vm);
	memset(vm->mem + vm->img->lay.req_base, 0, vm->req_used);
	vm->req_used = 0;
	vm->alloc = vm->img->alloc;
	vm->dirty = false;
	return restore_vcpu(vm);
}
