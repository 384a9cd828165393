/* Hostile tenant: divides by zero in every request (#DE). */
#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	/* Both volatile: with a known dividend GCC replaces 1 / x by compares.
	 */
	volatile int dividend = 100, zero = 0;
	volatile int q = dividend / zero;
	(void)q;
	backend_response_str(200, "text/plain", "survived");
}

int main(void)
{
	return 0;
}
