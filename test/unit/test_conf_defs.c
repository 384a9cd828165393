/* Unit tests for fs_conf's -d KEY=VALUE settings and key_dir, which let
 * `make run` serve etc/kvm-fpm.ini itself (reloads included). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

static char dir[] = "/tmp/kvm-fpm-defs-XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Write text to dir/name; returns the path (static). */
static const char *put(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static const char ini[] = "[global]\n"
                          "listen = /run/kvm-fpm/kvm-fpm.sock\n"
                          "listen.mode = 0660\n"
                          "user = kvm-fpm\n"
                          "status_allow = 10.0.0.1\n"
                          "[tenant:a.test]\n"
                          "program = p\n"
                          "[tenant:b.test]\n"
                          "program = p\n"
                          "key = from-the-file\n";

Test(conf_defs, override_the_file, .init = setup, .fini = teardown)
{
	char *defs[] = {
	    "listen=/tmp/run/x.sock", "user=",     "pid=/tmp/run/pid",
	    "status_allow=::1",       "workers=2", "workers=3"};
	struct fs_conf c, again;
	char err[512], path[128];

	snprintf(path, sizeof(path), "%s", put("kvm-fpm.ini", ini));
	cr_assert_eq(fs_conf_load_defs(path, defs, 6, &c, err, sizeof(err)), 0,
	             "%s", err);
	cr_assert_str_eq(c.listen, "/tmp/run/x.sock");
	cr_assert_null(c.user);
	cr_assert_str_eq(c.pid, "/tmp/run/pid");
	cr_assert_eq(c.workers, 3); /* the last -d wins */
	/* A list is replaced, not appended to. */
	cr_assert_eq(c.status_allow.n, 1);
	cr_assert_str_eq(c.status_allow.v[0], "::1");
	/* A reload reads the file again, with the same -d over it. */
	put("kvm-fpm.ini", "[global]\nworkers = 7\nlisten = /elsewhere\n");
	cr_assert_eq(fs_conf_reload(&c, &again, err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_str_eq(again.listen, "/tmp/run/x.sock");
	cr_assert_eq(again.workers, 3);
	cr_assert_eq(again.tenant_count, 0);
	fs_conf_free(&again);
	fs_conf_free(&c);
}

Test(conf_defs, errors, .init = setup, .fini = teardown)
{
	char *bad_key[] = {"nope=1"}, *bad_value[] = {"workers=many"},
	     *no_eq[] = {"workers"}, *tcp[] = {"listen=127.0.0.1:9000"},
	     *tenant_key[] = {"program=p"};
	struct fs_conf c;
	char err[512], want[512], path[128];

	snprintf(path, sizeof(path), "%s", put("kvm-fpm.ini", ini));
	cr_assert_eq(fs_conf_load_defs(path, bad_key, 1, &c, err, sizeof(err)),
	             -EINVAL);
	snprintf(want, sizeof(want),
	         "%s: -d \"nope=1\" is not KEY=VALUE with a [global] key",
	         path);
	cr_assert_str_eq(err, want);
	cr_assert_eq(
	    fs_conf_load_defs(path, tenant_key, 1, &c, err, sizeof(err)),
	    -EINVAL);
	cr_assert_eq(fs_conf_load_defs(path, no_eq, 1, &c, err, sizeof(err)),
	             -EINVAL);
	cr_assert_eq(
	    fs_conf_load_defs(path, bad_value, 1, &c, err, sizeof(err)),
	    -EINVAL);
	snprintf(want, sizeof(want),
	         "%s: -d [global] workers: \"many\" is not a whole number",
	         path);
	cr_assert_str_eq(err, want);
	/* The file's listen.mode does not apply to a -d TCP listen. */
	cr_assert_eq(fs_conf_load_defs(path, tcp, 1, &c, err, sizeof(err)),
	             -EINVAL);
	snprintf(want, sizeof(want),
	         "%s:3: [global] listen.mode: only applies when listen is a "
	         "unix socket path",
	         path);
	cr_assert_str_eq(err, want);
}

Test(conf_defs, key_dir, .init = setup, .fini = teardown)
{
	char defs0[160], *defs[] = {defs0};
	struct fs_conf c;
	char err[512], path[128], want[512];

	snprintf(path, sizeof(path), "%s", put("kvm-fpm.ini", ini));
	snprintf(defs0, sizeof(defs0), "key_dir=%s", dir);
	put("a.test.key", "generated-1\n");
	put("b.test.key", "not-used\n");
	cr_assert_eq(fs_conf_load_defs(path, defs, 1, &c, err, sizeof(err)), 0,
	             "%s", err);
	cr_assert_str_eq(c.tenants[0].key, "generated-1");
	cr_assert_str_eq(c.tenants[1].key, "from-the-file");
	fs_conf_free(&c);
	/* No file: no key (uploads refused), not an error. */
	put("a.test.key", "");
	unlink(put("a.test.key", ""));
	cr_assert_eq(fs_conf_load_defs(path, defs, 1, &c, err, sizeof(err)), 0,
	             "%s", err);
	cr_assert_null(c.tenants[0].key);
	fs_conf_free(&c);
	/* A key that could not be written in the file is refused. */
	put("a.test.key", ";x\n");
	cr_assert_eq(fs_conf_load_defs(path, defs, 1, &c, err, sizeof(err)),
	             -EINVAL);
	snprintf(want, sizeof(want),
	         "%s:6: [tenant:a.test] key: %s/a.test.key: \";x\" has a ';' "
	         "that would start a comment (put comments on a line of their "
	         "own)",
	         path, dir);
	cr_assert_str_eq(err, want);
}
