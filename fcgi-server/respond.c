/* The HTTP view of a tenant's result, shared by every front end. */
#include <stdio.h>
#include <string.h>

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

static int write_head(int status, const char *type, size_t type_len,
                      fs_write_fn *write, void *ctx)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
	                 "Status: %d %s\r\nContent-Type: %.*s\r\n", status,
	                 fs_reason_phrase(status), (int)type_len, type);

	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	return write(ctx, head, (size_t)n);
}

int fs_write_plain(int status, const char *body, fs_write_fn *write, void *ctx)
{
	int r = write_head(status, "text/plain", 10, write, ctx);

	if (r == 0)
		r = write(ctx, "\r\n", 2);
	if (r == 0)
		r = write(ctx, body, strlen(body));
	return r;
}

int fs_write_response(const struct kc_result *res, fs_write_fn *write,
                      void *ctx)
{
	char body[96];
	int r, status = fs_http_status(res);

	if (res->status != KC_OK) {
		snprintf(body, sizeof(body), "%d %s: tenant %s\n", status,
		         fs_reason_phrase(status), kc_status_name(res->status));
		return fs_write_plain(status, body, write, ctx);
	}
	r = write_head(status, res->content_type.ptr, res->content_type.len,
	               write, ctx);
	if (r == 0 && res->headers.len)
		r = write(ctx, res->headers.ptr, res->headers.len);
	if (r == 0)
		r = write(ctx, "\r\n", 2);
	if (r == 0 && res->body.len)
		r = write(ctx, res->body.ptr, res->body.len);
	return r;
}
