/* The calls glibc, libstdc++ and Rust std make, as raw system calls:
 * "/" reports what each answered, "/deadlock" waits on a futex nothing
 * can wake, "/mutex" locks a plain mutex twice, "/abort" aborts. */
#define _GNU_SOURCE /* sched_getaffinity */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kvm-fpm.h"

/* <linux/futex.h> is not among musl's headers. */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static int word = 1;

static long futex(int op, int val, const struct timespec *ts)
{
	long r = syscall(SYS_futex, &word, op, val, ts, NULL, 0);

	return r < 0 ? -errno : r;
}

static void report(void)
{
	struct pollfd fds[3] = {{0, POLLIN, 0}, {1, POLLOUT, 0}, {5, 0, 0}};
	struct timespec ts = {0, 1000};
	struct rlimit stack;
	cpu_set_t cpus;
	char exe[64] = "", body[256];
	long wake, changed, timed, polled;
	ssize_t n;

	wake = futex(FUTEX_WAKE_PRIVATE, 1, NULL);
	changed = futex(FUTEX_WAIT_PRIVATE, 2, NULL);
	timed = futex(FUTEX_WAIT_PRIVATE, 1, &ts);
	polled = poll(fds, 3, -1);
	getrlimit(RLIMIT_STACK, &stack);
	CPU_ZERO(&cpus);
	sched_getaffinity(0, sizeof(cpus), &cpus);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	snprintf(body, sizeof(body),
	         "wake=%ld changed=%ld timed=%ld poll=%ld/%x/%x/%x "
	         "stack=%lluK cpus=%d exe=%s\n",
	         wake, changed, timed, polled, fds[0].revents, fds[1].revents,
	         fds[2].revents, (unsigned long long)stack.rlim_cur >> 10,
	         CPU_COUNT(&cpus), exe);
	backend_response_str(200, "text/plain", body);
}

void my_backend(const char *url)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

	if (strcmp(url, "/deadlock") == 0)
		futex(FUTEX_WAIT_PRIVATE, 1, NULL);
	if (strcmp(url, "/mutex") == 0) {
		pthread_mutex_lock(&m);
		pthread_mutex_lock(&m);
	}
	if (strcmp(url, "/abort") == 0) {
		fprintf(stderr, "giving up\n");
		abort();
	}
	report();
}

int main(void)
{
	return 0;
}
