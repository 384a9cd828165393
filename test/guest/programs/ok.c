/* Well-behaved tenant: every request answers 200 text/plain "ok". */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	backend_response_str(200, "text/plain", "ok");
}

int main(void)
{
	return 0;
}
