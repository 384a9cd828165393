/* Hostile tenant: writes through NULL in every request (page fault). */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	*(volatile int *)0 = 1;
	backend_response_str(200, "text/plain", "survived");
}

int main(void)
{
	return 0;
}
