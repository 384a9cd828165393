/* Hostile tenant: recurses without end, 1 KiB per frame (stack overflow). */
#include "kvm-fpm.h"

/* Never 0; volatile only so the compiler sees a way out and stays quiet. */
static volatile int forever = 1;

/* The array is volatile and used after the call, so every frame keeps its
 * 1 KiB and the call cannot become a loop. */
static int recurse(int depth)
{
	volatile char frame[1024];

	if (!forever)
		return 0;
	frame[0] = (char)depth;
	frame[1023] = (char)depth;
	return recurse(depth + 1) + frame[depth & 1023];
}

void my_backend(const char *url)
{
	(void)url;
	recurse(0);
	backend_response_str(200, "text/plain", "survived");
}

int main(void)
{
	return 0;
}
