/* Guest-side fuzzer: "/fuzz/SEED" makes system calls and hypercalls with
 * random numbers and arguments (pointers into its own memory, outside
 * guest memory, huge lengths) drawn from SEED; "/probe" answers with
 * checksums of its writable memory, stack and CPU state, which must be
 * the snapshot's every time (test/guest/test_fuzz.c drives it). */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-fpm-abi.h"
#include "kvm-fpm.h"

#define SCRATCH_LEN (64 * 1024)
#define STACK_SUM   (32 * 1024)
#define ACTIONS_MAX 64

extern const Elf64_Ehdr __ehdr_start; /* the linker's: our own headers */

static unsigned char scratch[SCRATCH_LEN]; /* bss: the host writes here */
static unsigned char data_area[4096] = {1, 2, 3}; /* .data */
static unsigned char *heap;                       /* malloc'd in main */
static uint64_t rng;

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t below(uint64_t n)
{
	return n ? next() % n : 0;
}

/* ---- system calls, bypassing libc (errno lives in TLS, which a call
 * may have just moved) ---------------------------------------------- */

static uint64_t sys6(uint64_t nr, const uint64_t a[6])
{
	register uint64_t r10 __asm__("r10") = a[3];
	register uint64_t r8 __asm__("r8") = a[4];
	register uint64_t r9 __asm__("r9") = a[5];
	uint64_t ret;

	__asm__ volatile("syscall"
	                 : "=a"(ret)
	                 : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10),
	                   "r"(r8), "r"(r9)
	                 : "rcx", "r11", "memory");
	return ret;
}

/* The direct call path (KFPM_CALL_ENTRY) with rflags of our choosing. */
static uint64_t direct(uint64_t nr, uint64_t arg, uint64_t rflags)
{
	uint64_t ret;

	__asm__ volatile(
	    "lea 1f(%%rip), %%rcx\n\t"
	    "mov %[fl], %%r11\n\t"
	    "jmp *%[entry]\n"
	    "1:"
	    : "=a"(ret)
	    : "a"(nr),
	      "D"(arg), [fl] "r"(rflags), [entry] "r"((uint64_t)KFPM_CALL_ENTRY)
	    : "rcx", "r11", "memory");
	return ret;
}

/* ---- random arguments ---------------------------------------------- */

/* An address: inside our memory mostly, else somewhere hostile. */
static uint64_t address(const char *url, unsigned char *stack)
{
	uint64_t top = (uint64_t)url & ~0xfffULL;

	switch (below(14)) {
	case 0:
		return (uint64_t)scratch + below(SCRATCH_LEN + 64);
	case 1:
		return (uint64_t)heap + below(SCRATCH_LEN);
	case 2:
		return (uint64_t)stack + below(4096);
	case 3:
		return (uint64_t)data_area + below(sizeof(data_area));
	case 4:
		return (uint64_t)&address + below(4096); /* code */
	case 5:
		return (uint64_t)url + below(256); /* request area */
	case 6:
		return top + below(1 << 20); /* page tables */
	case 7:
		return below(0x100000); /* the ring-0 stubs */
	case 8:
		return 0;
	case 9:
		return 1ULL << (32 + below(16)); /* beyond memory */
	case 10:
		return 0x0000800000000000ULL - below(2) * 4096;
	case 11:
		return 0xffff800000000000ULL + below(1 << 20);
	case 12:
		return UINT64_MAX - below(4096);
	default:
		return next();
	}
}

static uint64_t length(void)
{
	switch (below(8)) {
	case 0:
		return 0;
	case 1:
		return below(16);
	case 2:
		return below(4096);
	case 3:
		return below(1 << 20);
	case 4:
		return 1ULL << below(64);
	case 5:
		return UINT64_MAX - below(16);
	default:
		return below(256);
	}
}

static uint64_t argument(const char *url, unsigned char *stack)
{
	switch (below(4)) {
	case 0:
		return address(url, stack);
	case 1:
		return length();
	case 2:
		return below(4) ? below(8) : (uint64_t)-1 - below(8);
	default:
		return next();
	}
}

/* Linux calls kvm-core emulates (weighted in), and a few it does not. */
static const uint16_t known[] = {0,   1,   3,   8,   9,   10,  11,  12,  13,
                                 14,  16,  20,  24,  25,  28,  35,  39,  63,
                                 96,  102, 104, 107, 108, 110, 131, 158, 186,
                                 201, 218, 228, 230, 318, 2,   57,  59};

static uint64_t call_number(void)
{
	switch (below(10)) {
	case 0:
		return KFPM_CALL_BASE + below(KFPM_CALL_MAX + 2);
	case 1:
		return below(512);
	case 2:
		return next();
	case 3:
		if (below(32) == 0) /* exit and exit_group end a request */
			return below(2) ? 60 : 231;
		/* fall through */
	default:
		return known[below(sizeof(known) / sizeof(known[0]))];
	}
}

/* A response struct of random fields, handed to RESPONSE. */
static uint64_t random_response(const char *url, unsigned char *stack)
{
	struct kfpm_response *r = (void *)(scratch + below(1024) * 8);

	r->status = below(2) ? 200 : (uint32_t)next();
	r->content_type.ptr = address(url, stack);
	r->content_type.len = length();
	r->headers.ptr = address(url, stack);
	r->headers.len = length();
	r->body.ptr = address(url, stack);
	r->body.len = length();
	return below(8) ? (uint64_t)r : address(url, stack);
}

static uint64_t flags(void)
{
	/* Mostly what the runtime uses; sometimes any flags at all. */
	return below(8) ? 0x202 : next();
}

static void one_action(const char *url, unsigned char *stack)
{
	uint64_t a[6], nr;
	unsigned i;

	for (i = 0; i < 6; i++)
		a[i] = argument(url, stack);
	/* Calls that end the request are rare, so that most requests make
	 * dozens of calls. */
	switch (below(40)) {
	case 0: /* an answer, maybe a bad one: usually ends the request */
		a[0] = random_response(url, stack);
		if (below(2))
			sys6(KFPM_CALL_BASE + KFPM_CALL_RESPONSE, a);
		else
			direct(KFPM_CALL_BASE + KFPM_CALL_RESPONSE, a[0],
			       flags());
		break;
	case 1: /* snapshot again, or a breakpoint, mid-request */
		a[0] = below(2) ? (uint64_t)scratch : a[0];
		sys6(KFPM_CALL_BASE + below(KFPM_CALL_MAX), a);
		break;
	case 2 ... 7:
		direct(call_number(), a[0], flags());
		break;
	case 8 ... 13: /* our own writes, which the reset must undo */
		memset(scratch + below(SCRATCH_LEN / 2), (int)next(),
		       below(SCRATCH_LEN / 2));
		memset(heap + below(SCRATCH_LEN / 2), (int)next(),
		       below(SCRATCH_LEN / 2));
		data_area[below(sizeof(data_area))] = (unsigned char)next();
		break;
	default:
		nr = call_number();
		sys6(nr, a);
		break;
	}
}

static void fuzz(const char *url, uint64_t seed)
{
	unsigned char stack[4096];
	unsigned n, i;

	rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	memset(stack, 0x5a, sizeof(stack));
	n = 1 + (unsigned)below(ACTIONS_MAX);
	for (i = 0; i < n; i++)
		one_action(url, stack);
	__asm__ volatile("" : : "r"(stack) : "memory");
}

/* ---- the probe ----------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	while (len--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/* Every writable PT_LOAD segment: .data, .bss, musl's state. */
static uint64_t sum_segments(void)
{
	const Elf64_Phdr *ph =
	    (const void *)((const char *)&__ehdr_start + __ehdr_start.e_phoff);
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned i;

	for (i = 0; i < __ehdr_start.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_W))
			h = fnv(h, (const void *)ph[i].p_vaddr, ph[i].p_memsz);
	return h;
}

struct cpu {
	uint64_t rflags, fs_base, gs_base;
	uint32_t mxcsr;
	uint16_t fcw, fsw, sel[6];
};

static void read_cpu(struct cpu *c)
{
	const uint64_t get_fs[6] = {0x1003, (uint64_t)&c->fs_base};
	const uint64_t get_gs[6] = {0x1004, (uint64_t)&c->gs_base};

	memset(c, 0, sizeof(*c));
	__asm__ volatile("pushfq; popq %0" : "=r"(c->rflags));
	__asm__ volatile("stmxcsr %0" : "=m"(c->mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(c->fcw));
	__asm__ volatile("fnstsw %0" : "=m"(c->fsw));
	__asm__ volatile("mov %%cs, %0" : "=r"(c->sel[0]));
	__asm__ volatile("mov %%ss, %0" : "=r"(c->sel[1]));
	__asm__ volatile("mov %%ds, %0" : "=r"(c->sel[2]));
	__asm__ volatile("mov %%es, %0" : "=r"(c->sel[3]));
	__asm__ volatile("mov %%fs, %0" : "=r"(c->sel[4]));
	__asm__ volatile("mov %%gs, %0" : "=r"(c->sel[5]));
	sys6(158, get_fs); /* arch_prctl(ARCH_GET_FS) */
	sys6(158, get_gs);
}

static void probe(void)
{
	static char out[512];
	struct cpu c;
	unsigned char here;
	uint64_t mem, stk, hp;

	/* First, before anything this request does changes them. */
	read_cpu(&c);
	mem = sum_segments();
	hp = fnv(0xcbf29ce484222325ULL, heap, SCRATCH_LEN);
	stk = fnv(0xcbf29ce484222325ULL, &here - STACK_SUM, STACK_SUM);
	snprintf(out, sizeof(out),
	         "memory %016llx heap %016llx stack %016llx\n"
	         "rflags %llx fs_base %llx gs_base %llx mxcsr %x fcw %x "
	         "fsw %x cs %x ss %x ds %x es %x fs %x gs %x\n",
	         (unsigned long long)mem, (unsigned long long)hp,
	         (unsigned long long)stk, (unsigned long long)c.rflags,
	         (unsigned long long)c.fs_base, (unsigned long long)c.gs_base,
	         c.mxcsr, c.fcw, c.fsw, c.sel[0], c.sel[1], c.sel[2], c.sel[3],
	         c.sel[4], c.sel[5]);
	backend_response_str(200, "text/plain", out);
}

void my_backend(const char *url)
{
	if (!strcmp(url, "/probe"))
		probe();
	if (!strncmp(url, "/fuzz/", 6))
		fuzz(url, strtoull(url + 6, NULL, 10));
	backend_response_str(200, "text/plain", "survived\n");
}

int main(void)
{
	heap = malloc(SCRATCH_LEN);
	if (heap == NULL)
		return 1;
	memset(heap, 0x11, SCRATCH_LEN);
	return 0;
}
