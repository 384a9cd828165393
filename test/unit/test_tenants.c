/* A tenant's program reloaded after an upload (fs_tenant_refresh), without
 * KVM: a program that fails to load never reaches a VM. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "kc_vm.h"
#include "scoreboard.h"
#include "tenants.h"

/* Another worker took an upload that this one cannot load (here: not an
 * ELF file; in the field, one its main() fails on): the program loaded
 * before goes on serving, where the tenant used to answer 503 until the
 * next upload. */
Test(tenants, a_new_program_that_fails_to_load_leaves_the_old_serving)
{
	struct fs_scoreboard *sb = fs_sb_create(1, 1);
	struct kc_image old = {.refs = 1};
	struct fs_tenant_conf conf;
	struct fs_tenant t = {0};
	char path[] = "/tmp/kvm-fpm-tenant-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_not_null(sb);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "not a program\n", 14), 14);
	close(fd);
	fs_conf_tenant_init(&conf);
	conf.name = "a.test";
	conf.program = path;
	t.conf = &conf;
	t.sb = fs_sb_tenant_slot(sb, "a.test");
	cr_assert_geq(t.sb, 0);
	t.img = &old;
	t.program = fs_sb_program(sb, t.sb);
	fs_sb_program_bump(sb, t.sb);
	fs_tenant_refresh(&t, sb);
	cr_assert_eq(t.img, &old, "the tenant lost the program it had");
	cr_assert_eq(old.refs, 1);
	cr_assert_neq(t.error[0], 0, "why it failed is kept for the log");
	cr_assert_eq(t.program, fs_sb_program(sb, t.sb),
	             "the failed version would be tried on every request");
	unlink(path);
	fs_sb_destroy(sb);
}
