/* Hostile tenant: writes far outside guest memory, every request (#PF). */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	*(volatile int *)0x7f0000000000ul = 1;
	backend_response_str(200, "text/plain", "survived");
}

int main(void)
{
	return 0;
}
