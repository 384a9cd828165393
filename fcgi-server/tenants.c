/* Tenants: each configured host name with its booted program image. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "program.h"
#include "scoreboard.h"
#include "tenants.h"

int fs_tenant_upload_name(const struct fs_tenant *t, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s.elf", t->conf->name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int fs_tenant_upload_path(const struct fs_tenant *t, char *buf, size_t len)
{
	char name[300];
	int n;

	if (t->program_dir == NULL || t->program_dir[0] == 0)
		return -ENOENT;
	if (fs_tenant_upload_name(t, name, sizeof(name)))
		return -ENAMETOOLONG;
	n = snprintf(buf, len, "%s/%s", t->program_dir, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Boot t's program: the uploaded one when there is one, else the ini's.
 * The version is read first, so that an upload racing with the boot
 * leaves the image older than the scoreboard says, never newer.  A
 * program that fails to load leaves the one loaded before serving (that
 * version is not tried again: the next upload is). */
static void boot_one(struct fs_tenant *t, struct fs_scoreboard *sb)
{
	struct fs_program prog;
	struct kc_image *img;
	char uploaded[4096];
	const char *path = t->conf->program;
	int r;

	t->program = fs_sb_program(sb, t->sb);
	if (fs_tenant_upload_path(t, uploaded, sizeof(uploaded)) == 0 &&
	    access(uploaded, F_OK) == 0)
		path = uploaded;
	r = fs_program_boot(path, &t->conf->limits, fs_log_guest, t->conf->name,
	                    &prog, &img, NULL, t->error, sizeof(t->error));
	if (r) {
		fs_log(LOG_ERR, t->conf->name,
		       "program %s failed to load: %s%s", path, t->error,
		       t->img ? "; the one loaded before goes on serving" : "");
		return;
	}
	if (t->img)
		kc_image_put(t->img);
	t->img = img;
	fs_program_free(&prog);
	fs_log(path == uploaded ? LOG_NOTICE : LOG_INFO, t->conf->name,
	       "loaded %s (%llu KiB snapshot)%s", path,
	       (unsigned long long)(kc_image_snapshot_bytes(img) >> 10),
	       path == uploaded ? ", uploaded: it wins over the ini's program"
	                        : "");
}

int fs_tenants_load(struct fs_tenants *t, const struct fs_conf *c,
                    struct fs_scoreboard *sb)
{
	size_t i;

	t->n = c->tenant_count;
	t->v = calloc(t->n ? t->n : 1, sizeof(*t->v));
	if (t->v == NULL)
		return -ENOMEM;
	for (i = 0; i < t->n; i++) {
		struct fs_tenant *x = &t->v[i];

		x->conf = &c->tenants[i];
		x->program_dir = c->program_dir;
		/* Tenants keep their scoreboard slot across reloads, by
		 * name. */
		x->sb = sb ? fs_sb_tenant_slot(sb, x->conf->name) : -1;
		if (sb && x->sb < 0)
			fs_log(LOG_WARNING, x->conf->name,
			       "no status slot left: not counted, no live "
			       "update");
		boot_one(x, sb);
	}
	return 0;
}

void fs_tenant_refresh(struct fs_tenant *t, struct fs_scoreboard *sb)
{
	if (fs_sb_program(sb, t->sb) == t->program)
		return;
	fs_log(LOG_INFO, t->conf->name, "a new program was uploaded: loading");
	boot_one(t, sb);
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
