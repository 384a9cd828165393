/* libFuzzer harness: ini files through fs_conf_load (libinih and the key
 * tables of fcgi-server/conf.c), from a memfd the loader opens by path. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
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
 * KNOWN BUG, reported, not yet fixed (conf.c is not this harness's to
 * change): fs_conf_print() writes listen.mode, listen.owner and
 * listen.group for every config, and the loader refuses them when listen
 * is not a unix socket path, so `kvm-fpm -T` of any TCP listener does not
 * load back.  Until it is fixed, drop those lines for a TCP listener so
 * that the rest of the round trip is still checked.  Remove with the fix.
 */
static void drop_unix_only_keys(const struct fs_conf *c, char *text,
                                size_t *len)
{
	static const char *const keys[] = {"listen.mode ", "listen.owner ",
	                                   "listen.group "};
	struct sockaddr_storage sa;
	char *line = text, *end;
	socklen_t salen;
	size_t i;

	if (!fs_parse_listen(c->listen, &sa, &salen) && sa.ss_family == AF_UNIX)
		return;
	while (line < text + *len) {
		end = memchr(line, '\n', (size_t)(text + *len - line));
		end = end ? end + 1 : text + *len;
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strncmp(line, keys[i], strlen(keys[i])))
				break;
		if (i == sizeof(keys) / sizeof(keys[0])) {
			line = end;
			continue;
		}
		memmove(line, end, (size_t)(text + *len - end) + 1);
		*len -= (size_t)(end - line);
	}
}

/*
 * KNOWN BUG 2, reported, not yet fixed: a value that starts with ';'
 * ("program =;x" loads as ";x") is printed as "program = ;x", which inih
 * reads back as an inline comment: an empty value.  Skip the round trip
 * for such configs until fs_conf_print() refuses or quotes them.
 */
static int starts_a_value_with_comment(const char *text)
{
	return strstr(text, "= ;") != NULL;
}

/*
 * KNOWN BUG 3, reported, not yet fixed: the loader refuses lines of 200
 * bytes and more counting the newline, and the printer writes "key = value"
 * with two more spaces than "key=value" (and a newline a last line may
 * lack), so a long value that loaded prints as a line that does not.
 * Skip the round trip when a printed line reaches the limit.
 */
#define LINE_LIMIT 200 /* INI_MAX_LINE: conf.c read_line() */

static int has_long_line(const char *text)
{
	const char *nl;

	for (; (nl = strchr(text, '\n')) != NULL; text = nl + 1)
		if (nl + 1 - text >= LINE_LIMIT)
			return 1;
	return 0;
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
	drop_unix_only_keys(&c, once, &len1);
	fs_conf_free(&c);
	if (starts_a_value_with_comment(once) || has_long_line(once)) {
		free(once);
		return 0;
	}

	path = as_file(once, len1);
	rc = fs_conf_load(path, &again, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "printed config does not load: %s\n%s", err,
		        once);
		abort();
	}
	twice = print(&again, &len2);
	drop_unix_only_keys(&again, twice, &len2);
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
