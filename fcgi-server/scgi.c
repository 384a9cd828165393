/* SCGI request header parsing: "LEN:" + NUL-separated pairs + ",". */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scgi.h"

/* Netstring lengths have at most this many digits (fits any size_t cap). */
#define LEN_DIGITS_MAX 10

static int fail(char *err, size_t errlen, int rc, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return rc;
}

/*
 * Read "LEN:"; 0 = need more, else the offset of the header block, or a
 * negative errno.
 */
static long parse_netstring_len(const char *buf, size_t len, size_t max,
                                size_t *hlen, char *err, size_t errlen)
{
	size_t i, n = 0;

	for (i = 0; i < len && buf[i] != ':'; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return fail(err, errlen, -EINVAL,
			            "netstring length is not a decimal number");
		if (i == 1 && buf[0] == '0')
			return fail(err, errlen, -EINVAL,
			            "netstring length has a leading zero");
		if (i >= LEN_DIGITS_MAX)
			return fail(err, errlen, -E2BIG,
			            "header block is too large");
		n = n * 10 + (size_t)(buf[i] - '0');
		if (n > max)
			return fail(err, errlen, -E2BIG,
			            "header block is too large");
	}
	if (i == len)
		return 0;
	if (i == 0)
		return fail(err, errlen, -EINVAL,
		            "netstring length is missing");
	*hlen = n;
	return (long)i + 1;
}

/* A CONTENT_LENGTH value: 1..20 digits that fit in 64 bits. */
static int parse_content_length(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (*s < '0' || *s > '9' || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Split the block into name/value pairs; it ends in a NUL. */
static int split_headers(const char *blk, size_t hlen, struct fs_scgi_req *req,
                         char *err, size_t errlen)
{
	size_t i, nstr = 0, k = 0;
	const char *p;

	if (hlen == 0 || blk[hlen - 1] != '\0')
		return fail(err, errlen, -EINVAL,
		            "header block does not end with a NUL");
	for (i = 0; i < hlen; i++)
		nstr += blk[i] == '\0';
	if (nstr % 2)
		return fail(err, errlen, -EINVAL,
		            "header block has a name without a value");
	req->headers = calloc(nstr / 2, sizeof(*req->headers));
	if (!req->headers)
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (p = blk; k < nstr / 2; k++) {
		req->headers[k].name = p;
		p += strlen(p) + 1;
		req->headers[k].value = p;
		p += strlen(p) + 1;
		if (!*req->headers[k].name)
			return fail(err, errlen, -EINVAL,
			            "header with an empty name");
	}
	req->count = nstr / 2;
	return 0;
}

/* The rules on CONTENT_LENGTH and SCGI over the split headers. */
static int check_headers(struct fs_scgi_req *req, char *err, size_t errlen)
{
	const struct fs_scgi_header *h = req->headers;
	bool scgi = false;
	size_t i;

	if (strcmp(h[0].name, "CONTENT_LENGTH"))
		return fail(err, errlen, -EINVAL,
		            "first header is not CONTENT_LENGTH");
	if (parse_content_length(h[0].value, &req->content_length))
		return fail(err, errlen, -EINVAL,
		            "CONTENT_LENGTH is not a decimal number");
	for (i = 1; i < req->count; i++) {
		if (!strcmp(h[i].name, "CONTENT_LENGTH"))
			return fail(err, errlen, -EINVAL,
			            "CONTENT_LENGTH appears twice");
		if (strcmp(h[i].name, "SCGI"))
			continue;
		if (scgi || strcmp(h[i].value, "1"))
			return fail(err, errlen, -EINVAL,
			            "SCGI header is repeated or not \"1\"");
		scgi = true;
	}
	if (!scgi)
		return fail(err, errlen, -EINVAL, "SCGI header is missing");
	return 0;
}

int fs_scgi_parse(const char *buf, size_t len, size_t max_header_bytes,
                  struct fs_scgi_req *req, char *err, size_t errlen)
{
	size_t hlen = 0, start, total;
	long off;
	int rc;

	/* The parser owns *req: callers hand it whatever their stack held,
	 * and every failure path below frees what it holds. */
	memset(req, 0, sizeof(*req));
	/* The result is returned as an int. */
	if (max_header_bytes > INT_MAX - 32)
		max_header_bytes = INT_MAX - 32;
	off =
	    parse_netstring_len(buf, len, max_header_bytes, &hlen, err, errlen);
	if (off <= 0)
		return (int)off;
	start = (size_t)off;
	total = start + hlen + 1;
	if (len < total)
		return 0;
	if (buf[total - 1] != ',')
		return fail(err, errlen, -EINVAL,
		            "netstring does not end with ','");
	rc = split_headers(buf + start, hlen, req, err, errlen);
	if (!rc)
		rc = check_headers(req, err, errlen);
	if (rc) {
		fs_scgi_req_free(req);
		return rc;
	}
	req->header_bytes = total;
	return (int)total;
}

void fs_scgi_req_free(struct fs_scgi_req *req)
{
	free(req->headers);
	memset(req, 0, sizeof(*req));
}

const char *fs_scgi_get(const struct fs_scgi_req *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->count; i++)
		if (!strcmp(req->headers[i].name, name))
			return req->headers[i].value;
	return NULL;
}
