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
 * Write a CGI-style response ("Status:", headers, blank line, body) for
 * res; errors get a short text/plain body naming the kind of failure (the
 * detail goes to the log, not to the client).  0 or the writer's error.
 */
int fs_write_response(const struct kc_result *res, fs_write_fn *write,
                      void *ctx);

/* A plain response from the server itself (400, 404, 413, 503, ...). */
int fs_write_plain(int status, const char *body, fs_write_fn *write, void *ctx);

#endif
