/* Configuration test helpers shared by the conf suites (conf_text.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_text.h"

char *conf_write(const char *text)
{
	char *path = strdup("/tmp/kvm-fpm-conf-XXXXXX");
	int fd;

	cr_assert_not_null(path);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

int conf_load_text(const char *text, struct fs_conf *c, char *err,
                   size_t errlen)
{
	char *path = conf_write(text);
	int rc = fs_conf_load(path, c, err, errlen);

	unlink(path);
	free(path);
	return rc;
}

char *conf_print_text(const struct fs_conf *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	fs_conf_print(c, f);
	fclose(f);
	return text;
}
