/* A request's CGI-style parameters. */
#include <string.h>

#include "param.h"

const char *fs_param_get(const struct fs_param *p, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return p[i].value;
	return NULL;
}
