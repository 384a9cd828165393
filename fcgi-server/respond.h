/* Turning a tenant's result into an HTTP response: one mapping shared by
 * the FastCGI/SCGI server and `kvm-fpm run`. */
#ifndef FS_RESPOND_H
#define FS_RESPOND_H

#include <stddef.h>

#include "kc.h"

/* Writes len bytes; 0 or a negative errno. */
typedef int fs_write_fn(void *ctx, const void *buf, size_t len);

/* The HTTP status for a result: the tenant's own on KC_OK, else 500 for
 * faults and the like, 504 for a timeout, 502 for a bad response. */
int fs_http_status(const struct kc_result *res);

/* "OK", "Not Found", ...: the reason phrase for a status. */
const char *fs_reason_phrase(int status);

/*
 * Write a whole CGI-style answer: Status, Content-Type, the headers
 * ("Name: value\r\n" lines; a Content-Length among them is dropped),
 * Content-Length: body.len (not for 1xx, 204, 304), a blank line, the
 * body.  Every answer is complete before it is sent, so its length is
 * always known.  0 or the writer's error (-EINVAL: type too long).
 */
int fs_write_answer(int status, struct kc_str type, struct kc_str headers,
                    struct kc_str body, fs_write_fn *write, void *ctx);

/*
 * Write a CGI-style response ("Status:", headers, blank line, body) for
 * res; errors get a short text/plain body naming the kind of failure (the
 * detail goes to the log, not to the client).  0 or the writer's error.
 */
int fs_write_response(const struct kc_result *res, fs_write_fn *write,
                      void *ctx);

/* A plain response from the server itself (400, 404, 413, 503, ...). */
int fs_write_plain(int status, const char *body, fs_write_fn *write, void *ctx);

/* A writer that passes an answer's head (up to its blank line) and drops
 * its body: HEAD gets the GET's head, Content-Length included, and no
 * body (RFC 3875 4.3.2). */
struct fs_head_only {
	fs_write_fn *write;
	void *ctx;
	unsigned matched; /* bytes of "\r\n\r\n" seen */
};
void fs_head_only_init(struct fs_head_only *h, fs_write_fn *write, void *ctx);
/* An fs_write_fn; ctx is a struct fs_head_only. */
int fs_head_only_write(void *ctx, const void *buf, size_t len);

#endif
