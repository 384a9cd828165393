/* A worker's view of the server: its configuration, tenants, resident VMs
 * and the request handler every front end (FastCGI, SCGI) shares. */
#ifndef FS_SERVER_H
#define FS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "respond.h"
#include "route.h"
#include "tenants.h"

struct fs_scoreboard;

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
	int store_fd;     /* program_store = etcd: to the master; else -1 */
};

/* Set up a worker's server.  0 or -ENOMEM. */
int fs_server_init(struct fs_server *s, const struct fs_conf *conf,
                   const struct fs_tenants *tenants, struct fs_scoreboard *sb,
                   int sb_slot);
/* Destroy the worker's VMs. */
void fs_server_fini(struct fs_server *s);

/* fs_route_params over the worker's tenants, then, for a tenant, the
 * newest program (a live update elsewhere) or 503 when none is loaded. */
void fs_route(struct fs_server *s, const struct fs_param *p, size_t n,
              struct fs_route *r);

/* The worker's VM for tenant t, created on its first request (evicting
 * the least recently used at max_vms), or NULL (logged). */
struct kc_vm *fs_server_vm(struct fs_server *s, struct fs_tenant *t);

/* Destroy the worker's VM of t (after a failed reset, an internal error). */
void fs_server_drop_vm(struct fs_server *s, struct fs_tenant *t);

/* Answer a routed request whose body has been read (for HEAD, the head
 * only), then account for it once: scoreboard and access log.  0, or the
 * writer's error (the client is gone). */
int fs_answer(struct fs_server *s, const struct fs_route *r,
              const struct fs_param *p, size_t n, const void *body,
              size_t body_len, fs_write_fn *write, void *ctx);

#endif
