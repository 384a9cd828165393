/* The master's state, shared by master.c (its loop: signals, reloads,
 * status, uploads) and children.c (forking, jailing, reaping and
 * signalling its children).  Private to the master. */
#ifndef FS_MASTER_INT_H
#define FS_MASTER_INT_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "conf.h"
#include "etcd.h"
#include "jail.h"
#include "scoreboard.h"
#include "server.h"
#include "tenants.h"

#define EXIT_NO_JAIL 78 /* a worker could not drop its privileges */

struct child {
	pid_t pid;
	unsigned gen;
	unsigned slot; /* in the scoreboard */
	int store_fd;  /* program_store = etcd: its uploads come here; or -1 */
};

struct master {
	const char *conf_path;
	struct fs_conf conf;
	struct fs_tenants tenants;
	int fcgi_fd, scgi_fd;
	unsigned gen;
	struct child *kids;
	unsigned nkids, cap;
	struct fs_scoreboard *sb;
	unsigned sb_workers; /* worker slots in sb */
	int status_fd;       /* status_listen, served here; or -1 */
	struct fs_server status_srv;
	struct fs_jail jail; /* whom the workers run as */
	char *pid_path;      /* the pid file, as at start; or NULL */
	int pid_fd;          /* its locked fd, or -1 */
	bool allow_root;     /* -R: workers may keep uid 0 */
	int stopping;        /* 0, SIGQUIT or SIGTERM */
	time_t stop_since;
	/* program_store = etcd: the master commits the workers' uploads
	 * (they have no network); a child of its own watches etcd. */
	bool etcd;
	struct fs_etcd store;
	int worker_store_fd; /* the next worker's end, during spawn() */
	pid_t watcher;       /* or 0 */
	time_t watcher_since;
	int sig_pipe[2]; /* signal numbers, from the handlers to the loop */
};

/* The signals the master takes through its pipe; a child sets them back. */
#define FS_MASTER_NSIGNALS 7
extern const int fs_master_signals[FS_MASTER_NSIGNALS];

/* sigaction with an empty mask and no flags. */
void fs_set_handler(int sig, void (*fn)(int));

/* Reap children; fork the current generation's missing workers unless
 * stopping (a fork that fails is tried at the next call). */
void fs_kids_reap(struct master *m);
/* Children of generation gen. */
unsigned fs_kids_count(const struct master *m, unsigned gen);
/* Send sig to every child, or only_old: to those of older generations. */
void fs_kids_signal(struct master *m, int sig, int only_old);
/* program_store = etcd: fork the watcher if none runs (once a second at
 * most); stop it. */
void fs_kids_start_watcher(struct master *m);
void fs_kids_stop_watcher(struct master *m);

#endif
