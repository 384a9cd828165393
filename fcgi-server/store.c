/* program_store = etcd: commit an upload to etcd, and keep program_dir (the
 * node's copy, what it serves) at etcd's newest good version. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"
#include "program.h"
#include "scoreboard.h"
#include "store.h"

#define COMMIT_TRIES 5 /* uploads of one tenant racing on other nodes */
#define KEY_MAX      1024

int fs_store_key(const char *prefix, const char *tenant, const char *leaf,
                 char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/tenants/%s/%s", prefix, tenant,
	                 leaf ? leaf : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static uint64_t parse_version(const struct fs_etcd_kv *kv)
{
	return kv->val ? strtoull(kv->val, NULL, 10) : 0;
}

int fs_store_commit(struct fs_etcd *e, const char *prefix, const char *tenant,
                    const void *elf, size_t len, uint64_t *version, char *err,
                    size_t errlen)
{
	char vkey[KEY_MAX], pkey[KEY_MAX], num[32];
	struct fs_etcd_kv cur, put[2];
	int i, r;

	if (len > FS_ETCD_MAX_VALUE) {
		snprintf(err, errlen,
		         "a program of %zu bytes is over the %u bytes etcd's "
		         "request limit leaves for one (programs are not "
		         "split)",
		         len, FS_ETCD_MAX_VALUE);
		return -EFBIG;
	}
	if (fs_store_key(prefix, tenant, "version", vkey, sizeof(vkey)) ||
	    fs_store_key(prefix, tenant, "program", pkey, sizeof(pkey))) {
		snprintf(err, errlen, "etcd key too long");
		return -ENAMETOOLONG;
	}
	for (i = 0; i < COMMIT_TRIES; i++) {
		r = fs_etcd_get(e, vkey, &cur, NULL, err, errlen);
		if (r && r != -ENOENT)
			return r;
		*version = r ? 1 : parse_version(&cur) + 1;
		snprintf(num, sizeof(num), "%" PRIu64, *version);
		put[0] = (struct fs_etcd_kv){pkey, (void *)elf, len, 0};
		put[1] = (struct fs_etcd_kv){vkey, num, strlen(num), 0};
		r = fs_etcd_txn_put(e, vkey, r ? 0 : cur.mod_revision, put, 2,
		                    NULL, err, errlen);
		fs_etcd_kv_free(&cur);
		if (r != -ECANCELED)
			return r;
	}
	snprintf(err, errlen, "uploads elsewhere kept changing %s", vkey);
	return -EBUSY;
}

int fs_store_fetch(struct fs_etcd *e, const char *prefix, const char *tenant,
                   struct fs_etcd_kv *prog, uint64_t *version, char *err,
                   size_t errlen)
{
	struct fs_etcd_kv kv[3];
	char key[KEY_MAX];
	size_t n, i;
	int r, have = 0;

	if (fs_store_key(prefix, tenant, NULL, key, sizeof(key))) {
		snprintf(err, errlen, "etcd key too long");
		return -ENAMETOOLONG;
	}
	r = fs_etcd_get_prefix(e, key, kv, 3, &n, NULL, err, errlen);
	if (r)
		return r;
	memset(prog, 0, sizeof(*prog));
	*version = 0;
	for (i = 0; i < n; i++) {
		const char *leaf = kv[i].key + strlen(key);

		if (!strcmp(leaf, "program") && !prog->key) {
			*prog = kv[i];
			have |= 1;
			continue;
		}
		if (!strcmp(leaf, "version")) {
			*version = parse_version(&kv[i]);
			have |= 2;
		}
		fs_etcd_kv_free(&kv[i]);
	}
	if (have == 3 && *version > 0)
		return 0;
	fs_etcd_kv_free(prog);
	snprintf(err, errlen, "etcd has no program for %s", tenant);
	return -ENOENT;
}

static int version_name(const char *tenant, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s.version", tenant);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static uint64_t read_version(int dirfd, const char *tenant)
{
	char name[300], buf[32];
	ssize_t n = -1;
	int fd = -1;

	if (version_name(tenant, name, sizeof(name)) == 0)
		fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strtoull(buf, NULL, 10);
}

uint64_t fs_store_cached_version(const char *program_dir, const char *tenant)
{
	int dirfd = open(program_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint64_t v = dirfd >= 0 ? read_version(dirfd, tenant) : 0;

	if (dirfd >= 0)
		close(dirfd);
	return v;
}

int fs_store_apply(const struct fs_tenant *t, struct fs_scoreboard *sb,
                   uint64_t version, const void *elf, size_t len, uint64_t *sbv,
                   char *err, size_t errlen)
{
	char name[300], vname[300], num[32];
	int dirfd, r;

	if (fs_tenant_upload_name(t, name, sizeof(name)) ||
	    version_name(t->conf->name, vname, sizeof(vname))) {
		snprintf(err, errlen, "host name too long for a file name");
		return -ENAMETOOLONG;
	}
	dirfd = fs_program_dir_lock(t->program_dir, err, errlen);
	if (dirfd < 0)
		return dirfd;
	if (read_version(dirfd, t->conf->name) >= version) {
		close(dirfd);
		return 0;
	}
	/* The program first: a crash between the two leaves the older
	 * version number, and the next catch-up writes both again. */
	r = fs_program_store(dirfd, name, elf, len, err, errlen);
	snprintf(num, sizeof(num), "%" PRIu64 "\n", version);
	if (r == 0)
		r = fs_program_store(dirfd, vname, num, strlen(num), err,
		                     errlen);
	if (r == 0) {
		uint64_t v = fs_sb_program_bump(sb, t->sb);

		if (sbv)
			*sbv = v;
		r = 1;
	}
	close(dirfd);
	return r;
}

/* Bring one tenant up to etcd's version, if that version boots here. */
static int sync_one(struct fs_etcd *e, const char *prefix,
                    const struct fs_tenant *t, struct fs_scoreboard *sb,
                    char *err, size_t errlen)
{
	const char *name = t->conf->name;
	struct fs_etcd_kv prog;
	struct kc_image *img;
	uint64_t version;
	char why[256];
	int r = fs_store_fetch(e, prefix, name, &prog, &version, err, errlen);

	if (r == -ENOENT)
		return 0;
	if (r)
		return r;
	if (version <= fs_store_cached_version(t->program_dir, name))
		goto out;
	/* Validated where it was uploaded, but this node's limits may
	 * differ: never replace a good program with one that fails here. */
	r = kc_image_boot(prog.val, prog.len, &t->conf->limits, fs_log_guest,
	                  (void *)name, &img, NULL, why, sizeof(why));
	if (r) {
		fs_log(LOG_ERR, name,
		       "version %" PRIu64 " from etcd does not boot here, "
		       "keeping the last good program: %s",
		       version, why);
		r = 0;
		goto out;
	}
	kc_image_put(img);
	r = fs_store_apply(t, sb, version, prog.val, prog.len, NULL, why,
	                   sizeof(why));
	if (r > 0)
		fs_log(LOG_NOTICE, name,
		       "live update from etcd: version %" PRIu64 ", %zu bytes",
		       version, prog.len);
	else if (r < 0)
		fs_log(LOG_ERR, name, "version %" PRIu64 " not stored: %s",
		       version, why);
	r = 0;
out:
	fs_etcd_kv_free(&prog);
	return r;
}

int fs_store_catch_up(struct fs_etcd *e, const char *prefix,
                      const struct fs_tenants *ts, struct fs_scoreboard *sb,
                      int64_t *rev, char *err, size_t errlen)
{
	struct fs_etcd_kv kv;
	char key[KEY_MAX];
	size_t i;
	int r;

	/* First the revision: a change after it is the watch's to see, one
	 * before it is in what the fetches below read. */
	snprintf(key, sizeof(key), "%s/tenants/", prefix);
	r = fs_etcd_get(e, key, &kv, rev, err, errlen);
	if (r == 0)
		fs_etcd_kv_free(&kv);
	else if (r != -ENOENT)
		return r;
	for (i = 0; i < ts->n; i++) {
		r = sync_one(e, prefix, &ts->v[i], sb, err, errlen);
		if (r)
			return r;
	}
	return 0;
}

struct watcher {
	struct fs_etcd e;
	const char *prefix;
	const struct fs_tenants *ts;
	struct fs_scoreboard *sb;
	char err[256];
};

/* A change of PREFIX/tenants/NAME/version: NAME has a new version. */
static int on_event(void *ctx, const char *key, size_t keylen, int64_t rev)
{
	struct watcher *w = ctx;
	char want[KEY_MAX];
	size_t i;

	(void)rev;
	for (i = 0; i < w->ts->n; i++) {
		const struct fs_tenant *t = &w->ts->v[i];

		if (fs_store_key(w->prefix, t->conf->name, "version", want,
		                 sizeof(want)) == 0 &&
		    strlen(want) == keylen && !memcmp(want, key, keylen))
			return sync_one(&w->e, w->prefix, t, w->sb, w->err,
			                sizeof(w->err));
	}
	return 0;
}

void fs_store_watch_forever(const char *endpoints, const char *prefix,
                            const struct fs_tenants *ts,
                            struct fs_scoreboard *sb)
{
	struct watcher w = {.prefix = prefix, .ts = ts, .sb = sb};
	char key[KEY_MAX];
	int64_t rev;
	int r, up = -1; /* -1: not known yet */

	if (fs_etcd_open(&w.e, endpoints, w.err, sizeof(w.err))) {
		fs_log(LOG_ERR, NULL, "etcd: %s", w.err);
		_exit(1);
	}
	snprintf(key, sizeof(key), "%s/tenants/", prefix);
	for (;;) {
		r = fs_store_catch_up(&w.e, prefix, ts, sb, &rev, w.err,
		                      sizeof(w.err));
		if (r == 0) {
			fs_log(LOG_NOTICE, NULL,
			       "etcd: caught up at revision %lld, watching %s",
			       (long long)rev, key);
			up = 1;
			fs_sb_set_store_waiting(sb, false);
			r = fs_etcd_watch(&w.e, key, rev + 1, on_event, &w,
			                  w.err, sizeof(w.err));
		}
		if (up != 0)
			fs_log(LOG_WARNING, NULL,
			       "etcd: %s; serving the programs in program_dir "
			       "until it answers again",
			       w.err);
		up = 0;
		/* A compacted revision is caught up from at once. */
		if (r != -ECANCELED)
			sleep(1);
	}
}

/* ---- a worker asks the master to commit --------------------------------- */

#define ASK_MAGIC 0x6b667075u /* "kfpu" */

/* Each ask has a number of its own, which its reply repeats: a reply that
 * came after its worker gave up waiting is told from the next one's. */
struct ask {
	uint32_t magic;
	uint32_t len;
	uint32_t seq;
	uint32_t pad;
	char tenant[256];
};

struct reply {
	int32_t rc;
	uint32_t seq;
	uint64_t version;
	char reason[240];
};

/* All len bytes by deadline (fs_deadline_after): 0, -ETIMEDOUT, -EPIPE at
 * end of file, or another -errno. */
static int read_all_by(int fd, void *p, size_t len, uint64_t deadline)
{
	while (len > 0) {
		ssize_t n = fs_read_by(fd, p, len, deadline);

		if (n <= 0)
			return n < 0 ? (int)n : -EPIPE;
		p = (char *)p + n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_store_ask(int fd, const char *tenant, const void *elf, size_t len,
                 uint64_t wait_ns, uint64_t *version, char *err, size_t errlen)
{
	static uint32_t seq;
	struct ask a = {ASK_MAGIC, (uint32_t)len, ++seq, 0, {0}};
	uint64_t deadline;
	struct reply rep;
	int r;

	snprintf(a.tenant, sizeof(a.tenant), "%s", tenant);
	r = fs_write_all(fd, &a, sizeof(a));
	if (r == 0)
		r = fs_write_all(fd, elf, len);
	deadline = fs_deadline_after(wait_ns);
	/* Replies to asks given up on before come first: not this one's. */
	while (r == 0 &&
	       (r = read_all_by(fd, &rep, sizeof(rep), deadline)) == 0 &&
	       rep.seq != a.seq)
		;
	if (r == -ETIMEDOUT) {
		snprintf(err, errlen,
		         "no answer from the master in %llu s: whether the "
		         "program is stored is not known",
		         (unsigned long long)(wait_ns / 1000000000));
		return -ETIMEDOUT;
	}
	if (r) {
		snprintf(err, errlen, "no answer from the master: %s",
		         strerror(-r));
		return -EHOSTUNREACH;
	}
	rep.reason[sizeof(rep.reason) - 1] = 0;
	snprintf(err, errlen, "%s", rep.reason);
	*version = rep.version;
	return rep.rc;
}

int fs_store_serve(int fd, struct fs_etcd *e, const char *prefix,
                   const struct fs_tenants *ts, uint64_t read_ns)
{
	uint64_t deadline = fs_deadline_after(read_ns);
	struct reply rep = {0};
	struct ask a;
	void *elf = NULL;
	int r = read_all_by(fd, &a, sizeof(a), deadline);

	a.tenant[sizeof(a.tenant) - 1] = 0;
	if (r == 0 && (a.magic != ASK_MAGIC || a.len > FS_PROGRAM_MAX))
		r = -EPROTO;
	if (r == 0)
		r = (elf = malloc(a.len ? a.len : 1)) ? 0 : -ENOMEM;
	if (r == 0)
		r = read_all_by(fd, elf, a.len, deadline);
	if (r) {
		free(elf);
		return r;
	}
	/* Only a configured tenant's name: a worker runs guest code. */
	if (fs_tenants_find(ts, a.tenant) == NULL ||
	    strcmp(fs_tenants_find(ts, a.tenant)->conf->name, a.tenant)) {
		rep.rc = -ENOENT;
		snprintf(rep.reason, sizeof(rep.reason), "no tenant %.200s",
		         a.tenant);
	} else {
		rep.rc = fs_store_commit(e, prefix, a.tenant, elf, a.len,
		                         &rep.version, rep.reason,
		                         sizeof(rep.reason));
	}
	if (rep.rc)
		rep.version = 0; /* nothing of this upload is in etcd */
	rep.seq = a.seq;
	free(elf);
	return fs_write_all(fd, &rep, sizeof(rep));
}
