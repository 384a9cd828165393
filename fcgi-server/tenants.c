/* Tenants: each configured host name with its booted program image. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "program.h"
#include "tenants.h"

static void boot_one(struct fs_tenant *t)
{
	struct fs_program prog;
	int r;

	r = fs_program_boot(t->conf->program, &t->conf->limits, fs_log_guest,
	                    t->conf->name, &prog, &t->img, NULL, t->error,
	                    sizeof(t->error));
	if (r) {
		t->img = NULL;
		fs_log(LOG_ERR, t->conf->name, "program %s failed to load: %s",
		       t->conf->program, t->error);
		return;
	}
	fs_program_free(&prog);
	fs_log(LOG_INFO, t->conf->name, "loaded %s (%llu KiB snapshot)",
	       t->conf->program,
	       (unsigned long long)(kc_image_snapshot_bytes(t->img) >> 10));
}

int fs_tenants_load(struct fs_tenants *t, const struct fs_conf *c)
{
	size_t i;

	t->n = c->tenant_count;
	t->v = calloc(t->n ? t->n : 1, sizeof(*t->v));
	if (t->v == NULL)
		return -ENOMEM;
	for (i = 0; i < t->n; i++) {
		t->v[i].conf = &c->tenants[i];
		t->v[i].sb = -1;
		boot_one(&t->v[i]);
	}
	return 0;
}

void fs_tenants_free(struct fs_tenants *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].img)
			kc_image_put(t->v[i].img);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

struct fs_tenant *fs_tenants_find(const struct fs_tenants *t, const char *host)
{
	size_t i, j;

	for (i = 0; i < t->n; i++) {
		const struct fs_tenant_conf *c = t->v[i].conf;

		if (strcmp(c->name, host) == 0)
			return &t->v[i];
		for (j = 0; j < c->aliases.n; j++)
			if (strcmp(c->aliases.v[j], host) == 0)
				return &t->v[i];
	}
	return NULL;
}
