/* Hands every call that reads or writes a structure a pointer at an odd
 * address, as a hostile (or merely packed) tenant may: the host must copy,
 * not access such memory through a typed pointer (which UBSan stops in the
 * sanitizer build).  Answers one line per call: its name and result. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kvm-fpm.h"

#define ARCH_GET_FS 0x1003

static _Alignas(16) char area[1024];
static char body[1024];
static size_t used;

/* The result of a raw call: the value, or -errno. */
static long call(long r)
{
	return r < 0 ? -errno : r;
}

static void line(const char *name, long r)
{
	int n = snprintf(body + used, sizeof(body) - used, "%s %ld\n", name,
	                 r >= 0 ? 0 : r);

	if (n > 0 && (size_t)n < sizeof(body) - used)
		used += (size_t)n;
}

void my_backend(const char *url)
{
	char *odd = area + 1; /* misaligned for everything wider than a byte */
	struct pollfd pfd = {1, POLLOUT, 0};
	struct iovec iov = {(void *)"", 0};
	long r;

	(void)url;
	used = 0;
	line("time", call(syscall(SYS_time, odd)));
	line("clock_gettime", call(syscall(SYS_clock_gettime, 1, odd)));
	line("gettimeofday", call(syscall(SYS_gettimeofday, odd, NULL)));
	line("arch_prctl", call(syscall(SYS_arch_prctl, ARCH_GET_FS, odd)));
	line("prlimit64",
	     call(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, odd)));
	line("sched_getaffinity",
	     call(syscall(SYS_sched_getaffinity, 0, 8, odd)));
	line("getcpu", call(syscall(SYS_getcpu, odd, odd + 8, NULL)));
	line("fstat", call(syscall(SYS_fstat, 1, odd)));
	memcpy(odd, &pfd, sizeof(pfd));
	r = call(syscall(SYS_poll, odd, 1, 0));
	memcpy(&pfd, odd, sizeof(pfd));
	line("poll", r == 1 && (pfd.revents & POLLOUT) ? 0 : -1);
	memset(odd, 0, 16); /* a zero timeout */
	line("ppoll", call(syscall(SYS_ppoll, NULL, 0, odd, NULL, 8)));
	memcpy(odd, &iov, sizeof(iov));
	line("writev", call(syscall(SYS_writev, 1, odd, 1)));
	backend_response(200, "text/plain", body, used);
}

int main(void)
{
	return 0;
}
