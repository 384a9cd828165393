/* FastCGI connections, served one request at a time through libfcgi. */
#ifndef FS_FCGI_H
#define FS_FCGI_H

#include <stdbool.h>

#include "server.h"

struct fs_fcgi_conn;

/* Wrap an accepted connection (taking fd).  dead_listener is a socket
 * that never has a connection, for libfcgi to fall back on.  NULL when
 * out of memory. */
struct fs_fcgi_conn *fs_fcgi_conn_new(int fd, int dead_listener);
int fs_fcgi_conn_fd(const struct fs_fcgi_conn *c);
/* Close the connection if still open and free it. */
void fs_fcgi_conn_free(struct fs_fcgi_conn *c);

/* Read and answer one request from a connection with data.  false when
 * the connection is closed (by the peer, a protocol error, or because it
 * was not kept alive): free it then. */
bool fs_fcgi_serve(struct fs_server *srv, struct fs_fcgi_conn *c);

#endif
