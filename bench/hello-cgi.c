/* The hello page as a CGI program, run by fcgiwrap once per request: the
 * process-isolation peer of the benchmark.  A compiled C program, so that
 * what it measures is the fork+exec, not an interpreter's start-up. */
#include <stdlib.h>
#include <unistd.h>

#include "hello-page.h"

int main(void)
{
	static char page[HELLO_PAGE_MAX];
	char head[512];
	const char *url = getenv("REQUEST_URI");
	size_t head_len = hello_head(head, sizeof(head)), n;

	n = hello_page(page, head, head_len, url ? url : "/");
	if (n == 0) {
		fputs("Status: 414\r\nContent-Type: text/plain\r\n\r\n"
		      "URI too long\n",
		      stdout);
		return 0;
	}
	fputs(HELLO_HEADERS, stdout);
	fwrite(page, 1, n, stdout);
	return 0;
}
