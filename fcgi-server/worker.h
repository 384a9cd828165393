/* A prefork worker's request loop. */
#ifndef FS_WORKER_H
#define FS_WORKER_H

#include <signal.h>
#include <stdint.h>

#include "server.h"

struct fs_worker_config {
	int fcgi_fd;                 /* FastCGI listener */
	int scgi_fd;                 /* SCGI listener, or -1 */
	uint64_t max_requests;       /* 0: no limit */
	volatile sig_atomic_t *stop; /* set: finish the request, then return */
	volatile sig_atomic_t *reopen; /* set: reopen the log files */
};

/* Serve until *cfg->stop or max_requests; returns the exit code. */
int fs_worker_run(struct fs_server *srv, const struct fs_worker_config *cfg);

#endif
