/* The kvm-fpm config: a key table per section, and the loader. */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"
#include "conf_types.h"
#include "host.h"
#include "values.h"

#define WHY_MAX  256
#define KEYS_MAX 32
#define NS_PER_S 1000000000ULL
#define DEF_LINE UINT_MAX /* "set on line": by -d, not by the file */

struct section {
	const char *name;
	const struct conf_key *keys;
	size_t nkeys;
};

/* ---- the tables ---------------------------------------------------------- */

/* K(): every entry is designated, so the rest default to 0/NULL. */
#define K(n, t)       .name = n, .type = &fs_conf_type_##t
#define G(f)          .off = offsetof(struct fs_conf, f)
#define T(f)          .off = offsetof(struct fs_tenant_conf, f)
#define RANGE(lo, hi) .min = lo, .max = hi
#define ANY           RANGE(0, UINT64_MAX)

static const struct conf_key global_keys[] = {
    {K("listen", listen), G(listen), .def = "/run/kvm-fpm/kvm-fpm.sock"},
    {K("listen.mode", mode), G(listen_mode), RANGE(0, 0777), .def = "0660",
     .unix_only = true},
    {K("listen.owner", str), G(listen_owner), .none = "", .unix_only = true},
    {K("listen.group", str), G(listen_group), .none = "", .unix_only = true},
    {K("scgi_listen", listen), G(scgi_listen), .none = "off"},
    {K("status_listen", listen), G(status_listen), .none = "off"},
    {K("workers", uint), G(workers), RANGE(1, 1024), .def = "4"},
    {K("max_requests", u64), G(max_requests), ANY, .def = "0"},
    {K("max_vms", uint), G(max_vms), RANGE(1, 1000000), .def = "64"},
    {K("program_dir", str), G(program_dir), .def = "/var/lib/kvm-fpm"},
    {K("status_path", urlpath), G(status_path), .def = "/kvm-fpm/status"},
    {K("ping_path", urlpath), G(ping_path), .def = "/kvm-fpm/ping"},
    {K("status_allow", addrs), G(status_allow)},
    {K("log", str), G(log), .none = "stderr"},
    {K("log_level", loglevel), G(log_level), .def = "notice"},
    {K("access_log", str), G(access_log), .none = "off"},
    {K("debug_port", uint), G(debug_port), RANGE(0, 65535), .def = "2159"},
    {K("upload_max_size", size), G(upload_max_size), RANGE(1, UINT64_MAX),
     .def = "64M"},
    {K("user", str), G(user), .none = ""},
    {K("group", str), G(group), .none = ""},
    {K("allow_run_as_root", bool), G(allow_run_as_root)},
    {K("request_read_timeout", time), G(request_read_timeout_ns),
     RANGE(1000000, 3600 * NS_PER_S), .def = "5s"},
    {K("pid", str), G(pid), .none = "none"},
    {K("key_dir", str), G(key_dir), .none = "none"},
    {K("program_store", str), G(program_store), .def = "dir"},
    {K("etcd_endpoints", str), G(etcd_endpoints), .none = ""},
    {K("etcd_prefix", str), G(etcd_prefix), .def = "/kvm-fpm"},
};

/* Defaults: fs_conf_tenant_init() (limits from kc_limits_default()). */
static const struct conf_key tenant_keys[] = {
    {K("program", str), T(program)},
    {K("aliases", hosts), T(aliases)},
    {K("key", str), T(key), .none = ""},
    {K("max_request_time", time), T(limits.max_request_time_ns), ANY},
    {K("max_boot_time", time), T(limits.max_boot_time_ns), ANY},
    {K("max_memory", size), T(limits.max_memory), ANY},
    {K("max_request_memory", size), T(limits.max_request_memory), ANY},
    {K("max_response_size", size), T(limits.max_response_size), ANY},
    {K("max_body_size", size), T(limits.max_body_size), ANY},
    {K("stack_size", size), T(limits.stack_size), ANY},
    {K("max_log_size", size), T(limits.max_log_size), ANY},
    {K("data_dir", str), T(limits.data_dir), .none = "none"},
    {K("allow_debug", bool), T(allow_debug)},
    {K("debug_on_fault", bool), T(debug_on_fault)},
    {K("debug_wait", time), T(debug_wait_ns), ANY},
    {K("debug_counts_time", bool), T(debug_counts_time)},
};

_Static_assert(ARRAY_SIZE(global_keys) <= KEYS_MAX, "raise KEYS_MAX");
_Static_assert(ARRAY_SIZE(tenant_keys) <= KEYS_MAX, "raise KEYS_MAX");

static const struct section global_section = {"global", global_keys,
                                              ARRAY_SIZE(global_keys)};
static const struct section tenant_section = {"tenant", tenant_keys,
                                              ARRAY_SIZE(tenant_keys)};

static const struct conf_key *find_key(const struct section *s,
                                       const char *name)
{
	size_t i;

	for (i = 0; i < s->nkeys; i++)
		if (!strcmp(s->keys[i].name, name))
			return &s->keys[i];
	return NULL;
}

/* Whether listen is a unix socket path (what the unix_only keys need). */
static bool listen_is_unix(const struct fs_conf *c)
{
	struct sockaddr_storage sa;
	socklen_t len;

	return !fs_parse_listen(c->listen, &sa, &len) &&
	       sa.ss_family == AF_UNIX;
}

/* The unix_only keys are left out where the loader would refuse them. */
static void print_keys(const struct section *s, const void *base, bool is_unix,
                       FILE *out)
{
	const struct conf_key *k;

	for (k = s->keys; k < s->keys + s->nkeys; k++)
		if (is_unix || !k->unix_only)
			k->type->print(k, (const char *)base + k->off, out);
}

static void free_keys(const struct section *s, void *base)
{
	const struct conf_key *k;

	for (k = s->keys; k < s->keys + s->nkeys; k++)
		if (k->type->free)
			k->type->free((char *)base + k->off);
}

/* The tenant among t[0..n) with host as its name or an alias. */
static const struct fs_tenant_conf *find_tenant(const struct fs_tenant_conf *t,
                                                size_t n, const char *host)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (t[i].name && !strcmp(t[i].name, host))
			return &t[i];
		for (j = 0; j < t[i].aliases.n; j++)
			if (!strcmp(t[i].aliases.v[j], host))
				return &t[i];
	}
	return NULL;
}

/* Problems within one tenant: *key names the key, or NULL. */
static int check_tenant(const struct fs_tenant_conf *t, const char **key,
                        char *why, size_t n)
{
	const struct fs_conf_list *a = &t->aliases;
	size_t i, j;

	*key = "program";
	if (!t->program) {
		snprintf(why, n, "missing (the path of the tenant's program)");
		return -EINVAL;
	}
	*key = "aliases";
	for (i = 0; i < a->n; i++) {
		if (t->name && !strcmp(a->v[i], t->name))
			return fs_conf_bad(why, n, a->v[i],
			                   "is the tenant's own name");
		for (j = 0; j < i; j++)
			if (!strcmp(a->v[i], a->v[j]))
				return fs_conf_bad(why, n, a->v[i],
				                   "is listed twice");
	}
	*key = NULL;
	return kc_limits_check(&t->limits, why, n);
}

/* ---- the loader ---------------------------------------------------------- */

/* One load: inih's line source, the section being filled, the error. */
struct load {
	FILE *f;
	const char *path;
	char *buf; /* getline's */
	size_t cap;
	unsigned lineno;
	struct fs_conf *c;
	const struct section *sec; /* NULL before the first section */
	void *base;                /* the struct sec's keys go to */
	char *sec_name;            /* as written, for messages */
	unsigned sec_line, global_line;
	unsigned *seen; /* first line each key of sec was set on */
	unsigned global_seen[KEYS_MAX], tenant_seen[KEYS_MAX];
	int rc;
	unsigned err_line;
	char *err;
	size_t errlen;
};

/* Record the first error as "file:line: [sec] key: why" (sec, key optional). */
static int fail(struct load *ld, const char *sec, unsigned line,
                const char *key, int rc, const char *fmt, ...)
{
	char why[WHY_MAX], where[WHY_MAX] = "";
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

static unsigned key_line(const struct section *s, const unsigned *seen,
                         const char *key)
{
	const struct conf_key *k = key ? find_key(s, key) : NULL;

	return k ? seen[k - s->keys] : 0;
}

/* At the end of a tenant: the tenant alone, then its names unclaimed. */
static int validate_tenant(struct load *ld)
{
	const struct fs_tenant_conf *t = ld->base, *o;
	size_t i, before = (size_t)(t - ld->c->tenants);
	unsigned line;
	const char *key;
	char why[WHY_MAX];

	if (check_tenant(t, &key, why, sizeof(why))) {
		line = key_line(&tenant_section, ld->tenant_seen, key);
		return fail(ld, ld->sec_name, line ? line : ld->sec_line, key,
		            -EINVAL, "%s", why);
	}
	o = find_tenant(ld->c->tenants, before, t->name);
	if (o)
		return fail(
		    ld, ld->sec_name, ld->sec_line, NULL, -EINVAL,
		    "\"%s\" is already claimed by [tenant:%s] (line %u)",
		    t->name, o->name, o->line);
	line = key_line(&tenant_section, ld->tenant_seen, "aliases");
	for (i = 0; i < t->aliases.n; i++) {
		o = find_tenant(ld->c->tenants, before, t->aliases.v[i]);
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

	line = key_line(&global_section, ld->global_seen, "program_store");
	if (strcmp(c->program_store, "dir") && strcmp(c->program_store, "etcd"))
		return fail(ld, "global", line, "program_store", -EINVAL,
		            "\"%s\" is neither dir nor etcd", c->program_store);
	if (strcmp(c->program_store, "etcd"))
		return 0;
	if (c->etcd_endpoints == NULL)
		return fail(ld, "global", line, "program_store", -EINVAL,
		            "etcd needs etcd_endpoints");
	line = key_line(&global_section, ld->global_seen, "etcd_prefix");
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

	for (i = 0; i < ARRAY_SIZE(global_keys); i++) {
		line = ld->global_seen[i];
		if (global_keys[i].unix_only && line && !listen_is_unix(c))
			return fail(ld, "global", line, global_keys[i].name,
			            -EINVAL,
			            "only applies when listen is a unix "
			            "socket path");
	}
	line = key_line(&global_section, ld->global_seen, "scgi_listen");
	if (c->scgi_listen && !strcmp(c->scgi_listen, c->listen))
		return fail(ld, "global", line, "scgi_listen", -EINVAL,
		            "\"%s\" is also listen", c->scgi_listen);
	line = key_line(&global_section, ld->global_seen, "status_listen");
	if (c->status_listen &&
	    (!strcmp(c->status_listen, c->listen) ||
	     (c->scgi_listen && !strcmp(c->status_listen, c->scgi_listen))))
		return fail(ld, "global", line, "status_listen", -EINVAL,
		            "\"%s\" is already a listener", c->status_listen);
	line = key_line(&global_section, ld->global_seen, "ping_path");
	if (!strcmp(c->status_path, c->ping_path))
		return fail(ld, "global", line, "ping_path", -EINVAL,
		            "\"%s\" is also status_path", c->ping_path);
	return validate_store(ld);
}

static int end_section(struct load *ld)
{
	return ld->sec == &tenant_section ? validate_tenant(ld) : 0;
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
	ld->sec = &tenant_section;
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
	ld->sec = &global_section;
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
	char why[WHY_MAX];
	unsigned *seen;
	int rc;

	(void)section; /* possibly truncated; read_line follows ours */
	if (ld->rc)
		return 0;
	if (!ld->sec)
		return !fail(ld, ld->sec_name, ld->lineno, name, -EINVAL,
		             "is outside a section (start with [global] or "
		             "[tenant:HOST])");
	k = find_key(ld->sec, name);
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
	char name[32], why[WHY_MAX];
	void *field;
	int rc;

	if (eq && eq > def && (size_t)(eq - def) < sizeof(name)) {
		memcpy(name, def, (size_t)(eq - def));
		name[eq - def] = '\0';
		k = find_key(&global_section, name);
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
	ld->global_seen[k - global_keys] = DEF_LINE;
	return 0;
}

/* key_dir/HOST.key for each tenant without a key, so that keys need not
 * be in the file; a missing file leaves the tenant without one. */
static int read_key_files(struct load *ld)
{
	const struct conf_key *k = find_key(&tenant_section, "key");
	struct fs_tenant_conf *t;
	char path[PATH_MAX], sec[FS_HOST_MAX + 16], why[WHY_MAX], *line = NULL;
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

/* ---- public ------------------------------------------------------------- */

int fs_conf_init(struct fs_conf *c)
{
	const struct conf_key *k;
	char why[WHY_MAX];
	int rc;

	memset(c, 0, sizeof(*c));
	for (k = global_keys; k < global_keys + ARRAY_SIZE(global_keys); k++) {
		rc = k->def ? k->type->parse(k, k->def, (char *)c + k->off, why,
		                             sizeof(why))
		            : 0;
		if (rc) {
			fs_conf_free(c);
			return rc;
		}
	}
	return 0;
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

void fs_conf_free(struct fs_conf *c)
{
	size_t i;

	free_keys(&global_section, c);
	for (i = 0; i < c->tenant_count; i++)
		fs_conf_tenant_free(&c->tenants[i]);
	free(c->tenants);
	free(c->path);
	while (c->defines.n)
		free(c->defines.v[--c->defines.n]);
	free(c->defines.v);
	memset(c, 0, sizeof(*c));
}

void fs_conf_print(const struct fs_conf *c, FILE *out)
{
	size_t i;

	fprintf(out, "; kvm-fpm effective configuration\n[global]\n");
	print_keys(&global_section, c, listen_is_unix(c), out);
	for (i = 0; i < c->tenant_count; i++) {
		fprintf(out, "\n[tenant:%s]\n", c->tenants[i].name);
		print_keys(&tenant_section, &c->tenants[i], true, out);
	}
}

void fs_conf_tenant_init(struct fs_tenant_conf *t)
{
	memset(t, 0, sizeof(*t));
	kc_limits_default(&t->limits);
	t->debug_wait_ns = 30 * NS_PER_S;
}

void fs_conf_tenant_free(struct fs_tenant_conf *t)
{
	free_keys(&tenant_section, t);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

int fs_conf_tenant_set(struct fs_tenant_conf *t, const char *key,
                       const char *value, char *err, size_t errlen)
{
	const struct conf_key *k = find_key(&tenant_section, key);
	char why[WHY_MAX];
	int rc;

	if (!k) {
		snprintf(err, errlen, "%s: unknown key", key);
		return -EINVAL;
	}
	rc = k->type->parse(k, value, (char *)t + k->off, why, sizeof(why));
	if (rc)
		snprintf(err, errlen, "%s: %s", key, why);
	return rc;
}

int fs_conf_tenant_check(const struct fs_tenant_conf *t, char *err,
                         size_t errlen)
{
	const char *key;
	char why[WHY_MAX];

	if (!check_tenant(t, &key, why, sizeof(why)))
		return 0;
	snprintf(err, errlen, "%s%s%s", key ? key : "", key ? ": " : "", why);
	return -EINVAL;
}

const struct fs_tenant_conf *fs_conf_find_tenant(const struct fs_conf *c,
                                                 const char *host)
{
	return find_tenant(c->tenants, c->tenant_count, host);
}
