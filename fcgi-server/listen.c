/* Listening sockets, opened by the master before it forks its workers. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"
#include "values.h"

#define BACKLOG 511

int fs_listen_is_socket(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

/* Remove a stale socket file, but never one a live server answers on. */
static int clear_unix_path(const struct sockaddr_un *sun, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sun, len);
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	if (unlink(sun->sun_path) && errno != ENOENT)
		return -errno;
	return 0;
}

static int set_owner(const char *path, unsigned mode, const char *owner,
                     const char *group)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (owner) {
		struct passwd *pw = getpwnam(owner);

		if (pw == NULL)
			return -ENOENT;
		uid = pw->pw_uid;
	}
	if (group) {
		struct group *gr = getgrnam(group);

		if (gr == NULL)
			return -ENOENT;
		gid = gr->gr_gid;
	}
	if ((owner || group) && chown(path, uid, gid))
		return -errno;
	if (mode && chmod(path, mode))
		return -errno;
	return 0;
}

int fs_listen_open(const char *spec, unsigned mode, const char *owner,
                   const char *group, int *fdp, char *err, size_t errlen)
{
	struct sockaddr_storage sa;
	socklen_t len;
	const char *what = "address";
	int fd = -1, on = 1, r;

	r = fs_parse_listen(spec, &sa, &len);
	if (r)
		goto fail;
	what = "socket";
	fd =
	    socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail_errno;
	if (sa.ss_family == AF_UNIX) {
		what = "stale socket";
		r = clear_unix_path((struct sockaddr_un *)&sa, len);
		if (r)
			goto fail;
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (sa.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
			           sizeof(on));
	}
	what = "bind";
	if (bind(fd, (struct sockaddr *)&sa, len))
		goto fail_errno;
	if (sa.ss_family == AF_UNIX) {
		what = "listen.mode/owner/group";
		r = set_owner(((struct sockaddr_un *)&sa)->sun_path, mode,
		              owner, group);
		if (r)
			goto fail;
	}
	what = "listen";
	if (listen(fd, BACKLOG))
		goto fail_errno;
	*fdp = fd;
	return 0;
fail_errno:
	r = -errno;
fail:
	snprintf(err, errlen, "%s: %s: %s", spec, what, strerror(-r));
	if (fd >= 0)
		close(fd);
	return r;
}
