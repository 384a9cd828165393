/* A small etcd v3 client over its JSON gateway (libcurl and jansson):
 * get, put, a compare-and-swap transaction and a prefix watch, failing
 * over between endpoints. */
#ifndef FS_ETCD_H
#define FS_ETCD_H

#include <stddef.h>
#include <stdint.h>

/*
 * etcd 3.4's --max-request-bytes default (1.5 MiB) less room for the
 * rest of a transaction (keys, the version, JSON framing): the largest
 * program an upload may put.  Bigger ones are refused (README, "Several
 * nodes").
 */
#define FS_ETCD_MAX_VALUE ((3u << 19) - (16u << 10))

/* Sockets to etcd members open at once: libcurl keeps half as many
 * between calls, the rest is room for one that opens as another closes. */
#define FS_ETCD_CONNS 8

struct fs_etcd {
	char **ep;       /* "http://host:port", without a trailing slash */
	size_t nep, cur; /* cur: the endpoint that answered last */
	long timeout_ms; /* a whole unary call on one endpoint */
	void *curl;      /* CURL *, reused for keep-alive */
	int *conns;      /* FS_ETCD_CONNS sockets libcurl holds, or -1;
	                    malloc'd, as libcurl keeps its address */
};

/* One key's value; val is malloc'd (and NUL-terminated, for text). */
struct fs_etcd_kv {
	char *key;
	void *val;
	size_t len;
	int64_t mod_revision;
};

/*
 * Parse endpoints ("http://a:2379, http://b:2379": comma-separated) into
 * e.  0, or -EINVAL (none, or not http://) / -ENOMEM with the reason in
 * err.  fs_etcd_close frees it.
 */
int fs_etcd_open(struct fs_etcd *e, const char *endpoints, char *err,
                 size_t errlen);
void fs_etcd_close(struct fs_etcd *e);

/*
 * In a child after fork: close the connections to etcd it inherited,
 * without a word on them (the parent goes on using them), and drop e
 * without freeing it.  A worker must hold no connection of the master's
 * to etcd: it could write the store with it.
 */
void fs_etcd_forget(struct fs_etcd *e);

/*
 * The value of key into *kv (free with fs_etcd_kv_free) and the store's
 * revision into *rev (may be NULL).  0, -ENOENT when key does not
 * exist (*rev still set), -EHOSTUNREACH when no endpoint answered in
 * time (no quorum looks the same: a linearizable read needs one), -EIO
 * on an answer that makes no sense; the reason in err.
 */
int fs_etcd_get(struct fs_etcd *e, const char *key, struct fs_etcd_kv *kv,
                int64_t *rev, char *err, size_t errlen);

/*
 * Every key with prefix (at most max of them, in key order) into kv[],
 * *n set to how many; the store's revision into *rev.  Errors as
 * fs_etcd_get, without -ENOENT (no key: *n = 0).
 */
int fs_etcd_get_prefix(struct fs_etcd *e, const char *prefix,
                       struct fs_etcd_kv *kv, size_t max, size_t *n,
                       int64_t *rev, char *err, size_t errlen);

/* Put key = val[0..len).  0 or as fs_etcd_get. */
int fs_etcd_put(struct fs_etcd *e, const char *key, const void *val, size_t len,
                char *err, size_t errlen);

/*
 * One transaction: if cmp_key's mod_revision is cmp_rev (0: cmp_key does
 * not exist), put kv[0..n) (their mod_revision is ignored).  The new
 * revision into *rev.  0, -ECANCELED when the comparison failed (nothing
 * written), or as fs_etcd_get.
 */
int fs_etcd_txn_put(struct fs_etcd *e, const char *cmp_key, int64_t cmp_rev,
                    const struct fs_etcd_kv *kv, size_t n, int64_t *rev,
                    char *err, size_t errlen);

/* Called for each event of a watch: the key (not NUL-terminated) and the
 * revision of its change.  Nonzero ends the watch with that value. */
typedef int fs_etcd_event_fn(void *ctx, const char *key, size_t keylen,
                             int64_t mod_revision);

/*
 * Watch every key with prefix from revision start on, calling fn for
 * each change, until the stream ends: etcd went away or lost its
 * leader, the revision was compacted, or fn said stop.  Blocks.
 * Returns fn's nonzero value, or -EHOSTUNREACH / -ECANCELED / -EIO with
 * the reason in err (never 0).
 */
int fs_etcd_watch(struct fs_etcd *e, const char *prefix, int64_t start,
                  fs_etcd_event_fn *fn, void *ctx, char *err, size_t errlen);

void fs_etcd_kv_free(struct fs_etcd_kv *kv);

#endif
