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

#endif
