/* Hostile tenant: outb to port 0x80 at CPL3, IOPL 0, every request (#GP). */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	__asm__ volatile("outb %%al, $0x80" : : "a"(0));
	backend_response_str(200, "text/plain", "survived");
}

int main(void)
{
	return 0;
}
