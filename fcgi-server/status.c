/* Status page: one table of fields, walked once per output format. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "status.h"

/* What a field's uint64_t (or char array) holds. */
enum kind {
	K_COUNT,
	K_USEC, /* microseconds; OpenMetrics wants seconds */
	K_TIME, /* seconds since the epoch; text shows a date */
	K_STR,  /* a char array */
};

enum om_type { OM_COUNTER, OM_GAUGE, OM_INFO };

/*
 * One line of the status page.  key[] names it per format (text label,
 * JSON key, OpenMetrics family); NULL leaves it out of that format.
 * Fields of one OpenMetrics family are adjacent and differ by label.
 */
struct field {
	const char *key[FS_STATUS_FORMAT_MAX];
	enum om_type type;
	enum kind kind;
	size_t off;        /* into fs_sb_snapshot or fs_sb_tenant_snap */
	const char *label; /* extra label `k="v"`; for K_STR the label name */
	const char *unit;  /* OpenMetrics unit (the family's suffix) */
	const char *help;
};

#define G(m)     offsetof(struct fs_sb_snapshot, m)
#define T(m)     offsetof(struct fs_sb_tenant_snap, m)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct field global_fields[] = {
    {{"pool", "pool", "kvmfpm_pool"},
     OM_INFO,
     K_STR,
     G(pool),
     "pool",
     NULL,
     "The pool name."},
    {{"start time", "start_time", "kvmfpm_start_time_seconds"},
     OM_GAUGE,
     K_TIME,
     G(start_time),
     NULL,
     "seconds",
     "When the master started."},
    {{"start since", "start_since", NULL},
     OM_GAUGE,
     K_COUNT,
     G(start_since),
     NULL,
     NULL,
     NULL},
    {{"accepted conn", "accepted_conn", "kvmfpm_accepted_connections"},
     OM_COUNTER,
     K_COUNT,
     G(accepted),
     NULL,
     NULL,
     "Requests accepted by the workers."},
    {{"listen queue", "listen_queue", "kvmfpm_listen_queue"},
     OM_GAUGE,
     K_COUNT,
     G(listen_queue),
     NULL,
     NULL,
     "Connections waiting in the listen backlog."},
    {{"max listen queue", "max_listen_queue", "kvmfpm_listen_queue_max"},
     OM_GAUGE,
     K_COUNT,
     G(max_listen_queue),
     NULL,
     NULL,
     "Longest listen backlog seen."},
    {{"idle processes", "idle_processes", "kvmfpm_processes"},
     OM_GAUGE,
     K_COUNT,
     G(idle),
     "state=\"idle\"",
     NULL,
     "Worker processes by state."},
    {{"active processes", "active_processes", "kvmfpm_processes"},
     OM_GAUGE,
     K_COUNT,
     G(active),
     "state=\"active\"",
     NULL,
     NULL},
    {{"total processes", "total_processes", NULL},
     OM_GAUGE,
     K_COUNT,
     G(total),
     NULL,
     NULL,
     NULL},
};

#define RESPONSES(c)                                                           \
	{                                                                      \
		{"responses " #c "xx", "responses_" #c "xx",                   \
		 "kvmfpm_responses"},                                          \
		    OM_COUNTER, K_COUNT, T(status[c]), "class=\"" #c "xx\"",   \
		    NULL, "Responses by status class."                         \
	}

static const struct field tenant_fields[] = {
    {{"requests", "requests", "kvmfpm_requests"},
     OM_COUNTER,
     K_COUNT,
     T(requests),
     NULL,
     NULL,
     "Requests completed."},
    RESPONSES(1),
    RESPONSES(2),
    RESPONSES(3),
    RESPONSES(4),
    RESPONSES(5),
    {{"timeouts", "timeouts", "kvmfpm_timeouts"},
     OM_COUNTER,
     K_COUNT,
     T(timeouts),
     NULL,
     NULL,
     "Requests stopped at max_request_time."},
    {{"faults", "faults", "kvmfpm_faults"},
     OM_COUNTER,
     K_COUNT,
     T(faults),
     NULL,
     NULL,
     "Requests ended by a guest fault or bad pointer."},
    {{"oom", "oom", "kvmfpm_oom"},
     OM_COUNTER,
     K_COUNT,
     T(oom),
     NULL,
     NULL,
     "Requests ended by guest memory exhaustion."},
    {{"busy processes", "busy_processes", "kvmfpm_tenant_processes"},
     OM_GAUGE,
     K_COUNT,
     T(active),
     NULL,
     NULL,
     "Worker processes serving the tenant now."},
    {{"latency sum (us)", "latency_sum_us", "kvmfpm_latency_seconds"},
     OM_COUNTER,
     K_USEC,
     T(latency_sum_us),
     NULL,
     "seconds",
     "Total time spent on completed requests."},
    {{"latency avg (us)", "latency_avg_us", NULL},
     OM_GAUGE,
     K_USEC,
     T(latency_avg_us),
     NULL,
     NULL,
     NULL},
    {{"latency max (us)", "latency_max_us", "kvmfpm_latency_max_seconds"},
     OM_GAUGE,
     K_USEC,
     T(latency_max_us),
     NULL,
     "seconds",
     "Longest request."},
    {{"latency p99 (us)", "latency_p99_us", "kvmfpm_latency_p99_seconds"},
     OM_GAUGE,
     K_USEC,
     T(latency_p99_us),
     NULL,
     "seconds",
     "99th percentile request time (upper histogram bucket edge)."},
    {{"resident vms", "resident_vms", "kvmfpm_resident_vms"},
     OM_GAUGE,
     K_COUNT,
     T(vms),
     NULL,
     NULL,
     "VMs kept loaded by the workers."},
    {{"resident vm bytes", "resident_vm_bytes", "kvmfpm_resident_vm_bytes"},
     OM_GAUGE,
     K_COUNT,
     T(vm_bytes),
     NULL,
     "bytes",
     "Guest memory of the resident VMs."},
    {{"uploads", "uploads", "kvmfpm_uploads"},
     OM_COUNTER,
     K_COUNT,
     T(uploads),
     NULL,
     NULL,
     "Programs made live by an upload since the master started."},
};

/* A growing output buffer; the first allocation failure sticks. */
struct out {
	char *p;
	size_t len, cap;
	int err;
	bool first; /* JSON: the next member needs no comma */
};

static bool reserve(struct out *o, size_t n)
{
	size_t cap;
	char *p;

	if (o->err)
		return false;
	if (o->len + n < o->cap)
		return true;
	cap = o->cap ? o->cap : 4096;
	while (cap <= o->len + n)
		cap *= 2;
	p = realloc(o->p, cap);
	if (!p) {
		o->err = -ENOMEM;
		return false;
	}
	o->p = p;
	o->cap = cap;
	return true;
}

static void put(struct out *o, const char *s, size_t n)
{
	if (!reserve(o, n))
		return;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_out(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putc_out(struct out *o, char c)
{
	put(o, &c, 1);
}

__attribute__((format(printf, 2, 3))) static void putf(struct out *o,
                                                       const char *fmt, ...)
{
	char small[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(small)) {
		o->err = o->err ? o->err : -ENOMEM; /* no field is that long */
		return;
	}
	put(o, small, (size_t)n);
}

static uint64_t u64_at(const void *base, const struct field *f)
{
	uint64_t v;

	memcpy(&v, (const char *)base + f->off, sizeof(v));
	return v;
}

static const char *str_at(const void *base, const struct field *f)
{
	return (const char *)base + f->off;
}

/* Names come from the config, so this is defence, not a feature. */
static void put_text_clean(struct out *o, const char *s)
{
	for (; *s; s++)
		putc_out(o, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void put_json_string(struct out *o, const char *s)
{
	putc_out(o, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			putc_out(o, '\\');
			putc_out(o, (char)c);
		} else if (c == '\n') {
			puts_out(o, "\\n");
		} else if (c < 0x20) {
			putf(o, "\\u%04x", c);
		} else {
			putc_out(o, (char)c);
		}
	}
	putc_out(o, '"');
}

/* OpenMetrics label values escape exactly these three. */
static void put_om_label(struct out *o, const char *name, const char *value)
{
	puts_out(o, name);
	puts_out(o, "=\"");
	for (; *value; value++) {
		if (*value == '\\')
			puts_out(o, "\\\\");
		else if (*value == '"')
			puts_out(o, "\\\"");
		else if (*value == '\n')
			puts_out(o, "\\n");
		else
			putc_out(o, *value);
	}
	putc_out(o, '"');
}

static void put_usec_seconds(struct out *o, uint64_t us)
{
	putf(o, "%llu.%06llu", (unsigned long long)(us / 1000000),
	     (unsigned long long)(us % 1000000));
}

/* The per-format callbacks of the walk; NULL ones are skipped. */
struct emitter {
	bool field_major; /* tenants inside each field, not fields in each */
	void (*begin)(struct out *);
	void (*family)(struct out *, const struct field *);
	void (*value)(struct out *, const struct field *, const void *base,
	              const struct fs_sb_tenant_snap *t);
	void (*tenants_begin)(struct out *);
	void (*tenant_begin)(struct out *, const struct fs_sb_tenant_snap *);
	void (*tenant_end)(struct out *);
	void (*end)(struct out *);
};

/* text: PHP-FPM's "label:" padded to column 22 */

static void text_key(struct out *o, const char *label)
{
	size_t n = strlen(label) + 1;

	puts_out(o, label);
	putc_out(o, ':');
	do
		putc_out(o, ' ');
	while (++n < 22);
}

static void text_value(struct out *o, const struct field *f, const void *base,
                       const struct fs_sb_tenant_snap *t)
{
	char date[64];
	time_t when;
	struct tm tm;

	(void)t;
	text_key(o, f->key[FS_STATUS_TEXT]);
	if (f->kind == K_STR) {
		put_text_clean(o, str_at(base, f));
	} else if (f->kind == K_TIME) {
		when = (time_t)u64_at(base, f);
		if (!localtime_r(&when, &tm) ||
		    !strftime(date, sizeof(date), "%d/%b/%Y:%H:%M:%S %z", &tm))
			strcpy(date, "-");
		puts_out(o, date);
	} else {
		putf(o, "%llu", (unsigned long long)u64_at(base, f));
	}
	putc_out(o, '\n');
}

static void text_tenant_begin(struct out *o, const struct fs_sb_tenant_snap *t)
{
	putc_out(o, '\n');
	text_key(o, "tenant");
	put_text_clean(o, t->name);
	putc_out(o, '\n');
}

static const struct emitter text_emitter = {
    .value = text_value,
    .tenant_begin = text_tenant_begin,
};

/* JSON: one object, tenants in an array */

static void json_member(struct out *o, const char *key)
{
	if (!o->first)
		putc_out(o, ',');
	o->first = false;
	put_json_string(o, key);
	putc_out(o, ':');
}

static void json_value(struct out *o, const struct field *f, const void *base,
                       const struct fs_sb_tenant_snap *t)
{
	(void)t;
	json_member(o, f->key[FS_STATUS_JSON]);
	if (f->kind == K_STR)
		put_json_string(o, str_at(base, f));
	else
		putf(o, "%llu", (unsigned long long)u64_at(base, f));
}

static void json_begin(struct out *o)
{
	putc_out(o, '{');
}

static void json_tenants_begin(struct out *o)
{
	json_member(o, "tenants");
	putc_out(o, '[');
	o->first = true;
}

static void json_tenant_begin(struct out *o, const struct fs_sb_tenant_snap *t)
{
	if (!o->first)
		putc_out(o, ',');
	putc_out(o, '{');
	o->first = true;
	json_member(o, "name");
	put_json_string(o, t->name);
}

static void json_tenant_end(struct out *o)
{
	putc_out(o, '}');
	o->first = false;
}

static void json_end(struct out *o)
{
	puts_out(o, "]}\n");
}

static const struct emitter json_emitter = {
    .begin = json_begin,
    .value = json_value,
    .tenants_begin = json_tenants_begin,
    .tenant_begin = json_tenant_begin,
    .tenant_end = json_tenant_end,
    .end = json_end,
};

/* OpenMetrics: families with their samples, field by field */

static const char *const om_type_names[] = {"counter", "gauge", "info"};
static const char *const om_suffixes[] = {"_total", "", "_info"};

static void om_family(struct out *o, const struct field *f)
{
	const char *name = f->key[FS_STATUS_OPENMETRICS];

	putf(o, "# TYPE %s %s\n", name, om_type_names[f->type]);
	if (f->unit)
		putf(o, "# UNIT %s %s\n", name, f->unit);
	if (f->help)
		putf(o, "# HELP %s %s\n", name, f->help);
}

static void om_value(struct out *o, const struct field *f, const void *base,
                     const struct fs_sb_tenant_snap *t)
{
	bool labels = t || f->label;

	puts_out(o, f->key[FS_STATUS_OPENMETRICS]);
	puts_out(o, om_suffixes[f->type]);
	if (labels)
		putc_out(o, '{');
	if (t)
		put_om_label(o, "tenant", t->name);
	if (t && f->label)
		putc_out(o, ',');
	if (f->kind == K_STR)
		put_om_label(o, f->label, str_at(base, f));
	else if (f->label)
		puts_out(o, f->label);
	if (labels)
		putc_out(o, '}');
	putc_out(o, ' ');
	if (f->kind == K_STR)
		putc_out(o, '1');
	else if (f->kind == K_USEC)
		put_usec_seconds(o, u64_at(base, f));
	else
		putf(o, "%llu", (unsigned long long)u64_at(base, f));
	putc_out(o, '\n');
}

static void om_end(struct out *o)
{
	puts_out(o, "# EOF\n");
}

static const struct emitter om_emitter = {
    .field_major = true,
    .family = om_family,
    .value = om_value,
    .end = om_end,
};

static const struct emitter *const emitters[] = {
    [FS_STATUS_TEXT] = &text_emitter,
    [FS_STATUS_JSON] = &json_emitter,
    [FS_STATUS_OPENMETRICS] = &om_emitter,
};

/* Metadata for f when it starts a family (after a field of another). */
static void maybe_family(struct out *o, const struct emitter *e,
                         enum fs_status_format fmt, const struct field *f,
                         const struct field **prev)
{
	if (e->family && (!*prev || strcmp((*prev)->key[fmt], f->key[fmt])))
		e->family(o, f);
	*prev = f;
}

/* The one walk: globals, then the tenants fields x tenants table. */
static void walk(struct out *o, const struct emitter *e,
                 enum fs_status_format fmt, const struct fs_sb_snapshot *s)
{
	const struct field *prev = NULL;
	size_t i, k;

	if (e->begin)
		e->begin(o);
	for (i = 0; i < COUNT(global_fields); i++) {
		if (!global_fields[i].key[fmt])
			continue;
		maybe_family(o, e, fmt, &global_fields[i], &prev);
		e->value(o, &global_fields[i], s, NULL);
	}
	if (e->tenants_begin)
		e->tenants_begin(o);
	for (i = 0; e->field_major && i < COUNT(tenant_fields); i++) {
		if (!tenant_fields[i].key[fmt])
			continue;
		maybe_family(o, e, fmt, &tenant_fields[i], &prev);
		for (k = 0; k < s->ntenants; k++)
			e->value(o, &tenant_fields[i], &s->tenants[k],
			         &s->tenants[k]);
	}
	for (k = 0; !e->field_major && k < s->ntenants; k++) {
		if (e->tenant_begin)
			e->tenant_begin(o, &s->tenants[k]);
		for (i = 0; i < COUNT(tenant_fields); i++)
			if (tenant_fields[i].key[fmt])
				e->value(o, &tenant_fields[i], &s->tenants[k],
				         &s->tenants[k]);
		if (e->tenant_end)
			e->tenant_end(o);
	}
	if (e->end)
		e->end(o);
}

int fs_status_render(const struct fs_sb_snapshot *s, enum fs_status_format fmt,
                     char **out, size_t *len)
{
	struct out o = {.first = true};

	if ((unsigned)fmt >= FS_STATUS_FORMAT_MAX)
		return -EINVAL;
	walk(&o, emitters[fmt], fmt, s);
	if (!o.err && !o.p)
		reserve(&o, 1); /* an empty page is still a string */
	if (o.err) {
		free(o.p);
		return o.err;
	}
	o.p[o.len] = '\0';
	*out = o.p;
	*len = o.len;
	return 0;
}

enum fs_status_format fs_status_format_from_query(const char *query)
{
	enum fs_status_format fmt = FS_STATUS_TEXT;
	const char *tok = query, *end;
	size_t n;

	while (tok && *tok) {
		end = strchrnul(tok, '&');
		n = (size_t)(end - tok);
		if (n == 4 && !memcmp(tok, "json", 4))
			fmt = FS_STATUS_JSON;
		else if (n == 11 && !memcmp(tok, "openmetrics", 11))
			fmt = FS_STATUS_OPENMETRICS;
		tok = *end ? end + 1 : end;
	}
	return fmt;
}

const char *fs_status_content_type(enum fs_status_format fmt)
{
	if (fmt == FS_STATUS_JSON)
		return "application/json";
	if (fmt == FS_STATUS_OPENMETRICS)
		return "application/openmetrics-text; version=1.0.0; "
		       "charset=utf-8";
	return "text/plain; charset=utf-8";
}
