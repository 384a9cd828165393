/* fs_scgi: incremental parsing of SCGI request headers (netstring form). */
#ifndef FS_SCGI_H
#define FS_SCGI_H

#include <stddef.h>
#include <stdint.h>

struct fs_scgi_header {
	const char *name, *value; /* point into the parsed buffer */
};

struct fs_scgi_req {
	struct fs_scgi_header *headers; /* in arrival order; owned */
	size_t count;
	uint64_t content_length; /* body bytes after the header block */
	size_t header_bytes;     /* bytes up to and including the ',' */
};

/*
 * Parse the SCGI header block at the start of buf[0..len).  Returns
 * header_bytes (> 0) once the block is complete and valid, filling req;
 * 0 when more input is needed; -EINVAL (malformed) or -E2BIG (netstring
 * longer than max_header_bytes) with a reason in err.  req need not be
 * initialised: it is filled on success and left zeroed (nothing to free)
 * otherwise; its strings point into buf, which must stay unchanged while
 * they are used.
 */
int fs_scgi_parse(const char *buf, size_t len, size_t max_header_bytes,
                  struct fs_scgi_req *req, char *err, size_t errlen);

/* Free what fs_scgi_parse allocated and zero req. */
void fs_scgi_req_free(struct fs_scgi_req *req);

/* The value of the first header called name (case-sensitive), or NULL. */
const char *fs_scgi_get(const struct fs_scgi_req *req, const char *name);

#endif
