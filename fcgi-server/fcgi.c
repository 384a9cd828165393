/* FastCGI connections through libfcgi, one request at a time, for any
 * loop that polls them (workers, and the master's status listener). */
#include <errno.h>
#include <fcgiapp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi.h"
#include "log.h"

#define PARAMS_MAX 256

struct fs_fcgi_conn {
	FCGX_Request req;
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

static bool has_body(const struct fs_param *p, size_t n)
{
	const char *cl = fs_param_get(p, n, "CONTENT_LENGTH");

	return cl && *cl && strcmp(cl, "0") != 0;
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
bool fs_fcgi_serve(struct fs_server *srv, struct fs_fcgi_conn *c)
{
	struct fs_param p[PARAMS_MAX];
	char names[16384], *body = NULL;
	struct fs_route r;
	size_t n;

	if (FCGX_Accept_r(&c->req) < 0)
		return false; /* closed by the peer, or a protocol error */
	n = fcgi_params(c->req.envp, p, names, sizeof(names));
	fs_route(srv, p, n, &r);
	if (fs_route_reads_body(&r)) {
		body = fcgi_body(&c->req, r.content_length);
		if (body == NULL) {
			fs_route_error(&r, 400,
			               "request body shorter than "
			               "Content-Length\n");
			c->req.keepConnection = 0;
		}
	} else if (has_body(p, n)) {
		/* Refused unread (413, 403, 404...): the rest of its stdin
		 * records would come before the next request. */
		c->req.keepConnection = 0;
	}
	fs_answer(srv, &r, p, n, body, body ? r.content_length : 0, fcgi_write,
	          c->req.out);
	free(body);
	FCGX_Finish_r(&c->req);
	return c->req.ipcFd >= 0;
}

struct fs_fcgi_conn *fs_fcgi_conn_new(int fd, int dead_listener)
{
	struct fs_fcgi_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	/* libfcgi reads requests from ipcFd; if it ever falls back to
	 * accepting, it finds a socket that never has a connection. */
	FCGX_InitRequest(&c->req, dead_listener, FCGI_FAIL_ACCEPT_ON_INTR);
	c->req.ipcFd = fd;
	/* FCGX_Accept_r first finishes the "previous" request, closing the
	 * connection unless it is marked kept; the begin-request record then
	 * sets the flag the web server asked for. */
	c->req.keepConnection = 1;
	return c;
}

int fs_fcgi_conn_fd(const struct fs_fcgi_conn *c)
{
	return c->req.ipcFd;
}

void fs_fcgi_conn_free(struct fs_fcgi_conn *c)
{
	if (c->req.ipcFd >= 0)
		close(c->req.ipcFd);
	free(c);
}
