/* Unit tests for fs_host_normalize: what becomes a routing key. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

/* Normalise from an exactly sized heap copy so ASan sees over-reads. */
static int host_norm(const char *in, size_t len, char *out, size_t outsize)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	cr_assert_not_null(copy);
	memcpy(copy, in, len);
	rc = fs_host_normalize(copy, len, out, outsize);
	free(copy);
	return rc;
}

Test(host, valid)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"example.com", "example.com"},
	    {"Example.COM", "example.com"},
	    {"example.com:8080", "example.com"},
	    {"example.com.", "example.com"},
	    {"EXAMPLE.com.:80", "example.com"},
	    {"example.com:", "example.com"},
	    {"a", "a"},
	    {"xn--bcher-kva.example", "xn--bcher-kva.example"},
	    {"my-host.test:65535", "my-host.test"},
	    {"127.0.0.1", "127.0.0.1"},
	    {"127.0.0.1:9000", "127.0.0.1"},
	    {"[::1]", "[::1]"},
	    {"[::1]:8080", "[::1]"},
	    {"[0:0::1]", "[::1]"},
	    {"[2001:DB8::A]:443", "[2001:db8::a]"},
	    {"[::FFFF:1.2.3.4]", "[::ffff:1.2.3.4]"},
	};
	char out[300];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = host_norm(cases[i].in, strlen(cases[i].in), out,
		                   sizeof(out));

		cr_assert_eq(rc, (int)strlen(cases[i].out), "%s", cases[i].in);
		cr_assert_str_eq(out, cases[i].out);
	}
}

Test(host, invalid)
{
	static const char *const cases[] = {
	    "",          ".",        "..",          ":80",     ".:80",
	    "a..b",      ".a",       "a.b..",       "a b",     " a",
	    "a ",        "a\tb",     "a\x01",       "a\x7f",   "a_b",
	    "a/b",       "a@b",      "caf\xc3\xa9", "a:80x",   "a:-1",
	    "a:65536",   "a:123456", "a:8:8",       "a: 80",   "[::1",
	    "[::1]x",    "[::1]:x",  "[]",          "[zz::1]", "[::1%eth0]",
	    "[1.2.3.4]", "[::1]]",   "[::1]:65536", "[[::1]]",
	};
	char out[300];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(
		    host_norm(cases[i], strlen(cases[i]), out, sizeof(out)),
		    -EINVAL, "\"%s\"", cases[i]);
}

Test(host, nul_inside_len)
{
	char out[32];

	cr_assert_eq(host_norm("a\0b", 3, out, sizeof(out)), -EINVAL);
	cr_assert_eq(host_norm("[::1\0]", 6, out, sizeof(out)), -EINVAL);
	cr_assert_eq(host_norm("a:8\0", 4, out, sizeof(out)), -EINVAL);
	/* Only len bytes count. */
	cr_assert_eq(host_norm("abc:80", 3, out, sizeof(out)), 3);
	cr_assert_str_eq(out, "abc");
}

Test(host, lengths)
{
	char in[300], out[300];
	size_t i;

	/* A 63-byte label is fine, 64 is not. */
	memset(in, 'a', 64);
	cr_assert_eq(host_norm(in, 63, out, sizeof(out)), 63);
	cr_assert_eq(host_norm(in, 64, out, sizeof(out)), -EINVAL);
	/* 253 bytes in all (plus an optional dot), not 254. */
	for (i = 0; i < sizeof(in); i++)
		in[i] = i % 50 == 49 ? '.' : 'b';
	in[252] = 'c';
	cr_assert_eq(host_norm(in, 253, out, sizeof(out)), 253);
	cr_assert_eq(strlen(out), 253);
	in[253] = '.';
	cr_assert_eq(host_norm(in, 254, out, sizeof(out)), 253);
	in[253] = 'c';
	cr_assert_eq(host_norm(in, 254, out, sizeof(out)), -EINVAL);
}

Test(host, small_output)
{
	char out[16];

	cr_assert_eq(host_norm("example.com", 11, out, 12), 11);
	cr_assert_str_eq(out, "example.com");
	cr_assert_eq(host_norm("example.com", 11, out, 11), -ENAMETOOLONG);
	cr_assert_eq(host_norm("example.com.:80", 15, out, 12), 11);
	cr_assert_eq(host_norm("[::1]", 5, out, 6), 5);
	cr_assert_str_eq(out, "[::1]");
	cr_assert_eq(host_norm("[::1]", 5, out, 5), -ENAMETOOLONG);
}
