/* Hostile tenant: spins forever in every request (wall-clock limit). */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	for (;;)
		__asm__ volatile("");
	backend_response_str(200, "text/plain", "survived");
}

int main(void)
{
	return 0;
}
