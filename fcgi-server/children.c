/* The master's children: each worker forked, stripped of what only the
 * master holds, jailed and filtered before it reads a request; the etcd
 * watcher likewise but for the filter; reaped and replaced, signalled by
 * generation. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "master_int.h"
#include "seccomp_filter.h"
#include "store.h"
#include "worker.h"

static volatile sig_atomic_t worker_stop, worker_reopen;

static void on_worker_signal(int sig)
{
	if (sig == SIGUSR1)
		worker_reopen = 1;
	else
		worker_stop = 1;
}

void fs_set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

const int fs_master_signals[FS_MASTER_NSIGNALS] = {
    SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2};

/* In a new child: what only the master uses.  Its connections to etcd
 * too: a worker could write the store with them. */
static void drop_masters_fds(struct master *m)
{
	unsigned i;

	for (i = 0; i < m->nkids; i++)
		if (m->kids[i].store_fd >= 0)
			close(m->kids[i].store_fd);
	if (m->pid_fd >= 0)
		close(m->pid_fd); /* the lock stays with the master's fd */
	if (m->status_fd >= 0)
		close(m->status_fd);
	fs_etcd_forget(&m->store);
}

/* In a new child: the default signals, but for SIGINT.  A terminal's
 * Ctrl-C reaches the whole foreground process group; the master stops
 * its children itself (SIGTERM), so that a stop is not logged as
 * children killed by SIGINT. */
static void child_signals(struct master *m)
{
	size_t i;

	for (i = 0; i < FS_MASTER_NSIGNALS; i++)
		fs_set_handler(fs_master_signals[i], SIG_DFL);
	fs_set_handler(SIGINT, SIG_IGN);
	close(m->sig_pipe[0]);
	close(m->sig_pipe[1]);
}

static void worker_main(struct master *m, unsigned slot)
{
	struct fs_worker_config cfg = {m->fcgi_fd, m->scgi_fd,
	                               m->conf.max_requests, &worker_stop,
	                               &worker_reopen};
	struct fs_server srv;
	char err[256];
	int rc;

	child_signals(m); /* SIGTERM: stop now */
	fs_set_handler(SIGQUIT, on_worker_signal);
	fs_set_handler(SIGUSR1, on_worker_signal);
	drop_masters_fds(m);
	fs_sb_worker_start(m->sb, slot, getpid());
	if (fs_server_init(&srv, &m->conf, &m->tenants, m->sb, (int)slot))
		_exit(1);
	srv.store_fd = m->worker_store_fd;
	/* Nothing of a request is read before the worker is jailed. */
	if (fs_jail_enter(&m->jail, err, sizeof(err)) ||
	    fs_seccomp_install(err, sizeof(err))) {
		fs_log(LOG_ALERT, NULL, "%s", err);
		_exit(EXIT_NO_JAIL);
	}
	rc = fs_worker_run(&srv, &cfg);
	fs_server_fini(&srv);
	_exit(rc);
}

/* A scoreboard slot no living worker holds. */
static int free_slot(const struct master *m)
{
	unsigned s, i;

	for (s = 0; s < m->sb_workers; s++) {
		for (i = 0; i < m->nkids && m->kids[i].slot != s; i++)
			;
		if (i == m->nkids)
			return (int)s;
	}
	return -1;
}

/* program_store = etcd: a socket pair for the next worker's uploads, the
 * master's end not blocking it for long.  -1s otherwise. */
static int open_store_fds(struct master *m, int sv[2])
{
	struct timeval tv = {2, 0};

	sv[0] = sv[1] = -1;
	if (!m->etcd)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		fs_log(LOG_ERR, NULL, "socketpair: %s", strerror(errno));
		return -1;
	}
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

/* Fork one worker of the current generation: false when it could not be
 * (no scoreboard slot, no memory, no fork), logged. */
static bool spawn(struct master *m)
{
	int slot = free_slot(m), sv[2];
	pid_t pid;

	if (m->nkids == m->cap) {
		unsigned cap = m->cap ? m->cap * 2 : 16;
		struct child *k = realloc(m->kids, cap * sizeof(*k));

		if (k == NULL)
			return false;
		m->kids = k;
		m->cap = cap;
	}
	if (slot < 0) {
		fs_log(LOG_ERR, NULL, "no scoreboard slot for a new worker");
		return false;
	}
	/* Workers reload uploaded programs themselves; new ones need not
	 * each boot what the master can boot once for all of them. */
	for (size_t i = 0; i < m->tenants.n; i++)
		fs_tenant_refresh(&m->tenants.v[i], m->sb);
	if (open_store_fds(m, sv))
		return false;
	pid = fork();
	if (pid < 0) {
		fs_log(LOG_ERR, NULL, "fork: %s", strerror(errno));
		if (sv[0] >= 0) {
			close(sv[0]);
			close(sv[1]);
		}
		return false;
	}
	if (pid == 0) {
		if (sv[0] >= 0)
			close(sv[0]);
		m->worker_store_fd = sv[1];
		worker_main(m, (unsigned)slot);
	}
	if (sv[1] >= 0)
		close(sv[1]);
	m->kids[m->nkids++] =
	    (struct child){pid, m->gen, (unsigned)slot, sv[0]};
	return true;
}

unsigned fs_kids_count(const struct master *m, unsigned gen)
{
	unsigned i, n = 0;

	for (i = 0; i < m->nkids; i++)
		n += m->kids[i].gen == gen;
	return n;
}

void fs_kids_signal(struct master *m, int sig, int only_old)
{
	unsigned i;

	for (i = 0; i < m->nkids; i++)
		if (!only_old || m->kids[i].gen != m->gen)
			kill(m->kids[i].pid, sig);
}

/* Reap children; replace the current generation's unless stopping. */
void fs_kids_reap(struct master *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		unsigned i, gen = 0;

		if (pid == m->watcher) {
			fs_log(m->stopping ? LOG_INFO : LOG_WARNING, NULL,
			       "the etcd watcher %d ended (status %d)",
			       (int)pid, status);
			m->watcher = 0;
			continue;
		}
		for (i = 0; i < m->nkids; i++)
			if (m->kids[i].pid == pid) {
				gen = m->kids[i].gen;
				fs_sb_worker_gone(m->sb, m->kids[i].slot);
				if (m->kids[i].store_fd >= 0)
					close(m->kids[i].store_fd);
				m->kids[i] = m->kids[--m->nkids];
				break;
			}
		if (WIFSIGNALED(status))
			fs_log(gen == m->gen && !m->stopping ? LOG_WARNING
			                                     : LOG_INFO,
			       NULL, "worker %d killed by signal %d", (int)pid,
			       WTERMSIG(status));
		else if (WEXITSTATUS(status) != 0 || gen != m->gen)
			fs_log(LOG_INFO, NULL, "worker %d exited with %d",
			       (int)pid, WEXITSTATUS(status));
		/* Fail closed, and do not fork in a loop: a worker that
		 * cannot be jailed once will not be the next time. */
		if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_NO_JAIL &&
		    !m->stopping) {
			fs_log(LOG_ALERT, NULL,
			       "a worker could not drop its privileges: "
			       "stopping");
			m->stopping = SIGTERM;
			m->stop_since = time(NULL);
			fs_kids_signal(m, SIGTERM, 0);
		}
	}
	/* A spawn that fails is tried again at the next reap, not at once:
	 * nothing frees a slot or memory until a child is reaped, and the
	 * master must go on serving signals and uploads meanwhile. */
	while (!m->stopping && fs_kids_count(m, m->gen) < m->conf.workers)
		if (!spawn(m))
			break;
}

/* The etcd watcher: a child with the workers' user and no capabilities,
 * but network and no seccomp filter (it talks to etcd); it writes
 * program_dir and bumps the scoreboard, like a worker's upload. */
static void watcher_main(struct master *m)
{
	char err[512];

	child_signals(m);
	drop_masters_fds(m);
	close(m->fcgi_fd);
	if (m->scgi_fd >= 0)
		close(m->scgi_fd);
	if (fs_jail_enter(&m->jail, err, sizeof(err))) {
		fs_log(LOG_ALERT, NULL, "etcd watcher: %s", err);
		_exit(EXIT_NO_JAIL);
	}
	fs_store_watch_forever(m->conf.etcd_endpoints, m->conf.etcd_prefix,
	                       &m->tenants, m->sb);
}

/* At most one a second: a watcher that cannot start must not spin. */
void fs_kids_start_watcher(struct master *m)
{
	pid_t pid;

	if (!m->etcd || m->stopping || m->watcher ||
	    time(NULL) == m->watcher_since)
		return;
	m->watcher_since = time(NULL);
	pid = fork();
	if (pid < 0) {
		fs_log(LOG_ERR, NULL, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		watcher_main(m);
	m->watcher = pid;
}

void fs_kids_stop_watcher(struct master *m)
{
	if (m->watcher)
		kill(m->watcher, SIGTERM);
}
