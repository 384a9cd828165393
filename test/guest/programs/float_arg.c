/* Passes doubles in SSE registers, for the debugger's xmm view. */
#include <stdio.h>

#include "kvm-fpm.h"

static char buf[64];

__attribute__((noinline)) double scale(double x, double k)
{
	return x * k + 0.5;
}

void my_backend(const char *url)
{
	snprintf(buf, sizeof(buf), "%.2f", scale((double)url[1], url[2] - 'a'));
	backend_response_str(200, "text/plain", buf);
}

int main(void)
{
	return 0;
}
