/* The reset on a VM without KVM behind it: guest memory, page tables and
 * the sync-register area are plain memory, so what the next request would
 * find is checked here directly. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "kc_elf.h"
#include "kc_files.h"
#include "kc_gmem.h"
#include "kc_kvm.h"
#include "kc_layout.h"
#include "kc_pagetable.h"
#include "kc_reset.h"
#include "kc_vm.h"
#include "kc_x86.h"

#define REGION (4ULL << 20) /* spans a page table the snapshot has not */

static struct kc_image img;
static struct kc_vm vm;
static struct kvm_run run;

static uint8_t *map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	return p;
}

/* A snapshot of lim's layout with a program page and the page at va (when
 * not 0), and a VM on a private copy of it that last stopped in user mode
 * with the snapshot's segments. */
static void make_vm_of(const struct kc_limits *lim, uint64_t va)
{
	struct kc_elf_plan plan = {.hi = 0x500000};
	char err[128];
	uint64_t next;
	uint8_t *snap;

	cr_assert_eq(kc_layout_compute(lim, &plan, &img.lay, err, sizeof(err)),
	             0, "%s", err);
	snap = map_anon(img.lay.mem_size);
	kc_pt_init(snap, &img.lay);
	next = KC_PT_POOL(&img.lay);
	cr_assert_eq(kc_pt_map(snap, &img.lay, &next, 0x400000, 0x1000,
	                       KC_PTE_U | KC_PTE_W, NULL),
	             0);
	if (va)
		cr_assert_eq(kc_pt_map(snap, &img.lay, &next, va, 0x1000,
		                       KC_PTE_U | KC_PTE_W, NULL),
		             0);
	img.alloc = (struct kc_alloc){img.lay.heap_base, img.lay.heap_base,
	                              img.lay.mmap_top, img.lay.mmap_top, next};
	img.present = kc_pt_page_bitmap(&img.lay);
	kc_pt_clear_dirty(snap, &img.lay, img.present);
	img.snap = snap;
	kc_x86_sregs(&img.sregs, &img.lay);

	vm.img = &img;
	vm.mem = map_anon(img.lay.mem_size);
	memcpy(vm.mem, snap, img.lay.mem_size);
	vm.alloc = img.alloc;
	vm.vcpu_fd = vm.vm_fd = -1;
	vm.run = &run;
	run.kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	run.s.regs.sregs = img.sregs;
	cr_assert_eq(kc_vm_init_restore(&vm), 0);
}

static void make_vm(void)
{
	struct kc_limits lim;

	kc_limits_default(&lim);
	lim.max_memory = 64ULL << 20;
	lim.stack_size = 1 << 20;
	make_vm_of(&lim, 0);
}

/* What sys_mmap does for fresh memory, and the guest's writes to it. */
static uint64_t request_maps(uint64_t len)
{
	uint64_t low = vm.alloc.mmap_min - len;

	vm.dirty = true;
	vm.alloc.mmap_min = vm.alloc.mmap_low = low;
	cr_assert_eq(kc_pt_map(vm.mem, &img.lay, &vm.alloc.pt_next, low, len,
	                       KC_PTE_U | KC_PTE_W | KC_PTE_NX, &vm.touch),
	             0);
	memset(kc_gmem(vm.mem, &img.lay, low, len, KC_GMEM_WRITE), 0x5a, len);
	return low;
}

/* What sys_brk does for fresh memory. */
static uint64_t request_grows_heap(uint64_t len)
{
	uint64_t low = vm.alloc.brk_high;

	vm.dirty = true;
	vm.alloc.brk_high += len;
	cr_assert_eq(kc_pt_map(vm.mem, &img.lay, &vm.alloc.pt_next, low, len,
	                       KC_PTE_U | KC_PTE_W | KC_PTE_NX, &vm.touch),
	             0);
	return low;
}

static uint64_t table_of(uint64_t va)
{
	uint64_t *pde = NULL;

	cr_assert_not_null(kc_pt_lookup(vm.mem, &img.lay, va, &pde));
	return *pde & KC_PTE_ADDR;
}

TestSuite(reset, .init = make_vm);

Test(reset, fresh_mappings_are_gone_and_zero)
{
	uint64_t low = request_maps(REGION);

	cr_assert_eq(kc_vm_reset(&vm), 0);
	cr_assert_null(kc_gmem(vm.mem, &img.lay, low, 1, 0));
	cr_assert_null(kc_gmem(vm.mem, &img.lay, low + REGION - 1, 1, 0));
	cr_assert_eq(vm.alloc.mmap_min, img.alloc.mmap_min);
	cr_assert_eq(vm.mem[low], 0);
	cr_assert_eq(vm.mem[low + REGION - 1], 0);
	cr_assert_not_null(kc_gmem(vm.mem, &img.lay, 0x400000, 1, 0));
}

/* Under shadow paging KVM must forget the fresh range (kvm-core assumes
 * shadow paging when no EPT/NPT parameter says otherwise, as here), and
 * the memory stays usable for the next request. */
Test(reset, fresh_translations_are_dropped_only_after_growth)
{
	uint64_t low;
	struct kc_vm_stats st;

	low = request_maps(REGION);
	cr_assert_eq(kc_vm_reset(&vm), 0);
	kc_vm_stats(&vm, &st);
	cr_assert_eq(st.fresh_unmaps, 1);
	vm.mem[low] = 1; /* still mapped read-write in the host */
	vm.mem[low] = 0;
	vm.dirty = true; /* a request that mapped nothing */
	cr_assert_eq(kc_vm_reset(&vm), 0);
	kc_vm_stats(&vm, &st);
	cr_assert_eq(st.fresh_unmaps, 1);
}

/* A page table stays with its addresses: handed out for others, KVM's
 * stale shadow of the old directory entry would reach the new pages. */
Test(reset, page_tables_stay_with_their_addresses)
{
	uint64_t low = request_maps(REGION), table = table_of(low);
	uint64_t pt_next = vm.alloc.pt_next;

	cr_assert_geq(table, img.alloc.pt_next, "not a fresh table");
	cr_assert_eq(kc_vm_reset(&vm), 0);
	cr_assert_eq(table_of(low), table, "directory entry dropped");
	cr_assert_eq(vm.alloc.pt_next, pt_next);
	/* The next request grows its heap first: other tables. */
	low = request_grows_heap(REGION);
	cr_assert_neq(table_of(low + REGION - 1), table);
	cr_assert_eq(kc_vm_reset(&vm), 0);
	cr_assert_null(kc_gmem(vm.mem, &img.lay, low + REGION - 1, 1, 0));
}

Test(reset, segments_a_request_loaded_come_back_through_sync_regs)
{
	vm.dirty = true;
	run.s.regs.sregs.fs.selector = 0; /* mov %ax, %fs with 0 */
	run.s.regs.sregs.fs.base = 0x7000;
	run.s.regs.sregs.ds.selector = 0;
	cr_assert_eq(kc_vm_reset(&vm), 0);
	cr_assert(run.kvm_dirty_regs & KVM_SYNC_X86_SREGS);
	cr_assert_eq(run.s.regs.sregs.fs.selector, img.sregs.fs.selector);
	cr_assert_eq(run.s.regs.sregs.fs.base, img.sregs.fs.base);
	cr_assert_eq(run.s.regs.sregs.ds.selector, img.sregs.ds.selector);
}

Test(reset, unchanged_segments_cost_nothing)
{
	struct kc_vm_stats st;

	vm.dirty = true;
	run.s.regs.sregs.cr2 = 0x1234000; /* a page fault happened */
	cr_assert_eq(kc_vm_reset(&vm), 0);
	cr_assert_eq(run.kvm_dirty_regs & KVM_SYNC_X86_SREGS, 0);
	kc_vm_stats(&vm, &st);
	cr_assert_eq(st.sregs_restores, 0);
}

TestSuite(vm_new, .init = make_vm);

/* Without KVM (no kc_init in this process) the one constructor fails at
 * KVM_CREATE_VM: it frees what it took over and leaves the image's
 * reference count and the memory to the caller. */
Test(vm_new, a_vm_that_cannot_be_built_leaves_image_and_memory_alone)
{
	struct kc_files *files;
	struct kc_vm *nvm = NULL;
	char err[128];

	img.refs = 1;
	cr_assert_eq(kc_files_new(NULL, &files, err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_eq(kc_vm_new(&img, vm.mem, &img.alloc, &img.sregs, files,
	                       NULL, NULL, &nvm, err, sizeof(err)),
	             -EIO);
	cr_assert(strstr(err, "KVM_CREATE_VM"), "%s", err);
	cr_assert_null(nvm);
	cr_assert_eq(img.refs, 1);
	vm.mem[0x400000] = 1; /* still mapped */
}

/* A VM handed over without a reset that last stopped in ring 0 (the VM
 * that booted a program whose READY came by syscall on VMX/SVM) enters its
 * next request with the snapshot's user-mode segments. */
Test(reset, an_entry_from_ring_0_gets_user_mode_back)
{
	run.kvm_dirty_regs = 0;
	cr_assert_eq(kc_vm_user_mode(&vm), 0);
	cr_assert_eq(run.kvm_dirty_regs & KVM_SYNC_X86_SREGS, 0, "no change");
	run.s.regs.sregs.cs.selector = KC_SEL_KCODE;
	run.s.regs.sregs.cs.dpl = 0;
	cr_assert_eq(kc_vm_user_mode(&vm), 0);
	cr_assert(run.kvm_dirty_regs & KVM_SYNC_X86_SREGS);
	cr_assert_eq(run.s.regs.sregs.cs.selector, KC_SEL_UCODE);
}

/* The call page is no memory of the snapshot's: clearing the dirty bits
 * leaves its preset bit, and it is not counted as a present page. */
Test(reset, the_call_page_is_not_a_snapshot_page)
{
	uint64_t next = vm.alloc.pt_next, *pte;
	uint64_t pn = KC_CALL_ADDR / KC_PAGE_SIZE;

	cr_assert_eq(kc_pt_map(vm.mem, &img.lay, &next, KC_CALL_ADDR,
	                       KC_PAGE_SIZE, KC_PTE_U | KC_PTE_W, NULL),
	             0);
	pte = kc_pt_lookup(vm.mem, &img.lay, KC_CALL_ADDR, NULL);
	*pte = (*pte & ~KC_PTE_ADDR) | KC_CALL_GPA | KC_PTE_D;
	memset(img.present, 0, (img.lay.mem_size / KC_PAGE_SIZE + 63) / 64 * 8);
	kc_pt_clear_dirty(vm.mem, &img.lay, img.present);
	cr_assert(*pte & KC_PTE_D, "the call page's dirty bit was cleared");
	cr_assert_not(img.present[pn / 64] & (1ULL << (pn % 64)));
	cr_assert(img.present[0x400000 / KC_PAGE_SIZE / 64] &
	          (1ULL << ((0x400000 / KC_PAGE_SIZE) % 64)));
}

/* The scan finds each dirty bit wherever it sits in a page table (first
 * and last entries, either side of a group it skips whole) and no other:
 * here only the picked pages' bits are left set, so only they are zeroed
 * back and the others keep what the request wrote. */
Test(reset, the_scan_finds_every_dirty_entry_and_no_other)
{
	const unsigned picks[] = {0, 15, 16, 17, 255, 496, 511, 512, 527, 1023};
	uint64_t low = request_maps(6ULL << 20), *pte;
	uint64_t base = (low + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);
	uint64_t va;
	size_t k;

	for (va = low; va < low + (6ULL << 20); va += KC_PAGE_SIZE) {
		pte = kc_pt_lookup(vm.mem, &img.lay, va, NULL);
		cr_assert_not_null(pte);
		*pte &= ~KC_PTE_D;
	}
	for (k = 0; k < sizeof(picks) / sizeof(picks[0]); k++)
		*kc_pt_lookup(vm.mem, &img.lay, base + picks[k] * KC_PAGE_SIZE,
		              NULL) |= KC_PTE_D;
	cr_assert_eq(kc_vm_reset(&vm), 0);
	for (va = base; va < base + (4ULL << 20); va += KC_PAGE_SIZE) {
		unsigned j = (unsigned)((va - base) / KC_PAGE_SIZE);
		bool picked = false;

		for (k = 0; k < sizeof(picks) / sizeof(picks[0]); k++)
			picked = picked || picks[k] == j;
		cr_assert_eq(
		    vm.mem[va], picked ? 0 : 0x5a, "page %u of the region: %s",
		    j, picked ? "dirty, not restored" : "clean, restored");
	}
}

/* max_memory may be any whole number of pages: here 16,447, of which the
 * top 63 (the stack's top among them, under a small body area) lie past
 * the last whole 64-page word of the page bitmaps.  Their bits must exist
 * (the sanitizer build stopped at the snapshot's, one word past the
 * bitmap, before), and a write there is undone like any other. */
Test(reset_odd_memory, pages_past_the_last_whole_bitmap_word_are_restored)
{
	struct kc_limits lim;
	uint64_t va;

	kc_limits_default(&lim);
	lim.max_memory = 65788ULL << 10;
	lim.max_body_size = 16 << 10;
	lim.stack_size = 1 << 20;
	cr_assert_eq(kc_layout_compute(&lim,
	                               &(struct kc_elf_plan){.hi = 0x500000},
	                               &img.lay, (char[128]){0}, 128),
	             0);
	va = img.lay.stack_top - KC_PAGE_SIZE;
	cr_assert_geq(va / KC_PAGE_SIZE,
	              img.lay.mem_size / KC_PAGE_SIZE / 64 * 64,
	              "the page must lie past the last whole word");
	make_vm_of(&lim, va);
	vm.dirty = true;
	memset(kc_gmem(vm.mem, &img.lay, va, KC_PAGE_SIZE, KC_GMEM_WRITE), 0x5a,
	       KC_PAGE_SIZE);
	cr_assert_eq(kc_vm_reset(&vm), 0);
	cr_assert_eq(vm.mem[va], 0, "the request's write stayed");
}
