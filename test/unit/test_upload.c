/* Unit tests for the live-update key check and the atomic program store. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "program.h"
#include "key.h"

Test(key, equal_keys_match)
{
	cr_assert(fs_key_equal("s3cret-key", "s3cret-key"));
}

Test(key, anything_else_is_refused)
{
	cr_assert_not(fs_key_equal("s3cret-key", "s3cret-kez"));
	cr_assert_not(fs_key_equal("s3cret-key", "s3cret-ke"));
	cr_assert_not(fs_key_equal("s3cret-key", "s3cret-key2"));
	cr_assert_not(fs_key_equal("s3cret-key", "s3cret-keys3cret-key"));
	cr_assert_not(fs_key_equal("s3cret-key", ""));
	cr_assert_not(fs_key_equal("s3cret-key", NULL));
}

Test(key, no_configured_key_refuses_all)
{
	cr_assert_not(fs_key_equal(NULL, "x"));
	cr_assert_not(fs_key_equal(NULL, ""));
	cr_assert_not(fs_key_equal("", ""));
}

static char *read_file(const char *path, size_t *len)
{
	static char buf[256];
	FILE *f = fopen(path, "rb");

	cr_assert_not_null(f, "%s", path);
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

Test(store, replaces_the_file_and_leaves_no_temporary)
{
	char dir[] = "/tmp/kvm-fpm-store.XXXXXX", path[256], err[256];
	size_t len;
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub", dir);
	fd = fs_program_dir_lock(path, err, sizeof(err)); /* creates sub */
	cr_assert_geq(fd, 0, "%s", err);
	cr_assert_eq(
	    fs_program_store(fd, "a.elf", "first", 5, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(
	    fs_program_store(fd, "a.elf", "second!", 7, err, sizeof(err)), 0,
	    "%s", err);
	close(fd);
	snprintf(path, sizeof(path), "%s/sub/a.elf", dir);
	cr_assert_eq(memcmp(read_file(path, &len), "second!", 7), 0);
	cr_assert_eq(len, 7);
	snprintf(path, sizeof(path), "rm -r %s/sub/a.elf %s/sub", dir, dir);
	/* rmdir fails if a temporary file is left next to a.elf. */
	cr_assert_eq(system(path), 0);
	cr_assert_eq(rmdir(dir), 0);
}

Test(store, a_missing_directory_parent_is_an_error)
{
	char err[256] = "";

	cr_assert_lt(
	    fs_program_dir_lock("/nonexistent/kvm-fpm/x", err, sizeof(err)), 0);
	cr_assert(strstr(err, "cannot create") != NULL, "%s", err);
}
