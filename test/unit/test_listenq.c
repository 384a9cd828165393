/* Unit tests for listen queue measuring: unix and TCP listeners with
 * clients connected but not accepted. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "listenq.h"
#include "scoreboard.h"

#define CLIENTS 5

static int unix_listener(char *path, size_t len)
{
	char err[256];
	int fd = -1;

	snprintf(path, len, "/tmp/kvm-fpm-listenq.%d.sock", (int)getpid());
	cr_assert_eq(fs_listen_open(path, 0, NULL, NULL, &fd, err, sizeof(err)),
	             0, "%s", err);
	return fd;
}

/* 127.0.0.1 on a port the kernel picks; *sin gets the address. */
static int tcp_listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	cr_assert_eq(listen(fd, 64), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return fd;
}

static int connect_to(const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, sa, len), 0, "connect: %s", strerror(errno));
	return fd;
}

/* TCP finishes the handshake in softirq context: allow it a moment. */
static unsigned settled_len(int lfd, unsigned want)
{
	unsigned len = ~0u;
	int i;

	for (i = 0; i < 100; i++) {
		cr_assert_eq(fs_listenq_len(lfd, &len), 0);
		if (len == want)
			break;
		usleep(10000);
	}
	return len;
}

static void check_queue(int lfd, const struct sockaddr *sa, socklen_t salen)
{
	int c[CLIENTS], a, i;

	cr_expect_eq(settled_len(lfd, 0), 0);
	for (i = 0; i < CLIENTS; i++)
		c[i] = connect_to(sa, salen);
	cr_expect_eq(settled_len(lfd, CLIENTS), CLIENTS);
	a = accept(lfd, NULL, NULL);
	cr_assert_geq(a, 0, "accept: %s", strerror(errno));
	cr_expect_eq(settled_len(lfd, CLIENTS - 1), CLIENTS - 1);
	close(a);
	for (i = 0; i < CLIENTS; i++)
		close(c[i]);
}

Test(listenq, unix_pending_connections)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int lfd = unix_listener(sun.sun_path, sizeof(sun.sun_path));

	check_queue(lfd, (struct sockaddr *)&sun, sizeof(sun));
	close(lfd);
	unlink(sun.sun_path);
}

Test(listenq, tcp_pending_connections)
{
	struct sockaddr_in sin;
	int lfd = tcp_listener(&sin);

	check_queue(lfd, (struct sockaddr *)&sin, sizeof(sin));
	close(lfd);
}

Test(listenq, not_a_listener)
{
	int sv[2], fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned len = 7;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_expect_eq(fs_listenq_len(sv[0], &len), -EINVAL);
	cr_expect_eq(fs_listenq_len(fd, &len), -EINVAL); /* not listening */
	cr_expect_eq(fs_listenq_len(-1, &len), -EBADF);
	cr_expect_eq(len, 7, "len untouched on errors");
	close(sv[0]);
	close(sv[1]);
	close(fd);
}

/* Both kinds add up in the scoreboard, whose maximum stays. */
Test(listenq, sample_sums_listeners)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct sockaddr_in sin;
	struct fs_sb_snapshot snap;
	struct fs_scoreboard *sb = fs_sb_create(2, 2);
	int fds[3], c[3], i;

	cr_assert_not_null(sb);
	fds[0] = unix_listener(sun.sun_path, sizeof(sun.sun_path));
	fds[1] = -1; /* no such listener: skipped */
	fds[2] = tcp_listener(&sin);
	c[0] = connect_to((struct sockaddr *)&sun, sizeof(sun));
	c[1] = connect_to((struct sockaddr *)&sin, sizeof(sin));
	c[2] = connect_to((struct sockaddr *)&sin, sizeof(sin));
	settled_len(fds[2], 2);
	fs_listenq_sample(sb, fds, 3);
	cr_assert_eq(fs_sb_snapshot(sb, &snap), 0);
	cr_expect_eq(snap.listen_queue, 3);
	cr_expect_eq(snap.max_listen_queue, 3);
	fs_sb_snapshot_free(&snap);
	for (i = 0; i < 3; i++)
		close(c[i]);
	close(accept(fds[0], NULL, NULL)); /* the closed client still queues */
	fs_listenq_sample(sb, fds, 1);
	cr_assert_eq(fs_sb_snapshot(sb, &snap), 0);
	cr_expect_eq(snap.listen_queue, 0);
	cr_expect_eq(snap.max_listen_queue, 3);
	fs_sb_snapshot_free(&snap);
	close(fds[0]);
	close(fds[2]);
	unlink(sun.sun_path);
	fs_sb_destroy(sb);
}
