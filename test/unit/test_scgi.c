/* Unit tests for fs_scgi_parse: valid requests, truncation, malformed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scgi.h"

/* The example from the SCGI spec, with its body. */
static const char scgi_spec[] = "70:"
                                "CONTENT_LENGTH\0"
                                "27\0"
                                "SCGI\0"
                                "1\0"
                                "REQUEST_METHOD\0"
                                "POST\0"
                                "REQUEST_URI\0"
                                "/deepthought\0"
                                ","
                                "What is the answer to life?";
#define SCGI_SPEC_HEAD 74

/* A netstring around the n strings of kv (each with its NUL). */
static size_t scgi_build(char *out, size_t size, const char *const *kv,
                         size_t n)
{
	size_t i, blk = 0, off;

	for (i = 0; i < n; i++)
		blk += strlen(kv[i]) + 1;
	off = (size_t)snprintf(out, size, "%zu:", blk);
	for (i = 0; i < n; i++) {
		memcpy(out + off, kv[i], strlen(kv[i]) + 1);
		off += strlen(kv[i]) + 1;
	}
	out[off++] = ',';
	cr_assert_lt(off, size);
	return off;
}

/* Parse from an exactly sized heap copy so ASan catches over-reads. */
static int scgi_parse_copy(const char *buf, size_t len, size_t max,
                           struct fs_scgi_req *req, char *err, size_t errlen)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	cr_assert_not_null(copy);
	memcpy(copy, buf, len);
	rc = fs_scgi_parse(copy, len, max, req, err, errlen);
	/* On success the headers point into copy: check, then drop them. */
	if (rc > 0) {
		cr_assert_eq(req->headers[0].name,
		             (char *)memchr(copy, ':', len) + 1);
		fs_scgi_req_free(req);
	}
	free(copy);
	return rc;
}

static void scgi_expect(const char *const *kv, size_t n, int rc,
                        const char *why)
{
	struct fs_scgi_req req = {0};
	char buf[512], err[128] = "";
	size_t len = scgi_build(buf, sizeof(buf), kv, n);

	cr_assert_eq(scgi_parse_copy(buf, len, 4096, &req, err, sizeof(err)),
	             rc, "%s", err);
	cr_assert_str_eq(err, why);
	cr_assert_null(req.headers);
	cr_assert_eq(req.count, 0);
}

Test(scgi, spec_example)
{
	struct fs_scgi_req req = {0};
	char err[128];
	int rc = fs_scgi_parse(scgi_spec, sizeof(scgi_spec) - 1, 4096, &req,
	                       err, sizeof(err));

	cr_assert_eq(rc, SCGI_SPEC_HEAD, "%s", err);
	cr_assert_eq(req.header_bytes, SCGI_SPEC_HEAD);
	cr_assert_eq(req.count, 4);
	cr_assert_eq(req.content_length, 27);
	cr_assert_str_eq(req.headers[2].name, "REQUEST_METHOD");
	cr_assert_str_eq(req.headers[2].value, "POST");
	cr_assert_str_eq(fs_scgi_get(&req, "REQUEST_URI"), "/deepthought");
	cr_assert_str_eq(fs_scgi_get(&req, "SCGI"), "1");
	cr_assert_null(fs_scgi_get(&req, "request_uri"));
	cr_assert_null(fs_scgi_get(&req, "QUERY_STRING"));
	cr_assert_eq(memcmp(scgi_spec + rc, "What", 4), 0);
	fs_scgi_req_free(&req);
	cr_assert_null(req.headers);
	cr_assert_eq(req.count, 0);
}

Test(scgi, header_only_and_empty_values)
{
	static const char *const kv[] = {"CONTENT_LENGTH", "0", "SCGI",   "1",
	                                 "QUERY_STRING",   "",  "HTTP_X", "a",
	                                 "HTTP_X",         "b"};
	struct fs_scgi_req req = {0};
	char buf[256], err[128];
	size_t len = scgi_build(buf, sizeof(buf), kv, 10);

	cr_assert_eq(fs_scgi_parse(buf, len, 4096, &req, err, sizeof(err)),
	             (int)len, "%s", err);
	cr_assert_eq(req.content_length, 0);
	cr_assert_str_eq(fs_scgi_get(&req, "QUERY_STRING"), "");
	/* Repeated headers are kept; lookups see the first. */
	cr_assert_eq(req.count, 5);
	cr_assert_str_eq(fs_scgi_get(&req, "HTTP_X"), "a");
	fs_scgi_req_free(&req);
}

Test(scgi, every_prefix_needs_more)
{
	struct fs_scgi_req req = {0};
	char err[128];
	size_t len;

	for (len = 0; len < SCGI_SPEC_HEAD; len++) {
		err[0] = '\0';
		cr_assert_eq(scgi_parse_copy(scgi_spec, len, 4096, &req, err,
		                             sizeof(err)),
		             0, "prefix %zu: %s", len, err);
		cr_assert_null(req.headers);
	}
	for (; len < sizeof(scgi_spec); len++)
		cr_assert_eq(scgi_parse_copy(scgi_spec, len, 4096, &req, err,
		                             sizeof(err)),
		             SCGI_SPEC_HEAD, "length %zu", len);
}

Test(scgi, bad_netstring)
{
	static const struct {
		const char *in;
		size_t max;
		int rc;
		const char *why;
	} cases[] = {
	    {"x", 4096, -EINVAL, "netstring length is not a decimal number"},
	    {"7x", 4096, -EINVAL, "netstring length is not a decimal number"},
	    {"-1:", 4096, -EINVAL, "netstring length is not a decimal number"},
	    {" 7:", 4096, -EINVAL, "netstring length is not a decimal number"},
	    {":", 4096, -EINVAL, "netstring length is missing"},
	    {"07:", 4096, -EINVAL, "netstring length has a leading zero"},
	    {"00", 4096, -EINVAL, "netstring length has a leading zero"},
	    {"4097", 4096, -E2BIG, "header block is too large"},
	    {"99999999999999999999", 1ULL << 40, -E2BIG,
	     "header block is too large"},
	    {"0:,", 4096, -EINVAL, "header block does not end with a NUL"},
	    {"3:a\0b;", 4096, -EINVAL, "netstring does not end with ','"},
	    {"3:abc,", 4096, -EINVAL, "header block does not end with a NUL"},
	    {"2:a\0,", 4096, -EINVAL,
	     "header block has a name without a value"},
	    {"3:\0a\0,", 4096, -EINVAL, "header with an empty name"},
	};
	struct fs_scgi_req req = {0};
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);

		/* Literals with NULs: measure up to the last character. */
		if (cases[i].in[0] == '3' || cases[i].in[0] == '2')
			len = (size_t)(cases[i].in[0] - '0') + 3;
		err[0] = '\0';
		cr_assert_eq(scgi_parse_copy(cases[i].in, len, cases[i].max,
		                             &req, err, sizeof(err)),
		             cases[i].rc, "case %zu: %s", i, err);
		cr_assert_str_eq(err, cases[i].why, "case %zu", i);
	}
}

Test(scgi, max_header_bytes)
{
	struct fs_scgi_req req = {0};
	char err[128];

	cr_assert_eq(scgi_parse_copy(scgi_spec, sizeof(scgi_spec) - 1, 70, &req,
	                             err, sizeof(err)),
	             SCGI_SPEC_HEAD);
	cr_assert_eq(scgi_parse_copy(scgi_spec, sizeof(scgi_spec) - 1, 69, &req,
	                             err, sizeof(err)),
	             -E2BIG);
	cr_assert_str_eq(err, "header block is too large");
}

Test(scgi, bad_headers)
{
	static const char *const not_first[] = {"SCGI", "1", "CONTENT_LENGTH",
	                                        "0"};
	static const char *const no_scgi[] = {"CONTENT_LENGTH", "0", "A", "b"};
	static const char *const scgi0[] = {"CONTENT_LENGTH", "0", "SCGI", "0"};
	static const char *const scgi2[] = {"CONTENT_LENGTH", "0", "SCGI", "1",
	                                    "SCGI",           "1"};
	static const char *const twice[] = {"CONTENT_LENGTH", "0", "SCGI", "1",
	                                    "CONTENT_LENGTH", "0"};
	static const char *const lc[] = {"content_length", "0", "SCGI", "1"};

	scgi_expect(not_first, 4, -EINVAL,
	            "first header is not CONTENT_LENGTH");
	scgi_expect(lc, 4, -EINVAL, "first header is not CONTENT_LENGTH");
	scgi_expect(no_scgi, 4, -EINVAL, "SCGI header is missing");
	scgi_expect(scgi0, 4, -EINVAL, "SCGI header is repeated or not \"1\"");
	scgi_expect(scgi2, 6, -EINVAL, "SCGI header is repeated or not \"1\"");
	scgi_expect(twice, 6, -EINVAL, "CONTENT_LENGTH appears twice");
}

Test(scgi, bad_content_length)
{
	static const char *const values[] = {"",
	                                     "abc",
	                                     "-1",
	                                     "+1",
	                                     " 1",
	                                     "1 ",
	                                     "0x10",
	                                     "18446744073709551616",
	                                     "99999999999999999999"};
	const char *kv[] = {"CONTENT_LENGTH", NULL, "SCGI", "1"};
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		kv[1] = values[i];
		scgi_expect(kv, 4, -EINVAL,
		            "CONTENT_LENGTH is not a decimal number");
	}
}

Test(scgi, big_content_length)
{
	const char *kv[] = {"CONTENT_LENGTH", "18446744073709551615", "SCGI",
	                    "1"};
	struct fs_scgi_req req = {0};
	char buf[128], err[128];
	size_t len = scgi_build(buf, sizeof(buf), kv, 4);

	cr_assert_eq(fs_scgi_parse(buf, len, 4096, &req, err, sizeof(err)),
	             (int)len);
	cr_assert_eq(req.content_length, UINT64_MAX);
	fs_scgi_req_free(&req);
}

/* A header block that fails before it is split ("4:abcd," has no NUL)
 * must not free what an uninitialised req held: the worker's req lives on
 * its stack, and these 7 bytes used to abort it. */
Test(scgi, garbage_req_on_early_failure)
{
	static const char *const inputs[] = {"4:abcd,", "2:a\0,", "3:abc,"};
	static const size_t lens[] = {7, 5, 6};
	struct fs_scgi_req req;
	char err[128];
	size_t i;

	for (i = 0; i < 3; i++) {
		memset(&req, 0xa5, sizeof(req));
		cr_assert_eq(fs_scgi_parse(inputs[i], lens[i], 4096, &req, err,
		                           sizeof(err)),
		             -EINVAL, "case %zu", i);
		cr_assert_null(req.headers, "case %zu", i);
		cr_assert_eq(req.count, 0, "case %zu", i);
	}
	/* Needing more input leaves nothing to free either. */
	memset(&req, 0xa5, sizeof(req));
	cr_assert_eq(fs_scgi_parse("4:ab", 4, 4096, &req, err, sizeof(err)), 0);
	cr_assert_null(req.headers);
}
