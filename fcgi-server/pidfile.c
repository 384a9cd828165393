/* The master's pid file: written at start, locked while the master runs
 * (flock, so that a second master is refused and a stale file is not
 * mistaken for a live one), removed at exit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "pidfile.h"

int fs_pidfile_create(const char *path, int *fd, char *err, size_t errlen)
{
	char buf[32];
	ssize_t n;
	int rc;

	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (*fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "pid file %s: %s", path, strerror(-rc));
		return rc;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB)) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		n = pread(*fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (rc == -EBUSY)
			snprintf(err, errlen,
			         "pid file %s: another kvm-fpm (pid %s) is "
			         "running",
			         path, buf[0] ? buf : "?");
		else
			snprintf(err, errlen, "pid file %s: %s", path,
			         strerror(-rc));
		close(*fd);
		*fd = -1;
		return rc;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(*fd, 0) || pwrite(*fd, buf, (size_t)n, 0) != n) {
		rc = -errno;
		snprintf(err, errlen, "pid file %s: %s", path, strerror(-rc));
		fs_pidfile_remove(path, *fd);
		*fd = -1;
		return rc;
	}
	return 0;
}

void fs_pidfile_remove(const char *path, int fd)
{
	if (fd < 0)
		return;
	/* Unlinked while still locked: no other master can take a file
	 * that is about to go. */
	unlink(path);
	close(fd);
}
