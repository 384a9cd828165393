/* Which requests run under the GDB stub: the X-Debug header and key, the
 * tenant's allow_debug and debug_* keys, and the one debug port. */
#ifndef FS_DEBUG_H
#define FS_DEBUG_H

#include <stdbool.h>

#include "conf.h"
#include "server.h"

struct fs_debug {
	struct kc_debug kc;
	bool on;             /* run with kc_vm_request_debug(&kc) */
	int status;          /* refuse the request with this, or 0 */
	const char *message; /* the refusal's body */
};

/*
 * Decide how a request of tenant t with parameters p runs.  An X-Debug
 * request with the right key gets the debug port bound now, so that a
 * busy port is a 503 before anything runs; wrong or missing keys, and
 * tenants without allow_debug, are a 403.  Without the header a tenant
 * with allow_debug still stops at breakpoint() (and at faults with
 * debug_on_fault), binding the port only then.  Call fs_debug_done after.
 */
void fs_debug_prepare(struct fs_debug *d, const struct fs_conf *c,
                      const struct fs_tenant_conf *t, const struct fs_param *p,
                      size_t n);
void fs_debug_done(struct fs_debug *d);

#endif
