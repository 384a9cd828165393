/* The benchmark's ceiling: a prefork libfcgi responder answering the hello
 * page with no isolation at all.
 *   native-fcgi SOCKET_PATH WORKERS
 * Opens the unix socket itself (FCGX_OpenSocket is IPv4-only and exits on
 * errors), forks WORKERS children that accept on it, and on SIGTERM or
 * SIGINT stops them and removes the socket. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "hello-page.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1024)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void serve(int fd)
{
	static char page[HELLO_PAGE_MAX];
	char head[512];
	size_t head_len = hello_head(head, sizeof(head));
	FCGX_Request req;

	signal(SIGTERM, SIG_DFL);
	if (FCGX_Init() || FCGX_InitRequest(&req, fd, 0))
		_exit(1);
	while (FCGX_Accept_r(&req) >= 0) {
		const char *url = FCGX_GetParam("REQUEST_URI", req.envp);
		size_t n = hello_page(page, head, head_len, url ? url : "/");

		if (n == 0) {
			FCGX_PutS("Status: 414\r\nContent-Type: text/plain\r\n"
			          "\r\nURI too long\n",
			          req.out);
		} else {
			FCGX_PutS(HELLO_HEADERS, req.out);
			FCGX_PutStr(page, (int)n, req.out);
		}
		FCGX_Finish_r(&req);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_stop};
	int fd, i, n = argc == 3 ? atoi(argv[2]) : 0;
	pid_t *kids;

	if (n < 1 || n > 256) {
		fprintf(stderr, "usage: native-fcgi SOCKET_PATH WORKERS\n");
		return 2;
	}
	fd = listen_unix(argv[1]);
	kids = calloc((size_t)n, sizeof(*kids));
	if (fd < 0 || kids == NULL) {
		fprintf(stderr, "native-fcgi: %s: %s\n", argv[1],
		        strerror(errno));
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			serve(fd);
	}
	while (!stop)
		pause();
	for (i = 0; i < n; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	unlink(argv[1]);
	return 0;
}
