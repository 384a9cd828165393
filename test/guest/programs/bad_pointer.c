/* Hostile tenant: answers with a body pointer outside guest memory. */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	backend_response(200, "text/plain", (const void *)0xdead0000ul, 100);
}

int main(void)
{
	return 0;
}
