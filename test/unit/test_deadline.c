/* Unit tests for fs_read_by (one deadline across reads, EOF, data) and
 * fs_write_all under a send timeout. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(deadline, data_then_eof)
{
	int sv[2];
	char buf[8];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(write(sv[1], "abc", 3), 3);
	cr_assert_eq(
	    fs_read_by(sv[0], buf, sizeof(buf), fs_deadline_after(1000000000)),
	    3);
	cr_assert_eq(memcmp(buf, "abc", 3), 0);
	close(sv[1]);
	cr_assert_eq(
	    fs_read_by(sv[0], buf, sizeof(buf), fs_deadline_after(1000000000)),
	    0);
	close(sv[0]);
}

/* The deadline is for all the reads together: bytes that keep coming do
 * not extend it. */
Test(deadline, one_deadline_for_many_reads)
{
	uint64_t deadline = fs_deadline_after(300000000); /* 0.3 s */
	double t0 = seconds(), t;
	int sv[2], got = 0;
	ssize_t k;
	char c;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (;;) {
		cr_assert_eq(write(sv[1], "x", 1), 1); /* a byte a read */
		k = fs_read_by(sv[0], &c, 1, deadline);
		if (k < 0)
			break;
		got++;
		usleep(50000);
	}
	t = seconds() - t0;
	cr_assert_eq(k, -ETIMEDOUT);
	cr_assert_geq(t, 0.29, "%.3f s", t);
	cr_assert_lt(t, 1.0, "%.3f s", t);
	cr_assert_gt(got, 2);
	close(sv[0]);
	close(sv[1]);
}

Test(deadline, past_deadline)
{
	int sv[2];
	char c;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(write(sv[1], "x", 1), 1);
	/* even with data waiting, a passed deadline is passed */
	cr_assert_eq(fs_read_by(sv[0], &c, 1, fs_deadline_after(0)),
	             -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}

/* A peer that reads nothing: the write gives up after the send timeout
 * with -ETIMEDOUT, instead of blocking for ever once the socket's buffer
 * is full. */
Test(deadline, a_write_nobody_reads_times_out)
{
	static char big[4 << 20];
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(fs_send_timeout(sv[0], 100 * 1000 * 1000), 0);
	cr_assert_eq(fs_write_all(sv[0], big, sizeof(big)), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}
