/* Unit tests for fs_conf: loading, errors, -T round trip. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "conf_text.h"

#define MIB (1ULL << 20)
#define SEC 1000000000ULL

/* Loading text fails with rc and "<path><where>" exactly. */
static void conf_expect_error(const char *text, int rc, const char *where)
{
	char *path = conf_write(text), err[512], want[512];
	struct fs_conf c;

	memset(&c, 0xa5, sizeof(c));
	cr_assert_eq(fs_conf_load(path, &c, err, sizeof(err)), rc, "%s", err);
	snprintf(want, sizeof(want), "%s%s", path, where);
	cr_assert_str_eq(err, want);
	/* Nothing is left to free. */
	cr_assert_null(c.listen);
	cr_assert_null(c.tenants);
	unlink(path);
	free(path);
}

static const char conf_full[] =
    "[global]\n"
    "listen = /run/kvm-fpm/kvm-fpm.sock  ; unix path or host:port\n"
    "listen.mode = 0600\n"
    "listen.owner = www-data\n"
    "listen.group = www-data\n"
    "scgi_listen = 127.0.0.1:9001\n"
    "workers = 8\n"
    "max_requests = 1000\n"
    "max_vms = 16\n"
    "program_dir = /var/lib/kvm-fpm\n"
    "status_path = /st\n"
    "ping_path = /pi\n"
    "status_allow = 127.0.0.1, ::1 10.0.0.1\n"
    "log = /var/log/kvm-fpm.log\n"
    "log_level = debug\n"
    "access_log = /var/log/kvm-fpm.access\n"
    "debug_port = 3000\n"
    "upload_max_size = 32M\n"
    "request_read_timeout = 2.5s\n"
    "\n"
    "# a comment\n"
    "[tenant:XPizza.com]\n"
    "program = tenant-sdk/examples/png\n"
    "aliases = www.xpizza.com, Pizza.Test.  ,x.test\n"
    "key = secret\n"
    "max_request_time = 300ms\n"
    "max_boot_time = 1.5s\n"
    "max_memory = 512M\n"
    "max_request_memory = 32M\n"
    "max_response_size = 1.5M\n"
    "max_body_size = 4096\n"
    "stack_size = 1M\n"
    "allow_debug = yes\n"
    "debug_on_fault = on\n"
    "debug_wait = 250us\n"
    "debug_counts_time = true\n"
    "\n"
    "[tenant:other.test]\n"
    "program = /srv/other\n";

Test(conf, defaults)
{
	struct fs_conf c;

	cr_assert_eq(fs_conf_init(&c), 0);
	cr_assert_str_eq(c.listen, "/run/kvm-fpm/kvm-fpm.sock");
	cr_assert_eq(c.listen_mode, 0660);
	cr_assert_null(c.listen_owner);
	cr_assert_null(c.listen_group);
	cr_assert_null(c.scgi_listen);
	cr_assert_eq(c.workers, 4);
	cr_assert_eq(c.max_requests, 0);
	cr_assert_eq(c.max_vms, 64);
	cr_assert_str_eq(c.program_dir, "/var/lib/kvm-fpm");
	cr_assert_str_eq(c.status_path, "/kvm-fpm/status");
	cr_assert_str_eq(c.ping_path, "/kvm-fpm/ping");
	cr_assert_eq(c.status_allow.n, 0);
	cr_assert_null(c.log);
	cr_assert_eq(c.log_level, LOG_NOTICE);
	cr_assert_null(c.access_log);
	cr_assert_eq(c.debug_port, 2159);
	cr_assert_eq(c.upload_max_size, 64 * MIB);
	cr_assert_eq(c.request_read_timeout_ns, 5000000000ULL);
	cr_assert_eq(c.tenant_count, 0);
	fs_conf_free(&c);
}

Test(conf, tenant_defaults)
{
	struct fs_tenant_conf t;
	struct kc_limits l;

	kc_limits_default(&l);
	fs_conf_tenant_init(&t);
	cr_assert_eq(memcmp(&t.limits, &l, sizeof(l)), 0);
	cr_assert_null(t.program);
	cr_assert_null(t.key);
	cr_assert_eq(t.allow_debug, false);
	cr_assert_eq(t.debug_on_fault, false);
	cr_assert_eq(t.debug_counts_time, false);
	cr_assert_eq(t.debug_wait_ns, 30 * SEC);
	fs_conf_tenant_free(&t);
}

Test(conf, full)
{
	struct fs_conf c;
	const struct fs_tenant_conf *t;
	char err[512];

	cr_assert_eq(conf_load_text(conf_full, &c, err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_str_eq(c.listen, "/run/kvm-fpm/kvm-fpm.sock");
	cr_assert_eq(c.listen_mode, 0600);
	cr_assert_str_eq(c.listen_owner, "www-data");
	cr_assert_str_eq(c.listen_group, "www-data");
	cr_assert_str_eq(c.scgi_listen, "127.0.0.1:9001");
	cr_assert_eq(c.workers, 8);
	cr_assert_eq(c.max_requests, 1000);
	cr_assert_eq(c.max_vms, 16);
	cr_assert_str_eq(c.status_path, "/st");
	cr_assert_str_eq(c.ping_path, "/pi");
	cr_assert_eq(c.status_allow.n, 3);
	cr_assert_str_eq(c.status_allow.v[0], "127.0.0.1");
	cr_assert_str_eq(c.status_allow.v[1], "::1");
	cr_assert_str_eq(c.status_allow.v[2], "10.0.0.1");
	cr_assert_str_eq(c.log, "/var/log/kvm-fpm.log");
	cr_assert_eq(c.log_level, LOG_DEBUG);
	cr_assert_str_eq(c.access_log, "/var/log/kvm-fpm.access");
	cr_assert_eq(c.debug_port, 3000);
	cr_assert_eq(c.upload_max_size, 32 * MIB);
	cr_assert_eq(c.request_read_timeout_ns, 2500000000ULL);
	cr_assert_eq(c.tenant_count, 2);

	t = &c.tenants[0];
	cr_assert_str_eq(t->name, "xpizza.com");
	cr_assert_eq(t->line, 22);
	cr_assert_eq(t->aliases.n, 3);
	cr_assert_str_eq(t->aliases.v[0], "www.xpizza.com");
	cr_assert_str_eq(t->aliases.v[1], "pizza.test");
	cr_assert_str_eq(t->aliases.v[2], "x.test");
	cr_assert_str_eq(t->program, "tenant-sdk/examples/png");
	cr_assert_str_eq(t->key, "secret");
	cr_assert_eq(t->limits.max_request_time_ns, 300000000ULL);
	cr_assert_eq(t->limits.max_boot_time_ns, 1500000000ULL);
	cr_assert_eq(t->limits.max_memory, 512 * MIB);
	cr_assert_eq(t->limits.max_request_memory, 32 * MIB);
	cr_assert_eq(t->limits.max_response_size, 1572864);
	cr_assert_eq(t->limits.max_body_size, 4096);
	cr_assert_eq(t->limits.stack_size, MIB);
	cr_assert_eq(t->allow_debug, true);
	cr_assert_eq(t->debug_on_fault, true);
	cr_assert_eq(t->debug_wait_ns, 250000);
	cr_assert_eq(t->debug_counts_time, true);

	t = &c.tenants[1];
	cr_assert_str_eq(t->name, "other.test");
	cr_assert_null(t->key);
	cr_assert_eq(t->limits.max_memory, 256 * MIB);

	cr_assert_eq(fs_conf_find_tenant(&c, "pizza.test"), &c.tenants[0]);
	cr_assert_eq(fs_conf_find_tenant(&c, "xpizza.com"), &c.tenants[0]);
	cr_assert_eq(fs_conf_find_tenant(&c, "other.test"), &c.tenants[1]);
	cr_assert_null(fs_conf_find_tenant(&c, "nope.test"));
	fs_conf_free(&c);
	cr_assert_null(c.tenants);
}

Test(conf, layout_tolerated)
{
	/* Indentation, CRLF, a BOM, name: value and empty optional values. */
	static const char text[] = "\xef\xbb\xbf[global]\r\n"
	                           "    listen = 127.0.0.1:9000\r\n"
	                           "\tworkers: 2\r\n"
	                           "  scgi_listen =\r\n"
	                           "  [tenant:[0::1]] ; v6 literal\r\n"
	                           "    program = p\r\n"
	                           "    key =\r\n";
	struct fs_conf c;
	char err[512];

	cr_assert_eq(conf_load_text(text, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.listen, "127.0.0.1:9000");
	cr_assert_eq(c.workers, 2);
	cr_assert_null(c.scgi_listen);
	cr_assert_eq(c.tenant_count, 1);
	cr_assert_str_eq(c.tenants[0].name, "[::1]");
	cr_assert_str_eq(c.tenants[0].program, "p");
	cr_assert_null(c.tenants[0].key);
	fs_conf_free(&c);
}

Test(conf, long_section_and_repeated_list)
{
	/* Over inih's 50-byte section names; lists may be repeated. */
	static const char text[] =
	    "[tenant:a-very-long-host-name-that-inih-would-truncate."
	    "example.com]\n"
	    "program = p\n"
	    "aliases = a.test\n"
	    "aliases = b.test c.test\n";
	struct fs_conf c;
	char err[512];

	cr_assert_eq(conf_load_text(text, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(
	    c.tenants[0].name,
	    "a-very-long-host-name-that-inih-would-truncate.example.com");
	cr_assert_eq(c.tenants[0].aliases.n, 3);
	cr_assert_str_eq(c.tenants[0].aliases.v[2], "c.test");
	fs_conf_free(&c);
}

/* Every field the config file can set is equal. */
static void conf_assert_same(const struct fs_conf *a, const struct fs_conf *b)
{
	size_t i, j;

	cr_assert_str_eq(a->listen, b->listen);
	cr_assert_eq(a->listen_mode, b->listen_mode);
	cr_assert_str_eq(a->listen_owner ? a->listen_owner : "-",
	                 b->listen_owner ? b->listen_owner : "-");
	cr_assert_str_eq(a->scgi_listen ? a->scgi_listen : "-",
	                 b->scgi_listen ? b->scgi_listen : "-");
	cr_assert_eq(a->workers, b->workers);
	cr_assert_eq(a->max_requests, b->max_requests);
	cr_assert_eq(a->max_vms, b->max_vms);
	cr_assert_str_eq(a->program_dir, b->program_dir);
	cr_assert_str_eq(a->status_path, b->status_path);
	cr_assert_eq(a->status_allow.n, b->status_allow.n);
	cr_assert_str_eq(a->log ? a->log : "-", b->log ? b->log : "-");
	cr_assert_eq(a->log_level, b->log_level);
	cr_assert_eq(a->debug_port, b->debug_port);
	cr_assert_eq(a->upload_max_size, b->upload_max_size);
	cr_assert_eq(a->request_read_timeout_ns, b->request_read_timeout_ns);
	cr_assert_eq(a->tenant_count, b->tenant_count);
	for (i = 0; i < a->tenant_count; i++) {
		const struct fs_tenant_conf *s = &a->tenants[i],
		                            *t = &b->tenants[i];

		cr_assert_str_eq(s->name, t->name);
		cr_assert_str_eq(s->program, t->program);
		cr_assert_str_eq(s->key ? s->key : "-", t->key ? t->key : "-");
		cr_assert_eq(memcmp(&s->limits, &t->limits, sizeof(s->limits)),
		             0);
		cr_assert_eq(s->allow_debug, t->allow_debug);
		cr_assert_eq(s->debug_on_fault, t->debug_on_fault);
		cr_assert_eq(s->debug_counts_time, t->debug_counts_time);
		cr_assert_eq(s->debug_wait_ns, t->debug_wait_ns);
		cr_assert_eq(s->aliases.n, t->aliases.n);
		for (j = 0; j < s->aliases.n; j++)
			cr_assert_str_eq(s->aliases.v[j], t->aliases.v[j]);
	}
}

static void conf_round_trip(const char *text)
{
	struct fs_conf a, b;
	char err[512], *t1, *t2;

	cr_assert_eq(conf_load_text(text, &a, err, sizeof(err)), 0, "%s", err);
	t1 = conf_print_text(&a);
	cr_assert_eq(conf_load_text(t1, &b, err, sizeof(err)), 0, "%s\n%s", err,
	             t1);
	conf_assert_same(&a, &b);
	t2 = conf_print_text(&b);
	cr_assert_str_eq(t1, t2);
	free(t1);
	free(t2);
	fs_conf_free(&a);
	fs_conf_free(&b);
}

Test(conf, print_round_trip)
{
	conf_round_trip(conf_full);
	conf_round_trip("[global]\n");
}

Test(conf, print_exact)
{
	static const char want[] = "; kvm-fpm effective configuration\n"
	                           "[global]\n"
	                           "listen = 127.0.0.1:9000\n"
	                           "scgi_listen = off\n"
	                           "status_listen = off\n"
	                           "workers = 4\n"
	                           "max_requests = 0\n"
	                           "max_vms = 64\n"
	                           "program_dir = /var/lib/kvm-fpm\n"
	                           "status_path = /kvm-fpm/status\n"
	                           "ping_path = /kvm-fpm/ping\n"
	                           "status_allow =\n"
	                           "log = stderr\n"
	                           "log_level = notice\n"
	                           "access_log = off\n"
	                           "debug_port = 2159\n"
	                           "upload_max_size = 64M\n"
	                           "user =\n"
	                           "group =\n"
	                           "allow_run_as_root = no\n"
	                           "request_read_timeout = 5s\n"
	                           "pid = none\n"
	                           "key_dir = none\n"
	                           "program_store = dir\n"
	                           "etcd_endpoints =\n"
	                           "etcd_prefix = /kvm-fpm\n"
	                           "\n"
	                           "[tenant:a.test]\n"
	                           "program = p\n"
	                           "aliases = b.test\n"
	                           "key =\n"
	                           "max_request_time = 1500ms\n"
	                           "max_boot_time = 2s\n"
	                           "max_memory = 256M\n"
	                           "max_request_memory = 64M\n"
	                           "max_response_size = 16M\n"
	                           "max_body_size = 1025K\n"
	                           "stack_size = 8M\n"
	                           "max_log_size = 64K\n"
	                           "data_dir = none\n"
	                           "allow_debug = no\n"
	                           "debug_on_fault = no\n"
	                           "debug_wait = 30s\n"
	                           "debug_counts_time = no\n";
	struct fs_conf c;
	char err[512], *text;

	cr_assert_eq(conf_load_text("[global]\nlisten = 127.0.0.1:9000\n"
	                            "[tenant:a.test]\nprogram = p\n"
	                            "aliases = b.test\n"
	                            "max_request_time = 1.5\n"
	                            "max_body_size = 1049600\n",
	                            &c, err, sizeof(err)),
	             0, "%s", err);
	text = conf_print_text(&c);
	cr_assert_str_eq(text, want);
	free(text);
	fs_conf_free(&c);
}

Test(conf, print_wraps_long_lists)
{
	struct fs_conf c;
	struct fs_tenant_conf *t;
	char err[512], name[64], *text, *line;
	int i;

	cr_assert_eq(conf_load_text("[tenant:a.test]\nprogram = p\n", &c, err,
	                            sizeof(err)),
	             0);
	t = &c.tenants[0];
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "alias-number-%d.example.com", i);
		cr_assert_eq(
		    fs_conf_tenant_set(t, "aliases", name, err, sizeof(err)),
		    0);
	}
	text = conf_print_text(&c);
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		cr_assert_lt(strlen(line), 100, "%s", line);
	free(text);
	conf_round_trip("[tenant:a.test]\nprogram = p\n"
	                "aliases = a1.test a2.test a3.test a4.test a5.test "
	                "a6.test a7.test a8.test a9.test a10.test a11.test\n"
	                "aliases = a12.test a13.test a14.test\n");
	fs_conf_free(&c);
}

Test(conf, err_syntax)
{
	conf_expect_error("[global]\nworkers\n", -EINVAL,
	                  ":2: syntax error (expected [section] or key = "
	                  "value)");
	conf_expect_error("[global\n", -EINVAL,
	                  ":1: syntax error (expected [section] or key = "
	                  "value)");
	conf_expect_error("[global] workers = 3\n", -EINVAL,
	                  ":1: syntax error (expected [section] or key = "
	                  "value)");
}

Test(conf, err_unknown)
{
	conf_expect_error("[global]\nworkers = 4\nwrokers = 4\n", -EINVAL,
	                  ":3: [global] wrokers: unknown key");
	conf_expect_error("[tenant:a.test]\nprogram = p\nworkers = 4\n",
	                  -EINVAL, ":3: [tenant:a.test] workers: unknown key");
	conf_expect_error("[global]\n[pool]\n", -EINVAL,
	                  ":2: [pool]: unknown section (use [global] or "
	                  "[tenant:HOST])");
	conf_expect_error("workers = 4\n", -EINVAL,
	                  ":1: workers: is outside a section (start with "
	                  "[global] or [tenant:HOST])");
}

Test(conf, err_values)
{
	conf_expect_error("[tenant:xpizza.com]\nprogram = p\nmax_memory = "
	                  "12Q\n",
	                  -EINVAL,
	                  ":3: [tenant:xpizza.com] max_memory: \"12Q\" is not "
	                  "a size (use bytes with an optional K, M or G)");
	conf_expect_error("[tenant:a.test]\nmax_request_time = 1m\n", -EINVAL,
	                  ":2: [tenant:a.test] max_request_time: \"1m\" is not "
	                  "a time (use seconds with an optional s, ms, us or "
	                  "ns)");
	conf_expect_error("[tenant:a.test]\nallow_debug = maybe\n", -EINVAL,
	                  ":2: [tenant:a.test] allow_debug: \"maybe\" is not a "
	                  "boolean (use yes or no)");
	conf_expect_error("[tenant:a.test]\nstack_size = 99999999999G\n",
	                  -ERANGE,
	                  ":2: [tenant:a.test] stack_size: \"99999999999G\" is "
	                  "too large");
}

Test(conf, err_values_global)
{
	conf_expect_error("[global]\nworkers = 0\n", -EINVAL,
	                  ":2: [global] workers: \"0\" is out of range "
	                  "(1..1024)");
	conf_expect_error("[global]\nworkers = 4x\n", -EINVAL,
	                  ":2: [global] workers: \"4x\" is not a whole number");
	conf_expect_error("[global]\nupload_max_size = 0\n", -EINVAL,
	                  ":2: [global] upload_max_size: \"0\" is out of range "
	                  "(1..64M)");
	/* Above what a worker reads as a program (FS_PROGRAM_MAX); at the
	 * largest size the SCGI body's buffer (length + 1) would wrap. */
	conf_expect_error("[global]\nupload_max_size = 65M\n", -EINVAL,
	                  ":2: [global] upload_max_size: \"65M\" is out of "
	                  "range (1..64M)");
	conf_expect_error("[global]\nupload_max_size = 18446744073709551615\n",
	                  -EINVAL,
	                  ":2: [global] upload_max_size: "
	                  "\"18446744073709551615\" is out of range (1..64M)");
	conf_expect_error("[global]\nrequest_read_timeout = 0\n", -EINVAL,
	                  ":2: [global] request_read_timeout: \"0\" is out of "
	                  "range (1ms..3600s)");
	conf_expect_error("[global]\nlisten.mode = 0680\n", -EINVAL,
	                  ":2: [global] listen.mode: \"0680\" is not an octal "
	                  "file mode");
	conf_expect_error("[global]\nlog_level = loud\n", -EINVAL,
	                  ":2: [global] log_level: \"loud\" is not a log level "
	                  "(use debug, info, notice, warning or error)");
	conf_expect_error("[global]\nlisten = 9000\n", -EINVAL,
	                  ":2: [global] listen: \"9000\" is not a listen "
	                  "address (use a unix socket path, IPv4:port or "
	                  "[IPv6]:port)");
	conf_expect_error("[global]\nlisten =\n", -EINVAL,
	                  ":2: [global] listen: \"\" is not a listen address "
	                  "(use a unix socket path, IPv4:port or "
	                  "[IPv6]:port)");
	conf_expect_error("[global]\nprogram_dir =\n", -EINVAL,
	                  ":2: [global] program_dir: must not be empty");
	conf_expect_error("[global]\nprogram_store = s3\n", -EINVAL,
	                  ":2: [global] program_store: \"s3\" is neither dir "
	                  "nor etcd");
	conf_expect_error("[global]\nprogram_store = etcd\n", -EINVAL,
	                  ":2: [global] program_store: etcd needs "
	                  "etcd_endpoints");
	conf_expect_error("[global]\nstatus_path = status\n", -EINVAL,
	                  ":2: [global] status_path: \"status\" is not a URL "
	                  "path (start with /)");
	conf_expect_error("[global]\nstatus_allow = 127.0.0.1, localhost\n",
	                  -EINVAL,
	                  ":2: [global] status_allow: \"localhost\" is not an "
	                  "IP address");
	conf_expect_error("[tenant:a.test]\naliases = b.test, b_c.test\n",
	                  -EINVAL,
	                  ":2: [tenant:a.test] aliases: \"b_c.test\" is not a "
	                  "hostname");
	conf_expect_error("[tenant:a.test]\naliases = b.test:80\n", -EINVAL,
	                  ":2: [tenant:a.test] aliases: \"b.test:80\" is not a "
	                  "hostname");
}

Test(conf, err_twice)
{
	conf_expect_error("[global]\nworkers = 4\n\nworkers = 5\n", -EINVAL,
	                  ":4: [global] workers: set twice (first on line 2)");
	conf_expect_error("[global]\nworkers = 4\n[global]\n", -EINVAL,
	                  ":3: [global]: appears twice (first on line 1)");
}

Test(conf, err_tenant_section)
{
	conf_expect_error("[tenant:bad_host]\nprogram = p\n", -EINVAL,
	                  ":1: [tenant:bad_host]: \"bad_host\" is not a valid "
	                  "hostname");
	conf_expect_error("[tenant:a.test:80]\nprogram = p\n", -EINVAL,
	                  ":1: [tenant:a.test:80]: \"a.test:80\" is not a "
	                  "valid hostname");
	conf_expect_error("[tenant:]\n", -EINVAL,
	                  ":1: [tenant:]: \"\" is not a valid hostname");
}

Test(conf, err_missing_program)
{
	/* An empty section still counts, also at the end of the file. */
	conf_expect_error("[tenant:a.test]\n[global]\n", -EINVAL,
	                  ":1: [tenant:a.test] program: missing (the path of "
	                  "the tenant's program)");
	conf_expect_error("[global]\n\n[tenant:a.test]\nkey = k\n", -EINVAL,
	                  ":3: [tenant:a.test] program: missing (the path of "
	                  "the tenant's program)");
}

Test(conf, err_claimed)
{
	conf_expect_error("[tenant:a.test]\nprogram = p\n"
	                  "[tenant:A.Test.]\nprogram = q\n",
	                  -EINVAL,
	                  ":3: [tenant:A.Test.]: \"a.test\" is already claimed "
	                  "by [tenant:a.test] (line 1)");
	conf_expect_error(
	    "[tenant:a.test]\nprogram = p\naliases = w.a.test\n"
	    "[tenant:b.test]\nprogram = q\n"
	    "aliases = x.test, W.A.TEST\n",
	    -EINVAL,
	    ":6: [tenant:b.test] aliases: \"w.a.test\" is already "
	    "claimed by [tenant:a.test] (line 1)");
	conf_expect_error("[tenant:a.test]\nprogram = p\naliases = b.test\n"
	                  "[tenant:b.test]\nprogram = q\n",
	                  -EINVAL,
	                  ":4: [tenant:b.test]: \"b.test\" is already claimed "
	                  "by [tenant:a.test] (line 1)");
	conf_expect_error("[tenant:a.test]\nprogram = p\n"
	                  "aliases = b.test c.test b.test\n",
	                  -EINVAL,
	                  ":3: [tenant:a.test] aliases: \"b.test\" is listed "
	                  "twice");
	conf_expect_error("[tenant:a.test]\nprogram = p\naliases = a.test\n",
	                  -EINVAL,
	                  ":3: [tenant:a.test] aliases: \"a.test\" is the "
	                  "tenant's own name");
}

Test(conf, err_limits)
{
	conf_expect_error("\n[tenant:a.test]\nprogram = p\nmax_memory = 1M\n",
	                  -EINVAL,
	                  ":2: [tenant:a.test]: max_memory must be between 16M "
	                  "and 64G");
	conf_expect_error("[tenant:a.test]\nprogram = p\nmax_request_time = "
	                  "0\n",
	                  -EINVAL,
	                  ":1: [tenant:a.test]: time limits must be above "
	                  "zero");
}

Test(conf, err_global_checks)
{
	conf_expect_error("[global]\nlisten = 127.0.0.1:9000\n"
	                  "listen.owner = www-data\n",
	                  -EINVAL,
	                  ":3: [global] listen.owner: only applies when listen "
	                  "is a unix socket path");
	conf_expect_error("[global]\nlisten = [::1]:9000\n"
	                  "scgi_listen = [::1]:9000\n",
	                  -EINVAL,
	                  ":3: [global] scgi_listen: \"[::1]:9000\" is also "
	                  "listen");
	conf_expect_error("[global]\nping_path = /kvm-fpm/status\n", -EINVAL,
	                  ":2: [global] ping_path: \"/kvm-fpm/status\" is also "
	                  "status_path");
}

Test(conf, err_lines)
{
	char text[400];

	memset(text, 'x', sizeof(text));
	memcpy(text, "[global]\nlog = /", 16);
	strcpy(text + 300, "\n");
	conf_expect_error(text, -EINVAL, ":2: line is longer than 198 bytes");
}

Test(conf, err_nul_byte)
{
	static const char text[] = "[global]\nlog = a\0b\n";
	char *path = strdup("/tmp/kvm-fpm-conf-XXXXXX"), err[512], want[512];
	struct fs_conf c;
	int fd = mkstemp(path);

	cr_assert_eq(write(fd, text, sizeof(text) - 1),
	             (ssize_t)sizeof(text) - 1);
	close(fd);
	cr_assert_eq(fs_conf_load(path, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: line contains a NUL byte", path);
	cr_assert_str_eq(err, want);
	unlink(path);
	free(path);
}

Test(conf, err_no_file)
{
	struct fs_conf c;
	char err[512];

	cr_assert_eq(
	    fs_conf_load("/nonexistent/kvm-fpm.ini", &c, err, sizeof(err)),
	    -ENOENT);
	cr_assert_str_eq(err,
	                 "/nonexistent/kvm-fpm.ini: No such file or directory");
}

Test(conf, tenant_set_and_check)
{
	struct fs_tenant_conf t;
	char err[256];

	fs_conf_tenant_init(&t);
	cr_assert_eq(fs_conf_tenant_check(&t, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err,
	                 "program: missing (the path of the tenant's program)");
	cr_assert_eq(
	    fs_conf_tenant_set(&t, "program", "a.out", err, sizeof(err)), 0);
	cr_assert_eq(
	    fs_conf_tenant_set(&t, "max_request_time", "0.2", err, sizeof(err)),
	    0);
	cr_assert_eq(t.limits.max_request_time_ns, 200000000ULL);
	cr_assert_eq(
	    fs_conf_tenant_set(&t, "aliases", "A.test", err, sizeof(err)), 0);
	cr_assert_eq(fs_conf_tenant_set(&t, "aliases", "b.test, a.test", err,
	                                sizeof(err)),
	             0);
	cr_assert_eq(t.aliases.n, 3);
	cr_assert_eq(fs_conf_tenant_check(&t, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "aliases: \"a.test\" is listed twice");
	/* A bad item appends nothing. */
	cr_assert_eq(
	    fs_conf_tenant_set(&t, "aliases", "c.test bad!", err, sizeof(err)),
	    -EINVAL);
	cr_assert_str_eq(err, "aliases: \"bad!\" is not a hostname");
	cr_assert_eq(t.aliases.n, 3);
	cr_assert_eq(
	    fs_conf_tenant_set(&t, "max_memory", "8M", err, sizeof(err)), 0);
	cr_assert_eq(fs_conf_tenant_set(&t, "nope", "1", err, sizeof(err)),
	             -EINVAL);
	cr_assert_str_eq(err, "nope: unknown key");
	cr_assert_eq(fs_conf_tenant_set(&t, "key", "k", err, sizeof(err)), 0);
	cr_assert_str_eq(t.key, "k");
	cr_assert_eq(fs_conf_tenant_set(&t, "key", "", err, sizeof(err)), 0);
	cr_assert_null(t.key);
	fs_conf_tenant_free(&t);
	fs_conf_tenant_init(&t);
	fs_conf_tenant_set(&t, "program", "p", err, sizeof(err));
	fs_conf_tenant_set(&t, "max_memory", "8M", err, sizeof(err));
	cr_assert_eq(fs_conf_tenant_check(&t, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "max_memory must be between 16M and 64G");
	fs_conf_tenant_free(&t);
}
