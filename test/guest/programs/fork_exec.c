/* Hostile tenant: tries fork, execve and socket; all must fail with ENOSYS. */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvm-fpm.h"

/* Expected: "fork=-1 errno=38 execve=-1 errno=38 socket=-1 errno=38\n".
 * musl's fork() also calls rt_sigprocmask, which the host may refuse. */
void my_backend(const char *url)
{
	char *const argv[] = {"sh", "-c", "echo pwned", NULL};
	char *const envp[] = {NULL};
	char body[128];
	int f, e, s, fe, ee, se;

	(void)url;
	errno = 0;
	f = fork();
	fe = errno;
	errno = 0;
	e = execve("/bin/sh", argv, envp);
	ee = errno;
	errno = 0;
	s = socket(AF_INET, SOCK_STREAM, 0);
	se = errno;
	snprintf(body, sizeof(body),
	         "fork=%d errno=%d execve=%d errno=%d socket=%d errno=%d\n", f,
	         fe, e, ee, s, se);
	backend_response_str(200, "text/plain", body);
}

int main(void)
{
	return 0;
}
