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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "listenq.h"
#include "log.h"
#include "fcgi.h"
#include "jail.h"
#include "master.h"
#include "pidfile.h"
#include "scoreboard.h"
#include "seccomp_filter.h"
#include "server.h"
#include "store.h"
#include "worker.h"

#define STOP_GRACE_S 30 /* SIGQUIT: in-flight requests may take this */
#define STOP_TERM_S  5  /* then SIGTERM, then SIGKILL after this */
#define EXIT_NO_JAIL 78 /* a worker could not drop its privileges */

struct child {
	pid_t pid;
	unsigned gen;
	unsigned slot; /* in the scoreboard */
	int store_fd;  /* program_store = etcd: its uploads come here; or -1 */
};

struct master {
	const char *conf_path;
	struct fs_conf conf;
	struct fs_tenants tenants;
	int fcgi_fd, scgi_fd;
	unsigned gen;
	struct child *kids;
	unsigned nkids, cap;
	struct fs_scoreboard *sb;
	unsigned sb_workers; /* worker slots in sb */
	int status_fd;       /* status_listen, served here; or -1 */
	struct fs_server status_srv;
	struct fs_jail jail; /* whom the workers run as */
	char *pid_path;      /* the pid file, as at start; or NULL */
	int pid_fd;          /* its locked fd, or -1 */
	bool allow_root;     /* -R: workers may keep uid 0 */
	int stopping;        /* 0, SIGQUIT or SIGTERM */
	time_t stop_since;
	/* program_store = etcd: the master commits the workers' uploads
	 * (they have no network); a child of its own watches etcd. */
	bool etcd;
	struct fs_etcd store;
	int worker_store_fd; /* the next worker's end, during spawn() */
	pid_t watcher;       /* or 0 */
	time_t watcher_since;
};

static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t worker_stop, worker_reopen;

static void on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	if (write(sig_pipe[1], &b, 1) < 0) {
		/* the pipe is full: signals are already pending */
	}
	errno = saved;
}

static void on_worker_signal(int sig)
{
	if (sig == SIGUSR1)
		worker_reopen = 1;
	else
		worker_stop = 1;
}

static void set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static const int master_signals[] = {SIGCHLD, SIGTERM, SIGINT, SIGQUIT,
                                     SIGHUP,  SIGUSR1, SIGUSR2};

/* In a new child: the master's ends of the workers' upload sockets are
 * not its business (a worker must not read another's uploads). */
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
static void child_signals(void)
{
	size_t i;

	for (i = 0; i < sizeof(master_signals) / sizeof(int); i++)
		set_handler(master_signals[i], SIG_DFL);
	set_handler(SIGINT, SIG_IGN);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
}

static void worker_main(struct master *m, unsigned slot)
{
	struct fs_worker_config cfg = {m->fcgi_fd, m->scgi_fd,
	                               m->conf.max_requests, &worker_stop,
	                               &worker_reopen};
	struct fs_server srv;
	char err[256];
	int rc;

	child_signals(); /* SIGTERM: stop now */
	set_handler(SIGQUIT, on_worker_signal);
	set_handler(SIGUSR1, on_worker_signal);
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

static unsigned count_gen(const struct master *m, unsigned gen)
{
	unsigned i, n = 0;

	for (i = 0; i < m->nkids; i++)
		n += m->kids[i].gen == gen;
	return n;
}

static void signal_kids(struct master *m, int sig, int only_old)
{
	unsigned i;

	for (i = 0; i < m->nkids; i++)
		if (!only_old || m->kids[i].gen != m->gen)
			kill(m->kids[i].pid, sig);
}

/* Reap children; replace the current generation's unless stopping. */
static void reap(struct master *m)
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
			signal_kids(m, SIGTERM, 0);
		}
	}
	/* A spawn that fails is tried again at the next reap, not at once:
	 * nothing frees a slot or memory until a child is reaped, and the
	 * master must go on serving signals and uploads meanwhile. */
	while (!m->stopping && count_gen(m, m->gen) < m->conf.workers)
		if (!spawn(m))
			break;
}

/* The etcd watcher: a child with the workers' user and no capabilities,
 * but network and no seccomp filter (it talks to etcd); it writes
 * program_dir and bumps the scoreboard, like a worker's upload. */
static void watcher_main(struct master *m)
{
	char err[512];

	child_signals();
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
static void start_watcher(struct master *m)
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

static void stop_watcher(struct master *m)
{
	if (m->watcher)
		kill(m->watcher, SIGTERM);
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
	for (i = 0; i < sizeof(master_signals) / sizeof(int); i++)
		sigaddset(&hold, master_signals[i]);
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
	stop_watcher(m);
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
	reap(m);
	signal_kids(m, SIGQUIT, 1);
	fs_log(LOG_NOTICE, NULL, "reloaded %s: %zu tenants", m->conf_path,
	       m->conf.tenant_count);
}

static void handle_signal(struct master *m, int sig)
{
	char err[512];

	switch (sig) {
	case SIGCHLD:
		reap(m);
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
		signal_kids(m, SIGUSR1, 0);
		break;
	default: /* SIGTERM, SIGINT: now; SIGQUIT: after in-flight requests */
		m->stopping = sig == SIGQUIT ? SIGQUIT : SIGTERM;
		m->stop_since = time(NULL);
		signal_kids(m, m->stopping, 0);
		stop_watcher(m);
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
		signal_kids(m, SIGTERM, 0);
	} else if (m->stopping == SIGTERM && waited >= STOP_TERM_S) {
		m->stopping = SIGKILL;
		signal_kids(m, SIGKILL, 0);
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

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK))
		return 1;
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
	set_handler(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(master_signals) / sizeof(int); i++)
		set_handler(master_signals[i], on_signal);
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
	pfd[0] = (struct pollfd){sig_pipe[0], POLLIN, 0};
	pfd[1] = (struct pollfd){m->status_fd, POLLIN, 0};
	for (i = 0; i < n; i++)
		pfd[2 + i] = (struct pollfd){m->kids[i].store_fd, POLLIN, 0};
	ready = poll(pfd, 2 + n, 1000);
	if (ready == 0 && !m->stopping &&
	    count_gen(m, m->gen) < m->conf.workers)
		reap(m); /* a spawn that failed: once a second, not at once */
	if (ready > 0) {
		/* Before the signals: a reap reorders kids[]. */
		for (i = 0; i < n; i++)
			if (pfd[2 + i].revents)
				serve_store(m, &m->kids[i]);
		if (pfd[0].revents) {
			k = read(sig_pipe[0], sigs, sizeof(sigs));
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
	reap(&m); /* spawns the first generation */
	while (!m.stopping || m.nkids > 0) {
		start_watcher(&m);
		master_wait(&m);
		sample_listen_queue(&m); /* for pages the workers serve */
		if (m.stopping)
			escalate(&m);
	}
	stop_watcher(&m);
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
