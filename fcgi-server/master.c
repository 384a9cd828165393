/* The master process: listeners, tenant images, and a generation of
 * prefork workers it supervises.  Signal handlers only write the signal
 * number to a pipe; this loop does the work. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"
#include "jail.h"
#include "listen.h"
#include "listenq.h"
#include "log.h"
#include "master.h"
#include "master_int.h"
#include "pidfile.h"
#include "scoreboard.h"
#include "server.h"
#include "store.h"

#define STOP_GRACE_S 30 /* SIGQUIT: in-flight requests may take this */
#define STOP_TERM_S  5  /* then SIGTERM, then SIGKILL after this */

/* The signal pipe's write end, for on_signal (m->sig_pipe[1]). */
static int sig_fd = -1;

static void on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	if (write(sig_fd, &b, 1) < 0) {
		/* the pipe is full: signals are already pending */
	}
	errno = saved;
}

/* A worker's upload: commit it to etcd (blocking) and answer. */
static void serve_store(struct master *m, struct child *k)
{
	if (!m->etcd ||
	    fs_store_serve(k->store_fd, &m->store, m->conf.etcd_prefix,
	                   &m->tenants, FS_STORE_READ_NS)) {
		close(k->store_fd);
		k->store_fd = -1;
	}
}

/* program_store = etcd: the client the master commits uploads with. */
static int open_store(const struct fs_conf *c, struct fs_etcd *e)
{
	char err[256];

	if (strcmp(c->program_store, "etcd"))
		return 0;
	if (fs_etcd_open(e, c->etcd_endpoints, err, sizeof(err))) {
		fs_log(LOG_ERR, NULL, "etcd_endpoints: %s", err);
		return -1;
	}
	return 0;
}

/* The status listener's server answers ping and status only; it runs no
 * tenant, so it answers when every worker is busy. */
static int init_status_server(struct master *m)
{
	int r =
	    fs_server_init(&m->status_srv, &m->conf, &m->tenants, m->sb, -1);

	m->status_srv.status_only = true;
	return r;
}

/* The listen queue on the status page: connections waiting for a worker
 * (status_listen is left out: the master serves it itself). */
static void sample_listen_queue(const struct master *m)
{
	const int fds[] = {m->fcgi_fd, m->scgi_fd};

	fs_listenq_sample(m->sb, fds, 2);
}

static void serve_status_conn(struct master *m)
{
	struct timeval tv = {1, 0};
	struct fs_fcgi_conn *c;
	sigset_t hold, old;
	size_t i;
	int fd = accept4(m->status_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	sample_listen_queue(m); /* fresh for this page */
	/* The master must not hang on a slow client. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c = fs_fcgi_conn_new(fd);
	if (c == NULL) {
		close(fd);
		return;
	}
	/* A signal (a worker's SIGCHLD) would break the read with EINTR and
	 * drop the request: keep them pending, for at most the timeouts. */
	sigemptyset(&hold);
	for (i = 0; i < FS_MASTER_NSIGNALS; i++)
		sigaddset(&hold, fs_master_signals[i]);
	sigprocmask(SIG_BLOCK, &hold, &old);
	fs_fcgi_serve(&m->status_srv, c);
	sigprocmask(SIG_SETMASK, &old, NULL);
	fs_fcgi_conn_free(c);
}

/* Decide whom c's workers run as and give that user program_dir and
 * the log files.  0, or -1 with the reason logged. */
static int prepare_jail(const struct master *m, const struct fs_conf *c,
                        struct fs_jail *j)
{
	char err[512], note[256];

	if (fs_jail_resolve(c, m->allow_root, j, err, sizeof(err), note,
	                    sizeof(note)) ||
	    fs_jail_grant(j, c, err, sizeof(err))) {
		fs_log(LOG_ERR, NULL, "%s", err);
		return -1;
	}
	if (note[0])
		fs_log(LOG_NOTICE, NULL, "%s", note);
	return 0;
}

/* SIGHUP: a new configuration and tenants, then a new generation of
 * workers; the old ones finish their requests and leave. */
static void reload(struct master *m)
{
	struct fs_conf conf;
	struct fs_tenants tenants;
	struct fs_jail jail;
	struct fs_etcd store = {0};
	char err[512];

	if (fs_conf_reload(&m->conf, &conf, err, sizeof(err))) {
		fs_log(LOG_ERR, NULL, "reload refused: %s", err);
		return;
	}
	if (prepare_jail(m, &conf, &jail)) {
		fs_log(LOG_ERR, NULL, "reload refused: see above");
		fs_conf_free(&conf);
		return;
	}
	if (open_store(&conf, &store)) {
		fs_log(LOG_ERR, NULL, "reload refused: see above");
		fs_conf_free(&conf);
		return;
	}
	if (fs_tenants_load(&tenants, &conf, m->sb)) {
		fs_etcd_close(&store);
		fs_conf_free(&conf);
		return;
	}
	/* The watcher watches the old tenants: a new one starts. */
	fs_kids_stop_watcher(m);
	fs_etcd_close(&m->store);
	m->store = store;
	/* Newly on etcd: out of rotation until caught up; off it: never. */
	if (!m->etcd || store.nep == 0)
		fs_sb_set_store_waiting(m->sb, store.nep > 0);
	m->etcd = store.nep > 0;
	/* Children have their own copies; the master's can go now. */
	fs_server_fini(&m->status_srv);
	fs_tenants_free(&m->tenants);
	fs_conf_free(&m->conf);
	m->conf = conf;
	m->tenants = tenants;
	m->jail = jail;
	init_status_server(m);
	m->gen++;
	fs_kids_reap(m);
	fs_kids_signal(m, SIGQUIT, 1);
	fs_log(LOG_NOTICE, NULL, "reloaded %s: %zu tenants", m->conf_path,
	       m->conf.tenant_count);
}

static void handle_signal(struct master *m, int sig)
{
	char err[512];

	switch (sig) {
	case SIGCHLD:
		fs_kids_reap(m);
		break;
	case SIGHUP:
	case SIGUSR2:
		if (!m->stopping)
			reload(m);
		break;
	case SIGUSR1:
		fs_log_open(m->conf.log, m->conf.log_level);
		fs_access_open(m->conf.access_log);
		/* The workers reopen the new files by name. */
		fs_jail_grant(&m->jail, &m->conf, err, sizeof(err));
		fs_kids_signal(m, SIGUSR1, 0);
		break;
	default: /* SIGTERM, SIGINT: now; SIGQUIT: after in-flight requests */
		m->stopping = sig == SIGQUIT ? SIGQUIT : SIGTERM;
		m->stop_since = time(NULL);
		fs_kids_signal(m, m->stopping, 0);
		fs_kids_stop_watcher(m);
		fs_log(LOG_NOTICE, NULL, "stopping (%s)",
		       sig == SIGQUIT ? "graceful" : "now");
	}
}

/* QUIT, then TERM, then KILL, each on its own timeout. */
static void escalate(struct master *m)
{
	time_t waited = time(NULL) - m->stop_since;

	if (m->stopping == SIGQUIT && waited >= STOP_GRACE_S) {
		m->stopping = SIGTERM;
		m->stop_since = time(NULL);
		fs_kids_signal(m, SIGTERM, 0);
	} else if (m->stopping == SIGTERM && waited >= STOP_TERM_S) {
		m->stopping = SIGKILL;
		fs_kids_signal(m, SIGKILL, 0);
	}
}

static int open_listeners(struct master *m, int inherited, char *err,
                          size_t errlen)
{
	const struct fs_conf *c = &m->conf;
	int r;

	m->scgi_fd = -1;
	if (inherited >= 0) {
		m->fcgi_fd = inherited;
		fcntl(inherited, F_SETFL,
		      fcntl(inherited, F_GETFL) | O_NONBLOCK);
	} else {
		r = fs_listen_open(c->listen, c->listen_mode, c->listen_owner,
		                   c->listen_group, &m->fcgi_fd, err, errlen);
		if (r)
			return r;
	}
	if (c->scgi_listen) {
		r = fs_listen_open(c->scgi_listen, 0, NULL, NULL, &m->scgi_fd,
		                   err, errlen);
		if (r)
			return r;
	}
	if (c->status_listen)
		return fs_listen_open(c->status_listen, c->listen_mode,
		                      c->listen_owner, c->listen_group,
		                      &m->status_fd, err, errlen);
	return 0;
}

static int setup(struct master *m, int inherited)
{
	char err[512];
	size_t i;

	if (pipe2(m->sig_pipe, O_CLOEXEC | O_NONBLOCK))
		return 1;
	sig_fd = m->sig_pipe[1];
	if (prepare_jail(m, &m->conf, &m->jail))
		return 1;
	/* Before the listeners: a second master must not take the first's
	 * socket path.  Like the listeners it stays as started. */
	if (m->conf.pid) {
		m->pid_path = strdup(m->conf.pid);
		if (!m->pid_path || fs_pidfile_create(m->pid_path, &m->pid_fd,
		                                      err, sizeof(err))) {
			fs_log(LOG_ERR, NULL, "%s",
			       m->pid_path ? err : "out of memory");
			return 1;
		}
	}
	fs_set_handler(SIGPIPE, SIG_IGN);
	for (i = 0; i < FS_MASTER_NSIGNALS; i++)
		fs_set_handler(fs_master_signals[i], on_signal);
	if (open_listeners(m, inherited, err, sizeof(err))) {
		fs_log(LOG_ERR, NULL, "%s", err);
		return 1;
	}
	if (kc_init(err, sizeof(err))) {
		fs_log(LOG_ERR, NULL, "%s", err);
		return 1;
	}
	m->sb_workers = 2 * m->conf.workers + 8; /* room for a reload */
	m->sb = fs_sb_create(m->sb_workers,
	                     4 * (unsigned)m->conf.tenant_count + 64);
	if (m->sb == NULL || fs_sb_set_pool(m->sb, "kvm-fpm")) {
		fs_log(LOG_ERR, NULL, "cannot create the scoreboard");
		return 1;
	}
	if (fs_tenants_load(&m->tenants, &m->conf, m->sb))
		return 1;
	if (open_store(&m->conf, &m->store))
		return 1;
	m->etcd = m->store.nep > 0;
	/* Out of a balancer's rotation until the watcher has caught up. */
	fs_sb_set_store_waiting(m->sb, m->etcd);
	if (init_status_server(m))
		return 1;
	fs_log(LOG_NOTICE, NULL,
	       "ready: %u workers as %s, %zu tenants, listening on %s",
	       m->conf.workers, m->jail.name, m->conf.tenant_count,
	       inherited >= 0 ? "an inherited socket" : m->conf.listen);
	return 0;
}

/* Wait (up to a second) for a signal, a status request or a worker's
 * upload, and handle what came. */
static void master_wait(struct master *m)
{
	unsigned i, n = m->nkids;
	struct pollfd *pfd = calloc(2 + n, sizeof(*pfd));
	unsigned char sigs[64];
	ssize_t k, j;
	int ready;

	if (pfd == NULL) {
		sleep(1);
		return;
	}
	pfd[0] = (struct pollfd){m->sig_pipe[0], POLLIN, 0};
	pfd[1] = (struct pollfd){m->status_fd, POLLIN, 0};
	for (i = 0; i < n; i++)
		pfd[2 + i] = (struct pollfd){m->kids[i].store_fd, POLLIN, 0};
	ready = poll(pfd, 2 + n, 1000);
	if (ready == 0 && !m->stopping &&
	    fs_kids_count(m, m->gen) < m->conf.workers)
		fs_kids_reap(
		    m); /* a spawn that failed: once a second, not at once */
	if (ready > 0) {
		/* Before the signals: a reap reorders kids[]. */
		for (i = 0; i < n; i++)
			if (pfd[2 + i].revents)
				serve_store(m, &m->kids[i]);
		if (pfd[0].revents) {
			k = read(m->sig_pipe[0], sigs, sizeof(sigs));
			for (j = 0; j < k; j++)
				handle_signal(m, sigs[j]);
		}
		if (pfd[1].revents && !m->stopping)
			serve_status_conn(m);
	}
	free(pfd);
}

int fs_master_run(struct fs_conf *conf, const char *conf_path, int inherited,
                  bool allow_root)
{
	struct master m;

	memset(&m, 0, sizeof(m));
	m.conf = *conf;
	m.conf_path = conf_path;
	m.allow_root = allow_root;
	m.scgi_fd = m.status_fd = m.pid_fd = -1;
	if (setup(&m, inherited)) {
		fs_pidfile_remove(m.pid_path, m.pid_fd);
		free(m.pid_path);
		return 1;
	}
	fs_kids_reap(&m); /* spawns the first generation */
	while (!m.stopping || m.nkids > 0) {
		fs_kids_start_watcher(&m);
		master_wait(&m);
		sample_listen_queue(&m); /* for pages the workers serve */
		if (m.stopping)
			escalate(&m);
	}
	fs_kids_stop_watcher(&m);
	fs_etcd_close(&m.store);
	if (inherited < 0 && m.conf.listen[0] == '/')
		unlink(m.conf.listen);
	fs_pidfile_remove(m.pid_path, m.pid_fd);
	free(m.pid_path);
	fs_log(LOG_NOTICE, NULL, "stopped");
	fs_server_fini(&m.status_srv);
	fs_tenants_free(&m.tenants);
	fs_sb_destroy(m.sb);
	*conf = m.conf;
	free(m.kids);
	return 0;
}
