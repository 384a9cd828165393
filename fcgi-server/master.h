/* The master process of the prefork server. */
#ifndef FS_MASTER_H
#define FS_MASTER_H

#include <stdbool.h>

#include "conf.h"

/*
 * Run the server for conf (loaded from conf_path, which SIGHUP reloads):
 * open the listeners (or serve inherited, a listening socket spawn-fcgi
 * passed, when >= 0), boot the tenants, prefork and supervise workers
 * until stopped by a signal.  Workers drop to conf's user and group
 * (fcgi-server/jail.h); allow_root (-R) lets them keep uid 0.  Takes over conf;
 * on return *conf is the configuration in force, for the caller to free.
 * Returns an exit code.
 */
int fs_master_run(struct fs_conf *conf, const char *conf_path, int inherited,
                  bool allow_root);

#endif
