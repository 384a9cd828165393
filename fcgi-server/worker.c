/* A prefork worker: one poll loop over the FastCGI and SCGI listeners and
 * the FastCGI connections nginx keeps open, so that an idle kept-alive
 * connection never stops the worker from taking other work. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"
#include "fcgi.h"
#include "linger.h"
#include "scgi.h"
#include "worker.h"

#define CONNS_MAX     256
#define PARAMS_MAX    256
#define SCGI_HEAD_MAX (64 * 1024)

struct worker {
	struct fs_server *srv;
	const struct fs_worker_config *cfg;
	struct fs_fcgi_conn *conns[CONNS_MAX];
	uint64_t used[CONNS_MAX]; /* when each last served: the tick then */
	uint64_t tick;
	unsigned nconns;
	sigset_t poll_mask; /* the mask while polling: graceful signals open */
};

static void drop_conn(struct worker *w, unsigned i)
{
	fs_fcgi_conn_free(w->conns[i]);
	w->nconns--;
	w->conns[i] = w->conns[w->nconns];
	w->used[i] = w->used[w->nconns];
}

/* Room for one more kept-alive connection: at CONNS_MAX the one idle
 * longest goes, so that peers holding connections they never use (or
 * that vanished) cannot keep a new one out.  A front end that finds its
 * cached connection closed opens another. */
static void make_room(struct worker *w)
{
	unsigned i, oldest = 0;

	if (w->nconns < CONNS_MAX)
		return;
	for (i = 1; i < w->nconns; i++)
		if (w->used[i] < w->used[oldest])
			oldest = i;
	fs_log(LOG_INFO, NULL,
	       "%u kept-alive connections, the most a worker holds: closing "
	       "the one idle longest",
	       (unsigned)CONNS_MAX);
	drop_conn(w, oldest);
}

/* Take a new connection and serve its first request at once: a client
 * sends it right after connecting, and a worker that only queued the
 * connection would take the next one too and make it wait.
 * request_read_timeout bounds a client that connects and says nothing. */
static void fcgi_accept(struct worker *w, int lfd)
{
	struct fs_fcgi_conn *c;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return; /* another worker took it */
	fs_send_timeout(fd, w->srv->conf->request_read_timeout_ns);
	c = fs_fcgi_conn_new(fd);
	if (c == NULL) {
		fs_log(LOG_WARNING, NULL,
		       "out of memory; closing a connection");
		close(fd);
		return;
	}
	if (!fs_fcgi_serve(w->srv, c)) {
		fs_fcgi_conn_free(c);
		return;
	}
	make_room(w); /* kept alive */
	w->used[w->nconns] = ++w->tick;
	w->conns[w->nconns++] = c;
}

static int write_all(void *ctx, const void *buf, size_t len)
{
	return fs_write_all(*(int *)ctx, buf, len);
}

static void log_scgi_unread(const struct worker *w, ssize_t k)
{
	if (k == -ETIMEDOUT)
		fs_log(
		    LOG_NOTICE, NULL,
		    "SCGI: request not read within request_read_timeout "
		    "(%llu ms); closing the connection",
		    (unsigned long long)(w->srv->conf->request_read_timeout_ns /
		                         1000000));
	else
		fs_log(LOG_INFO, NULL,
		       "SCGI: connection closed in the middle of a request");
}

/* Read until the SCGI header block is complete, by deadline: > 0 the
 * header bytes, < 0 a parse error (reason in err), 0 unread (logged). */
static int scgi_read_head(struct worker *w, int fd, uint64_t deadline,
                          char *buf, size_t *len, struct fs_scgi_req *req,
                          char *err, size_t errlen)
{
	for (;;) {
		ssize_t k;
		int r =
		    fs_scgi_parse(buf, *len, SCGI_HEAD_MAX, req, err, errlen);

		if (r != 0)
			return r;
		k = fs_read_by(fd, buf + *len, SCGI_HEAD_MAX + 32 - *len,
		               deadline);
		if (k <= 0) {
			if (k < 0 || *len > 0)
				log_scgi_unread(w, k);
			return 0;
		}
		*len += (size_t)k;
	}
}

/* The body: what came with the headers, then reads by deadline.  1 when
 * all of it is in, 0 at end of file, or a negative errno (-ETIMEDOUT). */
static ssize_t scgi_read_body(int fd, uint64_t deadline, char *body,
                              uint64_t want, const char *got, size_t have)
{
	ssize_t k;

	if (have > want)
		have = want;
	memcpy(body, got, have);
	while (have < want) {
		k = fs_read_by(fd, body + have, want - have, deadline);
		if (k <= 0)
			return k;
		have += (size_t)k;
	}
	return 1;
}

/* Whether the peer still sends what we did not read: the body of a
 * refused request (413, 403, 404, 400...), or whatever follows a bad
 * header.  The length is the header block's own CONTENT_LENGTH (SCGI
 * requires it): a route refused early never read it. */
static bool scgi_unread(const struct fs_route *r, const struct fs_scgi_req *req,
                        int used, size_t len)
{
	if (used < 0)
		return true;
	return !fs_route_reads_body(r) &&
	       req->content_length > len - (size_t)used;
}

/* One SCGI request, read under one deadline from the accept.  true when
 * the connection must be closed lingering (input left unread). */
static bool serve_scgi_conn(struct worker *w, int fd)
{
	uint64_t deadline =
	    fs_deadline_after(w->srv->conf->request_read_timeout_ns);
	static char buf[SCGI_HEAD_MAX + 32];
	struct fs_param p[PARAMS_MAX];
	struct fs_scgi_req req;
	struct fs_route r;
	char err[160], *body = NULL;
	size_t len = 0, i, n;
	ssize_t k = 1;
	bool unread;
	int used;

	used =
	    scgi_read_head(w, fd, deadline, buf, &len, &req, err, sizeof(err));
	if (used == 0)
		return false;
	if (used < 0) {
		fs_log(LOG_NOTICE, NULL, "bad SCGI request: %s", err);
		fs_write_plain(400, "bad SCGI request\n", write_all, &fd);
		return true;
	}
	for (n = 0, i = 0; i < req.count && n < PARAMS_MAX; i++, n++) {
		p[n].name = req.headers[i].name;
		p[n].value = req.headers[i].value;
	}
	if (req.count > PARAMS_MAX) { /* FastCGI's answer too (fcgi.c) */
		fs_log(LOG_NOTICE, NULL, "SCGI: more than %u headers",
		       (unsigned)PARAMS_MAX);
		memset(&r, 0, sizeof(r));
		fs_route_error(&r, 431, "request header fields too large\n");
	} else {
		fs_route(w->srv, p, n, &r);
	}
	if (fs_route_reads_body(&r)) {
		body = malloc(r.content_length + 1);
		if (body)
			k = scgi_read_body(fd, deadline, body, r.content_length,
			                   buf + used, len - (size_t)used);
		if (k < 0)
			log_scgi_unread(w, k);
		if (body == NULL || k == 0)
			fs_route_error(&r, 400,
			               "request body shorter than "
			               "CONTENT_LENGTH\n");
	}
	if (k >= 0 && fs_answer(w->srv, &r, p, n, body, r.content_length,
	                        write_all, &fd) == -ETIMEDOUT) {
		fs_log_unwritten("SCGI", w->srv->conf->request_read_timeout_ns);
		k = -ETIMEDOUT; /* no lingering: the peer reads nothing */
	}
	unread = k >= 0 && scgi_unread(&r, &req, used, len);
	free(body);
	fs_scgi_req_free(&req);
	return unread;
}

static void scgi_accept(struct worker *w, int lfd)
{
	uint64_t ns = w->srv->conf->request_read_timeout_ns;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	fs_send_timeout(fd, ns);
	/* SCGI: one request per connection, whose end is the close.  A
	 * lingering close sends its end (FIN) before the bounded drain. */
	if (serve_scgi_conn(w, fd))
		fs_linger_close(fd, ns < FS_LINGER_NS ? ns : FS_LINGER_NS,
		                FS_LINGER_BYTES);
	else
		close(fd);
	fs_server_settle_reset(w->srv);
}

static bool done(const struct worker *w)
{
	const struct fs_worker_config *cfg = w->cfg;

	return *cfg->stop ||
	       (cfg->max_requests && w->srv->served >= cfg->max_requests);
}

/* Poll the listeners and kept connections; serve whatever is ready. */
static void poll_once(struct worker *w)
{
	if (*w->cfg->reopen) {
		*w->cfg->reopen = 0;
		fs_log_open(w->srv->conf->log, w->srv->conf->log_level);
		fs_access_open(w->srv->conf->access_log);
	}
	struct pollfd pfd[CONNS_MAX + 2];
	unsigned i, n = 0, base;
	bool buffered = false;
	int ready;

	pfd[n++] = (struct pollfd){w->cfg->fcgi_fd, POLLIN, 0};
	if (w->cfg->scgi_fd >= 0)
		pfd[n++] = (struct pollfd){w->cfg->scgi_fd, POLLIN, 0};
	base = n;
	for (i = 0; i < w->nconns; i++) {
		pfd[n++] =
		    (struct pollfd){fs_fcgi_conn_fd(w->conns[i]), POLLIN, 0};
		buffered |= fs_fcgi_conn_buffered(w->conns[i]);
	}
	/* A connection with bytes already read (a client that sent its next
	 * request early) may never poll readable again: no waiting then. */
	ready = ppoll(pfd, n, &(struct timespec){buffered ? 0 : 1, 0},
	              &w->poll_mask);
	if (ready < 0 || (ready == 0 && !buffered))
		return;
	/* Connections first, from the last so that dropping is safe. */
	for (i = w->nconns; i-- > 0 && !done(w);) {
		if (!pfd[base + i].revents &&
		    !fs_fcgi_conn_buffered(w->conns[i]))
			continue;
		if (!fs_fcgi_serve(w->srv, w->conns[i]))
			drop_conn(w, i);
		else
			w->used[i] = ++w->tick;
	}
	if (!done(w) && (pfd[0].revents & POLLIN))
		fcgi_accept(w, w->cfg->fcgi_fd);
	if (!done(w) && base > 1 && (pfd[1].revents & POLLIN))
		scgi_accept(w, w->cfg->scgi_fd);
}

/*
 * SIGQUIT (stop after this request: reloads send it) and SIGUSR1 (reopen
 * the logs) only set flags, but arriving while a request is served they
 * would break a tenant's run or a write with EINTR.  Keep them pending
 * while serving; ppoll lets them in, atomically, while waiting.
 */
static void hold_graceful_signals(sigset_t *poll_mask)
{
	sigset_t hold;

	sigemptyset(&hold);
	sigaddset(&hold, SIGQUIT);
	sigaddset(&hold, SIGUSR1);
	sigprocmask(SIG_BLOCK, &hold, poll_mask);
	sigdelset(poll_mask, SIGQUIT);
	sigdelset(poll_mask, SIGUSR1);
}

int fs_worker_run(struct fs_server *srv, const struct fs_worker_config *cfg)
{
	struct worker w;

	memset(&w, 0, sizeof(w));
	w.srv = srv;
	w.cfg = cfg;
	hold_graceful_signals(&w.poll_mask);
	while (!done(&w))
		poll_once(&w);
	if (!*cfg->stop) /* the master replaces us: say why */
		fs_log(LOG_INFO, NULL, "recycled after %llu requests",
		       (unsigned long long)srv->served);
	while (w.nconns)
		drop_conn(&w, w.nconns - 1);
	return 0;
}
