/* Hostile tenant: main() never finishes (init time limit). */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	backend_response_str(200, "text/plain", "ok");
}

int main(void)
{
	for (;;)
		__asm__ volatile("");
}
