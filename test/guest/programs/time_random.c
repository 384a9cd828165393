/* Clocks and randomness: "time_ok=1 mono_ok=1 random_ok=1\n" when sane. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "kvm-fpm.h"

void my_backend(const char *url)
{
	struct timespec mono = {0, 0};
	unsigned char buf[16];
	char body[64];
	int time_ok, mono_ok, random_ok;

	(void)url;
	time_ok = time(NULL) > 1700000000;
	mono_ok = clock_gettime(CLOCK_MONOTONIC, &mono) == 0 &&
	          (mono.tv_sec > 0 || mono.tv_nsec > 0);
	random_ok = getrandom(buf, sizeof(buf), 0) == (ssize_t)sizeof(buf);
	snprintf(body, sizeof(body), "time_ok=%d mono_ok=%d random_ok=%d\n",
	         time_ok, mono_ok, random_ok);
	backend_response_str(200, "text/plain", body);
}

int main(void)
{
	return 0;
}
