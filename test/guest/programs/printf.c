/* Writes to stdout and stderr (the server log), then answers "printed". */
#include <stdio.h>

#include "kvm-fpm.h"

void my_backend(const char *url)
{
	(void)url;
	printf("hello from guest %d\n", 42);
	fprintf(stderr, "warn\n");
	backend_response_str(200, "text/plain", "printed");
}

int main(void)
{
	return 0;
}
