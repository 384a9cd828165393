/* The tenants of a configuration with their booted images. */
#ifndef FS_TENANTS_H
#define FS_TENANTS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "kc.h"

struct fs_scoreboard;

struct fs_tenant {
	const struct fs_tenant_conf *conf;
	const char *program_dir; /* the configuration's, or NULL */
	struct kc_image *img;    /* NULL: the program failed to load */
	char error[256];         /* why, for the log */
	int sb;                  /* scoreboard slot, or -1 */
	uint64_t program;        /* the scoreboard's version img is */
};

struct fs_tenants {
	struct fs_tenant *v;
	size_t n;
};

/*
 * Boot every tenant of c (its program, main() and snapshot), giving each
 * its slot in sb (NULL: none; only the master may pass one).  A program
 * uploaded to program_dir wins over the ini's.  A program that fails to
 * load is logged and leaves its tenant answering 503.  0 or -ENOMEM.  The
 * table refers to c, which must outlive it.
 */
int fs_tenants_load(struct fs_tenants *t, const struct fs_conf *c,
                    struct fs_scoreboard *sb);
void fs_tenants_free(struct fs_tenants *t);

/* The tenant serving a normalised host name or alias, or NULL. */
struct fs_tenant *fs_tenants_find(const struct fs_tenants *t, const char *host);

/*
 * Before a request: when a live update (in any process) made t's program
 * newer than its image, boot the new one.  Cheap when nothing changed: one
 * load from the shared scoreboard.
 */
void fs_tenant_refresh(struct fs_tenant *t, struct fs_scoreboard *sb);

/* "NAME.elf": the file name of t's uploaded program in program_dir.  0
 * or -ENAMETOOLONG. */
int fs_tenant_upload_name(const struct fs_tenant *t, char *buf, size_t len);

/* "DIR/NAME.elf": where an uploaded program of t lives.  0, or -ENOENT
 * without a program_dir, -ENAMETOOLONG. */
int fs_tenant_upload_path(const struct fs_tenant *t, char *buf, size_t len);

#endif
