/* Tenant programs: read from disk, booted into images, output logged. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadline.h"
#include "program.h"

int fs_program_read(const char *path, struct fs_program *p, char *err,
                    size_t errlen)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	p->elf = NULL;
	p->len = 0;
	if (fd < 0 || fstat(fd, &st)) {
		r = -errno;
		snprintf(err, errlen, "cannot open: %s", strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > FS_PROGRAM_MAX) {
		r = -EFBIG;
		snprintf(err, errlen, "not a regular file of at most %uM",
		         FS_PROGRAM_MAX >> 20);
		goto out;
	}
	p->elf = malloc(st.st_size ? (size_t)st.st_size : 1);
	r = p->elf ? 0 : -ENOMEM;
	while (r == 0 && got < (size_t)st.st_size) {
		n = read(fd, (char *)p->elf + got, (size_t)st.st_size - got);
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			got += (size_t)n;
	}
	if (r)
		snprintf(err, errlen, "cannot read: %s", strerror(-r));
	p->len = got;
out:
	if (fd >= 0)
		close(fd);
	if (r)
		fs_program_free(p);
	return r;
}

void fs_program_free(struct fs_program *p)
{
	free(p->elf);
	p->elf = NULL;
	p->len = 0;
}

int fs_program_boot(const char *path, const struct kc_limits *lim,
                    kc_output_fn *out, void *out_ctx, struct fs_program *p,
                    struct kc_image **img, struct kc_vm **vm, char *err,
                    size_t errlen)
{
	int r = fs_program_read(path, p, err, errlen);

	if (r == 0)
		r = kc_image_boot(p->elf, p->len, lim, out, out_ctx, img, vm,
		                  err, errlen);
	if (r)
		fs_program_free(p);
	return r;
}

int fs_program_dir_lock(const char *dir, char *err, size_t errlen)
{
	int fd;

	if (mkdir(dir, 0750) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir,
		         strerror(errno));
		return -errno;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX)) {
		int r = -errno;

		snprintf(err, errlen, "cannot lock %s: %s", dir, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
}

int fs_program_store(int dirfd, const char *name, const void *data, size_t len,
                     char *err, size_t errlen)
{
	const char *step = "create";
	char tmp[512];
	int fd, r;

	snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", name, (long)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	step = "write";
	r = fs_write_all(fd, data, len);
	if (r == 0) {
		step = "fsync";
		r = fsync(fd) ? -errno : 0;
	}
	if (close(fd) && r == 0)
		r = -errno;
	if (r == 0) {
		step = "rename";
		r = renameat(dirfd, tmp, dirfd, name) ? -errno : 0;
	}
	if (r)
		goto fail;
	/* The rename itself is durable only once the directory is. */
	step = "fsync the directory for";
	if (fsync(dirfd) == 0)
		return 0;
	r = -errno;
fail:
	unlinkat(dirfd, tmp, 0);
	snprintf(err, errlen, "cannot %s %s: %s", step, tmp, strerror(-r));
	return r;
}
