/* Hostile tenant: floods stdout.  /newlines writes 1 MiB of newlines in
 * one write(), /writev the same through 64 iovecs, /loop writes two bytes
 * at a time forever, /mixed prints control bytes, /count?N writes N
 * one-byte lines then answers; every route but /loop then answers with
 * what the last write() returned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kvm-fpm.h"

#define FLOOD (1 << 20)

static char newlines[FLOOD]; /* filled in main(): part of the snapshot */

static void answer(long n)
{
	char body[64];

	snprintf(body, sizeof(body), "wrote %ld\n", n);
	backend_response_str(200, "text/plain", body);
}

static long flood_writev(void)
{
	struct iovec iov[64];
	int i;

	for (i = 0; i < 64; i++) {
		iov[i].iov_base = newlines + i * (FLOOD / 64);
		iov[i].iov_len = FLOOD / 64;
	}
	return (long)writev(1, iov, 64);
}

void my_backend(const char *url)
{
	static const char mixed[] = "cr\r esc\033[31m nul\0 del\x7f end\n";
	long n = 0;

	if (strcmp(url, "/newlines") == 0)
		n = (long)write(1, newlines, FLOOD);
	else if (strcmp(url, "/writev") == 0)
		n = flood_writev();
	else if (strcmp(url, "/loop") == 0)
		for (;;)
			write(1, "x\n", 2);
	else if (strcmp(url, "/mixed") == 0)
		n = (long)write(2, mixed, sizeof(mixed) - 1);
	else if (strncmp(url, "/count?", 7) == 0)
		for (long i = atol(url + 7); i > 0; i--)
			n = (long)write(1, "y\n", 2);
	answer(n);
}

int main(void)
{
	memset(newlines, '\n', sizeof(newlines));
	return 0;
}
