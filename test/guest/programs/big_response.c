/* Answers an 8 MiB body prepared in main(): byte i is i % 251. */
#include <stddef.h>

#include "kvm-fpm.h"

#define BIG_LEN (8u << 20)

static unsigned char big[BIG_LEN];

void my_backend(const char *url)
{
	(void)url;
	backend_response(200, "application/octet-stream", big, BIG_LEN);
}

int main(void)
{
	for (size_t i = 0; i < BIG_LEN; i++)
		big[i] = (unsigned char)(i % 251);
	return 0;
}
