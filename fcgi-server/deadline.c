/* Socket reads bounded by one deadline (poll with the time that remains,
 * then a non-blocking read), instead of a timeout per read; writes bounded
 * by the socket's send timeout. */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"

#define NS_PER_MS 1000000ULL

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t fs_deadline_after(uint64_t ns)
{
	return now_ns() + ns;
}

ssize_t fs_read_by(int fd, void *buf, size_t len, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		uint64_t now = now_ns(), ms;
		ssize_t k;
		int r;

		if (now >= deadline)
			return -ETIMEDOUT;
		ms = (deadline - now + NS_PER_MS - 1) / NS_PER_MS;
		r = poll(&pfd, 1, ms > 60000 ? 60000 : (int)ms);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue; /* the clock decides */
		k = recv(fd, buf, len, MSG_DONTWAIT);
		if (k >= 0)
			return k;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
}

int fs_send_timeout(int fd, uint64_t ns)
{
	struct timeval tv = {
	    .tv_sec = (time_t)(ns / 1000000000),
	    .tv_usec = (suseconds_t)(ns % 1000000000 / 1000),
	};

	if (tv.tv_sec == 0 && tv.tv_usec == 0)
		tv.tv_usec = 1; /* 0 would be no limit */
	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ? -errno
	                                                                : 0;
}

int fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -ETIMEDOUT; /* fs_send_timeout ran out */
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}
