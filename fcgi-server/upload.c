/* Live update: validate, store, then switch every worker to the new
 * program through the scoreboard's program version. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "key.h"
#include "log.h"
#include "program.h"
#include "scoreboard.h"
#include "store.h"
#include "upload.h"

void fs_upload_route(const struct fs_conf *c, const struct fs_param *p,
                     size_t n, const char *key, struct fs_route *r)
{
	const char *method = fs_param_get(p, n, "REQUEST_METHOD");
	const char *cl = fs_param_get(p, n, "CONTENT_LENGTH");

	if (method == NULL || strcmp(method, "POST") != 0)
		return fs_route_error(r, 405, "live update needs POST\n");
	if (r->tenant->conf->key == NULL)
		return fs_route_error(
		    r, 403, "live update is not enabled for this site\n");
	if (!fs_key_equal(r->tenant->conf->key, key))
		return fs_route_error(r, 403, "wrong live-update key\n");
	if (cl == NULL || *cl == 0)
		return fs_route_error(r, 411,
		                      "live update needs a Content-Length\n");
	if (r->content_length > c->upload_max_size)
		return fs_route_error(r, 413,
		                      "program larger than upload_max_size\n");
	/* Refused before its body is read: etcd would refuse the write. */
	if (!strcmp(c->program_store, "etcd") &&
	    r->content_length > FS_ETCD_MAX_VALUE)
		return fs_route_error(
		    r, 413,
		    "program larger than etcd's request limit allows "
		    "(program_store = etcd keeps each program in one etcd "
		    "value; programs are not split)\n");
	r->kind = FS_ROUTE_UPLOAD;
}

/* Store the program and bump its version under the directory lock, so
 * that the version order is the order of the files on disk. */
static int publish(struct fs_server *s, struct fs_tenant *t, const void *elf,
                   size_t len, uint64_t *version, char *err, size_t errlen)
{
	char name[300];
	int dirfd, r;

	if (fs_tenant_upload_name(t, name, sizeof(name))) {
		snprintf(err, errlen, "host name too long for a file name");
		return -ENAMETOOLONG;
	}
	dirfd = fs_program_dir_lock(t->program_dir, err, errlen);
	if (dirfd < 0)
		return dirfd;
	r = fs_program_store(dirfd, name, elf, len, err, errlen);
	if (r == 0)
		*version = fs_sb_program_bump(s->sb, t->sb);
	close(dirfd);
	return r;
}

/* program_store = etcd: the master commits to etcd (a worker has no
 * network), then this node takes the version at once; the watcher would
 * within moments, but the uploader's next request must see it. */
static int publish_etcd(struct fs_server *s, struct fs_tenant *t,
                        const void *elf, size_t len, uint64_t *version,
                        uint64_t *sbv, char *err, size_t errlen)
{
	char why[256];
	int r = fs_store_ask(s->store_fd, t->conf->name, elf, len,
	                     FS_STORE_ASK_WAIT_NS, version, err, errlen);

	if (r)
		return r;
	r = fs_store_apply(t, s->sb, *version, elf, len, sbv, why, sizeof(why));
	if (r < 0)
		fs_log(LOG_ERR, t->conf->name,
		       "version %llu is in etcd but not stored here: %s",
		       (unsigned long long)*version, why);
	return r;
}

static int answer(int status, const char *fmt, const char *arg,
                  fs_write_fn *write, void *ctx, int *statusp)
{
	char body[512];

	*statusp = status;
	snprintf(body, sizeof(body), fmt, arg);
	return fs_write_plain(status, body, write, ctx);
}

/* After the checks: etcd has it (200), nothing changed (503), or the
 * master did not say in time (504: it may still store it). */
static int answer_etcd(struct fs_server *s, const struct fs_route *r,
                       struct kc_image *img, const void *elf, size_t len,
                       fs_write_fn *write, void *ctx, int *statusp)
{
	struct fs_tenant *t = r->tenant;
	const char *name = t->conf->name;
	uint64_t version = 0, sbv = 0;
	char err[256];
	int rc = publish_etcd(s, t, elf, len, &version, &sbv, err, sizeof(err));

	if (rc == -ETIMEDOUT) {
		kc_image_put(img);
		fs_log(LOG_ERR, name, "upload not confirmed: %s", err);
		return answer(504, "upload not confirmed: %s\n", err, write,
		              ctx, statusp);
	}
	if (rc < 0 && version == 0) {
		kc_image_put(img);
		fs_log(LOG_ERR, name, "upload not stored in etcd: %s", err);
		return answer(
		    rc == -EFBIG ? 413 : 503,
		    "upload not stored in etcd, nothing changed: %s\n", err,
		    write, ctx, statusp);
	}
	/* 0: a newer version got here first; this one is superseded. */
	if (rc > 0) {
		if (t->img)
			kc_image_put(t->img);
		t->img = img;
		t->program = sbv;
	} else {
		kc_image_put(img);
	}
	fs_log(LOG_NOTICE, name, "live update: %zu bytes, etcd version %llu",
	       len, (unsigned long long)version);
	snprintf(err, sizeof(err),
	         "%s now runs the uploaded program (%zu bytes, version %llu, "
	         "in etcd)",
	         name, len, (unsigned long long)version);
	return answer(200, "%s\n", err, write, ctx, statusp);
}

int fs_upload_answer(struct fs_server *s, const struct fs_route *r,
                     const void *elf, size_t len, fs_write_fn *write, void *ctx,
                     int *statusp)
{
	struct fs_tenant *t = r->tenant;
	const char *name = t->conf->name;
	struct kc_image *img;
	uint64_t version = 0;
	char err[256];
	int rc, status;

	if (t->sb < 0 || t->program_dir == NULL || !t->program_dir[0])
		return answer(503, "live update is unavailable: %s\n",
		              t->sb < 0 ? "no status slot" : "no program_dir",
		              write, ctx, statusp);
	rc = kc_image_boot(elf, len, &t->conf->limits, fs_log_guest,
	                   (void *)name, &img, NULL, err, sizeof(err));
	if (rc) {
		/* A bad ELF (or one that does not fit the limits) is a bad
		 * request; a program that fails in main() is well formed but
		 * unusable. */
		status = rc == -ENOEXEC || rc == -EFBIG ? 400
		         : rc > 0                       ? 422
		                                        : 500;
		fs_log(LOG_WARNING, name, "upload of %zu bytes refused: %s",
		       len, err);
		return answer(status,
		              "upload refused, the old program stays: %s\n",
		              err, write, ctx, statusp);
	}
	if (s->store_fd >= 0)
		return answer_etcd(s, r, img, elf, len, write, ctx, statusp);
	rc = publish(s, t, elf, len, &version, err, sizeof(err));
	if (rc) {
		kc_image_put(img);
		fs_log(LOG_ERR, name, "upload not stored: %s", err);
		return answer(500,
		              "upload not stored, the old program stays: %s\n",
		              err, write, ctx, statusp);
	}
	/* Other processes see the new version on their next request; this
	 * one has the program booted already. */
	if (t->img)
		kc_image_put(t->img);
	t->img = img;
	t->program = version;
	fs_log(LOG_NOTICE, name,
	       "live update: %zu bytes, %llu KiB snapshot, version %llu", len,
	       (unsigned long long)(kc_image_snapshot_bytes(img) >> 10),
	       (unsigned long long)version);
	snprintf(err, sizeof(err),
	         "%s now runs the uploaded program (%zu "
	         "bytes, version %llu)",
	         name, len, (unsigned long long)version);
	return answer(200, "%s\n", err, write, ctx, statusp);
}
