/* A tenant that misbehaves on request, for end-to-end hostile-tenant tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-fpm.h"

static void spin(void)
{
	for (volatile unsigned long i = 0;; i++)
		;
}

static void crash(void)
{
	/* Volatile twice: the compiler must neither drop the store (it knows
	 * p holds NULL) nor turn it into ud2.  This must be a page fault. */
	volatile int *volatile p = NULL;

	*p = 1;
}

/* Takes 1 MiB at a time and touches every page, until the host stops it.
 * Answers 503 only if the allocator gives up first. */
static void eat_memory(void)
{
	unsigned long mib = 0;
	char body[64];

	for (;;) {
		char *volatile chunk = malloc(1 << 20);

		if (chunk == NULL)
			break;
		memset(chunk, 0x5a, 1 << 20);
		mib++;
	}
	snprintf(body, sizeof(body), "malloc failed after %lu MiB\n", mib);
	backend_response_str(503, "text/plain", body);
}

void my_backend(const char *url)
{
	size_t len = strcspn(url, "?");

	response_header("Cache-Control", "no-store");
	if (len == 1 && url[0] == '/')
		backend_response_str(200, "text/plain", "ok\n");
	if (len == 5 && strncmp(url, "/loop", 5) == 0)
		spin();
	if (len == 6 && strncmp(url, "/crash", 6) == 0)
		crash();
	if (len == 4 && strncmp(url, "/oom", 4) == 0)
		eat_memory();
	if (len == 5 && strncmp(url, "/exit", 5) == 0)
		exit(3);
	backend_response_str(404, "text/plain", "not found\n");
}

int main(void)
{
	return 0;
}
