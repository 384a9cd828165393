/* fs_listenq: how many connections wait in a listening socket's queue. */
#ifndef FS_LISTENQ_H
#define FS_LISTENQ_H

#include <stddef.h>

struct fs_scoreboard;

/*
 * The number of connections queued on listening socket fd that nobody has
 * accepted yet: TCP_INFO's tcpi_unacked for TCP (IPv4, IPv6), the sock_diag
 * receive queue length (UNIX_DIAG_RQLEN) for a unix socket.  0 and *len,
 * -EINVAL when fd does not listen, -EAFNOSUPPORT for another family, or
 * another -errno (sock_diag unavailable).  A few system calls; no state.
 */
int fs_listenq_len(int fd, unsigned *len);

/*
 * Sum the queues of the n listeners fds (entries < 0 are skipped) into the
 * scoreboard's listen queue, which keeps the maximum too.  A listener that
 * cannot be measured counts 0 and is logged once per process.
 */
void fs_listenq_sample(struct fs_scoreboard *sb, const int *fds, size_t n);

#endif
