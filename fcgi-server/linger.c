/* Lingering close: stop writing, drain the peer's input for a bounded
 * time and size, then close, so that no reset destroys the answer. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.h"
#include "linger.h"

long fs_linger_close(int fd, uint64_t max_ns, size_t max_bytes)
{
	uint64_t deadline = fs_deadline_after(max_ns);
	char buf[16384];
	size_t total = 0;
	long rc;

	/* Our FIN goes out after the answer: the peer sees the end of the
	 * answer and closes, which ends the drain below at once. */
	if (shutdown(fd, SHUT_WR) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	for (;;) {
		ssize_t k = fs_read_by(fd, buf, sizeof(buf), deadline);

		if (k <= 0) {
			rc = k == 0 ? (long)total : (long)k;
			break;
		}
		total += (size_t)k;
		if (total >= max_bytes) {
			rc = -EFBIG;
			break;
		}
	}
	close(fd);
	return rc;
}
