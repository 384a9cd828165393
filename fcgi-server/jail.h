/* fs_jail: the least privilege a worker runs with (user, group, no
 * capabilities, no new privileges), decided by the master. */
#ifndef FS_JAIL_H
#define FS_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf.h"

struct fs_jail {
	bool switch_user; /* the master is root: workers take uid/gid */
	uid_t uid;
	gid_t gid;
	char name[64]; /* "user:group", for the log */
};

/*
 * Decide whom the workers run as, in the master before any fork: the
 * `user` and `group` of c when the master runs as root (group defaults
 * to the user's primary group), else the master's own ids.  Workers that
 * would keep uid 0 are refused unless allow_root (the -R flag) or c's
 * allow_run_as_root says so.  0, or -EINVAL/-ENOENT/-EPERM with the
 * reason in err.  A non-root master that is given a `user` ignores it
 * and says so in *note (empty otherwise).
 */
int fs_jail_resolve(const struct fs_conf *c, bool allow_root, struct fs_jail *j,
                    char *err, size_t errlen, char *note, size_t notelen);

/*
 * In the master: give the workers' user what it must write, so that
 * workers need no privilege for it: program_dir (created 0700 when
 * missing, owned by the workers' user, like nginx's temp paths) and the
 * log files (reopened by every worker on SIGUSR1).  Does nothing unless
 * the master is root.  0, or a negative errno with the reason in err.
 */
int fs_jail_grant(const struct fs_jail *j, const struct fs_conf *c, char *err,
                  size_t errlen);

/*
 * In a new worker, before it touches a request: no new privileges, not
 * dumpable (no /proc/PID/mem for its peers), an empty capability bounding set
 * (when this process may change it), no ambient capabilities, then (when
 * j->switch_user) no supplementary groups, setresgid, setresuid, each checked,
 * and finally every capability set cleared.  Verifies the result.  0, or a
 * negative errno with the step that failed in err: the caller must not serve
 * then.
 */
int fs_jail_enter(const struct fs_jail *j, char *err, size_t errlen);

#endif
