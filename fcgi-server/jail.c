/* Worker privileges: the user and group workers switch to, what that user
 * may write, and the switch itself (groups, ids, capabilities). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jail.h"

#define NAME_BUF 16384 /* getpwnam_r/getgrnam_r scratch */

static int lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	char *buf = malloc(NAME_BUF);
	int r;

	if (buf == NULL)
		return -ENOMEM;
	r = getpwnam_r(name, &pw, buf, NAME_BUF, &res);
	if (r == 0 && res != NULL) {
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;
	}
	free(buf);
	return r ? -r : res ? 0 : -ENOENT;
}

static int lookup_group(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	char *buf = malloc(NAME_BUF);
	int r;

	if (buf == NULL)
		return -ENOMEM;
	r = getgrnam_r(name, &gr, buf, NAME_BUF, &res);
	if (r == 0 && res != NULL)
		*gid = gr.gr_gid;
	free(buf);
	return r ? -r : res ? 0 : -ENOENT;
}

int fs_jail_resolve(const struct fs_conf *c, bool allow_root, struct fs_jail *j,
                    char *err, size_t errlen, char *note, size_t notelen)
{
	int r;

	memset(j, 0, sizeof(*j));
	j->uid = geteuid();
	j->gid = getegid();
	note[0] = 0;
	allow_root = allow_root || c->allow_run_as_root;
	if (j->uid != 0) {
		uid_t want = j->uid;
		gid_t ignored;

		/* Said only when it differs: the systemd unit starts kvm-fpm
		 * as the very user the ini names. */
		if (c->user &&
		    (lookup_user(c->user, &want, &ignored) || want != j->uid))
			snprintf(
			    note, notelen,
			    "user = %s is ignored: kvm-fpm was not started "
			    "as root, workers run as uid %u",
			    c->user, (unsigned)j->uid);
		snprintf(j->name, sizeof(j->name), "%u:%u", (unsigned)j->uid,
		         (unsigned)j->gid);
		return 0;
	}
	if (c->user == NULL) {
		if (allow_root)
			goto root;
		snprintf(err, errlen,
		         "started as root without `user`: set user (and group) "
		         "in [global] for the workers, or allow root workers "
		         "with -R or allow_run_as_root = yes");
		return -EPERM;
	}
	r = lookup_user(c->user, &j->uid, &j->gid);
	if (r == 0 && c->group)
		r = lookup_group(c->group, &j->gid);
	if (r) {
		snprintf(err, errlen, "user %s or group %s: %s", c->user,
		         c->group ? c->group : "(primary)",
		         r == -ENOENT ? "no such user or group" : strerror(-r));
		return r == -ENOENT ? -ENOENT : -EINVAL;
	}
	if (j->uid == 0 && !allow_root) {
		snprintf(err, errlen,
		         "user %s is root: refused without -R or "
		         "allow_run_as_root = yes",
		         c->user);
		return -EPERM;
	}
	j->switch_user = j->uid != 0 || j->gid != 0;
root:
	snprintf(j->name, sizeof(j->name), "%s:%s", c->user ? c->user : "root",
	         c->group  ? c->group
	         : c->user ? "(primary)"
	                   : "root");
	return 0;
}

/* path (a directory) exists and belongs to j's user, with rwx for it.
 * nginx does the same for its temp paths; the master keeps root. */
static int grant_dir(const struct fs_jail *j, const char *path, char *err,
                     size_t errlen)
{
	struct stat st;

	if (mkdir(path, 0700) && errno != EEXIST)
		goto fail;
	if (stat(path, &st)) /* an admin's symlink to the real place is fine */
		goto fail;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		goto fail;
	}
	if ((st.st_uid != j->uid || st.st_gid != j->gid) &&
	    chown(path, j->uid, j->gid))
		goto fail;
	if ((st.st_mode & S_IRWXU) != S_IRWXU &&
	    chmod(path, (st.st_mode & 07777) | S_IRWXU))
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "program_dir %s: %s", path, strerror(errno));
	return -errno;
}

/* A log file the master opened: the workers reopen it by name.  Only a
 * regular file: `log = /dev/null` must not give /dev/null away. */
static int grant_file(const struct fs_jail *j, const char *path, char *err,
                      size_t errlen)
{
	struct stat st;

	if (path == NULL || lstat(path, &st) || !S_ISREG(st.st_mode) ||
	    lchown(path, j->uid, j->gid) == 0)
		return 0;
	snprintf(err, errlen, "log file %s: %s", path, strerror(errno));
	return -errno;
}

int fs_jail_grant(const struct fs_jail *j, const struct fs_conf *c, char *err,
                  size_t errlen)
{
	int r = 0;

	/* Root workers too: they have no CAP_DAC_OVERRIDE, and the
	 * directory may still belong to an earlier run's user. */
	if (geteuid() != 0)
		return 0;
	if (c->program_dir && c->program_dir[0])
		r = grant_dir(j, c->program_dir, err, errlen);
	if (r == 0)
		r = grant_file(j, c->log, err, errlen);
	if (r == 0)
		r = grant_file(j, c->access_log, err, errlen);
	return r;
}

/* Empty the bounding set, so that nothing this process may later run
 * (even as uid 0) gains a capability.  Needs CAP_SETPCAP; a process
 * without it has no capability to lose and no_new_privs guards exec. */
static int drop_bounding_set(void)
{
	cap_flag_value_t setpcap = CAP_CLEAR;
	cap_t now = cap_get_proc();
	cap_value_t c;

	if (now == NULL)
		return -errno;
	cap_get_flag(now, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
	cap_free(now);
	if (setpcap != CAP_SET)
		return 0;
	for (c = 0; CAP_IS_SUPPORTED(c); c++)
		if (cap_drop_bound(c) && errno != EINVAL)
			return -errno;
	return 0;
}

/* Every capability set empty: effective, permitted, inheritable and
 * ambient (a switch of uid clears the first two, not for uid 0). */
static int clear_capabilities(void)
{
	cap_t none = cap_init();
	int r;

	if (none == NULL)
		return -errno;
	r = cap_set_proc(none) ? -errno : 0;
	cap_free(none);
	if (r == 0 && CAP_AMBIENT_SUPPORTED() && cap_reset_ambient())
		r = -errno;
	return r;
}

static int switch_ids(const struct fs_jail *j)
{
	if (setgroups(0, NULL) || setresgid(j->gid, j->gid, j->gid) ||
	    setresuid(j->uid, j->uid, j->uid))
		return -errno;
	return 0;
}

/* Trust no return value alone: read everything back. */
static int verify(const struct fs_jail *j)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	cap_t now = cap_get_proc(), none = cap_init();
	int same = now && none && cap_compare(now, none) == 0;
	cap_value_t c;

	cap_free(now);
	cap_free(none);
	if (!same || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 ||
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -EPERM;
	for (c = 0; CAP_AMBIENT_SUPPORTED() && CAP_IS_SUPPORTED(c); c++)
		if (cap_get_ambient(c) == 1)
			return -EPERM;
	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg))
		return -errno;
	if (!j->switch_user)
		return 0;
	if (ru != j->uid || eu != j->uid || su != j->uid || rg != j->gid ||
	    eg != j->gid || sg != j->gid || getgroups(0, NULL) != 0)
		return -EPERM;
	/* A uid that can go back to root is not a dropped uid. */
	if (j->uid != 0 && setresuid(0, 0, 0) == 0)
		return -EPERM;
	return 0;
}

int fs_jail_enter(const struct fs_jail *j, char *err, size_t errlen)
{
	const char *step = "no_new_privs";
	int r = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ? -errno : 0;

	/* Not dumpable: no other process of the same uid (another worker)
	 * may open this one's /proc/PID/mem or ptrace it.  A switch of uid
	 * does this too; root workers (-R) need it said. */
	if (r == 0) {
		step = "dumpable";
		r = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) ? -errno : 0;
	}
	if (r == 0) {
		step = "capability bounding set";
		r = drop_bounding_set();
	}
	if (r == 0 && j->switch_user) {
		step = "setgroups/setresgid/setresuid";
		r = switch_ids(j);
	}
	if (r == 0) {
		step = "clearing capabilities";
		r = clear_capabilities();
	}
	if (r == 0) {
		step = "checking the result";
		r = verify(j);
	}
	if (r)
		snprintf(err, errlen, "cannot drop privileges to %s (%s): %s",
		         j->name, step, strerror(-r));
	return r;
}
