/* Tenants in glibc C, C++ and Rust, musl with Debian's libraries, and the
 * system calls their runtimes make (issue 12). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest.h"

#define P(name) "build/programs/" name

Test(runtimes, system_calls_of_runtimes)
{
	struct guest g;

	guest_boot(&g, P("runtime_calls"), NULL);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g),
	                 "wake=0 changed=-11 timed=-110 poll=3/1/4/20 "
	                 "stack=8192K cpus=1 exe=/tenant\n");
	guest_free(&g);
}

Test(runtimes, futex_wait_never_woken_is_a_deadlock)
{
	static const char *const urls[] = {"/deadlock", "/mutex"};
	struct guest g;
	int i;

	guest_boot(&g, P("runtime_calls"), NULL);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(guest_get(&g, urls[i]), KC_ERR_DEADLOCK, "%s: %s",
		             urls[i], g.res.error);
		cr_assert(strstr(g.res.error, "deadlock: futex wait on 0x"),
		          "%s", g.res.error);
		cr_assert(strstr(g.res.error, "no other thread to wake it"),
		          "%s", g.res.error);
		cr_assert_eq(kc_vm_reset(g.vm), 0);
		cr_assert_eq(guest_get(&g, "/"), KC_OK, "after %s: %s", urls[i],
		             g.res.error);
		cr_assert_eq(kc_vm_reset(g.vm), 0);
	}
	guest_free(&g);
}

Test(runtimes, abort_ends_the_request_with_its_signal)
{
	struct guest g;

	guest_boot(&g, P("runtime_calls"), NULL);
	cr_assert_eq(guest_get(&g, "/abort"), KC_ERR_EXIT, "%s", g.res.error);
	cr_assert_str_eq(g.res.error,
	                 "the request was killed by signal 6 (SIGABRT)");
	cr_assert_str_eq(g.output, "2:giving up\n");
	guest_free(&g);
}

/* Rust parts are built only where rustc is (tenant-sdk/sdk.mk). */
static void require_built(const char *path)
{
	if (access(path, X_OK) != 0)
		cr_skip_test("%s was not built (no rustc?)", path);
}

Test(runtimes, cpp_example_answers)
{
	struct guest g;

	guest_boot(&g, "tenant-sdk/examples/glossary", NULL);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	cr_assert_eq(g.res.http_status, 200);
	cr_assert_str_eq(guest_body(&g),
	                 "<h1>Glossary</h1>\n<ul>\n"
	                 "<li><a href=\"/reset\">reset</a></li>\n"
	                 "<li><a href=\"/snapshot\">snapshot</a></li>\n"
	                 "<li><a href=\"/tenant\">tenant</a></li>\n</ul>\n");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/snapshot?x=1"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g),
	                 "<h1>snapshot</h1>\n<p>the VM as main() left it; "
	                 "every request starts from it</p>\n");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/nope"), KC_OK, "%s", g.res.error);
	cr_assert_eq(g.res.http_status, 404, "std::out_of_range caught");
	cr_assert_str_eq(g.output, "2:glossary: 3 terms\n"
	                           "2:glossary: no term /nope\n");
	guest_free(&g);
}

Test(runtimes, rust_example_answers)
{
	struct guest g;

	require_built("tenant-sdk/examples/primes");
	guest_boot(&g, "tenant-sdk/examples/primes", NULL);
	cr_assert_eq(guest_get(&g, "/?n=10"), KC_OK, "%s", g.res.error);
	cr_assert_eq(g.res.http_status, 200);
	cr_assert_str_eq(guest_body(&g), "prime number 10 is 29\n");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g),
	                 "9592 primes below 100000; ask /?n=10\n");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/?n=x"), KC_OK, "%s", g.res.error);
	cr_assert_eq(g.res.http_status, 400);
	cr_assert_str_eq(guest_body(&g),
	                 "n=\"x\": invalid digit found in string\n");
	cr_assert_str_eq(g.output, "2:primes: 9592 below 100000\n");
	guest_free(&g);
}

Test(runtimes, cpp_iostream_and_exceptions)
{
	struct guest g;

	guest_boot(&g, P("cpp_features"), NULL);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g), "built in main() 42\n");
	cr_assert_str_eq(g.output, "1:booted\n1:cout /\n2:cerr 7\n");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/caught"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g), "caught: bad input\n");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	g.output_len = 0;
	g.output[0] = 0;
	cr_assert_eq(guest_get(&g, "/uncaught"), KC_ERR_EXIT, "%s",
	             g.res.error);
	cr_assert_str_eq(g.res.error,
	                 "the request was killed by signal 6 (SIGABRT)");
	cr_assert(strstr(g.output, "2:terminate called after throwing an "
	                           "instance of 'std::logic_error'\n"),
	          "%s", g.output);
	cr_assert(strstr(g.output, "what():  nobody catches this\n"), "%s",
	          g.output);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/mutex"), KC_ERR_DEADLOCK, "%s",
	             g.res.error);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	guest_free(&g);
}

Test(runtimes, rust_panics_caught_and_uncaught)
{
	struct guest g;

	require_built(P("rust_panic"));
	guest_boot(&g, P("rust_panic"), NULL);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g), "ok\n");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/caught"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g), "caught: caught boom\n");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	g.output_len = 0;
	g.output[0] = 0;
	cr_assert_eq(guest_get(&g, "/uncaught"), KC_ERR_EXIT, "%s",
	             g.res.error);
	cr_assert_str_eq(g.res.error,
	                 "the request was killed by signal 6 (SIGABRT)");
	cr_assert(strstr(g.output, "panicked at "
	                           "test/guest/programs/rust_panic.rs:"),
	          "%s", g.output);
	cr_assert(strstr(g.output, "\n2:uncaught boom 42\n"), "%s", g.output);
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	guest_free(&g);
}

Test(runtimes, glibc_with_zlib_and_jansson)
{
	struct guest g;

	guest_boot(&g, P("libs_glibc"), NULL);
	cr_assert_eq(guest_get(&g, "/x"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g), "zlib=ok json={\"l\":[true,null],"
	                                 "\"n\":42,\"url\":\"/x\"}\n");
	guest_free(&g);
}

Test(runtimes, musl_with_debian_libraries)
{
	struct guest g;

	guest_boot(&g, P("libs_musl"), NULL);
	cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g),
	                 "zlib=ok sqlite=6 lua=42 json={\"lua\":42}\n");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/overflow"), KC_ERR_EXIT, "%s",
	             g.res.error);
	cr_assert_str_eq(g.output,
	                 "2:*** buffer overflow detected ***: terminated\n");
	guest_free(&g);
}

Test(runtimes, unknown_calls_are_logged_once_per_vm)
{
	struct kc_vm_stats st;
	struct guest g;
	int i;

	guest_boot(&g, P("fork_exec"), NULL);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
		cr_assert_eq(kc_vm_reset(g.vm), 0);
	}
	cr_assert_str_eq(g.output,
	                 "2:kvm-fpm: system call 57 is not emulated: ENOSYS "
	                 "(logged once per VM)\n"
	                 "2:kvm-fpm: system call 59 is not emulated: ENOSYS "
	                 "(logged once per VM)\n"
	                 "2:kvm-fpm: system call 41 is not emulated: ENOSYS "
	                 "(logged once per VM)\n");
	kc_vm_stats(g.vm, &st);
	cr_assert_eq(st.enosys, 6, "fork, execve, socket twice");
	guest_free(&g);
}

/* A data_dir for data_files: words, sub/other. */
static void make_data_dir(char *dir)
{
	char path[128];
	FILE *f;

	strcpy(dir, "/tmp/kc-data-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/words", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("alpha beta gamma", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/sub", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/sub/other", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
}

static void remove_data_dir(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(files, data_dir_read_only_and_reset_with_the_snapshot)
{
	struct kc_limits lim;
	struct guest g;
	char dir[32];
	int i;

	make_data_dir(dir);
	kc_limits_default(&lim);
	lim.data_dir = dir;
	guest_boot(&g, P("data_files"), &lim);
	for (i = 0; i < 2; i++) { /* the offset main() left, every time */
		cr_assert_eq(guest_get(&g, "/"), KC_OK, "%s", g.res.error);
		cr_assert_str_eq(guest_body(&g), "first=alpha rest=beta gamma "
		                                 "write=-1\n");
		cr_assert_eq(kc_vm_reset(g.vm), 0);
	}
	cr_assert_eq(guest_get(&g, "/open"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g), "fd=4\n");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/fd4"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g), "fd4=-1\n", "closed at the reset");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/list"), KC_OK, "%s", g.res.error);
	cr_assert(strstr(guest_body(&g), "words ") &&
	              strstr(guest_body(&g), "sub "),
	          "%s", guest_body(&g));
	guest_free(&g);
	remove_data_dir(dir);
}

Test(files, missing_data_dir_fails_to_load)
{
	struct kc_limits lim;
	struct guest g;

	kc_limits_default(&lim);
	lim.data_dir = "/nonexistent/kvm-fpm-data";
	guest_boot(&g, P("data_files"), &lim);
	cr_assert_neq(g.boot, 0);
	cr_assert(strstr(g.err, "data_dir /nonexistent/kvm-fpm-data: No such "
	                        "file or directory"),
	          "%s", g.err);
	guest_free(&g);
}

Test(files, sqlite_database_opened_in_main)
{
	struct kc_limits lim;
	struct guest g;
	char dir[32], cmd[512];

	make_data_dir(dir);
	snprintf(
	    cmd, sizeof(cmd),
	    "python3 -c \"import sqlite3; c = sqlite3.connect('%s/menu.db');"
	    " c.executescript('CREATE TABLE menu(name, toppings);"
	    " INSERT INTO menu VALUES (\\\"x\\\", \\\"olive,basil\\\"),"
	    " (\\\"y\\\", \\\"basil\\\"), (\\\"z\\\", \\\"ham\\\");');"
	    " c.commit()\"",
	    dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	kc_limits_default(&lim);
	lim.data_dir = dir;
	guest_boot(&g, P("sqlite_data"), &lim);
	cr_assert_eq(guest_get(&g, "/?q=basil"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g), "basil: 2\n");
	cr_assert_eq(kc_vm_reset(g.vm), 0);
	cr_assert_eq(guest_get(&g, "/?q=ham"), KC_OK, "%s", g.res.error);
	cr_assert_str_eq(guest_body(&g), "ham: 1\n");
	guest_free(&g);
	remove_data_dir(dir);
}
