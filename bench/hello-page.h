/* The bytes tenant-sdk/examples/hello answers, built the same way, for the
 * benchmark's peers (native libfcgi responder, CGI).  Header-only: each
 * peer is one small program. */
#ifndef BENCH_HELLO_PAGE_H
#define BENCH_HELLO_PAGE_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#define HELLO_URL_MAX 8192
#define HELLO_HEADERS                                                          \
	"Content-Type: text/html; charset=utf-8\r\n"                           \
	"Cache-Control: public, max-age=60\r\n\r\n"
#define HELLO_PAGE_MAX (1024 + 6 * HELLO_URL_MAX + 64)

static const char hello_tail[] = "</code></p>\n</body>\n</html>\n";

/* The head of the page, prepared once as hello's main() does. */
static size_t hello_head(char *buf, size_t len)
{
	int n =
	    snprintf(buf, len,
	             "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\">"
	             "<title>kvm-fpm</title></head>\n<body>\n"
	             "<h1>Hello from kvm-fpm</h1>\n"
	             "<p>Page prepared at Unix time %lld.</p>\n"
	             "<p>You asked for <code>",
	             (long long)time(NULL));

	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

/* head + url HTML-escaped + tail into page (HELLO_PAGE_MAX bytes); returns
 * the length, or 0 when the url is over HELLO_URL_MAX. */
static size_t hello_page(char *page, const char *head, size_t head_len,
                         const char *url)
{
	char *p = page;

	if (strlen(url) > HELLO_URL_MAX)
		return 0;
	memcpy(p, head, head_len);
	p += head_len;
	for (; *url; url++) {
		const char *rep = *url == '&'    ? "&amp;"
		                  : *url == '<'  ? "&lt;"
		                  : *url == '>'  ? "&gt;"
		                  : *url == '"'  ? "&quot;"
		                  : *url == '\'' ? "&#39;"
		                                 : NULL;

		if (rep) {
			memcpy(p, rep, strlen(rep));
			p += strlen(rep);
		} else {
			*p++ = *url;
		}
	}
	memcpy(p, hello_tail, sizeof(hello_tail) - 1);
	p += sizeof(hello_tail) - 1;
	return (size_t)(p - page);
}

#endif
