/* Reports the RFLAGS user code gets back from each kind of call: a raw
 * `syscall`, and the direct call path with forged flags in r11. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kvm-fpm-abi.h"
#include "kvm-fpm.h"

#define SHOWN   0x3f7f01ULL /* CF TF IF DF IOPL NT RF VM AC VIF VIP */
#define WANTED  0x40401ULL  /* CF DF AC, set before each call */
#define FORGED  (WANTED | 0x3000 | 0x4000 | 0x10000 | 0x180000 | 0x202)
#define SYS_PID 39

static char body[128];

/* Clean flags again at once: C code must not run with DF or AC set. */
#define AFTER_CALL "pushfq\n\tpopq %[out]\n\tpushq $0x202\n\tpopfq\n\t"

static uint64_t after_syscall(void)
{
	uint64_t out;

	__asm__ volatile("pushfq\n\torq %[w], (%%rsp)\n\tpopfq\n\t"
	                 "syscall\n\t" AFTER_CALL
	                 : [out] "=r"(out)
	                 : "a"((uint64_t)SYS_PID), [w] "i"(WANTED)
	                 : "rcx", "r11", "memory", "cc");
	return out;
}

/* The direct call path returns with r11 as RFLAGS: ask for IOPL 3, NT,
 * RF, VIF and VIP besides.  Then, when asked, try a port only ring 0
 * may use (an exception stub's): IOPL 3 would open it. */
static uint64_t after_direct_call(int then_out)
{
	uint64_t out;

	__asm__ volatile("lea 1f(%%rip), %%rcx\n\t"
	                 "mov %[f], %%r11\n\t"
	                 "jmp *%[entry]\n"
	                 "1:\n\t" AFTER_CALL "test %[o], %[o]\n\t"
	                 "jz 2f\n\t"
	                 "outb %%al, $0x81\n"
	                 "2:"
	                 : [out] "=&r"(out), "+a"((uint64_t){SYS_PID})
	                 : [f] "i"(FORGED), [o] "r"(then_out),
	                   [entry] "r"((uint64_t)KFPM_CALL_ENTRY)
	                 : "rcx", "r11", "memory", "cc");
	return out;
}

void my_backend(const char *url)
{
	uint64_t f;

	if (strcmp(url, "/syscall") == 0)
		f = after_syscall();
	else if (strcmp(url, "/direct") == 0)
		f = after_direct_call(0);
	else if (strcmp(url, "/direct-out") == 0)
		f = after_direct_call(1);
	else
		backend_response_str(404, "text/plain", "?\n");
	snprintf(body, sizeof(body), "flags=%#llx\n",
	         (unsigned long long)(f & SHOWN));
	backend_response_str(200, "text/plain", body);
}

int main(void)
{
	return 0;
}
