/* Unit tests for the master's pid file (fs_pidfile). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidfile.h"

static void read_file(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t got;

	cr_assert_not_null(f, "%s", path);
	got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
}

Test(pidfile, written_locked_removed)
{
	char path[] = "/tmp/kvm-fpm-pid-XXXXXX", buf[64], want[256], err[256];
	int fd, fd2;

	close(mkstemp(path)); /* a stale file: no master holds it */
	cr_assert_eq(fs_pidfile_create(path, &fd, err, sizeof(err)), 0, "%s",
	             err);
	read_file(path, buf, sizeof(buf));
	snprintf(want, sizeof(want), "%d\n", (int)getpid());
	cr_assert_str_eq(buf, want);
	/* A second master is refused and told who holds it; the file
	 * stays as it was. */
	cr_assert_eq(fs_pidfile_create(path, &fd2, err, sizeof(err)), -EBUSY);
	cr_assert_eq(fd2, -1);
	snprintf(want, sizeof(want),
	         "pid file %s: another kvm-fpm (pid %d) is running", path,
	         (int)getpid());
	cr_assert_str_eq(err, want);
	read_file(path, buf, sizeof(buf));
	cr_assert_eq(atoi(buf), getpid());
	fs_pidfile_remove(path, fd);
	cr_assert_eq(access(path, F_OK), -1);
	/* Free again once removed. */
	cr_assert_eq(fs_pidfile_create(path, &fd, err, sizeof(err)), 0, "%s",
	             err);
	fs_pidfile_remove(path, fd);
}

Test(pidfile, unwritable_place)
{
	char err[256];
	int fd;

	cr_assert_eq(fs_pidfile_create("/nonexistent/kvm-fpm.pid", &fd, err,
	                               sizeof(err)),
	             -ENOENT);
	cr_assert_str_eq(err, "pid file /nonexistent/kvm-fpm.pid: No such "
	                      "file or directory");
	fs_pidfile_remove("/nonexistent/kvm-fpm.pid", -1);
}
