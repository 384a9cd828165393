/* Broken tenant: main() returns 3, so it never becomes ready. */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	backend_response_str(200, "text/plain", "ok");
}

int main(void)
{
	return 3;
}
