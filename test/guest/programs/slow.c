/* Busy for about 300 ms of CPU per request (or N ms for a URL with
 * "ms=N"), then answers "slow done". */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvm-fpm.h"

static long long now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return -1;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void my_backend(const char *url)
{
	long long start = now_ms(), now = start, ms = 300;
	const char *arg = strstr(url, "ms=");

	if (arg)
		ms = strtoll(arg + 3, NULL, 10);
	while (now >= 0 && now - start < ms) {
		for (volatile int i = 0; i < 10000; i++)
			;
		now = now_ms();
	}
	if (now < 0)
		backend_response_str(500, "text/plain", "no clock\n");
	backend_response_str(200, "text/plain", "slow done");
}

int main(void)
{
	return 0;
}
