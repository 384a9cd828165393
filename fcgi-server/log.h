/* One-line log records: time, level, pid, tenant, message. */
#ifndef FS_LOG_H
#define FS_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

/* Log to path (NULL: stderr) at levels up to level (LOG_ERR..LOG_DEBUG).
 * 0 or -errno.  Call again to reopen (SIGUSR1). */
int fs_log_open(const char *path, int level);

/* The log's file descriptor, for children that inherit it. */
int fs_log_fd(void);

/* "2026-11-24T04:58:00Z [notice] [pid 12] tenant: message"; tenant may be
 * NULL. */
__attribute__((format(printf, 3, 4))) void fs_log(int level, const char *tenant,
                                                  const char *fmt, ...);

/* A connection closed because its peer took no byte of an answer for
 * timeout_ns (request_read_timeout, fs_send_timeout); proto names it. */
void fs_log_unwritten(const char *proto, uint64_t timeout_ns);

/* A kc_output_fn: a guest's line, ctx being the tenant's name. */
void fs_log_guest(void *tenant, int fd, const char *line, size_t len);

/* The access log: open (NULL: off) and write one request's line. */
int fs_access_open(const char *path);
void fs_access_log(const char *remote, const char *host, const char *method,
                   const char *uri, int status, size_t bytes,
                   unsigned long usec);

#endif
