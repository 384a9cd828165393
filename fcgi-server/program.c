/* Tenant programs: read from disk, booted into images, output logged. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
