/* Declares itself ready with the syscall instruction, as the ABI allows
 * (kvm-fpm-abi.h), instead of the SDK's direct call: on VMX/SVM that call
 * reaches the host from ring 0.  Every request answers the privilege
 * level it runs at, which must be 3. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kvm-fpm-abi.h"
#include "kvm-fpm.h"

static char body[32];

static void entry(const struct kfpm_request *req)
{
	uint16_t cs;

	(void)req;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	snprintf(body, sizeof(body), "cpl=%u\n", cs & 3u);
	backend_response_str(200, "text/plain", body);
}

void my_backend(const char *url)
{
	(void)url;
}

int main(void)
{
	struct kfpm_ready ready;
	long ret;

	memset(&ready, 0, sizeof(ready));
	ready.abi_version = KFPM_ABI_VERSION;
	ready.entry = (uintptr_t)entry;
	ready.backend = (uintptr_t)my_backend;
	__asm__ volatile("syscall"
	                 : "=a"(ret)
	                 : "a"((unsigned long)KFPM_CALL_BASE + KFPM_CALL_READY),
	                   "D"(&ready)
	                 : "rcx", "r11", "memory");
	return (int)ret; /* only the snapshot goes on, from the entry */
}
