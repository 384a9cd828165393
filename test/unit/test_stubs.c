/* The user-mode entry stub (stubs.S), run natively on this CPU in this
 * process: the instructions that give every request the image's x87 and
 * SSE state.  In the tests' emulated VM the x87 unit is QEMU's, which
 * neither keeps the last-instruction pointers nor raises a pending x87
 * exception, so what the entry does with those is tested here. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kc_x86.h"
#include "x86_defs.h"

static uint8_t fx[512] __attribute__((aligned(16)));

/* The stubs page and its FXSAVE image, at their guest address: the entry
 * reads the image there (an absolute address, as in the guest). */
static void map_stubs(void)
{
	uint8_t *mem = calloc(1, KC_STUBS_ADDR + KC_PAGE_SIZE), *page;
	const char *ci = getenv("CI");

	cr_assert_not_null(mem);
	kc_x86_build_system(mem);
	page = mmap((void *)KC_STUBS_ADDR, KC_PAGE_SIZE,
	            PROT_READ | PROT_WRITE | PROT_EXEC,
	            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (page != (uint8_t *)KC_STUBS_ADDR) {
		/* vm.mmap_min_addr above it, without CAP_SYS_RAWIO */
		free(mem);
		cr_assert(!(ci && strcmp(ci, "true") == 0),
		          "cannot map the stubs at %#x: %s", KC_STUBS_ADDR,
		          strerror(errno));
		cr_skip_test("cannot map the stubs at %#x (%s): "
		             "vm.mmap_min_addr?",
		             KC_STUBS_ADDR, strerror(errno));
	}
	memcpy(page, mem + KC_STUBS_ADDR, KC_PAGE_SIZE);
	free(mem);
}

static void unmap_stubs(void)
{
	munmap((void *)KC_STUBS_ADDR, KC_PAGE_SIZE);
}

TestSuite(entry_stub, .init = map_stubs, .fini = unmap_stubs);

/* Run the entry as a request does (rcx: where to go), then save the x87
 * and SSE state it left. */
static void enter_and_save(void)
{
	__asm__ volatile(
	    "lea 1f(%%rip), %%rcx\n\t"
	    "jmp *%0\n"
	    "1:\n\t"
	    "fxsave64 %1"
	    :
	    : "r"((uintptr_t)(KC_STUBS_ADDR + KC_STUB_ENTRY)), "m"(fx)
	    : "rcx", "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)",
	      "st(5)", "st(6)", "st(7)", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
	      "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
	      "xmm13", "xmm14", "xmm15");
}

static uint16_t u16_at(size_t off)
{
	uint16_t v;

	memcpy(&v, fx + off, 2);
	return v;
}

static uint64_t u64_at(size_t off)
{
	uint64_t v;

	memcpy(&v, fx + off, 8);
	return v;
}

static void expect_image_state(void)
{
	cr_assert_eq(u16_at(0), 0x037f, "fcw %#x", u16_at(0));
	cr_assert_eq(u16_at(2), 0, "fsw %#x", u16_at(2));
	cr_assert_eq(fx[4], 0, "ftw %#x", fx[4]);
}

/* A request may end with an unmasked x87 exception pending: the next
 * waiting x87 instruction raises #MF.  The entry's own x87 load must not
 * be that instruction (it would fault every next request on the VM). */
Test(entry_stub, an_x87_exception_left_pending_does_not_fault_the_entry)
{
	static const uint16_t fcw = 0x037e; /* invalid operation unmasked */

	__asm__ volatile("fldcw %0\n\tfldz\n\tfldz\n\tfdivrp\n\tfnstsw %%ax"
	                 :
	                 : "m"(fcw)
	                 : "ax", "st", "st(1)", "memory");
	enter_and_save();
	expect_image_state();
}

/*
 * The last-instruction and -operand pointers the next request can read
 * are the image's or the entry's own, never where the request before
 * last used the x87 unit.  AMD CPUs before Zen 2 keep them through
 * fxrstor (no exception pending): there only the entry's x87 load hides
 * them.  Every other CPU restores them from the image, so this passes
 * with or without that load there.
 */
Test(entry_stub, x87_last_pointers_are_the_image_s_or_the_entry_s)
{
	static const int32_t operand = 7;
	uint64_t fip, fdp;

	__asm__ volatile("fildl %0\n\tfstp %%st(0)" : : "m"(operand) : "st");
	enter_and_save();
	expect_image_state();
	fip = u64_at(8);
	fdp = u64_at(16);
	cr_assert(fip == 0 || (fip >= KC_STUBS_ADDR + KC_STUB_ENTRY &&
	                       fip < KC_STUBS_ADDR + KC_STUB_FLUSH),
	          "last x87 instruction %#llx", (unsigned long long)fip);
	cr_assert(fdp == 0 || fdp == KC_FXAREA_ADDR, "last x87 operand %#llx",
	          (unsigned long long)fdp);
}
