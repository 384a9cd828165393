/* The smallest useful tenant: a page built in main(), answered per request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvm-fpm.h"

static char page_head[512];
static size_t page_head_len;
static const char page_tail[] = "</code></p>\n</body>\n</html>\n";

/* Appends src HTML-escaped at dst; dst needs room for 6 bytes per input
 * byte.  Returns the number of bytes written. */
static size_t html_escape(char *dst, const char *src)
{
	char *d = dst;

	for (; *src; src++) {
		const char *rep = NULL;

		switch (*src) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		}
		if (rep) {
			size_t n = strlen(rep);

			memcpy(d, rep, n);
			d += n;
		} else {
			*d++ = *src;
		}
	}
	return (size_t)(d - dst);
}

/* Room for an 8 KiB URL, escaped: no allocation on the request path (a
 * request's heap growth is a system call, and is thrown away after it). */
#define URL_MAX 8192
static char page[1024 + 6 * URL_MAX + sizeof(page_tail)];

void my_backend(const char *url)
{
	char *p = page;

	if (strlen(url) > URL_MAX)
		backend_response_str(414, "text/plain", "URI too long\n");
	memcpy(p, page_head, page_head_len);
	p += page_head_len;
	p += html_escape(p, url);
	memcpy(p, page_tail, sizeof(page_tail) - 1);
	p += sizeof(page_tail) - 1;
	response_header("Cache-Control", "public, max-age=60");
	backend_response(200, "text/html; charset=utf-8", page,
	                 (size_t)(p - page));
}

int main(void)
{
	/* Runs once; every request starts from the state left here, so the
	 * time below is the snapshot's, the same in every answer. */
	int n =
	    snprintf(page_head, sizeof(page_head),
	             "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\">"
	             "<title>kvm-fpm</title></head>\n<body>\n"
	             "<h1>Hello from kvm-fpm</h1>\n"
	             "<p>Page prepared at Unix time %lld.</p>\n"
	             "<p>You asked for <code>",
	             (long long)time(NULL));

	if (n < 0 || (size_t)n >= sizeof(page_head))
		return 1;
	page_head_len = (size_t)n;
	return 0;
}
