/* Dirties exactly 64 pages of a static array in every request. */
#include "kvm-fpm.h"

#define PAGE   4096
#define NPAGES 64

static volatile unsigned char pages[NPAGES * PAGE]
    __attribute__((aligned(PAGE)));

void my_backend(const char *url)
{
	(void)url;
	for (int i = 0; i < NPAGES; i++)
		pages[i * PAGE + 17] = (unsigned char)(pages[i * PAGE] + 1);
	backend_response_str(200, "text/plain", "ok");
}

int main(void)
{
	/* Present in the snapshot, so a request only dirties them. */
	for (int i = 0; i < NPAGES; i++)
		pages[i * PAGE] = (unsigned char)i;
	return 0;
}
