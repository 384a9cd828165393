/* Unit tests for the value parsers: times, sizes, booleans, listeners. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "values.h"

#define MIB (1ULL << 20)
#define SEC 1000000000ULL

Test(values, parse_time)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t ns;
	} cases[] = {
	    {"0.3", 0, 300000000},
	    {"300ms", 0, 300000000},
	    {"2s", 0, 2 * SEC},
	    {"2S", 0, 2 * SEC},
	    {"1.5s", 0, 1500000000},
	    {"250us", 0, 250000},
	    {"10ns", 0, 10},
	    {"0", 0, 0},
	    {"007", 0, 7 * SEC},
	    {"0.000000001", 0, 1},
	    {"1.5ms", 0, 1500000},
	    {"18446744073709551615ns", 0, UINT64_MAX},
	    {"18446744073.709551615", 0, UINT64_MAX},
	    {"18446744073709551616ns", -ERANGE, 0},
	    {"18446744074s", -ERANGE, 0},
	    {"0.0000000001", -EINVAL, 0},
	    {"1.0000000000000000000000001", -EINVAL, 0},
	    {"1.5ns", -EINVAL, 0},
	    {"", -EINVAL, 0},
	    {"s", -EINVAL, 0},
	    {".5", -EINVAL, 0},
	    {"5.", -EINVAL, 0},
	    {"1..2", -EINVAL, 0},
	    {"1.2.3", -EINVAL, 0},
	    {"-1", -EINVAL, 0},
	    {"+1", -EINVAL, 0},
	    {" 1", -EINVAL, 0},
	    {"1 s", -EINVAL, 0},
	    {"1m", -EINVAL, 0},
	    {"1sec", -EINVAL, 0},
	    {"0x10", -EINVAL, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ns = 12345;

		cr_assert_eq(fs_parse_time(cases[i].s, &ns), cases[i].rc, "%s",
		             cases[i].s);
		cr_assert_eq(ns, cases[i].rc ? 12345 : cases[i].ns, "%s",
		             cases[i].s);
	}
}

Test(values, parse_size)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t bytes;
	} cases[] = {
	    {"1024", 0, 1024},
	    {"64M", 0, 64 * MIB},
	    {"64m", 0, 64 * MIB},
	    {"1k", 0, 1024},
	    {"1.5M", 0, 1572864},
	    {"0.5K", 0, 512},
	    {"16G", 0, 16ULL << 30},
	    {"0", 0, 0},
	    {"1.0", 0, 1},
	    {"17179869183G", 0, 17179869183ULL << 30},
	    {"17179869184G", -ERANGE, 0},
	    {"18446744073709551616", -ERANGE, 0},
	    {"1.1K", -EINVAL, 0},
	    {"1.5", -EINVAL, 0},
	    {"12Q", -EINVAL, 0},
	    {"1T", -EINVAL, 0},
	    {"1MB", -EINVAL, 0},
	    {"M", -EINVAL, 0},
	    {"", -EINVAL, 0},
	    {"-1", -EINVAL, 0},
	    {"1 M", -EINVAL, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t b = 12345;

		cr_assert_eq(fs_parse_size(cases[i].s, &b), cases[i].rc, "%s",
		             cases[i].s);
		cr_assert_eq(b, cases[i].rc ? 12345 : cases[i].bytes, "%s",
		             cases[i].s);
	}
}

Test(values, parse_bool)
{
	static const char *const yes[] = {"yes", "on",  "true",
	                                  "1",   "YES", "True"};
	static const char *const no[] = {"no", "off", "false", "0", "OFF"};
	static const char *const bad[] = {"", "2", "y", "n", "yes ", "enable"};
	size_t i;
	bool b;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		cr_assert_eq(fs_parse_bool(yes[i], &b), 0);
		cr_assert_eq(b, true, "%s", yes[i]);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		cr_assert_eq(fs_parse_bool(no[i], &b), 0);
		cr_assert_eq(b, false, "%s", no[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(fs_parse_bool(bad[i], &b), -EINVAL, "%s", bad[i]);
}

Test(values, parse_listen)
{
	static const char *const bad[] = {
	    "",           "9000",         "127.0.0.1:0",  "127.0.0.1:65536",
	    "127.0.0.1:", "localhost:80", "::1:9000",     "[::1]",
	    "[::1]:x",    "1.2.3:80",     "[1.2.3.4]:80", "1.2.3.4:+80",
	};
	struct sockaddr_storage sa;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
	struct sockaddr_un *un = (struct sockaddr_un *)&sa;
	char path[200];
	socklen_t len;
	size_t i;

	cr_assert_eq(fs_parse_listen("/run/a:b.sock", &sa, &len), 0);
	cr_assert_eq(sa.ss_family, AF_UNIX);
	cr_assert_str_eq(un->sun_path, "/run/a:b.sock");
	cr_assert_eq(fs_parse_listen("kvm-fpm.sock", &sa, &len), 0);
	cr_assert_eq(sa.ss_family, AF_UNIX);
	cr_assert_eq(fs_parse_listen("127.0.0.1:9000", &sa, &len), 0);
	cr_assert_eq(sa.ss_family, AF_INET);
	cr_assert_eq(len, sizeof(*in4));
	cr_assert_eq(ntohs(in4->sin_port), 9000);
	cr_assert_eq(ntohl(in4->sin_addr.s_addr), 0x7f000001);
	cr_assert_eq(fs_parse_listen("[::1]:65535", &sa, &len), 0);
	cr_assert_eq(sa.ss_family, AF_INET6);
	cr_assert_eq(len, sizeof(*in6));
	cr_assert_eq(ntohs(in6->sin6_port), 65535);
	cr_assert(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(fs_parse_listen(bad[i], &sa, &len), -EINVAL, "%s",
		             bad[i]);
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[sizeof(un->sun_path)] = '\0';
	cr_assert_eq(fs_parse_listen(path, &sa, &len), -EINVAL);
	path[sizeof(un->sun_path) - 1] = '\0';
	cr_assert_eq(fs_parse_listen(path, &sa, &len), 0);
}
