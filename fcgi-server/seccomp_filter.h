/* fs_seccomp: the system call filter every worker runs under. */
#ifndef FS_SECCOMP_FILTER_H
#define FS_SECCOMP_FILTER_H

#include <stddef.h>

/*
 * Install the worker's allow-list (fcgi-server/seccomp_filter.c) in this
 * process, for good: any other system call traps, the process writes
 * "forbidden system call NAME (NR)" to the log (fs_log_fd()) with
 * async-signal-safe writes and dies of SIGSYS, which the master reports.
 * Needs no_new_privs (fs_jail_enter) or CAP_SYS_ADMIN; sets no_new_privs
 * itself otherwise.  0, or a negative errno with the reason in err.
 */
int fs_seccomp_install(char *err, size_t errlen);

#endif
