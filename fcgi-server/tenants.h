/* The tenants of a configuration with their booted images. */
#ifndef FS_TENANTS_H
#define FS_TENANTS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "kc.h"

struct fs_tenant {
	const struct fs_tenant_conf *conf;
	struct kc_image *img; /* NULL: the program failed to load */
	char error[256];      /* why, for the log */
	int sb;               /* scoreboard slot, or -1 */
};

struct fs_tenants {
	struct fs_tenant *v;
	size_t n;
};

/*
 * Boot every tenant of c (its program, main() and snapshot).  A program
 * that fails to load is logged and leaves its tenant answering 503.
 * 0 or -ENOMEM.  The table refers to c, which must outlive it.
 */
int fs_tenants_load(struct fs_tenants *t, const struct fs_conf *c);
void fs_tenants_free(struct fs_tenants *t);

/* The tenant serving a normalised host name or alias, or NULL. */
struct fs_tenant *fs_tenants_find(const struct fs_tenants *t, const char *host);

#endif
