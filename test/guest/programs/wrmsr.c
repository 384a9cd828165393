/* Hostile tenant: writes MSR 0x10 (TSC) at CPL3 in every request (#GP). */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	__asm__ volatile("wrmsr" : : "c"(0x10), "a"(0), "d"(0));
	backend_response_str(200, "text/plain", "survived");
}

int main(void)
{
	return 0;
}
