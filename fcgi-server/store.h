/* program_store = etcd: tenant programs in etcd, a local copy of each in
 * program_dir, and the process that keeps that copy up to date. */
#ifndef FS_STORE_H
#define FS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "etcd.h"
#include "tenants.h"

struct fs_scoreboard;

/*
 * etcd's keys for a tenant: PREFIX/tenants/NAME/program (the ELF) and
 * PREFIX/tenants/NAME/version (decimal, 1 for the first upload), always
 * written together by one transaction.  leaf NULL: the tenant's prefix,
 * "PREFIX/tenants/NAME/".  0 or -ENAMETOOLONG.
 */
int fs_store_key(const char *prefix, const char *tenant, const char *leaf,
                 char *buf, size_t len);

/*
 * Put a validated program for tenant into etcd as its next version, in
 * one transaction that succeeds only if the version did not change since
 * it was read (retried a few times when an upload elsewhere raced it).
 * The version into *version.  0, -EFBIG (larger than FS_ETCD_MAX_VALUE),
 * -EHOSTUNREACH (etcd unreachable or without quorum: nothing written),
 * -EBUSY (lost every retry), -EIO; the reason in err.
 */
int fs_store_commit(struct fs_etcd *e, const char *prefix, const char *tenant,
                    const void *elf, size_t len, uint64_t *version, char *err,
                    size_t errlen);

/*
 * tenant's program and version as etcd has them now, read in one range
 * (both from the same revision).  prog->val is the ELF (free with
 * fs_etcd_kv_free).  0, -ENOENT (never uploaded), or as fs_etcd_get.
 */
int fs_store_fetch(struct fs_etcd *e, const char *prefix, const char *tenant,
                   struct fs_etcd_kv *prog, uint64_t *version, char *err,
                   size_t errlen);

/* The etcd version of tenant's program in program_dir (NAME.version), 0
 * when there is none. */
uint64_t fs_store_cached_version(const char *program_dir, const char *tenant);

/*
 * Make elf[0..len) tenant t's program in this node if version is newer
 * than the copy in program_dir: store NAME.elf and NAME.version under the
 * directory lock, then bump the scoreboard so every process reloads it.
 * Versions only go forward, whichever process (worker after its upload,
 * the watcher) gets there first.  1 when applied (the scoreboard version
 * into *sbv, may be NULL), 0 when the copy is as new already, or -errno
 * with the reason in err.
 */
int fs_store_apply(const struct fs_tenant *t, struct fs_scoreboard *sb,
                   uint64_t version, const void *elf, size_t len, uint64_t *sbv,
                   char *err, size_t errlen);

/*
 * Bring each tenant of ts up to what etcd has: fetch, boot-check under
 * its limits, apply.  A program that does not boot here is logged and
 * left out (the node keeps its last good one).  The revision every
 * later change is newer than into *rev.  0, or -errno when etcd could not
 * be read (the reason in err): nothing more is known then.
 */
int fs_store_catch_up(struct fs_etcd *e, const char *prefix,
                      const struct fs_tenants *ts, struct fs_scoreboard *sb,
                      int64_t *rev, char *err, size_t errlen);

/*
 * The watcher: catch up, then watch PREFIX/tenants/ and apply each new
 * version within moments; when etcd goes away, keep serving what
 * program_dir has and try the endpoints again every second.  Never
 * returns (a process of its own: kill it to stop it).
 */
void fs_store_watch_forever(const char *endpoints, const char *prefix,
                            const struct fs_tenants *ts,
                            struct fs_scoreboard *sb) __attribute__((noreturn));

/*
 * In a worker (which has no network): send tenant's validated program over
 * fd, the master's end of which fs_store_serve answers, and wait up to
 * wait_ns for its fs_store_commit.  0 with the version in *version, or its
 * -errno with the reason in err; -ETIMEDOUT when no answer came in time
 * (the master may still commit it: a late answer is then told apart and
 * dropped), -EHOSTUNREACH when the master is gone.
 */
#define FS_STORE_ASK_WAIT_NS (30ULL * 1000000000) /* etcd calls time out */
int fs_store_ask(int fd, const char *tenant, const void *elf, size_t len,
                 uint64_t wait_ns, uint64_t *version, char *err, size_t errlen);

/*
 * In the master: read one fs_store_ask from fd, all of it within read_ns
 * (a worker that trickles it cannot hold the master), commit it to etcd
 * through e (tenant must be one of ts, by its name) and answer.  Blocks
 * for the commit.  0, or -errno when fd is done with (the worker left,
 * or broke the protocol or the time).
 */
#define FS_STORE_READ_NS (10ULL * 1000000000)
int fs_store_serve(int fd, struct fs_etcd *e, const char *prefix,
                   const struct fs_tenants *ts, uint64_t read_ns);

#endif
