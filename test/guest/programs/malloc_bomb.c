/* Hostile tenant: takes up to 1 GiB, 1 MiB at a time, touching all of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-fpm.h"

/* Expected to be stopped by the memory limit before it answers; if the
 * allocator fails first, it answers 200 "got N MiB\n". */
void my_backend(const char *url)
{
	char body[32];
	int mib;

	(void)url;
	for (mib = 0; mib < 1024; mib++) {
		char *chunk = malloc(1 << 20);

		if (chunk == NULL)
			break;
		memset(chunk, 0xa5, 1 << 20);
		__asm__ volatile("" : : "r"(chunk) : "memory");
	}
	snprintf(body, sizeof(body), "got %d MiB\n", mib);
	backend_response_str(200, "text/plain", body);
}

int main(void)
{
	return 0;
}
