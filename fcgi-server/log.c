/* Logging: one line per record, written with one write() so that lines
 * from concurrent workers do not interleave. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
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

/* One write(): O_APPEND keeps lines whole between workers.  A pipe may
 * take a line in parts (a signal, a full pipe); the rest follows. */
static void write_line(int fd, char *buf, size_t n)
{
	ssize_t w;

	if (n >= LINE_MAX_BYTES)
		n = LINE_MAX_BYTES - 1;
	buf[n++] = '\n';
	while (n > 0) {
		w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere left to report it */
		buf += w;
		n -= (size_t)w;
	}
}

/* Append the printf-formatted text to buf[*n..size), truncating. */
__attribute__((format(printf, 4, 5))) static void
append(char *buf, size_t size, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int m;

	if (*n + 1 >= size)
		return;
	va_start(ap, fmt);
	m = vsnprintf(buf + *n, size - *n, fmt, ap);
	va_end(ap);
	if (m > 0)
		*n += (size_t)m < size - *n ? (size_t)m : size - *n - 1;
}

/*
 * Every error-log line passes here: "TIME [level] [pid N] tenant: " then
 * what and text.  Tenants and clients reach the text (guest output, URIs,
 * Host, symbol names in fault reports ...), so the tenant and the text are
 * escaped: whatever they hold, a record is one line that says what it is.
 * No log message of kvm-fpm's own holds control characters.
 */
static void log_record(int level, const char *tenant, const char *what,
                       const char *text, size_t len)
{
	char buf[LINE_MAX_BYTES + 1];
	size_t n;

	n = stamp(buf, LINE_MAX_BYTES);
	append(buf, LINE_MAX_BYTES, &n, " [%s] [pid %d] ",
	       level_names[level & 7], (int)getpid());
	if (tenant) {
		n += fs_escape(buf + n, LINE_MAX_BYTES - n, tenant,
		               strlen(tenant), "");
		append(buf, LINE_MAX_BYTES, &n, ": ");
	}
	if (what)
		append(buf, LINE_MAX_BYTES, &n, "%s", what);
	n += fs_escape(buf + n, LINE_MAX_BYTES - n, text, len, "");
	write_line(log_fd, buf, n);
}

void fs_log(int level, const char *tenant, const char *fmt, ...)
{
	char msg[LINE_MAX_BYTES];
	va_list ap;
	int m;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	log_record(level, tenant, NULL, msg,
	           (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1);
}

void fs_log_unwritten(const char *proto, uint64_t timeout_ns)
{
	fs_log(LOG_NOTICE, NULL,
	       "%s: the peer took no byte of the answer within "
	       "request_read_timeout (%llu ms); closing the connection",
	       proto, (unsigned long long)(timeout_ns / 1000000));
}

void fs_log_guest(void *tenant, int fd, const char *line, size_t len)
{
	/* fd 0 is kvm-core's note that the output was cut: it cannot be
	 * mistaken for the guest's lines, which all say where they came
	 * from. */
	if (fd == 0) {
		if (LOG_WARNING <= log_level)
			log_record(LOG_WARNING, tenant, NULL, line, len);
		return;
	}
	if (LOG_NOTICE <= log_level)
		log_record(LOG_NOTICE, tenant,
		           fd == 2 ? "stderr: " : "stdout: ", line, len);
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
	/* Fields are separated by spaces and quotes: those are escaped too,
	 * and the backslash, so that every line parses the same. */
	static const char sep[] = "\"\\ ";
	char buf[LINE_MAX_BYTES + 1], f[4][LINE_MAX_BYTES];
	const char *v[4] = {remote, host, method, uri};
	size_t n, i;

	if (access_fd < 0)
		return;
	for (i = 0; i < 4; i++)
		fs_escape(f[i], sizeof(f[i]), v[i], strlen(v[i]), sep);
	n = stamp(buf, sizeof(buf));
	append(buf, LINE_MAX_BYTES, &n, " %s %s \"%s %s\" %d %zu %luus", f[0],
	       f[1], f[2], f[3], status, bytes, usec);
	write_line(access_fd, buf, n);
}
