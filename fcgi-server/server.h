/* A worker's view of the server: its configuration, tenants, resident VMs
 * and the request handler every front end (FastCGI, SCGI) shares. */
#ifndef FS_SERVER_H
#define FS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "respond.h"
#include "tenants.h"

struct fs_scoreboard;

/* A CGI-style parameter: "HTTP_HOST", "REQUEST_URI", ... */
struct fs_param {
	const char *name;
	const char *value;
};

struct fs_vm_slot {
	struct kc_vm *vm;
	uint64_t last_used;
};

struct fs_server {
	const struct fs_conf *conf;
	const struct fs_tenants *tenants;
	struct fs_vm_slot *vms; /* one per tenant */
	unsigned resident;      /* VMs in vms[] */
	uint64_t tick;          /* for least-recently-used eviction */
	struct fs_scoreboard *sb;
	int sb_slot; /* this worker's scoreboard slot */
	uint64_t served;
	bool status_only; /* the master's status listener: no tenants */
};

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
	char host[256];
};

/* Set up a worker's server.  0 or -ENOMEM. */
int fs_server_init(struct fs_server *s, const struct fs_conf *conf,
                   const struct fs_tenants *tenants, struct fs_scoreboard *sb,
                   int sb_slot);
/* Destroy the worker's VMs. */
void fs_server_fini(struct fs_server *s);

/* The value of parameter name, or NULL. */
const char *fs_param_get(const struct fs_param *p, size_t n, const char *name);

/* Decide who answers, from the parameters alone: before any body is read,
 * so that a too large body is refused unread. */
void fs_route(struct fs_server *s, const struct fs_param *p, size_t n,
              struct fs_route *r);

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

/* Answer a routed request whose body has been read.  0, or the writer's
 * error (the client is gone). */
int fs_answer(struct fs_server *s, const struct fs_route *r,
              const struct fs_param *p, size_t n, const void *body,
              size_t body_len, fs_write_fn *write, void *ctx);

#endif
