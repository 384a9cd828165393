/* FastCGI connections over our own record layer (fcgi_rec.c), one request
 * at a time, for any loop that polls them (workers, and the master's
 * status listener).  libfcgi is not used here: it aborts the process on a
 * parameter length near 2^31 and reads without a whole-request deadline. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "deadline.h"
#include "fcgi.h"
#include "fcgi_rec.h"
#include "linger.h"
#include "log.h"

#define IN_MAX   16384
#define OUT_MAX  32768 /* FCGI_STDOUT content per record (<= 65535) */
#define NS_PER_S 1000000000ULL

struct fs_fcgi_conn {
	int fd;
	uint64_t cap_ns;    /* the socket's SO_RCVTIMEO: a shorter deadline */
	uint64_t linger_ns; /* > 0: close lingering, input is left unread */
	size_t in_pos, in_len; /* unparsed bytes in in[] */
	unsigned char in[IN_MAX];
	struct fs_fcgi_rec rec;
};

/* One request, from its BEGIN_REQUEST to its answer. */
struct request {
	bool keep, answered, close; /* close: stdin refused unread */
	uint16_t id;
	struct fs_param p[FS_FCGI_PAIRS_MAX];
	size_t n;
	struct fs_route r;
	char *body;
	uint64_t have;  /* body bytes read */
	bool reading;   /* the body is being read */
	bool to_end;    /* no CONTENT_LENGTH: the body ends with stdin */
	uint64_t limit; /* to_end: max_body_size */
	uint64_t room;  /* to_end: bytes allocated */
};

/* The answer, cut into FCGI_STDOUT records. */
struct out {
	int fd;
	uint16_t id;
	size_t len;
	unsigned char buf[FS_FCGI_HEADER_LEN + OUT_MAX];
};

static int flush_stdout(struct out *o)
{
	int rc;

	if (o->len == 0)
		return 0;
	fs_fcgi_rec_header(o->buf, FS_FCGI_STDOUT, o->id, (uint16_t)o->len);
	rc = fs_write_all(o->fd, o->buf, FS_FCGI_HEADER_LEN + o->len);
	o->len = 0;
	return rc;
}

static int write_stdout(void *ctx, const void *buf, size_t len)
{
	struct out *o = ctx;
	const char *p = buf;

	while (len > 0) {
		size_t k = OUT_MAX - o->len < len ? OUT_MAX - o->len : len;
		int rc;

		memcpy(o->buf + FS_FCGI_HEADER_LEN + o->len, p, k);
		o->len += k;
		p += k;
		len -= k;
		if (o->len == OUT_MAX && (rc = flush_stdout(o)))
			return rc;
	}
	return 0;
}

/* The end of the stdout stream, then FCGI_END_REQUEST. */
static int end_request(int fd, uint16_t id)
{
	unsigned char tail[FS_FCGI_HEADER_LEN + 16];

	fs_fcgi_rec_header(tail, FS_FCGI_STDOUT, id, 0);
	fs_fcgi_rec_end_request(tail + FS_FCGI_HEADER_LEN, id, 0,
	                        FS_FCGI_REQUEST_COMPLETE);
	return fs_write_all(fd, tail, sizeof(tail));
}

/* Answer q (routed, body read or refused) and end it; 0 or -errno. */
static int answer(struct fs_server *srv, struct fs_fcgi_conn *c,
                  struct request *q)
{
	struct out *o = malloc(sizeof(*o));
	int rc = -ENOMEM;

	if (o) {
		o->fd = c->fd;
		o->id = q->id;
		o->len = 0;
		rc = fs_answer(srv, &q->r, q->p, q->n, q->body ? q->body : "",
		               q->body ? q->r.content_length : 0, write_stdout,
		               o);
		if (rc == 0)
			rc = flush_stdout(o);
		free(o);
	}
	if (rc == 0)
		rc = end_request(c->fd, q->id);
	/* The client has the whole answer (or is gone): now the reset. */
	fs_server_settle_reset(srv);
	free(q->body);
	q->body = NULL;
	q->answered = true;
	fs_fcgi_rec_finish(&c->rec);
	return rc;
}

/* Whether the request announces a body, with a length or chunked. */
static bool has_body(const struct fs_param *p, size_t n)
{
	const char *cl = fs_param_get(p, n, "CONTENT_LENGTH");

	return (cl && *cl && strcmp(cl, "0") != 0) ||
	       fs_param_get(p, n, "HTTP_TRANSFER_ENCODING");
}

/*
 * A chunked request body comes without CONTENT_LENGTH (Apache streams it
 * as FCGI_STDIN records): read it to the empty record, up to the tenant's
 * max_body_size.  Only when the request says it has a body, since
 * waiting for the end of stdin before answering a request without one
 * could deadlock a client that ends its input after the answer.
 */
static bool body_to_end(const struct request *q)
{
	const char *cl = fs_param_get(q->p, q->n, "CONTENT_LENGTH");

	return q->r.kind == FS_ROUTE_TENANT && (cl == NULL || *cl == '\0') &&
	       fs_param_get(q->p, q->n, "HTTP_TRANSFER_ENCODING");
}

/* The parameters are complete: route, then answer or read the body. */
static int on_params(struct fs_server *srv, struct fs_fcgi_conn *c,
                     struct request *q)
{
	size_t i;

	for (i = 0; i < c->rec.npairs; i++) {
		q->p[i].name = c->rec.pairs[i].name;
		q->p[i].value = c->rec.pairs[i].value;
	}
	q->n = c->rec.npairs;
	fs_route(srv, q->p, q->n, &q->r);
	if (body_to_end(q)) {
		q->reading = q->to_end = true;
		q->limit = q->r.tenant->conf->limits.max_body_size;
		return 0;
	}
	if (fs_route_reads_body(&q->r) && q->r.content_length > 0) {
		/* content_length is within max_body_size or upload_max_size
		 * here: fs_route refused anything larger. */
		q->body = malloc(q->r.content_length);
		if (q->body) {
			q->reading = true;
			return 0;
		}
		fs_route_error(&q->r, 503, "out of memory\n");
	}
	/* Refused unread (413, 403, 404...): its stdin records would be
	 * skipped up to the next request, however long they are; closing
	 * bounds that. */
	q->close = !fs_route_reads_body(&q->r) && has_body(q->p, q->n);
	return answer(srv, c, q);
}

/* Append stdin data to a body read to its end; 413 past the limit. */
static int append_to_end(struct fs_server *srv, struct fs_fcgi_conn *c,
                         struct request *q, const struct fs_fcgi_ev *ev)
{
	uint64_t room;
	char *grown;

	if (ev->len > q->limit - q->have) {
		q->reading = false;
		free(q->body);
		q->body = NULL;
		q->close = true; /* the rest of its stdin is refused unread */
		fs_route_error(&q->r, 413, "request body too large\n");
		return answer(srv, c, q);
	}
	if (q->have + ev->len > q->room) {
		room = q->room ? 2 * q->room : 65536;
		room = room < q->have + ev->len ? q->have + ev->len : room;
		room = room < q->limit ? room : q->limit;
		grown = realloc(q->body, room);
		if (grown == NULL)
			return -ENOMEM;
		q->body = grown;
		q->room = room;
	}
	memcpy(q->body + q->have, ev->data, ev->len);
	q->have += ev->len;
	return 0;
}

static int on_stdin(struct fs_server *srv, struct fs_fcgi_conn *c,
                    struct request *q, const struct fs_fcgi_ev *ev)
{
	uint64_t want = q->r.content_length - q->have;
	size_t k = ev->len < want ? ev->len : (size_t)want;

	if (!q->reading)
		return 0; /* data after CONTENT_LENGTH, before we answered */
	if (q->to_end)
		return append_to_end(srv, c, q, ev);
	memcpy(q->body + q->have, ev->data, k);
	q->have += k;
	if (q->have < q->r.content_length)
		return 0;
	q->reading = false;
	/* Answer now, not at the empty FCGI_STDIN record: a client may wait
	 * for the answer before ending its input; the parser skips it. */
	return answer(srv, c, q);
}

static int on_stdin_end(struct fs_server *srv, struct fs_fcgi_conn *c,
                        struct request *q)
{
	if (!q->reading)
		return 0;
	q->reading = false;
	if (q->to_end) {
		q->r.content_length = q->have;
		return answer(srv, c, q);
	}
	free(q->body);
	q->body = NULL;
	fs_route_error(&q->r, 400,
	               "request body shorter than Content-Length\n");
	return answer(srv, c, q);
}

static int on_abort(struct fs_fcgi_conn *c, struct request *q)
{
	free(q->body);
	q->body = NULL;
	q->reading = false;
	q->answered = true;
	fs_fcgi_rec_finish(&c->rec);
	return end_request(c->fd, q->id);
}

static int on_event(struct fs_server *srv, struct fs_fcgi_conn *c,
                    struct request *q, const struct fs_fcgi_ev *ev)
{
	switch (ev->type) {
	case FS_FCGI_EV_BEGIN:
		q->keep = ev->keep_conn;
		q->id = c->rec.active;
		return 0;
	case FS_FCGI_EV_PARAMS:
		return on_params(srv, c, q);
	case FS_FCGI_EV_STDIN:
		return on_stdin(srv, c, q, ev);
	case FS_FCGI_EV_STDIN_END:
		return on_stdin_end(srv, c, q);
	case FS_FCGI_EV_ABORT:
		return on_abort(c, q);
	case FS_FCGI_EV_REPLY:
		return fs_write_all(c->fd, ev->data, ev->len);
	}
	return 0;
}

/* A request whose parameters are more than it may carry (too many, too
 * large): 431 (RFC 6585) rather than a bare close, which a front end would
 * turn into a 502.  The connection closes after it, lingering: the rest
 * of the parameters may still be on their way. */
static void refuse_oversized(struct fs_server *srv, struct fs_fcgi_conn *c,
                             struct request *q)
{
	uint64_t ns = srv->conf->request_read_timeout_ns;

	memset(&q->r, 0, sizeof(q->r));
	q->n = 0;
	fs_route_error(&q->r, 431, "request header fields too large\n");
	if (answer(srv, c, q) == 0)
		c->linger_ns = ns < FS_LINGER_NS ? ns : FS_LINGER_NS;
}

/* Parse the buffered bytes until q is answered or they run out.  0, or a
 * negative errno with the reason logged. */
static int feed(struct fs_server *srv, struct fs_fcgi_conn *c,
                struct request *q)
{
	while (!q->answered && c->in_pos < c->in_len) {
		struct fs_fcgi_ev ev;
		size_t used;
		int rc = fs_fcgi_rec_next(&c->rec, c->in + c->in_pos,
		                          c->in_len - c->in_pos, &used, &ev);

		c->in_pos += used;
		if (rc < 0) {
			fs_log(LOG_NOTICE, NULL,
			       "FastCGI: %s; closing the connection",
			       c->rec.why);
			if (rc == -E2BIG && q->id && !q->answered)
				refuse_oversized(srv, c, q);
			return rc;
		}
		if (rc > 0 && (rc = on_event(srv, c, q, &ev))) {
			/* a write failed: the client is gone, or reads
			 * nothing */
			if (rc == -ETIMEDOUT)
				fs_log_unwritten(
				    "FastCGI",
				    srv->conf->request_read_timeout_ns);
			return rc;
		}
	}
	return 0;
}

static void log_unread(uint64_t ns, ssize_t k)
{
	if (k == -ETIMEDOUT)
		fs_log(LOG_NOTICE, NULL,
		       "FastCGI: request not read within request_read_timeout "
		       "(%llu ms); closing the connection",
		       (unsigned long long)(ns / 1000000));
	else
		fs_log(LOG_INFO, NULL,
		       "FastCGI: connection closed in the middle of a request");
}

/*
 * Whether the peer may still send input for a connection we close after
 * an answer: the rest of the answered request's stdin (a refused body, or
 * only its empty record), unless the bytes already read hold its end.
 */
static bool input_pending(struct fs_fcgi_conn *c)
{
	while (c->rec.active && c->in_pos < c->in_len) {
		struct fs_fcgi_ev ev;
		size_t used;
		int rc = fs_fcgi_rec_next(&c->rec, c->in + c->in_pos,
		                          c->in_len - c->in_pos, &used, &ev);

		c->in_pos += used;
		if (rc != 0)
			return true; /* more than that tail, or garbage */
	}
	return c->rec.active != 0;
}

/*
 * One request on a connection with data.  The deadline starts here, at
 * the first byte; if what arrives turns out to be only the tail of the
 * last request (or management records), the connection goes back to the
 * poll set without waiting.
 */
bool fs_fcgi_serve(struct fs_server *srv, struct fs_fcgi_conn *c)
{
	uint64_t ns = srv->conf->request_read_timeout_ns;
	struct request q;
	uint64_t deadline;
	bool got = c->in_pos < c->in_len;
	ssize_t k;

	if (c->cap_ns && c->cap_ns < ns)
		ns = c->cap_ns;
	deadline = fs_deadline_after(ns);
	memset(&q, 0, sizeof(q));
	/* What FCGI_GET_VALUES reports: each worker takes one connection's
	 * request at a time. */
	c->rec.max_conns = c->rec.max_reqs = srv->conf->workers;
	for (;;) {
		if (feed(srv, c, &q))
			break;
		if (q.answered && q.keep && !q.close)
			return true;
		if (q.answered) {
			if (input_pending(c))
				c->linger_ns =
				    ns < FS_LINGER_NS ? ns : FS_LINGER_NS;
			return false;
		}
		if (got && !fs_fcgi_rec_busy(&c->rec))
			return true; /* between requests */
		k = fs_read_by(c->fd, c->in, IN_MAX, deadline);
		if (k <= 0) {
			if (k < 0 || fs_fcgi_rec_busy(&c->rec))
				log_unread(ns, k);
			break;
		}
		c->in_pos = 0;
		c->in_len = (size_t)k;
		got = true;
	}
	free(q.body);
	return false;
}

bool fs_fcgi_conn_buffered(const struct fs_fcgi_conn *c)
{
	return c->in_pos < c->in_len;
}

struct fs_fcgi_conn *fs_fcgi_conn_new(int fd)
{
	struct fs_fcgi_conn *c = malloc(sizeof(*c));

	struct timeval tv = {0, 0};
	socklen_t len = sizeof(tv);

	if (c == NULL)
		return NULL;
	c->fd = fd;
	/* The master's status listener must not wait long on a slow client:
	 * it sets a short SO_RCVTIMEO, which bounds the whole request here. */
	getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
	c->cap_ns =
	    (uint64_t)tv.tv_sec * NS_PER_S + (uint64_t)tv.tv_usec * 1000;
	c->linger_ns = 0;
	c->in_pos = c->in_len = 0;
	/* Each worker serves one request at a time. */
	fs_fcgi_rec_init(&c->rec, 1, 1);
	return c;
}

int fs_fcgi_conn_fd(const struct fs_fcgi_conn *c)
{
	return c->fd;
}

void fs_fcgi_conn_free(struct fs_fcgi_conn *c)
{
	if (c->fd >= 0 && c->linger_ns)
		fs_linger_close(c->fd, c->linger_ns, FS_LINGER_BYTES);
	else if (c->fd >= 0)
		close(c->fd);
	free(c);
}
