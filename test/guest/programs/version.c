/* Live-update test tenant: a body that names its version (-DVERSION=N) on
 * every one of its 100 lines, so a reader can tell a whole body of one
 * version from a mix.  test/blackbox/upload_load.py builds the same text. */
#include <stdio.h>
#include <string.h>

#include "kvm-fpm.h"

#ifndef VERSION
#define VERSION 0
#endif

static char page[8192];
static size_t page_len;

/* "/?cache": cacheable for a minute (to see a cache's ban on upload);
 * anything else: never cached. */
void my_backend(const char *url)
{
	response_header("Cache-Control",
	                strstr(url, "cache") ? "max-age=60" : "no-store");
	backend_response(200, "text/plain", page, page_len);
}

int main(void)
{
	int i, n = snprintf(page, sizeof(page), "version %d\n", VERSION);

	for (i = 0; i < 100; i++)
		n += snprintf(
		    page + n, sizeof(page) - (size_t)n,
		    "%d:%03d ........................................\n",
		    VERSION, i);
	page_len = (size_t)n;
	return 0;
}
