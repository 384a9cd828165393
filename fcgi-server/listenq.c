/* Listen queue lengths, sampled by the master for the status page. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "listen.h"
#include "listenq.h"
#include "log.h"
#include "scoreboard.h"

/* TCP_LISTEN in the kernel's socket states (include/net/tcp_states.h). */
#define DIAG_STATE_LISTEN 10

/* For a listener, tcp_get_info() puts the accept queue length in
 * tcpi_unacked (and the backlog in tcpi_sacked). */
static int tcp_queue(int fd, unsigned *len)
{
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl))
		return -errno;
	*len = ti.tcpi_unacked;
	return 0;
}

/* For a listener, udiag_rqueue counts the pending connections. */
static int rqlen_attr(const struct unix_diag_msg *msg, int left, unsigned *len)
{
	const struct rtattr *a = (const struct rtattr *)(msg + 1);

	for (; RTA_OK(a, left); a = RTA_NEXT(a, left))
		if (a->rta_type == UNIX_DIAG_RQLEN &&
		    RTA_PAYLOAD(a) >= sizeof(struct unix_diag_rqlen)) {
			const struct unix_diag_rqlen *q = RTA_DATA(a);

			*len = q->udiag_rqueue;
			return 0;
		}
	return -EPROTO;
}

/* The answer about inode ino in n bytes of sock_diag messages.  n is an
 * int: the NLMSG and RTA macros stop when it goes negative. */
static int parse_unix_diag(const struct nlmsghdr *nh, int n, ino_t ino,
                           unsigned *len)
{
	const struct unix_diag_msg *msg;
	int left;

	for (; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EPROTO;
			return e->error < 0 ? e->error : -EPROTO;
		}
		if (nh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    nh->nlmsg_len < NLMSG_LENGTH(sizeof(*msg)))
			continue;
		msg = NLMSG_DATA(nh);
		left = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*msg)));
		if (msg->udiag_ino == (__u32)ino)
			return rqlen_attr(msg, left, len);
	}
	return -EPROTO;
}

/* Ask sock_diag about one unix socket by inode: for a listener its
 * receive queue holds the connections not yet accepted. */
static int unix_queue(int fd, unsigned *len)
{
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req req;
	} q;
	struct timeval tv = {0, 200000}; /* the master must not hang */
	struct stat st;
	long buf[1024]; /* aligned for nlmsghdr */
	ssize_t got;
	int nl, r;

	if (fstat(fd, &st))
		return -errno;
	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -errno;
	setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&q, 0, sizeof(q));
	q.nh.nlmsg_len = sizeof(q);
	q.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nh.nlmsg_flags = NLM_F_REQUEST;
	q.nh.nlmsg_seq = 1;
	q.req.sdiag_family = AF_UNIX;
	q.req.udiag_states = 1u << DIAG_STATE_LISTEN;
	q.req.udiag_ino = (__u32)st.st_ino;
	q.req.udiag_show = UDIAG_SHOW_RQLEN;
	q.req.udiag_cookie[0] = q.req.udiag_cookie[1] = ~0u; /* any cookie */
	/* The kernel answers within send(): recv() does not wait. */
	got = send(nl, &q, sizeof(q), 0);
	if (got >= 0)
		got = recv(nl, buf, sizeof(buf), 0);
	if (got < 0) {
		r = -errno;
		goto out;
	}
	r = parse_unix_diag((const struct nlmsghdr *)buf, (int)got, st.st_ino,
	                    len);
out:
	close(nl);
	return r;
}

int fs_listenq_len(int fd, unsigned *len)
{
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &sl))
		return -errno;
	if (!fs_listen_is_socket(fd))
		return -EINVAL;
	switch (sa.ss_family) {
	case AF_INET:
	case AF_INET6:
		return tcp_queue(fd, len);
	case AF_UNIX:
		return unix_queue(fd, len);
	default:
		return -EAFNOSUPPORT;
	}
}

void fs_listenq_sample(struct fs_scoreboard *sb, const int *fds, size_t n)
{
	static int warned;
	unsigned sum = 0, len;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		r = fs_listenq_len(fds[i], &len);
		if (r == 0)
			sum += len;
		else if (!warned) {
			warned = 1;
			fs_log(LOG_WARNING, NULL,
			       "cannot measure the listen queue: %s",
			       strerror(-r));
		}
	}
	fs_sb_set_listen_queue(sb, sum);
}
