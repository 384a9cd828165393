/* Broken tenant: my_backend() returns without answering. */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
}

int main(void)
{
	return 0;
}
