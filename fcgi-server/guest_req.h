/* fs_guest_headers: the request headers a tenant sees, from the CGI
 * parameters every front end sends. */
#ifndef FS_GUEST_REQ_H
#define FS_GUEST_REQ_H

#include <stddef.h>

#include "kc.h"
#include "route.h"

/*
 * Fill h (up to hmax) with the request's headers in the guest's form
 * ("user-agent" for HTTP_USER_AGENT), their names stored in buf.  The
 * body's Content-Type and Content-Length come as the CGI variables
 * CONTENT_TYPE and CONTENT_LENGTH (RFC 3875 4.1.2, 4.1.3), which Apache,
 * lighttpd and h2o send instead of HTTP_CONTENT_*: they become
 * "content-type" and "content-length", and an HTTP_CONTENT_* of the same
 * name (nginx sends both) is then left out, so each appears once.  A body
 * read without CONTENT_LENGTH (chunked) gets "content-length": body_len.
 * Values point into p (or buf).  Returns the number of headers.
 */
size_t fs_guest_headers(const struct fs_param *p, size_t n, size_t body_len,
                        struct kc_header *h, size_t hmax, char *buf,
                        size_t buflen);

#endif
