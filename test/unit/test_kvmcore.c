/* kvm-core's pure parts: ELF checks on crafted bad ELFs, layout, page
 * tables and the checked guest translation.  No /dev/kvm needed. */
#include <criterion/criterion.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc.h"
#include "kc_elf.h"
#include "kc_gmem.h"
#include "kc_layout.h"
#include "kc_pagetable.h"

static unsigned char *elf;
static size_t elf_len;

static void load_ok(void)
{
	FILE *f = fopen("build/programs/ok", "rb");

	cr_assert_not_null(f, "build/programs/ok missing: run make");
	fseek(f, 0, SEEK_END);
	elf_len = (size_t)ftell(f);
	rewind(f);
	elf = malloc(elf_len);
	cr_assert_eq(fread(elf, 1, elf_len, f), elf_len);
	fclose(f);
}

static void free_ok(void)
{
	free(elf);
}

static const char *check(size_t len)
{
	static char err[256];
	struct kc_elf_plan plan;
	struct kc_limits lim;

	kc_limits_default(&lim);
	err[0] = 0;
	if (kc_elf_check(elf, len, &lim, &plan, err, sizeof(err)) == 0)
		return "ok";
	return err;
}

static Elf64_Phdr *load_phdr(unsigned flags)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(elf + eh->e_phoff);
	int i;

	for (i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_flags == flags)
			return &ph[i];
	cr_assert_fail("no PT_LOAD with flags %u", flags);
	return NULL;
}

TestSuite(elf, .init = load_ok, .fini = free_ok);

Test(elf, accepts_sdk_program)
{
	cr_assert_str_eq(check(elf_len), "ok");
}

Test(elf, not_an_elf)
{
	memcpy(elf, "#!/bin", 6);
	cr_assert_str_eq(check(elf_len), "not an ELF file");
}

Test(elf, truncated)
{
	cr_assert_str_eq(check(40), "truncated ELF header (40 bytes)");
	cr_assert(strstr(check(900), "truncated ELF"), "%s", check(900));
}

Test(elf, other_architecture)
{
	((Elf64_Ehdr *)elf)->e_machine = EM_AARCH64;
	cr_assert(strstr(check(elf_len), "not x86-64"), "%s", check(elf_len));
}

Test(elf, shared_object)
{
	((Elf64_Ehdr *)elf)->e_type = ET_DYN;
	cr_assert(strstr(check(elf_len), "shared object or PIE"));
}

Test(elf, writable_and_executable_segment)
{
	load_phdr(PF_R | PF_X)->p_flags |= PF_W;
	cr_assert(strstr(check(elf_len), "is writable and executable"), "%s",
	          check(elf_len));
}

Test(elf, segment_in_page_zero)
{
	load_phdr(PF_R | PF_X)->p_vaddr = 0;
	cr_assert(strstr(check(elf_len), "below the lowest program address"),
	          "%s", check(elf_len));
}

Test(elf, entry_outside_code)
{
	((Elf64_Ehdr *)elf)->e_entry = load_phdr(PF_R | PF_W)->p_vaddr;
	cr_assert(strstr(check(elf_len), "not in an executable segment"), "%s",
	          check(elf_len));
}

Test(elf, segment_past_file_end)
{
	load_phdr(PF_R | PF_X)->p_offset = elf_len;
	cr_assert(strstr(check(elf_len), "past the end of the file"), "%s",
	          check(elf_len));
}

Test(elf, missing_abi_note)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(elf + eh->e_phoff);
	int i;

	for (i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_NOTE)
			ph[i].p_type = PT_NULL;
	cr_assert(strstr(check(elf_len), "no kvm-fpm ABI note"));
}

/* A small guest memory with page tables, for translation tests. */
static uint8_t *mem;
static struct kc_layout lay;

static void make_mem(void)
{
	struct kc_limits lim;
	struct kc_elf_plan plan = {.hi = 0x500000};
	char err[128];
	uint64_t next;

	kc_limits_default(&lim);
	lim.max_memory = 16ULL << 20;
	lim.stack_size = 1 << 20;
	cr_assert_eq(kc_layout_compute(&lim, &plan, &lay, err, sizeof(err)), 0,
	             "%s", err);
	mem = calloc(1, lay.mem_size);
	kc_pt_init(mem, &lay);
	next = KC_PT_POOL(&lay);
	cr_assert_eq(kc_pt_map(mem, &lay, &next, 0x400000, 0x2000,
	                       KC_PTE_U | KC_PTE_W, NULL),
	             0);
	cr_assert_eq(
	    kc_pt_map(mem, &lay, &next, 0x402000, 0x1000, KC_PTE_U, NULL), 0);
	cr_assert_eq(
	    kc_pt_map(mem, &lay, &next, 0x1000, 0x1000, KC_PTE_W, NULL), 0);
}

static void free_mem(void)
{
	free(mem);
}

TestSuite(gmem, .init = make_mem, .fini = free_mem);

Test(gmem, layout_is_ordered)
{
	cr_assert_lt(lay.heap_base, lay.mmap_top);
	cr_assert_eq(lay.mmap_top + KC_STACK_GUARD, lay.stack_bottom);
	cr_assert_eq(lay.stack_top, lay.req_base);
	cr_assert_eq(lay.req_base + lay.req_size, lay.pt_base);
	cr_assert_eq(lay.pt_end, lay.mem_size);
}

Test(gmem, user_pages_translate)
{
	cr_assert_eq(kc_gmem(mem, &lay, 0x400010, 0x1ff0, KC_GMEM_WRITE),
	             mem + 0x400010);
	cr_assert_eq(kc_gmem(mem, &lay, 0x402000, 16, 0), mem + 0x402000);
}

Test(gmem, write_marks_dirty)
{
	uint64_t *pte = kc_pt_lookup(mem, &lay, 0x401000, NULL);

	cr_assert_eq(*pte & KC_PTE_D, 0);
	cr_assert_not_null(kc_gmem(mem, &lay, 0x401800, 8, KC_GMEM_WRITE));
	cr_assert_neq(*pte & KC_PTE_D, 0);
}

Test(gmem, refuses_bad_ranges)
{
	/* read-only page, unmapped pages, supervisor pages, overflow */
	cr_assert_null(kc_gmem(mem, &lay, 0x402000, 8, KC_GMEM_WRITE));
	cr_assert_null(kc_gmem(mem, &lay, 0x401ff0, 0x2000, 0));
	cr_assert_null(kc_gmem(mem, &lay, 0x0, 8, 0));
	cr_assert_null(kc_gmem(mem, &lay, 0x1000, 8, 0));
	cr_assert_null(kc_gmem(mem, &lay, 0x400000, UINT64_MAX, 0));
	cr_assert_null(kc_gmem(mem, &lay, UINT64_MAX - 4, 8, 0));
	cr_assert_null(kc_gmem(mem, &lay, lay.mem_size, 1, 0));
}

Test(gmem, strings_stop_at_unmapped_pages)
{
	size_t len = 0;

	memset(mem + 0x402000, 'x', 0x1000);
	cr_assert_null(kc_gmem_str(mem, &lay, 0x402000, 1 << 20, &len));
	mem[0x402ffe] = 0;
	cr_assert_eq(kc_gmem_str(mem, &lay, 0x402000, 1 << 20, &len),
	             (char *)mem + 0x402000);
	cr_assert_eq(len, 0xffe);
	cr_assert_null(kc_gmem_str(mem, &lay, 0x402000, 16, &len));
}

/* Memory slots for a 256M guest with the default limits. */
static struct kc_layout slot_lay;

static void make_slot_layout(void)
{
	struct kc_limits lim;
	struct kc_elf_plan plan = {.hi = 0x410000};
	char err[128];

	kc_limits_default(&lim);
	cr_assert_eq(
	    kc_layout_compute(&lim, &plan, &slot_lay, err, sizeof(err)), 0,
	    "%s", err);
}

TestSuite(slots, .init = make_slot_layout);

#define MIB (1ULL << 20)

Test(slots, fresh_slots_cover_snapshot_with_headroom)
{
	struct kc_slots s;

	kc_slots_empty(&slot_lay, &s);
	kc_slots_plan(&slot_lay, 0x410000, slot_lay.mmap_top, &s);
	cr_assert(kc_slots_cover(&s, 0x410000, slot_lay.mmap_top));
	cr_assert_eq(s.low_end, 8 * MIB); /* 4M + 64K + headroom, rounded */
	cr_assert_leq(s.high_start, slot_lay.mmap_top - KC_SLOT_HEADROOM);
	cr_assert_gt(s.high_start, slot_lay.mmap_top - 2 * KC_SLOT_HEADROOM);
	/* Stack, request area and page tables sit above mmap_top. */
	cr_assert_lt(s.high_start, slot_lay.stack_bottom);
	cr_assert_lt(s.low_end, s.high_start);
	/* Far less than all of max_memory. */
	cr_assert_lt(s.low_end + (slot_lay.mem_size - s.high_start), 24 * MIB);
}

Test(slots, headroom_needs_no_growth)
{
	struct kc_slots s, before;

	kc_slots_empty(&slot_lay, &s);
	kc_slots_plan(&slot_lay, 0x410000, slot_lay.mmap_top, &s);
	before = s;
	cr_assert(kc_slots_cover(&s, 0x410000 + MIB, slot_lay.mmap_top - MIB));
	kc_slots_plan(&slot_lay, 0x410000 + MIB, slot_lay.mmap_top - MIB, &s);
	cr_assert_eq(s.low_end, before.low_end);
	cr_assert_eq(s.high_start, before.high_start);
}

Test(slots, growth_at_least_doubles)
{
	struct kc_slots s, before;
	uint64_t high_size;

	kc_slots_empty(&slot_lay, &s);
	kc_slots_plan(&slot_lay, 0x410000, slot_lay.mmap_top, &s);
	before = s;
	high_size = slot_lay.mem_size - s.high_start;
	cr_assert_not(kc_slots_cover(&s, 9 * MIB, slot_lay.mmap_top));
	kc_slots_plan(&slot_lay, 9 * MIB, slot_lay.mmap_top, &s);
	cr_assert_eq(s.low_end, 16 * MIB);
	cr_assert_eq(s.high_start, before.high_start);
	kc_slots_plan(&slot_lay, 9 * MIB, s.high_start - 40 * MIB, &s);
	cr_assert_eq(s.low_end, 16 * MIB);
	cr_assert_geq(slot_lay.mem_size - s.high_start, 2 * high_size);
	cr_assert(kc_slots_cover(&s, 9 * MIB, before.high_start - 40 * MIB));
}

Test(slots, sides_meet_without_overlap)
{
	struct kc_slots s;
	uint64_t mid = slot_lay.mem_size / 2;

	kc_slots_empty(&slot_lay, &s);
	kc_slots_plan(&slot_lay, 0x410000, slot_lay.mmap_top, &s);
	/* The heap reaches just below the mmap area: everything is backed. */
	kc_slots_plan(&slot_lay, mid, mid + KC_STACK_GUARD, &s);
	cr_assert(kc_slots_cover(&s, mid, mid + KC_STACK_GUARD));
	cr_assert_leq(s.low_end, s.high_start);
	kc_slots_plan(&slot_lay, slot_lay.mmap_top - KC_STACK_GUARD,
	              slot_lay.mmap_top, &s);
	cr_assert_eq(s.low_end, s.high_start);
	cr_assert(kc_slots_cover(&s, slot_lay.mmap_top - KC_STACK_GUARD,
	                         slot_lay.mmap_top));
}

Test(slots, whole_memory_from_either_end)
{
	struct kc_slots s;

	kc_slots_empty(&slot_lay, &s);
	kc_slots_plan(&slot_lay, 0x410000, slot_lay.heap_base + KC_STACK_GUARD,
	              &s);
	cr_assert_leq(s.low_end, s.high_start);
	cr_assert(
	    kc_slots_cover(&s, 0x410000, slot_lay.heap_base + KC_STACK_GUARD));
	cr_assert_eq(s.high_start, s.low_end); /* mmap filled the space */
}

/* A program that nearly fills a small max_memory: the headroom of one side
 * reaches into the other before either slot exists.  Both must still be
 * created (KVM refuses an empty one) and meet without overlap. */
Test(slots, fresh_slots_in_a_full_guest)
{
	struct kc_limits lim;
	struct kc_elf_plan plan = {.lo = 0x400000};
	struct kc_layout l;
	struct kc_slots s;
	char err[128];

	kc_limits_default(&lim);
	lim.max_memory = 16 * MIB;
	lim.stack_size = 64 * 1024;
	lim.max_body_size = 64 * 1024;
	cr_assert_eq(kc_layout_compute(&lim, &plan, &l, err, sizeof(err)), 0,
	             "%s", err);
	plan.hi = l.mmap_top - KC_STACK_GUARD - 4 * KC_PAGE_SIZE;
	cr_assert_eq(kc_layout_compute(&lim, &plan, &l, err, sizeof(err)), 0,
	             "%s", err);
	kc_slots_empty(&l, &s);
	kc_slots_plan(&l, l.heap_base, l.mmap_top, &s);
	cr_assert_gt(s.low_end, 0);
	cr_assert_lt(s.high_start, l.mem_size);
	cr_assert_eq(s.low_end, s.high_start);
	cr_assert_geq(s.low_end, l.heap_base);
	cr_assert_leq(s.high_start, l.mmap_top);
}

/* Random allocation walks over a few layouts: the slots always cover the
 * allocations, never overlap, never shrink, are never empty and stay
 * page-aligned (KVM's rules). */
Test(slots, random_walks_keep_the_rules)
{
	static const uint64_t mems[] = {16 * MIB, 40 * MIB, 256 * MIB,
	                                1024 * MIB + 4096};
	uint64_t seed = 12345;
	unsigned m, walk, step;

	for (m = 0; m < sizeof(mems) / sizeof(mems[0]); m++) {
		struct kc_limits lim;
		struct kc_elf_plan plan = {.lo = 0x400000, .hi = 0x410000};
		struct kc_layout l;
		char err[128];

		kc_limits_default(&lim);
		lim.max_memory = mems[m];
		lim.stack_size = mems[m] / 8;
		lim.max_body_size = 64 * 1024;
		cr_assert_eq(
		    kc_layout_compute(&lim, &plan, &l, err, sizeof(err)), 0,
		    "%s", err);
		for (walk = 0; walk < 200; walk++) {
			uint64_t brk = l.heap_base, mmin = l.mmap_top;
			struct kc_slots s, old;

			kc_slots_empty(&l, &s);
			for (step = 0; step < 20; step++) {
				uint64_t room = mmin - KC_STACK_GUARD - brk;

				seed = seed * 6364136223846793005ULL +
				       1442695040888963407ULL;
				/* up to all the room left, in pages */
				room =
				    (seed >> 33) % (room / 4096 + 1) * 4096 >>
				    (seed & 7);
				room &= ~4095ULL;
				if (seed & 0x100)
					brk += room;
				else
					mmin -= room;
				old = s;
				kc_slots_plan(&l, brk, mmin, &s);
				cr_assert(kc_slots_cover(&s, brk, mmin),
				          "mem %llu walk %u step %u",
				          (unsigned long long)mems[m], walk,
				          step);
				cr_assert_leq(s.low_end, s.high_start);
				cr_assert_gt(s.low_end, 0);
				cr_assert_lt(s.high_start, l.mem_size);
				cr_assert_geq(s.low_end, old.low_end);
				cr_assert_leq(s.high_start, old.high_start);
				cr_assert_eq(s.low_end % 4096, 0);
				cr_assert_eq(s.high_start % 4096, 0);
			}
		}
	}
}
