/* FastCGI connections, served one request at a time over fcgi_rec. */
#ifndef FS_FCGI_H
#define FS_FCGI_H

#include <stdbool.h>

#include "server.h"

struct fs_fcgi_conn;

/* Wrap an accepted connection (taking fd).  A SO_RCVTIMEO set on fd
 * shortens the request deadline to it.  NULL when out of memory. */
struct fs_fcgi_conn *fs_fcgi_conn_new(int fd);
int fs_fcgi_conn_fd(const struct fs_fcgi_conn *c);
/* Close the connection if still open (lingering when the last request
 * left input unread) and free it. */
void fs_fcgi_conn_free(struct fs_fcgi_conn *c);

/*
 * Read and answer one request from a connection (waiting for its first
 * bytes if none came yet), under one deadline of request_read_timeout
 * from the call.  Returns early (true) when what arrived was only the
 * tail of the previous request.  false when the connection is closed (by
 * the peer, a protocol error, the deadline, or because it was not kept
 * alive): free it then.
 */
bool fs_fcgi_serve(struct fs_server *srv, struct fs_fcgi_conn *c);

/* Whether bytes already read wait to be parsed: the socket may not poll
 * readable, so serve such a connection without waiting for it. */
bool fs_fcgi_conn_buffered(const struct fs_fcgi_conn *c);

#endif
