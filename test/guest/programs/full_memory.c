/* Fills a 16 MiB guest: 11 MiB of static data leave room for little
 * more than the stack and page tables.  Answers "full 11 MiB\n" when its
 * data and a 64 KiB allocation work. */
#include <stdlib.h>
#include <string.h>

#include "kvm-fpm.h"

#define BIG (11u << 20)

static unsigned char big[BIG];

void my_backend(const char *url)
{
	unsigned char *p = malloc(64 << 10);

	(void)url;
	if (p == NULL || big[0] != 1 || big[BIG - 1] != 2) {
		backend_response_str(500, "text/plain", "broken\n");
		return;
	}
	memset(p, 3, 64 << 10);
	big[BIG / 2] = p[100];
	backend_response_str(200, "text/plain", "full 11 MiB\n");
}

int main(void)
{
	big[0] = 1;
	big[BIG - 1] = 2;
	return 0;
}
