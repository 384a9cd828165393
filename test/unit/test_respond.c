/* Unit tests for the answer's head: Content-Length on every answer (the
 * server's count, never the tenant's), and HEAD without a body. */
#include <criterion/criterion.h>
#include <string.h>

#include "respond.h"

static char out[4096];
static size_t out_len;
static unsigned writes;

static int capture(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	cr_assert_leq(out_len + len, sizeof(out) - 1);
	memcpy(out + out_len, buf, len);
	out_len += len;
	out[out_len] = 0;
	writes++;
	return 0;
}

static void reset(void)
{
	out_len = 0;
	out[0] = 0;
	writes = 0;
}

TestSuite(respond, .init = reset);

#define S(lit) ((struct kc_str){lit, sizeof(lit) - 1})

static struct kc_result ok(int status, struct kc_str headers,
                           struct kc_str body)
{
	struct kc_result res;

	memset(&res, 0, sizeof(res));
	res.status = KC_OK;
	res.http_status = status;
	res.content_type = S("text/html");
	res.headers = headers;
	res.body = body;
	return res;
}

Test(respond, a_tenant_answer_carries_its_length)
{
	struct kc_result res = ok(200, S("X-Menu: 3\r\n"), S("<p>hi</p>\n"));

	cr_assert_eq(fs_write_response(&res, capture, NULL), 0);
	cr_assert_str_eq(out, "Status: 200 OK\r\n"
	                      "Content-Type: text/html\r\n"
	                      "X-Menu: 3\r\n"
	                      "Content-Length: 10\r\n"
	                      "\r\n"
	                      "<p>hi</p>\n");
}

Test(respond, an_empty_body_has_length_zero)
{
	struct kc_result res = ok(200, S(""), S(""));

	cr_assert_eq(fs_write_response(&res, capture, NULL), 0);
	cr_assert_str_eq(out, "Status: 200 OK\r\nContent-Type: text/html\r\n"
	                      "Content-Length: 0\r\n\r\n");
}

/* The server counts the body; a tenant's own value (right or wrong) is
 * dropped, so that the answer never carries two. */
Test(respond, the_tenants_content_length_is_dropped)
{
	struct kc_result res =
	    ok(200,
	       S("X-A: 1\r\ncontent-LENGTH: 999\r\nX-B: 2\r\n"
	         "Content-Length: 5\r\n"),
	       S("12345"));

	cr_assert_eq(fs_write_response(&res, capture, NULL), 0);
	cr_assert_str_eq(out, "Status: 200 OK\r\nContent-Type: text/html\r\n"
	                      "X-A: 1\r\nX-B: 2\r\n"
	                      "Content-Length: 5\r\n\r\n12345");
}

/* So is its Transfer-Encoding: the answer is framed by its length (nginx
 * answers 502 to both at once). */
Test(respond, the_tenants_transfer_encoding_is_dropped)
{
	struct kc_result res =
	    ok(200, S("Transfer-Encoding: chunked\r\nX-A: 1\r\n"), S("12345"));

	cr_assert_eq(fs_write_response(&res, capture, NULL), 0);
	cr_assert_str_eq(out, "Status: 200 OK\r\nContent-Type: text/html\r\n"
	                      "X-A: 1\r\n"
	                      "Content-Length: 5\r\n\r\n12345");
}

/* Headers the front end would act on (nginx's internal redirect, a file
 * sent in the answer's place) and a second Status go too. */
Test(respond, headers_a_front_end_acts_on_are_dropped)
{
	struct kc_result res =
	    ok(302,
	       S("X-Accel-Redirect: /internal/other\r\nLocation: /next\r\n"
	         "x-accel-buffering: no\r\nX-Sendfile: /etc/shadow\r\n"
	         "X-Sendfile2: /etc/shadow 0-\r\n"
	         "X-LIGHTTPD-send-file: /etc/shadow\r\n"
	         "X-Lighttpd-Send-Tempfile: /tmp/x\r\nX-Reproxy-URL: "
	         "http://10.0.0.1/\r\nStatus: 200 OK\r\nX-Accelerated: 1\r\n"),
	       S(""));

	cr_assert_eq(fs_write_response(&res, capture, NULL), 0);
	cr_assert_str_eq(out, "Status: 302 Found\r\nContent-Type: text/html\r\n"
	                      "Location: /next\r\nX-Accelerated: 1\r\n"
	                      "Content-Length: 0\r\n\r\n");
}

/* Only the header named Content-Length goes. */
Test(respond, similar_names_stay)
{
	struct kc_result res =
	    ok(200, S("Content-Length-Hint: 4\r\nX-Content-Length: 4\r\n"),
	       S("abcd"));

	cr_assert_eq(fs_write_response(&res, capture, NULL), 0);
	cr_assert(strstr(out, "Content-Length-Hint: 4\r\n"));
	cr_assert(strstr(out, "X-Content-Length: 4\r\n"));
	cr_assert(strstr(out, "\r\nContent-Length: 4\r\n\r\nabcd"));
}

Test(respond, no_length_on_204_and_304)
{
	struct kc_result res = ok(204, S(""), S(""));

	cr_assert_eq(fs_write_response(&res, capture, NULL), 0);
	cr_assert_str_eq(out, "Status: 204 No Content\r\n"
	                      "Content-Type: text/html\r\n\r\n");
	reset();
	res.http_status = 304;
	cr_assert_eq(fs_write_response(&res, capture, NULL), 0);
	cr_assert_null(strstr(out, "Content-Length"));
}

Test(respond, the_servers_own_answers_carry_their_length)
{
	cr_assert_eq(
	    fs_write_plain(413, "request body too large\n", capture, NULL), 0);
	cr_assert_str_eq(out, "Status: 413 Content Too Large\r\n"
	                      "Content-Type: text/plain\r\n"
	                      "Content-Length: 23\r\n\r\n"
	                      "request body too large\n");
}

Test(respond, a_failed_run_is_a_plain_answer_with_length)
{
	struct kc_result res;

	memset(&res, 0, sizeof(res));
	res.status = KC_ERR_TIMEOUT;
	cr_assert_eq(fs_write_response(&res, capture, NULL), 0);
	cr_assert(strncmp(out, "Status: 504 Gateway Timeout\r\n", 29) == 0,
	          "%s", out);
	cr_assert(strstr(out, "\r\nContent-Length: "), "%s", out);
}

/* HEAD: the same head as GET, Content-Length included, and no body. */
Test(respond, head_only_passes_the_head_and_drops_the_body)
{
	struct kc_result res = ok(200, S("X-Menu: 3\r\n"), S("<p>hi</p>\n"));
	struct fs_head_only h;

	fs_head_only_init(&h, capture, NULL);
	cr_assert_eq(fs_write_response(&res, fs_head_only_write, &h), 0);
	cr_assert_str_eq(out, "Status: 200 OK\r\n"
	                      "Content-Type: text/html\r\n"
	                      "X-Menu: 3\r\n"
	                      "Content-Length: 10\r\n"
	                      "\r\n");
}

/* The blank line may be cut across writes at any byte. */
Test(respond, head_only_finds_the_blank_line_across_writes)
{
	static const char answer[] = "Status: 200 OK\r\nA: b\r\r\n\r\nbody";
	size_t cut;

	for (cut = 0; cut <= sizeof(answer) - 1; cut++) {
		struct fs_head_only h;

		reset();
		fs_head_only_init(&h, capture, NULL);
		cr_assert_eq(fs_head_only_write(&h, answer, cut), 0);
		cr_assert_eq(fs_head_only_write(&h, answer + cut,
		                                sizeof(answer) - 1 - cut),
		             0);
		cr_assert_str_eq(out, "Status: 200 OK\r\nA: b\r\r\n\r\n",
		                 "cut at %zu", cut);
	}
}
