/* Unit tests for the lingering close: the peer reads the whole answer and
 * then end of file, never a reset, though it sent input we did not read;
 * and the drain ends at its time and size bounds. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linger.h"

#define MS 1000000ULL

/* A connected pair: sv[0] the server's end, sv[1] the client's. */
static void unix_pair(int sv[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

/* The same over TCP on loopback, where an early close sends a RST. */
static void tcp_pair(int sv[2])
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(l, 1), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	sv[1] = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(sv[1], (struct sockaddr *)&a, sizeof(a)), 0);
	sv[0] = accept(l, NULL, NULL);
	cr_assert_geq(sv[0], 0);
	close(l);
}

struct server {
	int fd;
	uint64_t ns;
	size_t bytes;
	long rc;
};

static void *server_close(void *arg)
{
	struct server *s = arg;

	s->rc = fs_linger_close(s->fd, s->ns, s->bytes);
	return NULL;
}

/* What the client reads until end of file or an error: the answer, and
 * 0 or the errno that ended it. */
static int read_answer(int fd, char *buf, size_t cap, size_t *got)
{
	*got = 0;
	for (;;) {
		ssize_t k = read(fd, buf + *got, cap - *got);

		if (k == 0)
			return 0;
		if (k < 0)
			return errno;
		*got += (size_t)k;
	}
}

/* A refused body (413): the client sent 64 KiB we never read, we wrote
 * the answer and close. */
static void answer_then_eof(void (*pair)(int sv[2]))
{
	static char body[64 * 1024], buf[256];
	struct server s = {.ns = 2000 * MS, .bytes = FS_LINGER_BYTES};
	static const char answer[] = "Status: 413 Content Too Large\r\n\r\n";
	pthread_t t;
	size_t got;
	int sv[2], err;

	pair(sv);
	memset(body, 'x', sizeof(body));
	cr_assert_eq(write(sv[1], body, sizeof(body)), (ssize_t)sizeof(body));
	usleep(50000); /* the body is in the server's receive queue */
	cr_assert_eq(write(sv[0], answer, sizeof(answer) - 1),
	             (ssize_t)sizeof(answer) - 1);
	s.fd = sv[0];
	cr_assert_eq(pthread_create(&t, NULL, server_close, &s), 0);
	usleep(50000); /* the server closes before the client reads */
	err = read_answer(sv[1], buf, sizeof(buf), &got);
	close(sv[1]);
	pthread_join(t, NULL);
	cr_assert_eq(err, 0, "the client read %s", strerror(err));
	cr_assert_eq(got, sizeof(answer) - 1);
	cr_assert_eq(memcmp(buf, answer, got), 0);
	cr_assert_eq(s.rc, (long)sizeof(body), "drained %ld", s.rc);
}

Test(linger, unix_peer_reads_the_answer_and_eof_not_a_reset)
{
	answer_then_eof(unix_pair);
}

Test(linger, tcp_peer_reads_the_answer_and_eof_not_a_reset)
{
	answer_then_eof(tcp_pair);
}

/* A client that neither sends nor closes holds the worker no longer than
 * the bound. */
Test(linger, ends_at_the_time_bound, .timeout = 10)
{
	int sv[2];

	unix_pair(sv);
	cr_assert_eq(fs_linger_close(sv[0], 200 * MS, FS_LINGER_BYTES),
	             -ETIMEDOUT);
	close(sv[1]);
}

static void *flood(void *arg)
{
	static char junk[4096];
	int fd = *(int *)arg;

	while (send(fd, junk, sizeof(junk), MSG_NOSIGNAL) > 0)
		;
	return NULL;
}

/* A client that keeps sending is cut off after max_bytes. */
Test(linger, ends_at_the_size_bound, .timeout = 10)
{
	pthread_t t;
	int sv[2];

	unix_pair(sv);
	cr_assert_eq(pthread_create(&t, NULL, flood, &sv[1]), 0);
	cr_assert_eq(fs_linger_close(sv[0], 5000 * MS, 64 * 1024), -EFBIG);
	pthread_join(t, NULL); /* its write fails once we closed */
	close(sv[1]);
}
