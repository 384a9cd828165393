/* Logging: one line per record, written with one write() so that lines
 * from concurrent workers do not interleave. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LINE_MAX_BYTES 2048

static int log_fd = 2, log_level = LOG_NOTICE, access_fd = -1;

static const char *const level_names[] = {
    [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",     [LOG_CRIT] = "crit",
    [LOG_ERR] = "error",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
    [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

static int open_append(const char *path, int *fdp)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	if (fd < 0)
		return -errno;
	if (*fdp > 2)
		close(*fdp);
	*fdp = fd;
	return 0;
}

int fs_log_open(const char *path, int level)
{
	log_level = level;
	if (path == NULL) {
		log_fd = 2;
		return 0;
	}
	return open_append(path, &log_fd);
}

int fs_log_fd(void)
{
	return log_fd;
}

static size_t stamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	return strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void write_line(int fd, char *buf, size_t n)
{
	if (n >= LINE_MAX_BYTES)
		n = LINE_MAX_BYTES - 1;
	buf[n++] = '\n';
	if (write(fd, buf, n) < 0) {
		/* nowhere left to report it */
	}
}

void fs_log(int level, const char *tenant, const char *fmt, ...)
{
	char buf[LINE_MAX_BYTES + 1];
	size_t n;
	int m;
	va_list ap;

	if (level > log_level)
		return;
	n = stamp(buf, sizeof(buf));
	m = snprintf(buf + n, sizeof(buf) - n, " [%s] [pid %d] %s%s",
	             level_names[level & 7], (int)getpid(),
	             tenant ? tenant : "", tenant ? ": " : "");
	n += m > 0 ? (size_t)m : 0;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	n += m > 0 ? (size_t)m : 0;
	write_line(log_fd, buf, n);
}

void fs_log_guest(void *tenant, int fd, const char *line, size_t len)
{
	fs_log(LOG_NOTICE, tenant, "%s: %.*s", fd == 2 ? "stderr" : "stdout",
	       (int)len, line);
}

int fs_access_open(const char *path)
{
	if (path == NULL) {
		if (access_fd >= 0)
			close(access_fd);
		access_fd = -1;
		return 0;
	}
	return open_append(path, &access_fd);
}

void fs_access_log(const char *remote, const char *host, const char *method,
                   const char *uri, int status, size_t bytes,
                   unsigned long usec)
{
	char buf[LINE_MAX_BYTES + 1];
	size_t n;
	int m;

	if (access_fd < 0)
		return;
	n = stamp(buf, sizeof(buf));
	m = snprintf(buf + n, sizeof(buf) - n, " %s %s \"%s %s\" %d %zu %luus",
	             remote, host, method, uri, status, bytes, usec);
	n += m > 0 ? (size_t)m : 0;
	write_line(access_fd, buf, n);
}
