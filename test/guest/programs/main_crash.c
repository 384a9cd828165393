/* Hostile tenant: main() writes through NULL (crashes during init). */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	backend_response_str(200, "text/plain", "ok");
}

int main(void)
{
	*(volatile int *)0 = 1;
	return 0;
}
