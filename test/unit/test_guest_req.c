/* Unit tests for the request headers a tenant sees (fs_guest_headers):
 * CONTENT_TYPE and CONTENT_LENGTH from every front end, each once. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "guest_req.h"

#define N(a) (sizeof(a) / sizeof(a[0]))

static size_t headers(const struct fs_param *p, size_t n, size_t body_len,
                      struct kc_header *h)
{
	static char buf[1024];

	return fs_guest_headers(p, n, body_len, h, 16, buf, sizeof(buf));
}

/* The value of header name, and how many times it appears. */
static const char *find(const struct kc_header *h, size_t count,
                        const char *name, unsigned *times)
{
	static char v[256];
	size_t i;

	*times = 0;
	v[0] = 0;
	for (i = 0; i < count; i++)
		if (h[i].name.len == strlen(name) &&
		    memcmp(h[i].name.ptr, name, h[i].name.len) == 0) {
			(*times)++;
			snprintf(v, sizeof(v), "%.*s", (int)h[i].value.len,
			         h[i].value.ptr);
		}
	return v;
}

Test(guest_headers, http_params_become_lower_case_dashed)
{
	struct fs_param p[] = {{"HTTP_USER_AGENT", "curl/8"},
	                       {"REQUEST_URI", "/"},
	                       {"HTTP_X_CUSTOM_THING", "1"}};
	struct kc_header h[16];
	size_t n = headers(p, N(p), 0, h);
	unsigned t;

	cr_assert_eq(n, 2);
	cr_assert_str_eq(find(h, n, "user-agent", &t), "curl/8");
	cr_assert_str_eq(find(h, n, "x-custom-thing", &t), "1");
}

/* Apache, lighttpd and h2o: the CGI variables only. */
Test(guest_headers, content_type_and_length_from_cgi_variables)
{
	struct fs_param p[] = {{"CONTENT_TYPE", "application/json"},
	                       {"CONTENT_LENGTH", "17"},
	                       {"HTTP_HOST", "shop.example"}};
	struct kc_header h[16];
	size_t n = headers(p, N(p), 17, h);
	unsigned t;

	cr_assert_str_eq(find(h, n, "content-type", &t), "application/json");
	cr_assert_eq(t, 1);
	cr_assert_str_eq(find(h, n, "content-length", &t), "17");
	cr_assert_eq(t, 1);
	cr_assert_str_eq(find(h, n, "host", &t), "shop.example");
}

/* nginx sends both forms: each header once. */
Test(guest_headers, both_forms_give_one_header)
{
	struct fs_param p[] = {{"CONTENT_TYPE", "text/csv"},
	                       {"CONTENT_LENGTH", "3"},
	                       {"HTTP_CONTENT_TYPE", "text/csv"},
	                       {"HTTP_CONTENT_LENGTH", "3"}};
	struct kc_header h[16];
	size_t n = headers(p, N(p), 3, h);
	unsigned t;

	cr_assert_eq(n, 2);
	cr_assert_str_eq(find(h, n, "content-type", &t), "text/csv");
	cr_assert_eq(t, 1);
	cr_assert_str_eq(find(h, n, "content-length", &t), "3");
	cr_assert_eq(t, 1);
}

Test(guest_headers, empty_cgi_variables_are_no_headers)
{
	struct fs_param p[] = {{"CONTENT_TYPE", ""}, {"CONTENT_LENGTH", ""}};
	struct kc_header h[16];

	cr_assert_eq(headers(p, N(p), 0, h), 0);
}

/* A chunked body read to the end of stdin: its length, once. */
Test(guest_headers, body_without_content_length_gets_its_length)
{
	struct fs_param p[] = {{"HTTP_TRANSFER_ENCODING", "chunked"}};
	struct kc_header h[16];
	size_t n = headers(p, N(p), 204800, h);
	unsigned t;

	cr_assert_str_eq(find(h, n, "content-length", &t), "204800");
	cr_assert_eq(t, 1);
	cr_assert_str_eq(find(h, n, "transfer-encoding", &t), "chunked");
}

Test(guest_headers, names_that_do_not_fit_are_left_out)
{
	struct fs_param p[] = {{"HTTP_A", "1"}, {"HTTP_LONGER_NAME", "2"}};
	struct kc_header h[4];
	char buf[4];

	cr_assert_eq(fs_guest_headers(p, N(p), 0, h, 4, buf, sizeof(buf)), 1);
	cr_assert_eq(fs_guest_headers(p, N(p), 0, h, 0, buf, sizeof(buf)), 0);
}
