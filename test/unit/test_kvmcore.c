/* kvm-core's pure parts: ELF checks on crafted bad ELFs, layout, page
 * tables and the checked guest translation.  No /dev/kvm needed. */
#include <criterion/criterion.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_internal.h"

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
