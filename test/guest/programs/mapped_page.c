/* Maps a page in one request and reports its address; a later request
 * reads an address it is given: the reset must have unmapped it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm-fpm.h"

static char body[128];
static volatile char *from_main;

static void answer_address(volatile char *p)
{
	p[0] = 's'; /* a secret, and the walk that maps the page */
	snprintf(body, sizeof(body), "%#lx\n", (unsigned long)(uintptr_t)p);
	backend_response_str(200, "text/plain", body);
}

/* Grow the heap by a page with brk itself (musl's sbrk refuses). */
static volatile char *brk_page(void)
{
	long cur = syscall(SYS_brk, 0);

	if (syscall(SYS_brk, cur + 4096) != cur + 4096)
		return NULL;
	return (volatile char *)cur;
}

void my_backend(const char *url)
{
	volatile char *p;

	if (strcmp(url, "/mmap") == 0) {
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		answer_address(p == MAP_FAILED ? NULL : p);
	}
	if (strcmp(url, "/brk") == 0)
		answer_address(brk_page());
	if (strncmp(url, "/read/", 6) == 0) {
		p = (volatile char *)strtoul(url + 6, NULL, 16);
		snprintf(body, sizeof(body), "read %d\n", p[0]);
		backend_response_str(200, "text/plain", body);
	}
	/* The snapshot's own memory stays readable. */
	snprintf(body, sizeof(body), "main %c\n", from_main[0]);
	backend_response_str(200, "text/plain", body);
}

int main(void)
{
	from_main = malloc(64);
	from_main[0] = 'm';
	return 0;
}
