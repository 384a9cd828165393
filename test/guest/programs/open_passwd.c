/* Hostile tenant: tries to open a host file; expects "open=-1 errno=2\n". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "kvm-fpm.h"

/* musl's open() is the Linux open syscall (2) on x86-64; the guest has no
 * files, so it must fail, with ENOENT (2): no path names anything. */
void my_backend(const char *url)
{
	char body[64];
	int fd;

	(void)url;
	errno = 0;
	fd = open("/etc/passwd", O_RDONLY);
	snprintf(body, sizeof(body), "open=%d errno=%d\n", fd, errno);
	backend_response_str(200, "text/plain", body);
}

int main(void)
{
	return 0;
}
