/* Hostile tenant: executes cli at CPL3 in every request (#GP). */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	__asm__ volatile("cli");
	backend_response_str(200, "text/plain", "survived");
}

int main(void)
{
	return 0;
}
