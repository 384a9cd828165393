/* The kvm-fpm config's keys: a table per section, and what works on a
 * config or on a tenant's settings without reading a file (conf.c loads
 * files). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"
#include "conf_types.h"
#include "program.h"
#include "values.h"

#define NS_PER_S 1000000000ULL

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
    /* No larger than a program any worker reads (FS_PROGRAM_MAX): the
     * uploading worker would run what the others cannot load. */
    {K("upload_max_size", size), G(upload_max_size), RANGE(1, FS_PROGRAM_MAX),
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

_Static_assert(ARRAY_SIZE(global_keys) <= CONF_KEYS_MAX, "raise CONF_KEYS_MAX");
_Static_assert(ARRAY_SIZE(tenant_keys) <= CONF_KEYS_MAX, "raise CONF_KEYS_MAX");

const struct conf_section fs_conf_global = {"global", global_keys,
                                            ARRAY_SIZE(global_keys)};
const struct conf_section fs_conf_tenant = {"tenant", tenant_keys,
                                            ARRAY_SIZE(tenant_keys)};

const struct conf_key *conf_find_key(const struct conf_section *s,
                                     const char *name)
{
	size_t i;

	for (i = 0; i < s->nkeys; i++)
		if (!strcmp(s->keys[i].name, name))
			return &s->keys[i];
	return NULL;
}

bool conf_listen_is_unix(const struct fs_conf *c)
{
	struct sockaddr_storage sa;
	socklen_t len;

	return !fs_parse_listen(c->listen, &sa, &len) &&
	       sa.ss_family == AF_UNIX;
}

/* The unix_only keys are left out where the loader would refuse them. */
static void print_keys(const struct conf_section *s, const void *base,
                       bool is_unix, FILE *out)
{
	const struct conf_key *k;

	for (k = s->keys; k < s->keys + s->nkeys; k++)
		if (is_unix || !k->unix_only)
			k->type->print(k, (const char *)base + k->off, out);
}

static void free_keys(const struct conf_section *s, void *base)
{
	const struct conf_key *k;

	for (k = s->keys; k < s->keys + s->nkeys; k++)
		if (k->type->free)
			k->type->free((char *)base + k->off);
}

const struct fs_tenant_conf *conf_find_tenant(const struct fs_tenant_conf *t,
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

int conf_check_tenant(const struct fs_tenant_conf *t, const char **key,
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

/* ---- public ------------------------------------------------------------- */

int fs_conf_init(struct fs_conf *c)
{
	const struct conf_key *k;
	char why[CONF_WHY_MAX];
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

void fs_conf_free(struct fs_conf *c)
{
	size_t i;

	free_keys(&fs_conf_global, c);
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
	print_keys(&fs_conf_global, c, conf_listen_is_unix(c), out);
	for (i = 0; i < c->tenant_count; i++) {
		fprintf(out, "\n[tenant:%s]\n", c->tenants[i].name);
		print_keys(&fs_conf_tenant, &c->tenants[i], true, out);
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
	free_keys(&fs_conf_tenant, t);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

int fs_conf_tenant_set(struct fs_tenant_conf *t, const char *key,
                       const char *value, char *err, size_t errlen)
{
	const struct conf_key *k = conf_find_key(&fs_conf_tenant, key);
	char why[CONF_WHY_MAX];
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
	char why[CONF_WHY_MAX];

	if (!conf_check_tenant(t, &key, why, sizeof(why)))
		return 0;
	snprintf(err, errlen, "%s%s%s", key ? key : "", key ? ": " : "", why);
	return -EINVAL;
}

const struct fs_tenant_conf *fs_conf_find_tenant(const struct fs_conf *c,
                                                 const char *host)
{
	return conf_find_tenant(c->tenants, c->tenant_count, host);
}
