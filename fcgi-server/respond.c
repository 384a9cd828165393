/* The HTTP view of a tenant's result, shared by every front end. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "respond.h"

int fs_http_status(const struct kc_result *res)
{
	switch (res->status) {
	case KC_OK:
		return res->http_status;
	case KC_ERR_TIMEOUT:
		return 504;
	case KC_ERR_BAD_RESPONSE:
	case KC_ERR_TOO_LARGE:
		return 502;
	default:
		return 500;
	}
}

const char *fs_reason_phrase(int status)
{
	static const struct {
		int status;
		const char *phrase;
	} phrases[] = {
	    {200, "OK"},
	    {201, "Created"},
	    {204, "No Content"},
	    {301, "Moved Permanently"},
	    {302, "Found"},
	    {304, "Not Modified"},
	    {400, "Bad Request"},
	    {403, "Forbidden"},
	    {404, "Not Found"},
	    {405, "Method Not Allowed"},
	    {411, "Length Required"},
	    {413, "Content Too Large"},
	    {422, "Unprocessable Content"},
	    {431, "Request Header Fields Too Large"},
	    {500, "Internal Server Error"},
	    {502, "Bad Gateway"},
	    {503, "Service Unavailable"},
	    {504, "Gateway Timeout"},
	};
	size_t i;

	for (i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (phrases[i].status == status)
			return phrases[i].phrase;
	return status < 400 ? "OK" : status < 500 ? "Client Error" : "Error";
}

/* RFC 9110 8.6: no Content-Length on 1xx and 204; a 304's would be the
 * 200's, which the server does not know. */
static bool has_length(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

static bool is_named(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len >= n && strncasecmp(line, name, n) == 0;
}

/*
 * Headers that are not the tenant's to send:
 *  - how the body is framed is the server's (it counts the body) and the
 *    front end's to say: a tenant's own Content-Length or
 *    Transfer-Encoding would make two framings, which front ends refuse
 *    (nginx: 502) or pass on to the client;
 *  - the status is the response call's (a second Status line);
 *  - headers a front end acts on itself, whatever the backend: nginx's
 *    X-Accel-* (X-Accel-Redirect, an internal redirect, is on by
 *    default), X-Sendfile and lighttpd's and h2o's kin (a file or URL
 *    the front end serves in the answer's place, when enabled).  A
 *    tenant must not steer the front end that serves every tenant.
 */
static bool is_servers(const char *line, size_t len)
{
	static const char *const names[] = {"content-length:",
	                                    "transfer-encoding:",
	                                    "status:",
	                                    "x-accel-",
	                                    "x-sendfile:",
	                                    "x-sendfile2:",
	                                    "x-lighttpd-send-file:",
	                                    "x-lighttpd-send-tempfile:",
	                                    "x-reproxy-url:"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (is_named(line, len, names[i]))
			return true;
	return false;
}

/* The tenant's "Name: value\r\n" lines but the server's (is_servers).
 * Runs of kept lines go out in one write. */
static int write_headers(struct kc_str h, fs_write_fn *write, void *ctx)
{
	size_t run = 0, pos = 0;
	int r = 0;

	while (r == 0 && pos < h.len) {
		const char *nl = memchr(h.ptr + pos, '\n', h.len - pos);
		size_t end = nl ? (size_t)(nl - h.ptr) + 1 : h.len;

		if (is_servers(h.ptr + pos, end - pos)) {
			if (pos > run)
				r = write(ctx, h.ptr + run, pos - run);
			run = end;
		}
		pos = end;
	}
	if (r == 0 && h.len > run)
		r = write(ctx, h.ptr + run, h.len - run);
	return r;
}

int fs_write_answer(int status, struct kc_str type, struct kc_str headers,
                    struct kc_str body, fs_write_fn *write, void *ctx)
{
	char head[512], len[48];
	int n, r;

	n = snprintf(head, sizeof(head),
	             "Status: %d %s\r\nContent-Type: %.*s\r\n", status,
	             fs_reason_phrase(status), (int)type.len, type.ptr);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	r = write(ctx, head, (size_t)n);
	if (r == 0 && headers.len)
		r = write_headers(headers, write, ctx);
	n = 0;
	if (has_length(status))
		n = snprintf(len, sizeof(len), "Content-Length: %zu\r\n",
		             body.len);
	n += snprintf(len + n, sizeof(len) - (size_t)n, "\r\n");
	if (r == 0)
		r = write(ctx, len, (size_t)n);
	if (r == 0 && body.len)
		r = write(ctx, body.ptr, body.len);
	return r;
}

int fs_write_plain(int status, const char *body, fs_write_fn *write, void *ctx)
{
	return fs_write_answer(status, (struct kc_str){"text/plain", 10},
	                       (struct kc_str){"", 0},
	                       (struct kc_str){body, strlen(body)}, write, ctx);
}

int fs_write_response(const struct kc_result *res, fs_write_fn *write,
                      void *ctx)
{
	char body[96];
	int status = fs_http_status(res);

	if (res->status != KC_OK) {
		snprintf(body, sizeof(body), "%d %s: tenant %s\n", status,
		         fs_reason_phrase(status), kc_status_name(res->status));
		return fs_write_plain(status, body, write, ctx);
	}
	return fs_write_answer(status, res->content_type, res->headers,
	                       res->body, write, ctx);
}

void fs_head_only_init(struct fs_head_only *h, fs_write_fn *write, void *ctx)
{
	h->write = write;
	h->ctx = ctx;
	h->matched = 0;
}

int fs_head_only_write(void *ctx, const void *buf, size_t len)
{
	static const char blank[] = "\r\n\r\n";
	struct fs_head_only *h = ctx;
	const char *p = buf;
	size_t i;

	if (h->matched == 4)
		return 0;
	for (i = 0; i < len && h->matched < 4; i++)
		h->matched = p[i] == blank[h->matched] ? h->matched + 1
		             : p[i] == '\r'            ? 1
		                                       : 0;
	return i ? h->write(h->ctx, p, i) : 0;
}
