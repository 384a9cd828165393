/* The kvm-fpm config's loader: an ini file (inih) and -d defines into a
 * struct fs_conf, checked key by key, then as a whole (conf_keys.c holds
 * the keys). */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_types.h"
#include "host.h"

#define DEF_LINE UINT_MAX /* "set on line": by -d, not by the file */

/* ---- the loader ---------------------------------------------------------- */

/* One load: inih's line source, the section being filled, the error. */
struct load {
	FILE *f;
	const char *path;
	char *buf; /* getline's */
	size_t cap;
	unsigned lineno;
	struct fs_conf *c;
	const struct conf_section *sec; /* NULL before the first section */
	void *base;                     /* the struct sec's keys go to */
	char *sec_name;                 /* as written, for messages */
	unsigned sec_line, global_line;
	unsigned *seen; /* first line each key of sec was set on */
	unsigned global_seen[CONF_KEYS_MAX], tenant_seen[CONF_KEYS_MAX];
	int rc;
	unsigned err_line;
	char *err;
	size_t errlen;
};

/* Record the first error as "file:line: [sec] key: why" (sec, key optional). */
static int fail(struct load *ld, const char *sec, unsigned line,
                const char *key, int rc, const char *fmt, ...)
{
	char why[CONF_WHY_MAX], where[CONF_WHY_MAX] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (sec && key)
		snprintf(where, sizeof(where), " [%s] %s:", sec, key);
	else if (sec)
		snprintf(where, sizeof(where), " [%s]:", sec);
	else if (key)
		snprintf(where, sizeof(where), " %s:", key);
	if (line == DEF_LINE)
		snprintf(ld->err, ld->errlen, "%s: -d%s %s", ld->path, where,
		         why);
	else
		snprintf(ld->err, ld->errlen, "%s:%u:%s %s", ld->path, line,
		         where, why);
	ld->rc = rc;
	ld->err_line = line;
	return rc;
}

static unsigned key_line(const struct conf_section *s, const unsigned *seen,
                         const char *key)
{
	const struct conf_key *k = key ? conf_find_key(s, key) : NULL;

	return k ? seen[k - s->keys] : 0;
}

/* At the end of a tenant: the tenant alone, then its names unclaimed. */
static int validate_tenant(struct load *ld)
{
	const struct fs_tenant_conf *t = ld->base, *o;
	size_t i, before = (size_t)(t - ld->c->tenants);
	unsigned line;
	const char *key;
	char why[CONF_WHY_MAX];

	if (conf_check_tenant(t, &key, why, sizeof(why))) {
		line = key_line(&fs_conf_tenant, ld->tenant_seen, key);
		return fail(ld, ld->sec_name, line ? line : ld->sec_line, key,
		            -EINVAL, "%s", why);
	}
	o = conf_find_tenant(ld->c->tenants, before, t->name);
	if (o)
		return fail(
		    ld, ld->sec_name, ld->sec_line, NULL, -EINVAL,
		    "\"%s\" is already claimed by [tenant:%s] (line %u)",
		    t->name, o->name, o->line);
	line = key_line(&fs_conf_tenant, ld->tenant_seen, "aliases");
	for (i = 0; i < t->aliases.n; i++) {
		o = conf_find_tenant(ld->c->tenants, before, t->aliases.v[i]);
		if (o)
			return fail(ld, ld->sec_name, line, "aliases", -EINVAL,
			            "\"%s\" is already claimed by [tenant:%s] "
			            "(line %u)",
			            t->aliases.v[i], o->name, o->line);
	}
	return 0;
}

/* program_store = etcd needs endpoints, and program_dir as its cache. */
static int validate_store(struct load *ld)
{
	const struct fs_conf *c = ld->c;
	unsigned line;

	line = key_line(&fs_conf_global, ld->global_seen, "program_store");
	if (strcmp(c->program_store, "dir") && strcmp(c->program_store, "etcd"))
		return fail(ld, "global", line, "program_store", -EINVAL,
		            "\"%s\" is neither dir nor etcd", c->program_store);
	if (strcmp(c->program_store, "etcd"))
		return 0;
	if (c->etcd_endpoints == NULL)
		return fail(ld, "global", line, "program_store", -EINVAL,
		            "etcd needs etcd_endpoints");
	line = key_line(&fs_conf_global, ld->global_seen, "etcd_prefix");
	if (strchr(c->etcd_prefix, '\n') || !c->etcd_prefix[0])
		return fail(ld, "global", line, "etcd_prefix", -EINVAL,
		            "must be a non-empty key prefix");
	return 0;
}

/* At the end of the file, so that it also sees the defaults. */
static int validate_global(struct load *ld)
{
	const struct fs_conf *c = ld->c;
	unsigned line;
	size_t i;

	for (i = 0; i < fs_conf_global.nkeys; i++) {
		line = ld->global_seen[i];
		if (fs_conf_global.keys[i].unix_only && line &&
		    !conf_listen_is_unix(c))
			return fail(ld, "global", line,
			            fs_conf_global.keys[i].name, -EINVAL,
			            "only applies when listen is a unix "
			            "socket path");
	}
	line = key_line(&fs_conf_global, ld->global_seen, "scgi_listen");
	if (c->scgi_listen && !strcmp(c->scgi_listen, c->listen))
		return fail(ld, "global", line, "scgi_listen", -EINVAL,
		            "\"%s\" is also listen", c->scgi_listen);
	line = key_line(&fs_conf_global, ld->global_seen, "status_listen");
	if (c->status_listen &&
	    (!strcmp(c->status_listen, c->listen) ||
	     (c->scgi_listen && !strcmp(c->status_listen, c->scgi_listen))))
		return fail(ld, "global", line, "status_listen", -EINVAL,
		            "\"%s\" is already a listener", c->status_listen);
	line = key_line(&fs_conf_global, ld->global_seen, "ping_path");
	if (!strcmp(c->status_path, c->ping_path))
		return fail(ld, "global", line, "ping_path", -EINVAL,
		            "\"%s\" is also status_path", c->ping_path);
	return validate_store(ld);
}

static int end_section(struct load *ld)
{
	return ld->sec == &fs_conf_tenant ? validate_tenant(ld) : 0;
}

static int begin_tenant(struct load *ld, const char *host)
{
	struct fs_conf *c = ld->c;
	struct fs_tenant_conf *t;
	char name[FS_HOST_MAX + 3];

	if (fs_conf_hostname(host, strlen(host), name, sizeof(name)) < 0)
		return fail(ld, ld->sec_name, ld->lineno, NULL, -EINVAL,
		            "\"%s\" is not a valid hostname", host);
	t = realloc(c->tenants, (c->tenant_count + 1) * sizeof(*t));
	if (!t)
		return fail(ld, ld->sec_name, ld->lineno, NULL, -ENOMEM,
		            "out of memory");
	c->tenants = t;
	t += c->tenant_count++;
	fs_conf_tenant_init(t);
	t->line = ld->lineno;
	t->name = strdup(name);
	if (!t->name)
		return fail(ld, ld->sec_name, ld->lineno, NULL, -ENOMEM,
		            "out of memory");
	ld->sec = &fs_conf_tenant;
	ld->base = t;
	ld->seen = ld->tenant_seen;
	memset(ld->tenant_seen, 0, sizeof(ld->tenant_seen));
	return 0;
}

static int begin_section(struct load *ld, const char *name, size_t len)
{
	char *copy;

	if (end_section(ld))
		return ld->rc;
	copy = strndup(name, len);
	if (!copy)
		return fail(ld, ld->sec_name, ld->lineno, NULL, -ENOMEM,
		            "out of memory");
	free(ld->sec_name);
	ld->sec_name = copy;
	ld->sec_line = ld->lineno;
	ld->sec = NULL;
	if (!strncmp(copy, "tenant:", 7))
		return begin_tenant(ld, copy + 7);
	if (strcmp(copy, "global"))
		return fail(ld, ld->sec_name, ld->lineno, NULL, -EINVAL,
		            "unknown section (use [global] or [tenant:HOST])");
	if (ld->global_line)
		return fail(ld, ld->sec_name, ld->lineno, NULL, -EINVAL,
		            "appears twice (first on line %u)",
		            ld->global_line);
	ld->global_line = ld->lineno;
	ld->sec = &fs_conf_global;
	ld->base = ld->c;
	ld->seen = ld->global_seen;
	return 0;
}

/*
 * A "[name]" line.  inih truncates section names to 50 bytes and ends them
 * at the first ']', which "[tenant:[::1]]" needs, so the reader follows
 * sections itself: the name runs to the last ']' before a comment.
 */
static int section_line(struct load *ld, const char *s)
{
	const char *end, *rest;

	for (end = strchr(s, ']'); end; end = strchr(end + 1, ']')) {
		rest = end + 1 + strspn(end + 1, " \t\r\n");
		if (!*rest || *rest == ';' || *rest == '#')
			return begin_section(ld, s + 1, (size_t)(end - s - 1));
	}
	return fail(ld, NULL, ld->lineno, NULL, -EINVAL,
	            "syntax error (expected [section] or key = value)");
}

/*
 * inih's line source: counts lines for messages and strips indentation,
 * which turns off inih's continuation lines (an indented "workers = 4"
 * would silently extend the key above it).
 */
static char *read_line(char *str, int num, void *user)
{
	struct load *ld = user;
	ssize_t n;
	char *s;

	if (ld->rc)
		return NULL;
	n = getline(&ld->buf, &ld->cap, ld->f);
	if (n < 0)
		return NULL;
	s = ld->buf;
	if (++ld->lineno == 1 && !strncmp(s, "\xef\xbb\xbf", 3)) {
		s += 3;
		n -= 3;
	}
	while (*s == ' ' || *s == '\t') {
		s++;
		n--;
	}
	if (strlen(s) != (size_t)n)
		fail(ld, NULL, ld->lineno, NULL, -EINVAL,
		     "line contains a NUL byte");
	else if (n >= num)
		fail(ld, NULL, ld->lineno, NULL, -EINVAL,
		     "line is longer than %d bytes", num - 2);
	else if (*s == '[')
		section_line(ld, s);
	if (ld->rc)
		return NULL;
	memcpy(str, s, (size_t)n + 1);
	return str;
}

static int on_key(void *user, const char *section, const char *name,
                  const char *value)
{
	struct load *ld = user;
	const struct conf_key *k;
	char why[CONF_WHY_MAX];
	unsigned *seen;
	int rc;

	(void)section; /* possibly truncated; read_line follows ours */
	if (ld->rc)
		return 0;
	if (!ld->sec)
		return !fail(ld, ld->sec_name, ld->lineno, name, -EINVAL,
		             "is outside a section (start with [global] or "
		             "[tenant:HOST])");
	k = conf_find_key(ld->sec, name);
	if (!k)
		return !fail(ld, ld->sec_name, ld->lineno, name, -EINVAL,
		             "unknown key");
	seen = &ld->seen[k - ld->sec->keys];
	if (*seen && !k->type->list)
		return !fail(ld, ld->sec_name, ld->lineno, name, -EINVAL,
		             "set twice (first on line %u)", *seen);
	rc = k->type->parse(k, value, (char *)ld->base + k->off, why,
	                    sizeof(why));
	if (rc)
		return !fail(ld, ld->sec_name, ld->lineno, name, rc, "%s", why);
	if (!*seen)
		*seen = ld->lineno;
	return 1;
}

/* -d KEY=VALUE: a [global] key, replacing the file's value (a list too). */
static int apply_define(struct load *ld, const char *def)
{
	const char *eq = strchr(def, '=');
	const struct conf_key *k = NULL;
	char name[32], why[CONF_WHY_MAX];
	void *field;
	int rc;

	if (eq && eq > def && (size_t)(eq - def) < sizeof(name)) {
		memcpy(name, def, (size_t)(eq - def));
		name[eq - def] = '\0';
		k = conf_find_key(&fs_conf_global, name);
	}
	if (!k)
		return fail(ld, NULL, DEF_LINE, NULL, -EINVAL,
		            "\"%s\" is not KEY=VALUE with a [global] key", def);
	field = (char *)ld->c + k->off;
	if (k->type->list)
		k->type->free(field);
	rc = k->type->parse(k, eq + 1, field, why, sizeof(why));
	if (rc)
		return fail(ld, "global", DEF_LINE, k->name, rc, "%s", why);
	ld->global_seen[k - fs_conf_global.keys] = DEF_LINE;
	return 0;
}

/* key_dir/HOST.key for each tenant without a key, so that keys need not
 * be in the file; a missing file leaves the tenant without one. */
static int read_key_files(struct load *ld)
{
	const struct conf_key *k = conf_find_key(&fs_conf_tenant, "key");
	struct fs_tenant_conf *t;
	char path[PATH_MAX], sec[FS_HOST_MAX + 16], why[CONF_WHY_MAX],
	    *line = NULL;
	char empty[1] = "", *val;
	size_t cap = 0;
	FILE *f;
	int rc = 0;

	for (t = ld->c->tenants;
	     ld->c->key_dir && !rc && t < ld->c->tenants + ld->c->tenant_count;
	     t++) {
		if (t->key)
			continue;
		snprintf(sec, sizeof(sec), "tenant:%s", t->name);
		snprintf(path, sizeof(path), "%s/%s.key", ld->c->key_dir,
		         t->name);
		f = fopen(path, "re");
		if (!f && errno == ENOENT)
			continue;
		if (!f) {
			rc = fail(ld, sec, t->line, "key", -errno, "%s: %s",
			          path, strerror(errno));
			break;
		}
		val = getline(&line, &cap, f) < 0 ? empty : line;
		val[strcspn(val, "\r\n")] = '\0';
		fclose(f);
		if (k->type->parse(k, val, (char *)t + k->off, why,
		                   sizeof(why)))
			rc = fail(ld, sec, t->line, "key", -EINVAL, "%s: %s",
			          path, why);
	}
	free(line);
	return rc;
}

/* Run inih over the open file, then -d, key_dir and the validators. */
static void load_file(struct load *ld, char *const *defs, size_t ndefs)
{
	size_t i;

	int line = ini_parse_stream(read_line, ld, on_key, ld);

	if (!ld->rc && ferror(ld->f))
		fail(ld, NULL, ld->lineno, NULL, -EIO, "read error");
	/* inih keeps the first error line; ours may come later. */
	if (line > 0 && (!ld->rc || (unsigned)line < ld->err_line)) {
		fail(ld, NULL, (unsigned)line, NULL, -EINVAL,
		     "syntax error (expected [section] or key = value)");
	} else if (line < 0 && !ld->rc) {
		fail(ld, NULL, ld->lineno, NULL, -ENOMEM, "out of memory");
	}
	if (ld->rc || end_section(ld))
		return;
	for (i = 0; i < ndefs; i++)
		if (apply_define(ld, defs[i]))
			return;
	if (!read_key_files(ld))
		validate_global(ld);
}

int fs_conf_load(const char *path, struct fs_conf *c, char *err, size_t errlen)
{
	return fs_conf_load_defs(path, NULL, 0, c, err, errlen);
}

int fs_conf_reload(const struct fs_conf *old, struct fs_conf *fresh, char *err,
                   size_t errlen)
{
	return fs_conf_load_defs(old->path, old->defines.v, old->defines.n,
	                         fresh, err, errlen);
}

/* Keep defs in c for a reload. */
static int copy_defines(struct fs_conf *c, char *const *defs, size_t n)
{
	size_t i;

	c->defines.v = calloc(n ? n : 1, sizeof(char *));
	if (!c->defines.v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		c->defines.v[i] = strdup(defs[i]);
		if (!c->defines.v[i])
			return -ENOMEM;
		c->defines.n++;
	}
	return 0;
}

int fs_conf_load_defs(const char *path, char *const *defs, size_t n,
                      struct fs_conf *c, char *err, size_t errlen)
{
	struct load ld = {.path = path, .c = c, .err = err, .errlen = errlen};
	int rc;

	memset(c, 0, sizeof(*c));
	ld.f = fopen(path, "re");
	if (!ld.f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = fs_conf_init(c);
	if (!rc) {
		c->path = strdup(path);
		rc = c->path ? copy_defines(c, defs, n) : -ENOMEM;
	}
	if (rc)
		snprintf(err, errlen, "%s: out of memory", path);
	else
		load_file(&ld, defs, n);
	rc = rc ? rc : ld.rc;
	if (rc)
		fs_conf_free(c);
	free(ld.buf);
	free(ld.sec_name);
	fclose(ld.f);
	return rc;
}
