/* libFuzzer harness: ini files through fs_conf_load (libinih and the key
 * tables of fcgi-server/conf.c), from a memfd the loader opens by path. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"

/* A file at a path holding data[0..size): one memfd, rewritten per input
 * (no temporary files left behind by a crash). */
static const char *as_file(const void *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz-conf", MFD_CLOEXEC);
		assert(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	assert(ftruncate(fd, 0) == 0);
	assert(pwrite(fd, data, size, 0) == (ssize_t)size);
	return path;
}

/* fs_conf_print() output, as a malloc'ed string. */
static char *print(const struct fs_conf *c, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	assert(f);
	fs_conf_print(c, f);
	assert(fclose(f) == 0);
	return text;
}

/*
 * A config that loads must print as an ini file that loads back to the
 * same config (what `kvm-fpm -T` promises); one that does not load must
 * say where and why.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = as_file(data, size);
	char err[512] = "", *once, *twice;
	struct fs_conf c, again;
	size_t len1, len2, i;
	int rc;

	rc = fs_conf_load(path, &c, err, sizeof(err));
	if (rc) {
		assert(rc < 0 && !strncmp(err, path, strlen(path)));
		return 0;
	}
	for (i = 0; i < c.tenant_count; i++)
		assert(fs_conf_find_tenant(&c, c.tenants[i].name) ==
		       &c.tenants[i]);
	once = print(&c, &len1);
	fs_conf_free(&c);

	path = as_file(once, len1);
	rc = fs_conf_load(path, &again, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "printed config does not load: %s\n%s", err,
		        once);
		abort();
	}
	twice = print(&again, &len2);
	if (len1 != len2 || memcmp(once, twice, len1)) {
		fprintf(stderr, "printed config changed on reload:\n%s\n--\n%s",
		        once, twice);
		abort();
	}
	fs_conf_free(&again);
	free(once);
	free(twice);
	return 0;
}
