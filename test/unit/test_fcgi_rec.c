/* Unit tests for the FastCGI record parser: every split of the input,
 * both length forms, hostile lengths, truncation, padding, management. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_rec.h"

/* ---- building input ------------------------------------------------- */

struct in {
	unsigned char b[200000];
	size_t len;
};

static void rec_pad(struct in *in, int type, unsigned id, const void *c,
                    size_t len, unsigned pad)
{
	unsigned char *h = in->b + in->len;

	cr_assert_leq(in->len + 8 + len + pad, sizeof(in->b));
	h[0] = 1;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = (unsigned char)pad;
	h[7] = 0;
	if (len)
		memcpy(h + 8, c, len);
	memset(h + 8 + len, 0xee, pad);
	in->len += 8 + len + pad;
}

static void rec(struct in *in, int type, unsigned id, const void *c, size_t len)
{
	rec_pad(in, type, id, c, len, 0);
}

static void begin(struct in *in, unsigned id, unsigned role, int flags)
{
	unsigned char b[8] = {(unsigned char)(role >> 8), (unsigned char)role,
	                      (unsigned char)flags};

	rec(in, FS_FCGI_BEGIN_REQUEST, id, b, 8);
}

/* Append a length in the 1-byte form, or the 4-byte one when long4. */
static size_t put_len(unsigned char *o, uint32_t n, bool long4)
{
	if (!long4 && n < 128) {
		o[0] = (unsigned char)n;
		return 1;
	}
	o[0] = (unsigned char)(n >> 24 | 0x80);
	o[1] = (unsigned char)(n >> 16);
	o[2] = (unsigned char)(n >> 8);
	o[3] = (unsigned char)n;
	return 4;
}

static size_t pair(unsigned char *o, const char *n, const char *v, bool long4)
{
	size_t k = put_len(o, (uint32_t)strlen(n), long4);

	k += put_len(o + k, (uint32_t)strlen(v), long4);
	memcpy(o + k, n, strlen(n));
	k += strlen(n);
	memcpy(o + k, v, strlen(v));
	return k + strlen(v);
}

/* A request as nginx sends it: begin, params, stdin. */
static void request(struct in *in, unsigned id, int flags, const char *body)
{
	unsigned char p[512];
	size_t n = 0;

	begin(in, id, FS_FCGI_RESPONDER, flags);
	n += pair(p + n, "REQUEST_METHOD", body ? "POST" : "GET", false);
	n += pair(p + n, "HTTP_HOST", "hello.test", false);
	n += pair(p + n, "QUERY_STRING", "", false);
	rec(in, FS_FCGI_PARAMS, id, p, n);
	rec(in, FS_FCGI_PARAMS, id, NULL, 0);
	if (body && *body)
		rec_pad(in, FS_FCGI_STDIN, id, body, strlen(body), 3);
	rec(in, FS_FCGI_STDIN, id, NULL, 0);
}

/* ---- running the parser, recording what it says --------------------- */

struct run {
	char log[65536];
	size_t len;
	int rc;
	bool in_stdin;
	bool finish_after_params; /* the request is answered at PARAMS */
};

static void say(struct run *r, const char *fmt, const char *s, size_t n)
{
	int k =
	    snprintf(r->log + r->len, sizeof(r->log) - r->len, fmt, (int)n, s);

	cr_assert_lt((size_t)k, sizeof(r->log) - r->len);
	r->len += (size_t)k;
}

static void record(struct fs_fcgi_rec *p, struct run *r,
                   const struct fs_fcgi_ev *ev)
{
	size_t i;

	if (ev->type != FS_FCGI_EV_STDIN)
		r->in_stdin = false;
	switch (ev->type) {
	case FS_FCGI_EV_BEGIN:
		say(r, "B%.*s ", "k", ev->keep_conn ? 1 : 0);
		break;
	case FS_FCGI_EV_PARAMS:
		say(r, "P%.*s{", "", 0);
		for (i = 0; i < p->npairs; i++) {
			say(r, "%.*s=", p->pairs[i].name,
			    strlen(p->pairs[i].name));
			say(r, "%.*s;", p->pairs[i].value,
			    strlen(p->pairs[i].value));
		}
		say(r, "}%.*s ", "", 0);
		if (r->finish_after_params)
			fs_fcgi_rec_finish(p);
		break;
	case FS_FCGI_EV_STDIN:
		if (!r->in_stdin)
			say(r, "S:%.*s", "", 0);
		r->in_stdin = true;
		say(r, "%.*s", (const char *)ev->data, ev->len);
		break;
	case FS_FCGI_EV_STDIN_END:
		say(r, " E%.*s ", "", 0);
		fs_fcgi_rec_finish(p);
		break;
	case FS_FCGI_EV_ABORT:
		say(r, "A%.*s ", "", 0);
		fs_fcgi_rec_finish(p);
		break;
	case FS_FCGI_EV_REPLY:
		say(r, "R:%.*s", "", 0);
		for (i = 0; i < ev->len; i++) {
			char hx[4];

			snprintf(hx, sizeof(hx), "%02x", ev->data[i]);
			say(r, "%.*s", hx, 2);
		}
		say(r, " %.*s", "", 0);
		break;
	}
}

/* Feed in[0..len) in chunks of the sizes in cuts (repeating the last). */
static void run_split(const struct in *in, const size_t *cuts, size_t ncuts,
                      struct run *r, struct fs_fcgi_rec *p)
{
	size_t pos = 0, c = 0;

	r->len = 0;
	r->log[0] = '\0';
	r->rc = 0;
	r->in_stdin = false;
	fs_fcgi_rec_init(p, 2, 2);
	while (pos < in->len && r->rc >= 0) {
		size_t n = cuts[c < ncuts ? c : ncuts - 1], at = 0;
		/* a copy of exactly the chunk, so ASan sees any over-read */
		unsigned char *chunk;

		c++;
		if (n > in->len - pos)
			n = in->len - pos;
		chunk = malloc(n);
		memcpy(chunk, in->b + pos, n);
		while (at < n) {
			struct fs_fcgi_ev ev;
			size_t used = 0;

			r->rc =
			    fs_fcgi_rec_next(p, chunk + at, n - at, &used, &ev);
			cr_assert_leq(used, n - at);
			at += used;
			if (r->rc < 0)
				break;
			if (r->rc > 0)
				record(p, r, &ev);
			else
				cr_assert_eq(at, n, "0 before the end");
		}
		free(chunk);
		pos += n;
	}
}

static struct fs_fcgi_rec *parser(void)
{
	static struct fs_fcgi_rec p;

	return &p;
}

/* Run whole, then split at every byte, then byte by byte: same story. */
static void expect(const struct in *in, bool finish_at_params, int rc,
                   const char *log)
{
	static struct run whole, split;
	size_t i, cut[2];

	whole.finish_after_params = split.finish_after_params =
	    finish_at_params;
	run_split(in, &in->len, 1, &whole, parser());
	cr_assert_eq(whole.rc < 0 ? whole.rc : 0, rc, "rc %d: %s", whole.rc,
	             parser()->why);
	cr_assert_str_eq(whole.log, log);
	/* every split of small inputs; a sample of the large ones */
	for (i = 1; i<in->len; i += in->len> 4096 ? 509 : 1) {
		cut[0] = i;
		cut[1] = in->len;
		run_split(in, cut, 2, &split, parser());
		cr_assert_str_eq(split.log, log, "split at %zu", i);
		cr_assert_eq(split.rc < 0 ? split.rc : 0, rc, "split at %zu",
		             i);
	}
	cut[0] = 1;
	run_split(in, cut, 1, &split, parser());
	cr_assert_str_eq(split.log, log, "byte by byte");
}

static struct in *input(void)
{
	static struct in in;

	in.len = 0;
	return &in;
}

#define GET_PARAMS "P{REQUEST_METHOD=GET;HTTP_HOST=hello.test;QUERY_STRING=;} "

/* ---- the tests ------------------------------------------------------- */

Test(fcgi_rec, get_request)
{
	struct in *in = input();

	request(in, 1, FS_FCGI_KEEP_CONN, NULL);
	expect(in, false, 0, "Bk " GET_PARAMS " E ");
	cr_assert_not(fs_fcgi_rec_busy(parser()));
}

Test(fcgi_rec, post_with_stdin_padding_and_keep_pair)
{
	struct in *in = input();

	request(in, 1, FS_FCGI_KEEP_CONN, "pizza=margherita");
	request(in, 1, 0, "two");
	expect(in, false, 0,
	       "Bk P{REQUEST_METHOD=POST;HTTP_HOST=hello.test;QUERY_STRING=;} "
	       "S:pizza=margherita E "
	       "B P{REQUEST_METHOD=POST;HTTP_HOST=hello.test;QUERY_STRING=;} "
	       "S:two E ");
}

Test(fcgi_rec, stdin_in_many_records)
{
	struct in *in = input();
	unsigned char p[64];
	size_t n = pair(p, "A", "b", false);

	begin(in, 7, FS_FCGI_RESPONDER, 0);
	rec(in, FS_FCGI_PARAMS, 7, p, n);
	rec(in, FS_FCGI_PARAMS, 7, NULL, 0);
	rec_pad(in, FS_FCGI_STDIN, 7, "abc", 3, 5);
	rec_pad(in, FS_FCGI_STDIN, 7, "defg", 4, 0);
	rec_pad(in, FS_FCGI_STDIN, 7, "h", 1, 255);
	rec(in, FS_FCGI_STDIN, 7, NULL, 0);
	expect(in, false, 0, "B P{A=b;} S:abcdefgh E ");
}

Test(fcgi_rec, four_byte_lengths)
{
	struct in *in = input();
	unsigned char p[2048];
	char name[201], value[301], want[1024];
	size_t n = 0;

	memset(name, 'N', 200);
	name[200] = 0;
	memset(value, 'v', 300);
	value[300] = 0;
	begin(in, 1, FS_FCGI_RESPONDER, 0);
	n += pair(p + n, name, value, false); /* long: 4-byte form */
	n += pair(p + n, "X", "y", true);     /* short, 4-byte form */
	rec(in, FS_FCGI_PARAMS, 1, p, n);
	rec(in, FS_FCGI_PARAMS, 1, NULL, 0);
	rec(in, FS_FCGI_STDIN, 1, NULL, 0);
	snprintf(want, sizeof(want), "B P{%s=%s;X=y;}  E ", name, value);
	expect(in, false, 0, want);
}

/* A pair may span records; the whole stream is what counts. */
Test(fcgi_rec, pair_across_records)
{
	struct in *in = input();
	unsigned char p[64];
	size_t n = pair(p, "NAME", "value", true);

	begin(in, 1, FS_FCGI_RESPONDER, 0);
	rec(in, FS_FCGI_PARAMS, 1, p, 3); /* inside the first length */
	rec(in, FS_FCGI_PARAMS, 1, p + 3, 7);
	rec(in, FS_FCGI_PARAMS, 1, p + 10, n - 10);
	rec(in, FS_FCGI_PARAMS, 1, NULL, 0);
	expect(in, false, 0, "B P{NAME=value;} ");
}

/* Declared lengths near 2^31 are refused when their bytes arrive, with no
 * allocation and without waiting for the end of the parameters. */
Test(fcgi_rec, huge_lengths_refused_at_once)
{
	static const uint32_t lens[] = {0x7fffffff, 0x7ffffffe, 65536, 65532};
	size_t i;

	for (i = 0; i < 4; i++) {
		struct in *in = input();
		unsigned char p[16];
		size_t n = put_len(p, lens[i], true);

		n += put_len(p + n, 1, false);
		memcpy(p + n, "abcd", 4);
		begin(in, 1, FS_FCGI_RESPONDER, 0);
		rec(in, FS_FCGI_PARAMS, 1, p, n + 4);
		expect(in, false, -E2BIG, "B ");
		cr_assert(strstr(parser()->why, "over the 64 KiB limit"), "%s",
		          parser()->why);
	}
}

Test(fcgi_rec, huge_value_length)
{
	struct in *in = input();
	unsigned char p[16];
	size_t n = put_len(p, 4, false);

	n += put_len(p + n, 0x7fffffff, true);
	memcpy(p + n, "NAME", 4);
	begin(in, 1, FS_FCGI_RESPONDER, 0);
	rec(in, FS_FCGI_PARAMS, 1, p, n + 4);
	expect(in, false, -E2BIG, "B ");
}

Test(fcgi_rec, params_over_64k)
{
	struct in *in = input();
	static unsigned char p[65535];
	size_t n = put_len(p, 60000, true);

	n += put_len(p + n, 5000, true);
	memset(p + n, 0, sizeof(p) - n); /* then empty pairs */
	begin(in, 1, FS_FCGI_RESPONDER, 0);
	/* a full record of 65535 bytes, then 2 more: 1 over 64 KiB */
	rec(in, FS_FCGI_PARAMS, 1, p, 65535);
	rec(in, FS_FCGI_PARAMS, 1, p, 2);
	expect(in, false, -E2BIG, "B ");
	cr_assert(strstr(parser()->why, "parameters over 65536 bytes"), "%s",
	          parser()->why);
}

Test(fcgi_rec, params_end_inside_a_pair)
{
	struct in *in = input();
	unsigned char p[64];
	size_t n = pair(p, "NAME", "value", false);

	begin(in, 1, FS_FCGI_RESPONDER, 0);
	rec(in, FS_FCGI_PARAMS, 1, p, n - 1);
	rec(in, FS_FCGI_PARAMS, 1, NULL, 0);
	expect(in, false, -EPROTO, "B ");
	/* and a length cut in half */
	in = input();
	begin(in, 1, FS_FCGI_RESPONDER, 0);
	rec(in, FS_FCGI_PARAMS, 1, "\x80\x00", 2);
	rec(in, FS_FCGI_PARAMS, 1, NULL, 0);
	expect(in, false, -EPROTO, "B ");
}

Test(fcgi_rec, too_many_pairs)
{
	struct in *in = input();
	static unsigned char p[4096];
	size_t i, n = 0;

	begin(in, 1, FS_FCGI_RESPONDER, 0);
	for (i = 0; i <= FS_FCGI_PAIRS_MAX; i++)
		n += pair(p + n, "A", "", false);
	rec(in, FS_FCGI_PARAMS, 1, p, n);
	rec(in, FS_FCGI_PARAMS, 1, NULL, 0);
	expect(in, false, -E2BIG, "B ");
}

Test(fcgi_rec, empty_names_dropped)
{
	struct in *in = input();
	unsigned char p[64];
	size_t n = pair(p, "", "x", false);

	n += pair(p + n, "A", "", false);
	begin(in, 1, FS_FCGI_RESPONDER, 0);
	rec(in, FS_FCGI_PARAMS, 1, p, n);
	rec(in, FS_FCGI_PARAMS, 1, NULL, 0);
	expect(in, false, 0, "B P{A=;} ");
}

/* Found by fuzz_fcgi: a name with a NUL in it would be looked up as a
 * shorter name (or an empty one). */
Test(fcgi_rec, nul_in_a_name)
{
	static const char *const names[] = {"\0HOST", "HTTP_HOST\0x", "A\0"};
	size_t i;

	for (i = 0; i < 3; i++) {
		struct in *in = input();
		unsigned char p[64];
		size_t nl = i == 0 ? 5 : i == 1 ? 11 : 2;

		p[0] = (unsigned char)nl;
		p[1] = 1;
		memcpy(p + 2, names[i], nl);
		p[2 + nl] = 'v';
		begin(in, 1, FS_FCGI_RESPONDER, 0);
		rec(in, FS_FCGI_PARAMS, 1, p, 3 + nl);
		rec(in, FS_FCGI_PARAMS, 1, NULL, 0);
		expect(in, false, -EPROTO, "B ");
		cr_assert_str_eq(parser()->why,
		                 "a parameter name contains a NUL byte");
	}
}

Test(fcgi_rec, truncated_input_waits)
{
	struct in *in = input();
	static struct run r;

	request(in, 1, 0, "body");
	/* every prefix: never an error, and busy once a byte came */
	for (size_t cut = 1; cut < in->len; cut++) {
		struct in part = *in;

		part.len = cut;
		run_split(&part, &part.len, 1, &r, parser());
		cr_assert_geq(r.rc, 0, "prefix %zu", cut);
		cr_assert(fs_fcgi_rec_busy(parser()), "prefix %zu", cut);
	}
}

Test(fcgi_rec, bad_records)
{
	struct in *in = input();

	rec(in, FS_FCGI_BEGIN_REQUEST, 1, "\0\1\0\0\0\0\0", 7);
	expect(in, false, -EPROTO, "");
	in = input();
	begin(in, 1, FS_FCGI_RESPONDER, 0);
	in->b[0] = 2; /* version */
	expect(in, false, -EPROTO, "");
	in = input();
	begin(in, 1, FS_FCGI_RESPONDER, 0);
	rec(in, FS_FCGI_STDIN, 1, "x", 1); /* before the params end */
	expect(in, false, -EPROTO, "B ");
	in = input();
	begin(in, 1, FS_FCGI_RESPONDER, 0);
	rec(in, FS_FCGI_PARAMS, 1, NULL, 0);
	rec(in, FS_FCGI_PARAMS, 1, "\1\1ab", 4); /* after their end */
	expect(in, false, -EPROTO, "B P{} ");
	in = input();
	begin(in, 1, FS_FCGI_RESPONDER, 0);
	begin(in, 1, FS_FCGI_RESPONDER, 0); /* the same request again */
	expect(in, false, -EPROTO, "B ");
}

Test(fcgi_rec, other_request_ids)
{
	struct in *in = input();
	unsigned char p[64];
	size_t n = pair(p, "A", "b", false);

	begin(in, 1, FS_FCGI_RESPONDER, 0);
	/* another request: refused, FCGI_MPXS_CONNS being 0 */
	begin(in, 2, FS_FCGI_RESPONDER, 0);
	rec(in, FS_FCGI_PARAMS, 2, "\1\1XY", 4); /* ignored */
	rec(in, FS_FCGI_PARAMS, 1, p, n);
	rec(in, FS_FCGI_STDIN, 2, "zz", 2);         /* ignored */
	rec(in, FS_FCGI_ABORT_REQUEST, 3, NULL, 0); /* ignored */
	rec(in, FS_FCGI_PARAMS, 1, NULL, 0);
	rec(in, FS_FCGI_DATA, 1, "data", 4); /* a responder ignores it */
	rec(in, 99, 1, "future", 6);
	rec(in, FS_FCGI_STDIN, 1, NULL, 0);
	expect(in, false, 0,
	       "B R:01030002000800000000000001000000 P{A=b;}  E ");
}

Test(fcgi_rec, unknown_role)
{
	struct in *in = input();

	begin(in, 5, 2 /* FCGI_AUTHORIZER */, 0);
	rec(in, FS_FCGI_PARAMS, 5, "\1\1ab", 4); /* no request: ignored */
	expect(in, false, 0, "R:01030005000800000000000003000000 ");
}

Test(fcgi_rec, get_values)
{
	struct in *in = input();
	unsigned char p[128];
	size_t n = 0;
	char want[512];

	n += pair(p + n, "FCGI_MPXS_CONNS", "", false);
	n += pair(p + n, "FCGI_UNHEARD_OF", "", false);
	n += pair(p + n, "FCGI_MAX_REQS", "", false);
	n += pair(p + n, "FCGI_MPXS_CONNS", "", false); /* answered once */
	rec(in, FS_FCGI_GET_VALUES, 0, p, n);
	/* result: MPXS_CONNS=0 then MAX_REQS=2, in the order asked */
	snprintf(want, sizeof(want), "R:01%02x0000%04x0000%s%s%s%s ",
	         FS_FCGI_GET_VALUES_RESULT, 2 + 15 + 1 + 2 + 13 + 1, "0f01",
	         "464347495f4d5058535f434f4e4e5330", "0d01",
	         "464347495f4d41585f5245515332");
	expect(in, false, 0, want);
}

Test(fcgi_rec, unknown_management_type)
{
	struct in *in = input();

	rec_pad(in, 0x42, 0, "whatever", 8, 4);
	rec(in, FS_FCGI_BEGIN_REQUEST, 0, "\0\1\0\0\0\0\0\0", 8);
	expect(in, false, 0,
	       "R:010b0000000800004200000000000000 "
	       "R:010b0000000800000100000000000000 ");
}

Test(fcgi_rec, zero_length_records)
{
	struct in *in = input();

	rec(in, FS_FCGI_DATA, 1, NULL, 0);
	rec(in, FS_FCGI_STDIN, 1, NULL, 0); /* no request: ignored */
	rec_pad(in, FS_FCGI_PARAMS, 9, NULL, 0, 7);
	request(in, 1, 0, NULL);
	expect(in, false, 0, "B " GET_PARAMS " E ");
}

Test(fcgi_rec, abort)
{
	struct in *in = input();

	begin(in, 1, FS_FCGI_RESPONDER, FS_FCGI_KEEP_CONN);
	rec(in, FS_FCGI_ABORT_REQUEST, 1, NULL, 0);
	request(in, 1, 0, NULL);
	expect(in, false, 0, "Bk A B " GET_PARAMS " E ");
}

/* Answered at its parameters, a request's stdin is skipped to its empty
 * record, and the next request is read as one (issue 13: Apache sends
 * that empty record after the answer). */
Test(fcgi_rec, tail_of_answered_request_skipped)
{
	struct in *in = input();

	request(in, 1, FS_FCGI_KEEP_CONN, "unread body");
	request(in, 1, FS_FCGI_KEEP_CONN, NULL);
	expect(in, true, 0,
	       "Bk P{REQUEST_METHOD=POST;HTTP_HOST=hello.test;QUERY_STRING=;} "
	       "Bk " GET_PARAMS);
}

Test(fcgi_rec, busy)
{
	struct fs_fcgi_rec *p = parser();
	struct in *in = input();
	struct fs_fcgi_ev ev;
	size_t used;

	request(in, 1, FS_FCGI_KEEP_CONN, NULL);
	fs_fcgi_rec_init(p, 1, 1);
	cr_assert_not(fs_fcgi_rec_busy(p));
	cr_assert_eq(fs_fcgi_rec_next(p, in->b, 3, &used, &ev), 0);
	cr_assert(fs_fcgi_rec_busy(p)); /* a request's first bytes */
	cr_assert_eq(fs_fcgi_rec_next(p, in->b + 3, in->len - 3, &used, &ev),
	             1);
	cr_assert_eq(ev.type, FS_FCGI_EV_BEGIN);
	cr_assert(fs_fcgi_rec_busy(p));
	/* answered: its tail is not a request to wait for */
	fs_fcgi_rec_finish(p);
	cr_assert_not(fs_fcgi_rec_busy(p));
}

Test(fcgi_rec, builders)
{
	unsigned char e[16], h[8];

	fs_fcgi_rec_end_request(e, 0x1234, 0xdeadbeef, 3);
	cr_assert_eq(
	    memcmp(e, "\1\3\x12\x34\0\x08\0\0\xde\xad\xbe\xef\3\0\0\0", 16), 0);
	fs_fcgi_rec_header(h, FS_FCGI_STDOUT, 1, 65535);
	cr_assert_eq(memcmp(h, "\1\6\0\1\xff\xff\0\0", 8), 0);
}
