/* libFuzzer harness: SCGI header blocks through fs_scgi_parse, called the
 * way the worker calls it. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scgi.h"

/* The worker's cap (worker.c SCGI_HEAD_MAX), and a small one that makes
 * the -E2BIG path reachable with short inputs. */
#define HEAD_MAX       (64 * 1024)
#define SMALL_HEAD_MAX 40

/* Whatever a parsed request holds must lie inside the header block. */
static void check_parsed(const char *buf, int total,
                         const struct fs_scgi_req *req)
{
	const char *end = buf + total;
	size_t i;

	assert(req->header_bytes == (size_t)total && buf[total - 1] == ',');
	assert(req->count >= 2); /* CONTENT_LENGTH and SCGI */
	assert(!strcmp(req->headers[0].name, "CONTENT_LENGTH"));
	assert(!strcmp(fs_scgi_get(req, "SCGI"), "1"));
	for (i = 0; i < req->count; i++) {
		const struct fs_scgi_header *h = &req->headers[i];

		assert(h->name > buf && h->name < end && *h->name);
		assert(h->value > h->name && h->value < end);
		assert(h->value + strlen(h->value) < end - 1);
	}
}

/*
 * One parse.  The worker hands in a struct fs_scgi_req on its stack, not
 * zeroed: poison it the same way, so that a parser reading or freeing
 * what was there before is caught (a worker killed by `4:abcd,`).
 */
static int parse(const char *buf, size_t len, size_t max)
{
	struct fs_scgi_req req;
	char err[160] = "";
	int rc;

	memset(&req, 0xa5, sizeof(req));
	rc = fs_scgi_parse(buf, len, max, &req, err, sizeof(err));
	if (rc > 0) {
		check_parsed(buf, rc, &req);
		fs_scgi_req_free(&req);
	} else if (rc < 0) {
		assert(rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
		assert(err[0] != '\0'); /* the worker logs the reason */
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	int rc = parse(buf, size, HEAD_MAX);

	/* Read as a stream: every shorter prefix of a complete block
	 * needs more input, and the exact block parses to itself. */
	if (rc > 0) {
		assert(parse(buf, (size_t)rc, HEAD_MAX) == rc);
		assert(parse(buf, (size_t)rc - 1, HEAD_MAX) == 0);
		assert(parse(buf, (size_t)rc / 2, HEAD_MAX) == 0);
	}
	parse(buf, size, SMALL_HEAD_MAX);
	return 0;
}
