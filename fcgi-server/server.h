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
	/* The tenant whose VM served the request just answered: its reset
	 * waits until that request has ended for the client. */
	struct fs_tenant *reset_due;
	bool drop_due; /* the request left the VM unusable: destroy it */
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

/*
 * The reset due after the last answer: reset the VM that served it, or
 * destroy it (logged) when the reset fails or the request left it
 * unusable.  Front ends call this once the request has ended for the
 * client (FastCGI: FCGI_END_REQUEST written; SCGI: the connection
 * closed), so that no client waits for a reset; fs_server_vm calls it
 * too, so that no request ever runs on a VM that was not reset.
 */
void fs_server_settle_reset(struct fs_server *s);

/* Answer a routed request whose body has been read (for HEAD, the head
 * only), then account for it once: scoreboard and access log.  0, or the
 * writer's error (the client is gone).  A tenant's VM is left for
 * fs_server_settle_reset. */
int fs_answer(struct fs_server *s, const struct fs_route *r,
              const struct fs_param *p, size_t n, const void *body,
              size_t body_len, fs_write_fn *write, void *ctx);

#endif
