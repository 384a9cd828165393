/* A request's CGI-style parameters, as FastCGI and SCGI carry them. */
#ifndef FS_PARAM_H
#define FS_PARAM_H

#include <stddef.h>

/* A CGI-style parameter: "HTTP_HOST", "REQUEST_URI", ... */
struct fs_param {
	const char *name;
	const char *value;
};

/* The value of parameter name, or NULL. */
const char *fs_param_get(const struct fs_param *p, size_t n, const char *name);

#endif
