/* Hostile tenant: executes ud2 in every request (#UD). */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	__asm__ volatile("ud2");
	backend_response_str(200, "text/plain", "survived");
}

int main(void)
{
	return 0;
}
