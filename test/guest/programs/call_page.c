/* Hostile tenant: misuses the call page and the call stub, each URL its
 * own way; "/" answers normally.  The addresses are the monitor's
 * (kvm-core/x86_defs.h), which a tenant can read off its own memory. */
#include <stdint.h>
#include <string.h>

#include "kvm-fpm.h"

#define CALL_ADDR   0x5000
#define STUB_SYSRET 0x4027
#define SYS_GETPID  39

void my_backend(const char *url)
{
	if (strcmp(url, "/read") == 0) {
		uint8_t v;

		__asm__ volatile("movb %c1, %0" : "=q"(v) : "i"(CALL_ADDR));
		(void)v;
	} else if (strcmp(url, "/wide") == 0) {
		__asm__ volatile("movw %%ax, %c0" : : "i"(CALL_ADDR), "a"(0));
	} else if (strcmp(url, "/far") == 0) {
		/* A call that would return to a non-canonical address. */
		__asm__ volatile("movb %%al, %c0"
		                 :
		                 : "i"(CALL_ADDR), "a"(SYS_GETPID),
		                   "c"(0x800000000000ULL)
		                 : "r11", "memory");
	} else if (strcmp(url, "/sysret") == 0) {
		/* The stub's sysretq, from user mode. */
		__asm__ volatile("jmp *%0" : : "r"((uint64_t)STUB_SYSRET));
	}
	backend_response_str(200, "text/plain", "fine\n");
}

int main(void)
{
	return 0;
}
