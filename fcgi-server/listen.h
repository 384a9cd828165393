/* Listening sockets: unix paths, IPv4/IPv6, or inherited (spawn-fcgi). */
#ifndef FS_LISTEN_H
#define FS_LISTEN_H

#include <stddef.h>

/*
 * Open a non-blocking listening socket for spec ("/path", "1.2.3.4:9000",
 * "[::1]:9000").  A unix socket path is replaced only when nothing answers
 * on it; mode/owner/group apply to it (mode 0, owner NULL: as created).
 * 0 and *fd, or -errno with the reason in err.
 */
int fs_listen_open(const char *spec, unsigned mode, const char *owner,
                   const char *group, int *fd, char *err, size_t errlen);

/* Whether fd is a listening socket (spawn-fcgi passes one as fd 0). */
int fs_listen_is_socket(int fd);

#endif
