/* fs_linger_close: closing a connection whose peer may still be sending,
 * without the reset that would destroy the answer just written. */
#ifndef FS_LINGER_H
#define FS_LINGER_H

#include <stddef.h>
#include <stdint.h>

/* At most this long and this much is read before closing anyway.  A
 * front end sends all the body it accepted (nginx: up to
 * client_max_body_size) before it reads the answer, and a reset before
 * it is done is the 502 this avoids: the size bound is generous, the time
 * bound is what keeps a worker from waiting on a client. */
#define FS_LINGER_NS    (2ULL * 1000000000ULL)
#define FS_LINGER_BYTES (16 * 1024 * 1024)

/*
 * Close fd the way nginx does (lingering close): shut down our side for
 * writing, so that the peer reads the whole answer and then end of file,
 * then read and discard what the peer still sends until it closes too,
 * max_ns pass or max_bytes were read, and close.  Closing with unread
 * input at once would make the kernel send a reset, which can destroy the
 * answer before the peer read it (nginx: "writev() failed (32: Broken
 * pipe)", 502).  Returns the bytes discarded, or a negative errno (the
 * time or size bound: -ETIMEDOUT, -EFBIG); fd is closed either way.
 */
long fs_linger_close(int fd, uint64_t max_ns, size_t max_bytes);

#endif
