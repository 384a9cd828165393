/* fs_conf: the kvm-fpm configuration file, [global] and [tenant:HOST]. */
#ifndef FS_CONF_H
#define FS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kc.h"
/* fs_parse_listen reads the listen strings below. */
#include "values.h"

/* A list of strings; the config owns them. */
struct fs_conf_list {
	char **v;
	size_t n;
};

struct fs_tenant_conf {
	char *name;                  /* normalised primary hostname */
	struct fs_conf_list aliases; /* normalised hostnames */
	char *program;               /* static ELF path, as written */
	char *key;                   /* upload/debug key; NULL: refused */
	struct kc_limits limits;
	bool allow_debug, debug_on_fault;
	bool debug_counts_time; /* a paused VM counts to max_request_time */
	uint64_t debug_wait_ns;
	unsigned line; /* where the section starts; 0 when not from a file */
};

struct fs_conf {
	char *path;                  /* the file loaded; NULL for defaults */
	struct fs_conf_list defines; /* -d KEY=VALUE, over the file's */
	char *listen; /* unix socket path, "1.2.3.4:port" or "[v6]:port" */
	unsigned listen_mode;
	char *listen_owner, *listen_group; /* NULL: left as created */
	char *scgi_listen;                 /* NULL: no SCGI listener */
	char *status_listen; /* NULL: none; else ping/status by the master */
	unsigned workers;
	uint64_t max_requests; /* per worker; 0: never recycle */
	unsigned max_vms;      /* resident VMs per worker */
	char *program_dir, *status_path, *ping_path;
	struct fs_conf_list status_allow; /* canonical IP addresses */
	char *log;                        /* NULL: stderr */
	int log_level;                    /* LOG_ERR..LOG_DEBUG (syslog.h) */
	char *access_log;                 /* NULL: off */
	unsigned debug_port;              /* 0: no GDB listener */
	uint64_t upload_max_size;
	char *user, *group;     /* workers' user and group; NULL: as started */
	bool allow_run_as_root; /* workers may keep uid 0 */
	uint64_t request_read_timeout_ns; /* to read a whole request */
	char *pid;     /* the master's pid file; NULL: none */
	char *key_dir; /* HOST.key files for tenants without a key; or NULL */
	char *program_store;  /* "dir" or "etcd" (README, "Several nodes") */
	char *etcd_endpoints; /* "http://a:2379,http://b:2379"; or NULL */
	char *etcd_prefix;    /* every key kvm-fpm writes starts with it */
	struct fs_tenant_conf *tenants;
	size_t tenant_count;
};

/* Fill c with the defaults (no tenants).  0, or -ENOMEM (c is freed). */
int fs_conf_init(struct fs_conf *c);

/*
 * Load the ini file at path into c (which need not be initialised), and
 * validate it.  0, or a negative errno with "file:line: [section] key:
 * reason" in err; on failure c holds nothing to free.
 */
int fs_conf_load(const char *path, struct fs_conf *c, char *err, size_t errlen);

/*
 * fs_conf_load, with defs[0..n) ("KEY=VALUE", [global] keys, as `-d`
 * gives them) set over the file's values before the config is validated
 * and key_dir is read.  c keeps a copy of defs for fs_conf_reload.
 */
int fs_conf_load_defs(const char *path, char *const *defs, size_t n,
                      struct fs_conf *c, char *err, size_t errlen);

/* Load old's file again with old's defines into fresh (SIGHUP). */
int fs_conf_reload(const struct fs_conf *old, struct fs_conf *fresh, char *err,
                   size_t errlen);

/* Free everything c owns and zero it. */
void fs_conf_free(struct fs_conf *c);

/*
 * Print c as an ini file that fs_conf_load reads back to the same config
 * (`kvm-fpm -T`).  Note that it includes tenant keys.
 */
void fs_conf_print(const struct fs_conf *c, FILE *out);

/* Fill t with the tenant defaults (limits from kc_limits_default()). */
void fs_conf_tenant_init(struct fs_tenant_conf *t);

/* Free what t owns and zero it (fs_conf_free does this for its tenants). */
void fs_conf_tenant_free(struct fs_tenant_conf *t);

/*
 * Set one tenant key by its ini name, e.g. ("max_request_time", "0.2"),
 * for `kvm-fpm run --max_request_time=0.2`.  "aliases" appends.  0, or
 * -EINVAL/-ERANGE/-ENOMEM with "key: reason" in err.
 */
int fs_conf_tenant_set(struct fs_tenant_conf *t, const char *key,
                       const char *value, char *err, size_t errlen);

/*
 * Check a tenant on its own: program set, aliases distinct, limits
 * consistent (kc_limits_check).  fs_conf_load does this for every tenant.
 * 0, or -EINVAL with "key: reason" in err.
 */
int fs_conf_tenant_check(const struct fs_tenant_conf *t, char *err,
                         size_t errlen);

/* The tenant whose name or alias is host (already normalised), or NULL. */
const struct fs_tenant_conf *fs_conf_find_tenant(const struct fs_conf *c,
                                                 const char *host);

#endif
