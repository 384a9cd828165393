/* fs_pidfile: the master's pid file (`pid`), locked while it runs. */
#ifndef FS_PIDFILE_H
#define FS_PIDFILE_H

#include <stddef.h>

/*
 * Create or take over path and write this process's pid into it, holding
 * a lock on it until fs_pidfile_remove: a file another running master
 * holds is refused (-EBUSY, its pid in err), one left by a master that
 * died is taken over.  Sets *fd; 0, or a negative errno with the reason
 * in err.
 */
int fs_pidfile_create(const char *path, int *fd, char *err, size_t errlen);

/* Remove the file and release the lock (fd < 0: nothing to do). */
void fs_pidfile_remove(const char *path, int fd);

#endif
