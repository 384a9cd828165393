/* fs_status: render a scoreboard snapshot as text, JSON or OpenMetrics. */
#ifndef FS_STATUS_H
#define FS_STATUS_H

#include <stddef.h>

#include "scoreboard.h"

enum fs_status_format {
	FS_STATUS_TEXT = 0, /* PHP-FPM's plain "key: value" page */
	FS_STATUS_JSON,
	FS_STATUS_OPENMETRICS,
	FS_STATUS_FORMAT_MAX
};

/*
 * The format a status query string asks for: the '&'-separated tokens
 * "json" and "openmetrics" (the last one wins); anything else, an empty
 * or NULL query gives FS_STATUS_TEXT.  "full&json" is JSON.
 */
enum fs_status_format fs_status_format_from_query(const char *query);

/* The Content-Type header value for fmt. */
const char *fs_status_content_type(enum fs_status_format fmt);

/*
 * Render s in fmt into a malloc'ed NUL-terminated buffer *out of *len
 * bytes (not counting the NUL); the caller frees it.  0, -EINVAL for an
 * unknown format, or -ENOMEM (*out untouched).
 */
int fs_status_render(const struct fs_sb_snapshot *s, enum fs_status_format fmt,
                     char **out, size_t *len);

#endif
