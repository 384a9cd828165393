/* Calls breakpoint() (a no-op unless debugging), then answers. */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	breakpoint();
	backend_response_str(200, "text/plain", "after breakpoint");
}

int main(void)
{
	return 0;
}
