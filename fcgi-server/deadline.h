/* fs_deadline: reading a socket under one deadline for a whole request, so
 * that a client trickling bytes cannot hold a worker past it, and writing
 * to one that does not read. */
#ifndef FS_DEADLINE_H
#define FS_DEADLINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC now plus ns, in nanoseconds: a deadline. */
uint64_t fs_deadline_after(uint64_t ns);

/*
 * Wait until fd has data and read up to len bytes, giving up at deadline
 * (from fs_deadline_after).  The bytes read (> 0), 0 at end of file,
 * -ETIMEDOUT, or another negative errno.  Signals do not cut the wait
 * short.
 */
ssize_t fs_read_by(int fd, void *buf, size_t len, uint64_t deadline);

/* A peer that takes no byte of what a write offers for ns ends the write
 * (SO_SNDTIMEO), as nginx's send_timeout does: a client that never reads
 * cannot hold a worker.  0 or a negative errno. */
int fs_send_timeout(int fd, uint64_t ns);

/* Write all of buf to fd (blocking); 0, -ETIMEDOUT when the send timeout
 * ran out (fs_send_timeout), or another negative errno. */
int fs_write_all(int fd, const void *buf, size_t len);

#endif
