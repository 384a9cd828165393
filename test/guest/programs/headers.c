/* Response headers: two good ones, two refused; answers 201. */
#include <stdio.h>

#include "kvm-fpm.h"

/* Expected: 201 text/plain "bad_name=-1 inject=-1\n" with the headers
 * "X-Tenant: yes" and "Set-Cookie: a=b". */
void my_backend(const char *url)
{
	char body[64];
	int bad_name, inject;

	(void)url;
	if (response_header("X-Tenant", "yes") != 0 ||
	    response_header("Set-Cookie", "a=b") != 0)
		backend_response_str(500, "text/plain",
		                     "good header refused\n");
	bad_name = response_header("Bad Name", "x");
	inject = response_header("X-Inject", "a\r\nb");
	snprintf(body, sizeof(body), "bad_name=%d inject=%d\n", bad_name,
	         inject);
	backend_response_str(201, "text/plain", body);
}

int main(void)
{
	return 0;
}
