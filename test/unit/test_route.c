/* Unit tests for routing from the CGI parameters alone (fs_route_params). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

static struct fs_conf conf;
static struct fs_tenant_conf tconf;
static struct fs_tenant tenant;
static struct fs_tenants tenants = {&tenant, 1};
static struct fs_router rt = {&conf, &tenants, false};

static void setup(void)
{
	cr_assert_eq(fs_conf_init(&conf), 0);
	fs_conf_tenant_init(&tconf);
	tconf.name = strdup("shop.example");
	tconf.key = strdup("s3cret");
	tconf.limits.max_body_size = 1000;
	conf.upload_max_size = 5000;
	tenant.conf = &tconf;
	tenant.sb = -1;
}

static void teardown(void)
{
	fs_conf_tenant_free(&tconf);
	fs_conf_free(&conf);
}

TestSuite(route, .init = setup, .fini = teardown);

#define P(...) ((struct fs_param[]){__VA_ARGS__})
#define N(a)   (sizeof(a) / sizeof(a[0]))

static struct fs_route route(const struct fs_param *p, size_t n)
{
	struct fs_route r;

	fs_route_params(&rt, p, n, &r);
	return r;
}

Test(route, a_known_host_goes_to_its_tenant)
{
	struct fs_param p[] = {{"REQUEST_METHOD", "GET"},
	                       {"REQUEST_URI", "/menu?x=1"},
	                       {"HTTP_HOST", "Shop.Example:8080"}};
	struct fs_route r = route(p, N(p));

	cr_assert_eq(r.kind, FS_ROUTE_TENANT);
	cr_assert_eq(r.tenant, &tenant);
	cr_assert_str_eq(r.host, "shop.example");
	cr_assert_not(r.head);
}

Test(route, head_is_marked)
{
	struct fs_param p[] = {{"REQUEST_METHOD", "HEAD"},
	                       {"HTTP_HOST", "shop.example"}};
	struct fs_route r = route(p, N(p));

	cr_assert_eq(r.kind, FS_ROUTE_TENANT);
	cr_assert(r.head);
}

Test(route, host_errors)
{
	struct fs_param none[] = {{"REQUEST_URI", "/"}};
	struct fs_param bad[] = {{"HTTP_HOST", "a b"}};
	struct fs_param unknown[] = {{"HTTP_HOST", "other.example"}};
	struct fs_route r = route(none, N(none));

	cr_assert_eq(r.kind, FS_ROUTE_ERROR);
	cr_assert_eq(r.status, 400);
	r = route(bad, N(bad));
	cr_assert_eq(r.status, 400);
	r = route(unknown, N(unknown));
	cr_assert_eq(r.kind, FS_ROUTE_ERROR);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(r.message, "unknown host\n");
}

Test(route, body_over_max_body_size_is_413_before_reading)
{
	struct fs_param at[] = {{"HTTP_HOST", "shop.example"},
	                        {"CONTENT_LENGTH", "1000"}};
	struct fs_param over[] = {{"HTTP_HOST", "shop.example"},
	                          {"CONTENT_LENGTH", "1001"}};
	struct fs_param junk[] = {{"HTTP_HOST", "shop.example"},
	                          {"CONTENT_LENGTH", "12x"}};
	struct fs_route r = route(at, N(at));

	cr_assert_eq(r.kind, FS_ROUTE_TENANT);
	cr_assert_eq(r.content_length, 1000);
	cr_assert(fs_route_reads_body(&r));
	r = route(over, N(over));
	cr_assert_eq(r.status, 413);
	cr_assert_not(fs_route_reads_body(&r));
	r = route(junk, N(junk));
	cr_assert_eq(r.status, 400);
}

Test(route, ping_and_status_by_path)
{
	struct fs_param ping[] = {{"REQUEST_URI", "/kvm-fpm/ping?probe"}};
	struct fs_param local[] = {{"REQUEST_URI", "/kvm-fpm/status?json"},
	                           {"REMOTE_ADDR", "127.0.0.9"}};
	struct fs_param far[] = {{"REQUEST_URI", "/kvm-fpm/status"},
	                         {"REMOTE_ADDR", "192.0.2.1"}};
	struct fs_param script[] = {{"SCRIPT_NAME", "/kvm-fpm/ping"}};

	cr_assert_eq(route(ping, N(ping)).kind, FS_ROUTE_PING);
	cr_assert_eq(route(script, N(script)).kind, FS_ROUTE_PING);
	cr_assert_eq(route(local, N(local)).kind, FS_ROUTE_STATUS);
	cr_assert_eq(route(far, N(far)).status, 403);
}

Test(route, status_listener_serves_no_tenant)
{
	struct fs_param p[] = {{"HTTP_HOST", "shop.example"}};
	struct fs_route r;

	rt.status_only = true;
	r = route(p, N(p));
	rt.status_only = false;
	cr_assert_eq(r.kind, FS_ROUTE_ERROR);
	cr_assert_eq(r.status, 404);
}

Test(route, live_update_checks_method_key_and_size)
{
	struct fs_param ok[] = {{"REQUEST_METHOD", "POST"},
	                        {"HTTP_HOST", "shop.example"},
	                        {"HTTP_X_LIVEUPDATE", "s3cret"},
	                        {"CONTENT_LENGTH", "4000"}};
	struct fs_route r = route(ok, N(ok));

	/* Over max_body_size but under upload_max_size: an upload. */
	cr_assert_eq(r.kind, FS_ROUTE_UPLOAD);
	ok[2].value = "wrong";
	cr_assert_eq(route(ok, N(ok)).status, 403);
	ok[2].value = "s3cret";
	ok[3].value = "5001";
	cr_assert_eq(route(ok, N(ok)).status, 413);
	ok[3].value = "";
	cr_assert_eq(route(ok, N(ok)).status, 411);
	ok[0].value = "GET";
	cr_assert_eq(route(ok, N(ok)).status, 405);
}
