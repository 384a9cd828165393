/* Spoils one piece of user-visible CPU state per request (the path says
 * which) and reports the state it started with: the next request on the
 * VM must start from the snapshot's. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kvm-fpm-abi.h"
#include "kvm-fpm.h"

#define ARCH_SET_FS 0x1002
#define RFLAGS_SEEN 0x47700 /* TF IF DF IOPL NT AC */

struct state {
	uint8_t fx[512] __attribute__((aligned(16)));
	uint16_t ds, es, fs, gs, ss;
	uint64_t rflags, tcb;
};

static struct state st;
static uint64_t snapshot_tcb; /* musl's thread pointer, %fs:0 */
static char body[1024];
static struct kfpm_response resp;
static const char secret[16] = "xmm-secret-0123";

/* The state as this request found it, before compiled code changed any. */
static __attribute__((noinline)) void capture(void)
{
	__asm__ volatile("fxsave64 %0" : "=m"(st.fx));
	__asm__ volatile("mov %%ds, %0" : "=r"(st.ds));
	__asm__ volatile("mov %%es, %0" : "=r"(st.es));
	__asm__ volatile("mov %%fs, %0" : "=r"(st.fs));
	__asm__ volatile("mov %%gs, %0" : "=r"(st.gs));
	__asm__ volatile("mov %%ss, %0" : "=r"(st.ss));
	__asm__ volatile("pushfq; popq %0" : "=r"(st.rflags));
}

/* Ends the request with a raw `syscall`: nothing that could need the
 * spoiled state (TLS, the direction flag) runs after it changed. */
static void prepare(const char *text)
{
	strcpy(body, text);
	resp.status = 200;
	resp.content_type.ptr = (uintptr_t) "text/plain";
	resp.content_type.len = 10;
	resp.body.ptr = (uintptr_t)body;
	resp.body.len = strlen(body);
}

#define RESPOND_AFTER(setup, ...)                                              \
	__asm__ volatile(setup "\n\tsyscall\n\tud2"                            \
	                 :                                                     \
	                 : "a"((uint64_t)KFPM_CALL_BASE + KFPM_CALL_RESPONSE), \
	                   "D"(&resp), ##__VA_ARGS__                           \
	                 : "memory")

static void spoil_segments(void)
{
	prepare("segments spoiled\n");
	RESPOND_AFTER("mov %%cx, %%ds\n\tmov %%cx, %%es\n\t"
	              "mov %%cx, %%fs\n\tmov %%cx, %%gs",
	              "c"(0x1b));
}

static void spoil_flags(void)
{
	prepare("flags spoiled\n");
	/* DF and AC; IOPL and NT cannot be set from user mode by popf. */
	RESPOND_AFTER("pushfq\n\torq $0x40400, (%%rsp)\n\tpopfq");
}

static void spoil_fpu(void)
{
	static const uint16_t fcw = 0x0c7f;   /* round toward zero */
	static const uint32_t mxcsr = 0xff80; /* flush to zero, round up */

	prepare("fpu spoiled\n");
	/* filds last among the x87 instructions: its address and its
	 * operand's are what FXSAVE reports as the last instruction and
	 * operand pointers, which the next request must not see. */
	RESPOND_AFTER("fldcw (%%rsi)\n\tldmxcsr (%%rdx)\n\t"
	              "fldpi\n\tfilds (%%rsi)\n\tmovdqu (%%rcx), %%xmm0\n\t"
	              "movdqa %%xmm0, %%xmm1\n\tmovdqa %%xmm0, %%xmm2\n\t"
	              "movdqa %%xmm0, %%xmm3\n\tmovdqa %%xmm0, %%xmm4\n\t"
	              "movdqa %%xmm0, %%xmm5\n\tmovdqa %%xmm0, %%xmm6\n\t"
	              "movdqa %%xmm0, %%xmm7\n\tmovdqa %%xmm0, %%xmm8\n\t"
	              "movdqa %%xmm0, %%xmm9\n\tmovdqa %%xmm0, %%xmm10\n\t"
	              "movdqa %%xmm0, %%xmm11\n\tmovdqa %%xmm0, %%xmm12\n\t"
	              "movdqa %%xmm0, %%xmm13\n\tmovdqa %%xmm0, %%xmm14\n\t"
	              "movdqa %%xmm0, %%xmm15",
	              "S"(&fcw), "d"(&mxcsr), "c"(secret));
}

/* An unmasked x87 exception left pending (0/0 with invalid-operation
 * unmasked): the next x87 instruction that waits would raise #MF, the
 * next request's entry included unless it clears the state first. */
static void spoil_x87_pending(void)
{
	static const uint16_t fcw = 0x037e; /* invalid operation unmasked */

	prepare("x87 exception pending\n");
	RESPOND_AFTER("fldcw (%%rsi)\n\tfldz\n\tfldz\n\tfdivrp", "S"(&fcw));
}

/* The host changes FS for arch_prctl: a thread pointer of our own. */
static void spoil_fs_base(void)
{
	static uint64_t fake_tcb[64];
	long r;

	fake_tcb[0] = (uintptr_t)fake_tcb;
	prepare("fs base spoiled\n");
	__asm__ volatile("syscall"
	                 : "=a"(r)
	                 : "a"(158L), "D"(ARCH_SET_FS), "S"(fake_tcb)
	                 : "rcx", "r11", "memory");
	RESPOND_AFTER("");
}

/* Trap flag: a #DB after the next instruction ends this request. */
static void spoil_trap_flag(void)
{
	__asm__ volatile("pushfq\n\torq $0x100, (%rsp)\n\tpopfq\n\tnop");
}

/* kvm-core leaves CR4.FSGSBASE clear, which makes this an invalid opcode
 * on VMX/SVM; under PVM user code runs with the host's CR4, and it may
 * work: then the FS base must come back like arch_prctl's. */
static void spoil_wrfsbase(void)
{
	static uint64_t fake_tcb[64];

	fake_tcb[0] = (uintptr_t)fake_tcb;
	prepare("fs base spoiled by wrfsbase\n");
	RESPOND_AFTER("wrfsbase %%rsi", "S"(fake_tcb));
}

/* The same for GS, which musl leaves alone: nothing reads it back but
 * rdgsbase, which works exactly where wrgsbase does. */
static void spoil_wrgsbase(void)
{
	static uint64_t page[8];

	prepare("gs base spoiled by wrgsbase\n");
	RESPOND_AFTER("wrgsbase %%rsi", "S"(page));
}

static void report_gs_base(void)
{
	uint64_t base;

	__asm__ volatile("rdgsbase %0" : "=r"(base));
	snprintf(body, sizeof(body), "gs base %#llx\n",
	         (unsigned long long)base);
	backend_response_str(200, "text/plain", body);
}

static int is_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/* XCR0 enables x87 and SSE only: an invalid opcode, never YMM state
 * left for the next request. */
static void spoil_ymm(void)
{
	prepare("ymm spoiled\n");
	RESPOND_AFTER("vbroadcastss (%%rcx), %%ymm0\n\t"
	              "vmovaps %%ymm0, %%ymm15",
	              "c"(secret));
}

static void report(void)
{
	uint16_t fcw, fsw, fop;
	uint64_t fip, fdp;
	uint32_t mxcsr;

	memcpy(&fcw, st.fx, 2);
	memcpy(&fop, st.fx + 6, 2);
	memcpy(&fip, st.fx + 8, 8);
	memcpy(&fdp, st.fx + 16, 8);
	memcpy(&fsw, st.fx + 2, 2);
	memcpy(&mxcsr, st.fx + 24, 4);
	snprintf(body, sizeof(body),
	         "ds=%#x es=%#x fs=%#x gs=%#x ss=%#x x87-last=%#x/%#llx/%#llx "
	         "tcb=%s rflags=%#llx "
	         "fcw=%#x fsw=%#x ftw=%#x mxcsr=%#x st=%s xmm=%s\n",
	         st.ds, st.es, st.fs, st.gs, st.ss, fop,
	         (unsigned long long)fip, (unsigned long long)fdp,
	         st.tcb == snapshot_tcb ? "snapshot" : "changed",
	         (unsigned long long)(st.rflags & RFLAGS_SEEN), fcw, fsw,
	         st.fx[4], mxcsr, is_zero(st.fx + 32, 128) ? "clear" : "dirty",
	         is_zero(st.fx + 160, 256) ? "clear" : "dirty");
	backend_response_str(200, "text/plain", body);
}

void my_backend(const char *url)
{
	capture();
	/* Read last: a wrong FS base faults here rather than lie. */
	__asm__ volatile("mov %%fs:0, %0" : "=r"(st.tcb));
	if (strcmp(url, "/segments") == 0)
		spoil_segments();
	else if (strcmp(url, "/flags") == 0)
		spoil_flags();
	else if (strcmp(url, "/fpu") == 0)
		spoil_fpu();
	else if (strcmp(url, "/x87-pending") == 0)
		spoil_x87_pending();
	else if (strcmp(url, "/fs-base") == 0)
		spoil_fs_base();
	else if (strcmp(url, "/trap-flag") == 0)
		spoil_trap_flag();
	else if (strcmp(url, "/wrfsbase") == 0)
		spoil_wrfsbase();
	else if (strcmp(url, "/wrgsbase") == 0)
		spoil_wrgsbase();
	else if (strcmp(url, "/gs-base") == 0)
		report_gs_base();
	else if (strcmp(url, "/avx") == 0)
		spoil_ymm();
	else if (strcmp(url, "/spin") == 0) /* until the time limit */
		for (;;)
			__asm__ volatile("");
	report();
}

int main(void)
{
	__asm__ volatile("mov %%fs:0, %0" : "=r"(snapshot_tcb));
	return 0;
}
