/* fs_route: who answers a request, decided from its CGI parameters alone
 * (a pure function of the configuration, the tenants and the parameters),
 * before any body is read. */
#ifndef FS_ROUTE_H
#define FS_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "param.h"
#include "tenants.h"

enum fs_route_kind {
	FS_ROUTE_TENANT,
	FS_ROUTE_UPLOAD, /* live update: a new program for the tenant */
	FS_ROUTE_PING,
	FS_ROUTE_STATUS,
	FS_ROUTE_ERROR, /* answered by the server: status and message */
};

struct fs_route {
	enum fs_route_kind kind;
	int status;
	const char *message;
	struct fs_tenant *tenant;
	uint64_t content_length;
	bool head; /* HEAD: the answer's head only (RFC 3875 4.3.2) */
	char host[256];
};

/* What routing looks at besides the parameters. */
struct fs_router {
	const struct fs_conf *conf;
	const struct fs_tenants *tenants;
	bool status_only; /* the master's status listener: no tenants */
};

/*
 * Route a request by its parameters: ping, status (loopback and
 * status_allow only), a tenant by Host, a live update, or the server's
 * own error (400, 403, 404, 405, 411, 413).  Whether the tenant's
 * program is loaded is not looked at here (the caller refreshes it).
 * Reads nothing but rt and p; r refers to rt's tenants.
 */
void fs_route_params(const struct fs_router *rt, const struct fs_param *p,
                     size_t n, struct fs_route *r);

/* Make r an answer of the server's own: status with a short text. */
static inline void fs_route_error(struct fs_route *r, int status,
                                  const char *message)
{
	r->kind = FS_ROUTE_ERROR;
	r->status = status;
	r->message = message;
}

/* Whether the front end reads the body (content_length bytes) before
 * fs_answer. */
static inline bool fs_route_reads_body(const struct fs_route *r)
{
	return r->kind == FS_ROUTE_TENANT || r->kind == FS_ROUTE_UPLOAD;
}

#endif
