/* Shows that every request starts from main()'s snapshot: always counter=43. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-fpm.h"

static int counter;

/* Keeps the compiler from dropping stores to memory nobody reads again. */
static void keep(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

void my_backend(const char *url)
{
	char body[32];
	char stack_scratch[4096];
	char *heap_scratch = malloc(64 * 1024);

	(void)url;
	/* Both are thrown away with the rest of the request's memory. */
	if (heap_scratch)
		memset(heap_scratch, 0xa5, 64 * 1024);
	memset(stack_scratch, 0x5a, sizeof(stack_scratch));
	keep(heap_scratch);
	keep(stack_scratch);

	counter++;
	snprintf(body, sizeof(body), "counter=%d\n", counter);
	response_header("Cache-Control", "no-store");
	backend_response_str(200, "text/plain", body);
}

int main(void)
{
	/* 1 + 2 + ... + 8 = 36, plus 6: some work done once, before the
	 * snapshot. */
	for (int i = 1; i <= 8; i++)
		counter += i;
	counter += 6;
	return 0;
}
