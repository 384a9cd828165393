/* The config's value types: parse text into a field, print it, free it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <syslog.h>

#include "conf.h"
#include "conf_types.h"
#include "host.h"
#include "values.h"

#define LIST_WRAP 72 /* printed lists wrap; see FS_CONF_LINE_MAX */

int fs_conf_bad(char *why, size_t n, const char *val, const char *what)
{
	snprintf(why, n, "\"%s\" %s", val, what);
	return -EINVAL;
}

static int no_memory(char *why, size_t n)
{
	snprintf(why, n, "out of memory");
	return -ENOMEM;
}

static bool is_none(const struct conf_key *k, const char *val)
{
	return k->none && (!*val || !strcmp(val, k->none));
}

/*
 * `-T` prints "key = value": a value of len bytes must fit on such a line,
 * or the printed file would not load.  0, or -EINVAL with the reason.
 */
static int check_fits(const struct conf_key *k, const char *val, size_t len,
                      char *why, size_t n)
{
	size_t room = FS_CONF_LINE_MAX - sizeof(" = \n") - strlen(k->name);

	if (len <= room)
		return 0;
	snprintf(why, n, "\"%.32s...\" is %zu bytes long; a %s line holds %zu",
	         val, len, k->name, room);
	return -EINVAL;
}

/*
 * What a file cannot say the printer cannot write either: inih strips
 * blanks around a value and ends it at a ';' after a blank, so "key =;x"
 * loads as ";x" but prints as "key = ;x", read back as empty.  Such values
 * are refused wherever they come from (file, -d, `kvm-fpm run --KEY=`).
 */
static int check_text(const struct conf_key *k, const char *val, char *why,
                      size_t n)
{
	size_t len = strlen(val);
	const char *s;

	for (s = val; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return fs_conf_bad(why, n, val,
			                   "contains a control character");
		if (*s == ';' && (s == val || s[-1] == ' '))
			return fs_conf_bad(
			    why, n, val,
			    "has a ';' that would start a comment "
			    "(put comments on a line of their own)");
	}
	if (val[0] == ' ' || val[len - 1] == ' ')
		return fs_conf_bad(why, n, val, "starts or ends with a space");
	return check_fits(k, val, len, why, n);
}

static int parse_str(const struct conf_key *k, const char *val, void *field,
                     char *why, size_t n)
{
	char **p = field, *copy = NULL;
	int rc;

	if (!is_none(k, val)) {
		if (!*val) {
			snprintf(why, n, "must not be empty");
			return -EINVAL;
		}
		rc = check_text(k, val, why, n);
		if (rc)
			return rc;
		copy = strdup(val);
		if (!copy)
			return no_memory(why, n);
	}
	free(*p);
	*p = copy;
	return 0;
}

static void print_str(const struct conf_key *k, const void *field, FILE *out)
{
	const char *s = *(char *const *)field;

	if (!s)
		s = k->none ? k->none : "";
	fprintf(out, "%s =%s%s\n", k->name, *s ? " " : "", s);
}

static void free_str(void *field)
{
	free(*(char **)field);
}

static int parse_listen(const struct conf_key *k, const char *val, void *field,
                        char *why, size_t n)
{
	struct sockaddr_storage sa;
	socklen_t len;

	if (!is_none(k, val) && fs_parse_listen(val, &sa, &len))
		return fs_conf_bad(
		    why, n, val,
		    "is not a listen address (use a unix socket path, "
		    "IPv4:port or [IPv6]:port)");
	return parse_str(k, val, field, why, n);
}

static int parse_urlpath(const struct conf_key *k, const char *val, void *field,
                         char *why, size_t n)
{
	if (val[0] != '/' || strpbrk(val, " \t?#"))
		return fs_conf_bad(why, n, val,
		                   "is not a URL path (start with /)");
	return parse_str(k, val, field, why, n);
}

/* v as the config file would write it: with the largest unit of k's type
 * that divides it (64G, 5s), or bare. */
static void format_num(const struct conf_key *k, uint64_t v, char *out,
                       size_t n)
{
	const struct fs_parse_unit *u = k->type->units;

	if (u == NULL || v == 0) {
		snprintf(out, n, "%llu", (unsigned long long)v);
		return;
	}
	while (v % u->mult)
		u++;
	snprintf(out, n, "%llu%s", (unsigned long long)(v / u->mult),
	         u->suffix);
}

/* Check v against k's bounds and store it in a field of k's width. */
static int store_num(const struct conf_key *k, const char *val, uint64_t v,
                     void *field, char *why, size_t n)
{
	char what[96], lo[32], hi[32];

	if (v < k->min || v > k->max) {
		format_num(k, k->min, lo, sizeof(lo));
		format_num(k, k->max, hi, sizeof(hi));
		if (k->max == UINT64_MAX)
			snprintf(what, sizeof(what), "is below the minimum %s",
			         lo);
		else
			snprintf(what, sizeof(what), "is out of range (%s..%s)",
			         lo, hi);
		return fs_conf_bad(why, n, val, what);
	}
	if (k->type->width == sizeof(unsigned))
		*(unsigned *)field = (unsigned)v;
	else
		*(uint64_t *)field = v;
	return 0;
}

static uint64_t load_num(const struct conf_key *k, const void *field)
{
	if (k->type->width == sizeof(unsigned))
		return *(const unsigned *)field;
	return *(const uint64_t *)field;
}

static int parse_uint(const struct conf_key *k, const char *val, void *field,
                      char *why, size_t n)
{
	uint64_t v;

	if (fs_parse_uint(val, &v))
		return fs_conf_bad(why, n, val, "is not a whole number");
	return store_num(k, val, v, field, why, n);
}

static void print_uint(const struct conf_key *k, const void *field, FILE *out)
{
	fprintf(out, "%s = %llu\n", k->name,
	        (unsigned long long)load_num(k, field));
}

static int parse_mode(const struct conf_key *k, const char *val, void *field,
                      char *why, size_t n)
{
	char *end;
	unsigned long v = strtoul(val, &end, 8);

	if (!*val || *end || val[strspn(val, "01234567")] || v > k->max)
		return fs_conf_bad(why, n, val, "is not an octal file mode");
	return store_num(k, val, v, field, why, n);
}

static void print_mode(const struct conf_key *k, const void *field, FILE *out)
{
	fprintf(out, "%s = %04o\n", k->name, *(const unsigned *)field);
}

static int parse_units(const struct conf_key *k, const char *val, void *field,
                       char *why, size_t n)
{
	uint64_t v;
	int rc = fs_parse_units(val, k->type->units, &v);

	if (rc == -ERANGE) {
		fs_conf_bad(why, n, val, "is too large");
		return -ERANGE;
	}
	if (rc)
		return fs_conf_bad(why, n, val, k->type->what);
	return store_num(k, val, v, field, why, n);
}

/* The shortest exact form: the largest unit that divides the value. */
static void print_units(const struct conf_key *k, const void *field, FILE *out)
{
	char v[32];

	format_num(k, load_num(k, field), v, sizeof(v));
	fprintf(out, "%s = %s\n", k->name, v);
}

static int parse_boolean(const struct conf_key *k, const char *val, void *field,
                         char *why, size_t n)
{
	(void)k;
	if (fs_parse_bool(val, field))
		return fs_conf_bad(why, n, val,
		                   "is not a boolean (use yes or no)");
	return 0;
}

static void print_bool(const struct conf_key *k, const void *field, FILE *out)
{
	fprintf(out, "%s = %s\n", k->name, *(const bool *)field ? "yes" : "no");
}

static const struct {
	const char *name;
	int level;
} log_levels[] = {
    {"debug", LOG_DEBUG},     {"info", LOG_INFO}, {"notice", LOG_NOTICE},
    {"warning", LOG_WARNING}, {"error", LOG_ERR},
};

static int parse_loglevel(const struct conf_key *k, const char *val,
                          void *field, char *why, size_t n)
{
	size_t i;

	(void)k;
	for (i = 0; i < ARRAY_SIZE(log_levels); i++) {
		if (!strcasecmp(val, log_levels[i].name)) {
			*(int *)field = log_levels[i].level;
			return 0;
		}
	}
	return fs_conf_bad(
	    why, n, val,
	    "is not a log level (use debug, info, notice, warning or "
	    "error)");
}

static void print_loglevel(const struct conf_key *k, const void *field,
                           FILE *out)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(log_levels); i++)
		if (log_levels[i].level == *(const int *)field)
			fprintf(out, "%s = %s\n", k->name, log_levels[i].name);
}

/* ---- lists -------------------------------------------------------------- */

typedef int list_item_fn(const char *in, size_t len, char *out, size_t size);

/* A hostname without a port (fs_host_normalize would drop one). */
int fs_conf_hostname(const char *in, size_t len, char *out, size_t size)
{
	const char *end = len && in[0] == '[' ? memchr(in, ']', len) : in;

	if (!end || memchr(end, ':', len - (size_t)(end - in)))
		return -EINVAL;
	return fs_host_normalize(in, len, out, size);
}

/* An IPv4 or IPv6 address, in canonical form. */
static int addr_item(const char *in, size_t len, char *out, size_t size)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a;
	int af;

	if (len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, in, len);
	tmp[len] = '\0';
	af = strchr(tmp, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, tmp, &a) != 1 || !inet_ntop(af, &a, out, size))
		return -EINVAL;
	return (int)strlen(out);
}

static void list_truncate(struct fs_conf_list *l, size_t n)
{
	while (l->n > n)
		free(l->v[--l->n]);
}

static int list_add(struct fs_conf_list *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	v[l->n] = strdup(s);
	if (!v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

/* Append the comma/space separated items of val; all or nothing. */
static int parse_list(const struct conf_key *k, const char *val,
                      struct fs_conf_list *l, list_item_fn *item,
                      const char *what, char *why, size_t n)
{
	char buf[FS_HOST_MAX + 3];
	size_t len, n0 = l->n;
	const char *p = val;

	for (;; p += len) {
		p += strspn(p, ", \t");
		if (!*p)
			return 0;
		len = strcspn(p, ", \t");
		if (item(p, len, buf, sizeof(buf)) < 0) {
			list_truncate(l, n0);
			snprintf(why, n, "\"%.*s\" is not %s", (int)len, p,
			         what);
			return -EINVAL;
		}
		/* Printed lists wrap, but each item starts a line once. */
		if (check_fits(k, buf, strlen(buf), why, n)) {
			list_truncate(l, n0);
			return -EINVAL;
		}
		if (list_add(l, buf)) {
			list_truncate(l, n0);
			return no_memory(why, n);
		}
	}
}

static int parse_hosts(const struct conf_key *k, const char *val, void *field,
                       char *why, size_t n)
{
	return parse_list(k, val, field, fs_conf_hostname, "a hostname", why,
	                  n);
}

static int parse_addrs(const struct conf_key *k, const char *val, void *field,
                       char *why, size_t n)
{
	return parse_list(k, val, field, addr_item, "an IP address", why, n);
}

static void print_list(const struct conf_key *k, const void *field, FILE *out)
{
	const struct fs_conf_list *l = field;
	size_t i, col = 0;

	for (i = 0; i < l->n; i++) {
		if (col && col + strlen(l->v[i]) > LIST_WRAP) {
			fputc('\n', out);
			col = 0;
		}
		if (col)
			col += (size_t)fprintf(out, ", %s", l->v[i]);
		else
			col = (size_t)fprintf(out, "%s = %s", k->name, l->v[i]);
	}
	if (l->n)
		fputc('\n', out);
	else
		fprintf(out, "%s =\n", k->name);
}

static void free_list(void *field)
{
	struct fs_conf_list *l = field;

	list_truncate(l, 0);
	free(l->v);
	l->v = NULL;
}

#define NUMBER(t) .width = sizeof(t)

const struct conf_type fs_conf_type_str = {
    .parse = parse_str, .print = print_str, .free = free_str};
const struct conf_type fs_conf_type_listen = {
    .parse = parse_listen, .print = print_str, .free = free_str};
const struct conf_type fs_conf_type_urlpath = {
    .parse = parse_urlpath, .print = print_str, .free = free_str};
const struct conf_type fs_conf_type_uint = {
    .parse = parse_uint, .print = print_uint, NUMBER(unsigned)};
const struct conf_type fs_conf_type_u64 = {
    .parse = parse_uint, .print = print_uint, NUMBER(uint64_t)};
const struct conf_type fs_conf_type_mode = {
    .parse = parse_mode, .print = print_mode, NUMBER(unsigned)};
const struct conf_type fs_conf_type_size = {
    .parse = parse_units,
    .print = print_units,
    NUMBER(uint64_t),
    .units = fs_parse_size_units,
    .what = "is not a size (use bytes with an optional K, M or G)"};
const struct conf_type fs_conf_type_time = {
    .parse = parse_units,
    .print = print_units,
    NUMBER(uint64_t),
    .units = fs_parse_time_units,
    .what = "is not a time (use seconds with an optional s, ms, us or ns)"};
const struct conf_type fs_conf_type_bool = {.parse = parse_boolean,
                                            .print = print_bool};
const struct conf_type fs_conf_type_loglevel = {.parse = parse_loglevel,
                                                .print = print_loglevel};
const struct conf_type fs_conf_type_hosts = {
    .parse = parse_hosts, .print = print_list, .free = free_list, .list = true};
const struct conf_type fs_conf_type_addrs = {
    .parse = parse_addrs, .print = print_list, .free = free_list, .list = true};
