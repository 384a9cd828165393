/* Private to conf*.c: the config's value types and the key they fill. */
#ifndef FS_CONF_TYPES_H
#define FS_CONF_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* inih's INI_MAX_LINE: a line of the file, its newline included, is
 * shorter; what fs_conf_print writes must be too. */
#define FS_CONF_LINE_MAX 200

struct conf_key;
struct fs_parse_unit;

/* A value type: parse text into a field, print it back, free it. */
struct conf_type {
	int (*parse)(const struct conf_key *k, const char *val, void *field,
	             char *why, size_t n);
	void (*print)(const struct conf_key *k, const void *field, FILE *out);
	void (*free)(void *field);
	size_t width; /* numbers: sizeof the field */
	bool list;    /* may be repeated; each use appends */
	const struct fs_parse_unit *units; /* times and sizes */
	const char *what; /* what a bad time or size should be */
};

/* One key of a section: {name, type, offsetof(field)} and its bounds. */
struct conf_key {
	const char *name;
	const struct conf_type *type;
	size_t off;
	uint64_t min, max; /* numbers */
	const char *none;  /* optional strings: the word for NULL ("" too) */
	const char *def;   /* [global] defaults, parsed by fs_conf_init */
	bool unix_only;    /* applies only when listen is a unix socket path */
};

/*
 * The types, one per kind of field: strings (str, listen, urlpath), numbers
 * (uint and mode in an unsigned; u64, size and time in a uint64_t), bool,
 * loglevel (an int) and lists (hosts, addrs: struct fs_conf_list).
 */
extern const struct conf_type fs_conf_type_str, fs_conf_type_listen,
    fs_conf_type_urlpath, fs_conf_type_uint, fs_conf_type_u64,
    fs_conf_type_mode, fs_conf_type_size, fs_conf_type_time, fs_conf_type_bool,
    fs_conf_type_loglevel, fs_conf_type_hosts, fs_conf_type_addrs;

/* Write "\"val\" what" into why[n]; returns -EINVAL. */
int fs_conf_bad(char *why, size_t n, const char *val, const char *what);

/*
 * Normalise the hostname in[0..len) (which must not carry a port) into
 * out[size], as fs_host_normalize does.  Its length, or a negative errno.
 */
int fs_conf_hostname(const char *in, size_t len, char *out, size_t size);

/* ---- the keys (conf_keys.c), for the loader (conf.c) ---- */

#define CONF_WHY_MAX  256 /* a reason's length */
#define CONF_KEYS_MAX 32  /* keys in a section */

struct fs_tenant_conf;

struct conf_section {
	const char *name;
	const struct conf_key *keys;
	size_t nkeys;
};

extern const struct conf_section fs_conf_global, fs_conf_tenant;

const struct conf_key *conf_find_key(const struct conf_section *s,
                                     const char *name);

/* Whether listen is a unix socket path (what the unix_only keys need). */
struct fs_conf;
bool conf_listen_is_unix(const struct fs_conf *c);

/* The tenant among t[0..n) with host as its name or an alias. */
const struct fs_tenant_conf *conf_find_tenant(const struct fs_tenant_conf *t,
                                              size_t n, const char *host);

/* Problems within one tenant: *key names the key, or NULL. */
int conf_check_tenant(const struct fs_tenant_conf *t, const char **key,
                      char *why, size_t n);

#endif
