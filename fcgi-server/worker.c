/* A prefork worker: one poll loop over the FastCGI and SCGI listeners and
 * the FastCGI connections nginx keeps open, so that an idle kept-alive
 * connection never stops the worker from taking other work. */
#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "scgi.h"
#include "worker.h"

#define CONNS_MAX      256
#define PARAMS_MAX     256
#define SCGI_HEAD_MAX  (64 * 1024)
#define CLIENT_TIMEOUT 5 /* seconds a client may take to send a request */

struct fcgi_conn {
	FCGX_Request req;
};

struct worker {
	struct fs_server *srv;
	const struct fs_worker_config *cfg;
	struct fcgi_conn *conns[CONNS_MAX];
	unsigned nconns;
	int dead_listener; /* what libfcgi "accepts" on: never a connection */
};

static int fcgi_write(void *ctx, const void *buf, size_t len)
{
	FCGX_Stream *out = ctx;

	if (len == 0)
		return 0;
	return FCGX_PutStr(buf, (int)len, out) == (int)len ? 0 : -EIO;
}

/* envp "NAME=value" strings as parameters, pointing into envp. */
static size_t fcgi_params(FCGX_ParamArray envp, struct fs_param *p, char *names,
                          size_t names_len)
{
	size_t n = 0, used = 0;

	for (; envp && *envp && n < PARAMS_MAX; envp++) {
		const char *eq = strchr(*envp, '=');
		size_t len;

		if (eq == NULL)
			continue;
		len = (size_t)(eq - *envp);
		if (used + len + 1 > names_len)
			break;
		memcpy(names + used, *envp, len);
		names[used + len] = 0;
		p[n].name = names + used;
		p[n].value = eq + 1;
		used += len + 1;
		n++;
	}
	return n;
}

/* Read the body the route allows; NULL on a short read. */
static char *fcgi_body(FCGX_Request *req, uint64_t len)
{
	char *body = malloc(len ? len : 1);

	if (body && len && FCGX_GetStr(body, (int)len, req->in) != (int)len) {
		free(body);
		return NULL;
	}
	return body;
}

/* One request on a connection that has data; false when it is gone. */
static bool serve_fcgi(struct worker *w, struct fcgi_conn *c)
{
	struct fs_param p[PARAMS_MAX];
	char names[16384], *body = NULL;
	struct fs_route r;
	size_t n;

	if (FCGX_Accept_r(&c->req) < 0)
		return false; /* closed by the peer, or a protocol error */
	n = fcgi_params(c->req.envp, p, names, sizeof(names));
	fs_route(w->srv, p, n, &r);
	if (r.kind == FS_ROUTE_ERROR && r.status == 413)
		c->req.keepConnection = 0; /* its body stays unread */
	if (r.kind == FS_ROUTE_TENANT) {
		body = fcgi_body(&c->req, r.content_length);
		if (body == NULL) {
			r.kind = FS_ROUTE_ERROR;
			r.status = 400;
			r.message =
			    "request body shorter than Content-Length\n";
			c->req.keepConnection = 0;
		}
	}
	fs_answer(w->srv, &r, p, n, body, body ? r.content_length : 0,
	          fcgi_write, c->req.out);
	free(body);
	FCGX_Finish_r(&c->req);
	return c->req.ipcFd >= 0;
}

static void fcgi_accept(struct worker *w, int lfd)
{
	struct fcgi_conn *c;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return; /* another worker took it */
	if (w->nconns == CONNS_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
		fs_log(LOG_WARNING, NULL, "too many connections; closing one");
		close(fd);
		return;
	}
	/* libfcgi reads requests from ipcFd; if it ever falls back to
	 * accepting, it finds a socket that never has a connection. */
	FCGX_InitRequest(&c->req, w->dead_listener, FCGI_FAIL_ACCEPT_ON_INTR);
	c->req.ipcFd = fd;
	/* FCGX_Accept_r first finishes the "previous" request, closing the
	 * connection unless it is marked kept; the begin-request record then
	 * sets the flag nginx asked for. */
	c->req.keepConnection = 1;
	w->conns[w->nconns++] = c;
}

static void drop_conn(struct worker *w, unsigned i, bool close_fd)
{
	struct fcgi_conn *c = w->conns[i];

	if (close_fd && c->req.ipcFd >= 0)
		close(c->req.ipcFd);
	free(c);
	w->conns[i] = w->conns[--w->nconns];
}

static int write_all(void *ctx, const void *buf, size_t len)
{
	int fd = *(int *)ctx;
	const char *p = buf;

	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -EIO;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/* Read until the SCGI header block is complete; -1 on error. */
static int scgi_read_head(int fd, char *buf, size_t *len,
                          struct fs_scgi_req *req, char *err, size_t errlen)
{
	int r;

	for (;;) {
		ssize_t k;

		r = fs_scgi_parse(buf, *len, SCGI_HEAD_MAX, req, err, errlen);
		if (r != 0)
			return r;
		k = read(fd, buf + *len, SCGI_HEAD_MAX + 32 - *len);
		if (k <= 0) {
			snprintf(err, errlen, "connection closed or timed out");
			return -1;
		}
		*len += (size_t)k;
	}
}

static void serve_scgi_conn(struct worker *w, int fd)
{
	struct timeval tv = {CLIENT_TIMEOUT, 0};
	static char buf[SCGI_HEAD_MAX + 32];
	struct fs_param p[PARAMS_MAX];
	struct fs_scgi_req req;
	struct fs_route r;
	char err[160], *body = NULL;
	size_t len = 0, have, i, n;
	int used;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	used = scgi_read_head(fd, buf, &len, &req, err, sizeof(err));
	if (used <= 0) {
		fs_log(LOG_NOTICE, NULL, "bad SCGI request: %s", err);
		fs_write_plain(400, "bad SCGI request\n", write_all, &fd);
		return;
	}
	for (n = 0, i = 0; i < req.count && n < PARAMS_MAX; i++, n++) {
		p[n].name = req.headers[i].name;
		p[n].value = req.headers[i].value;
	}
	fs_route(w->srv, p, n, &r);
	if (r.kind == FS_ROUTE_TENANT) {
		body = malloc(r.content_length + 1);
		have = len - (size_t)used;
		if (body && have > r.content_length)
			have = r.content_length;
		if (body)
			memcpy(body, buf + used, have);
		while (body && have < r.content_length) {
			ssize_t k =
			    read(fd, body + have, r.content_length - have);

			if (k <= 0)
				break;
			have += (size_t)k;
		}
		if (body == NULL || have < r.content_length) {
			r.kind = FS_ROUTE_ERROR;
			r.status = 400;
			r.message =
			    "request body shorter than CONTENT_LENGTH\n";
		}
	}
	fs_answer(w->srv, &r, p, n, body, r.content_length, write_all, &fd);
	free(body);
	fs_scgi_req_free(&req);
}

static void scgi_accept(struct worker *w, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	serve_scgi_conn(w, fd); /* SCGI: one request per connection */
	close(fd);
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

	pfd[n++] = (struct pollfd){w->cfg->fcgi_fd, POLLIN, 0};
	if (w->cfg->scgi_fd >= 0)
		pfd[n++] = (struct pollfd){w->cfg->scgi_fd, POLLIN, 0};
	base = n;
	for (i = 0; i < w->nconns; i++)
		pfd[n++] = (struct pollfd){w->conns[i]->req.ipcFd, POLLIN, 0};
	if (poll(pfd, n, 1000) <= 0)
		return;
	/* Connections first, from the last so that dropping is safe. */
	for (i = w->nconns; i-- > 0 && !done(w);) {
		if (!pfd[base + i].revents)
			continue;
		if (!serve_fcgi(w, w->conns[i]))
			drop_conn(w, i, false);
	}
	if (!done(w) && (pfd[0].revents & POLLIN))
		fcgi_accept(w, w->cfg->fcgi_fd);
	if (!done(w) && base > 1 && (pfd[1].revents & POLLIN))
		scgi_accept(w, w->cfg->scgi_fd);
}

int fs_worker_run(struct fs_server *srv, const struct fs_worker_config *cfg)
{
	struct worker w;

	memset(&w, 0, sizeof(w));
	w.srv = srv;
	w.cfg = cfg;
	w.dead_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (w.dead_listener < 0 || FCGX_Init() != 0)
		return 1;
	while (!done(&w))
		poll_once(&w);
	while (w.nconns)
		drop_conn(&w, w.nconns - 1, true);
	close(w.dead_listener);
	return 0;
}
