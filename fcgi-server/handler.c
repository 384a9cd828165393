/* The request handler every front end shares: route by Host, run the
 * tenant's VM, write the response, reset the VM. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "debug.h"
#include "host.h"
#include "log.h"
#include "scoreboard.h"
#include "status.h"
#include "server.h"
#include "upload.h"
#include "values.h"

#define GUEST_HEADERS_MAX 128

int fs_server_init(struct fs_server *s, const struct fs_conf *conf,
                   const struct fs_tenants *tenants, struct fs_scoreboard *sb,
                   int sb_slot)
{
	memset(s, 0, sizeof(*s));
	s->conf = conf;
	s->tenants = tenants;
	s->sb = sb;
	s->sb_slot = sb_slot;
	s->vms = calloc(tenants->n ? tenants->n : 1, sizeof(*s->vms));
	return s->vms ? 0 : -ENOMEM;
}

static void drop_vm(struct fs_server *s, size_t i)
{
	fs_sb_vms(s->sb, (unsigned)s->sb_slot, s->tenants->v[i].sb, -1,
	          -(int64_t)kc_image_snapshot_bytes(s->tenants->v[i].img));
	kc_vm_destroy(s->vms[i].vm);
	s->vms[i].vm = NULL;
	s->resident--;
}

void fs_server_fini(struct fs_server *s)
{
	size_t i;

	for (i = 0; i < s->tenants->n; i++)
		if (s->vms[i].vm)
			drop_vm(s, i);
	free(s->vms);
	s->vms = NULL;
}

const char *fs_param_get(const struct fs_param *p, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return p[i].value;
	return NULL;
}

/* The request path: REQUEST_URI without its query (SCRIPT_NAME when the
 * front end sent no REQUEST_URI). */
static size_t request_path(const struct fs_param *p, size_t n,
                           const char **path)
{
	const char *uri = fs_param_get(p, n, "REQUEST_URI");

	if (uri == NULL)
		uri = fs_param_get(p, n, "SCRIPT_NAME");
	*path = uri ? uri : "/";
	return strcspn(*path, "?");
}

static int path_is(const char *path, size_t len, const char *want)
{
	return want && strlen(want) == len && memcmp(path, want, len) == 0;
}

/* Status is for loopback and the configured addresses only. */
static int status_allowed(const struct fs_conf *c, const char *remote)
{
	struct in6_addr a6;
	struct in_addr a4;
	size_t i;

	if (remote == NULL)
		return 0;
	if (inet_pton(AF_INET, remote, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127)
		return 1;
	if (inet_pton(AF_INET6, remote, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6))
		return 1;
	for (i = 0; i < c->status_allow.n; i++)
		if (strcmp(c->status_allow.v[i], remote) == 0)
			return 1;
	return 0;
}

static void route_tenant(struct fs_server *s, const struct fs_param *p,
                         size_t n, struct fs_route *r)
{
	const char *host = fs_param_get(p, n, "HTTP_HOST");
	const char *cl = fs_param_get(p, n, "CONTENT_LENGTH");
	const char *key;

	if (host == NULL || *host == 0)
		return fs_route_error(r, 400, "missing Host header\n");
	if (fs_host_normalize(host, strlen(host), r->host, sizeof(r->host)) < 0)
		return fs_route_error(r, 400, "invalid Host header\n");
	r->tenant = fs_tenants_find(s->tenants, r->host);
	if (r->tenant == NULL)
		return fs_route_error(r, 404, "unknown host\n");
	if (cl && *cl && fs_parse_uint(cl, &r->content_length))
		return fs_route_error(r, 400, "invalid Content-Length\n");
	key = fs_param_get(p, n, "HTTP_X_LIVEUPDATE");
	if (key)
		return fs_upload_route(s, p, n, key, r);
	if (r->content_length > r->tenant->conf->limits.max_body_size)
		return fs_route_error(r, 413, "request body too large\n");
	fs_tenant_refresh(r->tenant, s->sb);
	if (r->tenant->img == NULL)
		return fs_route_error(r, 503,
		                      "the site's program is not loaded\n");
	r->kind = FS_ROUTE_TENANT;
}

void fs_route(struct fs_server *s, const struct fs_param *p, size_t n,
              struct fs_route *r)
{
	const char *path;
	size_t len = request_path(p, n, &path);

	memset(r, 0, sizeof(*r));
	if (path_is(path, len, s->conf->ping_path)) {
		r->kind = FS_ROUTE_PING;
	} else if (path_is(path, len, s->conf->status_path)) {
		if (status_allowed(s->conf, fs_param_get(p, n, "REMOTE_ADDR")))
			r->kind = FS_ROUTE_STATUS;
		else
			fs_route_error(r, 403,
			               "status is not allowed from here\n");
	} else if (s->status_only) {
		fs_route_error(r, 404,
		               "only status and ping are served here\n");
	} else {
		route_tenant(s, p, n, r);
	}
}

/* The least recently used VM goes when a worker holds max_vms. */
static void evict_one(struct fs_server *s)
{
	size_t i, victim = (size_t)-1;

	for (i = 0; i < s->tenants->n; i++)
		if (s->vms[i].vm &&
		    (victim == (size_t)-1 ||
		     s->vms[i].last_used < s->vms[victim].last_used))
			victim = i;
	if (victim != (size_t)-1)
		drop_vm(s, victim);
}

/* The worker's VM for a tenant, created on its first request. */
static struct kc_vm *tenant_vm(struct fs_server *s, struct fs_tenant *t)
{
	size_t i = (size_t)(t - s->tenants->v);
	struct fs_vm_slot *slot = &s->vms[i];
	char err[256];

	if (slot->vm && kc_vm_image(slot->vm) != t->img)
		drop_vm(s, i); /* the program changed */
	if (slot->vm == NULL) {
		if (s->resident >= s->conf->max_vms)
			evict_one(s);
		if (kc_vm_create(t->img, fs_log_guest, t->conf->name, &slot->vm,
		                 err, sizeof(err))) {
			fs_log(LOG_ERR, t->conf->name, "cannot create a VM: %s",
			       err);
			slot->vm = NULL;
			return NULL;
		}
		s->resident++;
		fs_sb_vms(s->sb, (unsigned)s->sb_slot, t->sb, 1,
		          (int64_t)kc_image_snapshot_bytes(t->img));
	}
	slot->last_used = ++s->tick;
	return slot->vm;
}

/* HTTP_USER_AGENT -> "user-agent", into buf; the guest's header form. */
static size_t guest_headers(const struct fs_param *p, size_t n,
                            struct kc_header *h, char *buf, size_t buflen)
{
	size_t i, count = 0, used = 0;

	for (i = 0; i < n && count < GUEST_HEADERS_MAX; i++) {
		size_t len, j;

		if (strncmp(p[i].name, "HTTP_", 5) != 0)
			continue;
		len = strlen(p[i].name + 5);
		if (len == 0 || used + len > buflen)
			continue;
		for (j = 0; j < len; j++) {
			char c = p[i].name[5 + j];

			buf[used + j] = c == '_' ? '-'
			                : (c >= 'A' && c <= 'Z')
			                    ? (char)(c + 32)
			                    : c;
		}
		h[count].name = (struct kc_str){buf + used, len};
		h[count].value =
		    (struct kc_str){p[i].value, strlen(p[i].value)};
		used += len;
		count++;
	}
	return count;
}

static struct kc_str param_str(const struct fs_param *p, size_t n,
                               const char *name, const char *dflt)
{
	const char *v = fs_param_get(p, n, name);

	if (v == NULL)
		v = dflt;
	return (struct kc_str){v, strlen(v)};
}

static unsigned long usec_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (unsigned long)((b.tv_sec - a->tv_sec) * 1000000L +
	                       (b.tv_nsec - a->tv_nsec) / 1000);
}

/* The request's access-log line; ping (health probes) is not logged. */
static void log_access(const struct fs_param *p, size_t n,
                       const struct fs_route *r, int status, size_t bytes,
                       unsigned long usec)
{
	if (r->kind == FS_ROUTE_PING)
		return;
	fs_access_log(
	    param_str(p, n, "REMOTE_ADDR", "-").ptr, r->host[0] ? r->host : "-",
	    param_str(p, n, "REQUEST_METHOD", "GET").ptr,
	    param_str(p, n, "REQUEST_URI", "/").ptr, status, bytes, usec);
}

static enum fs_sb_kind sb_kind(enum kc_status st)
{
	switch (st) {
	case KC_OK:
		return FS_SB_OK;
	case KC_ERR_TIMEOUT:
		return FS_SB_TIMEOUT;
	case KC_ERR_OOM:
		return FS_SB_OOM;
	default:
		return FS_SB_FAULT;
	}
}

/* The status page: one snapshot of the scoreboard, in the asked format. */
static int answer_status(struct fs_server *s, const struct fs_param *p,
                         size_t n, fs_write_fn *write, void *ctx)
{
	enum fs_status_format fmt =
	    fs_status_format_from_query(fs_param_get(p, n, "QUERY_STRING"));
	struct fs_sb_snapshot snap;
	char head[128], *text = NULL;
	size_t len = 0;
	int rc;

	if (s->sb == NULL || fs_sb_snapshot(s->sb, &snap))
		return fs_write_plain(503, "no status\n", write, ctx);
	rc = fs_status_render(&snap, fmt, &text, &len);
	fs_sb_snapshot_free(&snap);
	if (rc)
		return fs_write_plain(500, "status failed\n", write, ctx);
	snprintf(head, sizeof(head),
	         "Status: 200 OK\r\nContent-Type: %s\r\n"
	         "Cache-Control: no-store\r\n\r\n",
	         fs_status_content_type(fmt));
	rc = write(ctx, head, strlen(head));
	if (rc == 0)
		rc = write(ctx, text, len);
	free(text);
	return rc;
}

static int answer_tenant(struct fs_server *s, const struct fs_route *r,
                         const struct fs_param *p, size_t n, const void *body,
                         size_t body_len, fs_write_fn *write, void *ctx)
{
	struct kc_header headers[GUEST_HEADERS_MAX];
	char names[8192];
	struct kc_request req;
	struct kc_result res;
	struct timespec start;
	struct fs_debug dbg;
	unsigned long usec;
	struct kc_vm *vm;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &start);
	fs_debug_prepare(&dbg, s->conf, r->tenant->conf, p, n);
	if (dbg.status) {
		fs_sb_request_end(s->sb, (unsigned)s->sb_slot, r->tenant->sb,
		                  dbg.status, FS_SB_OK, 0);
		log_access(p, n, r, dbg.status, strlen(dbg.message), 0);
		return fs_write_plain(dbg.status, dbg.message, write, ctx);
	}
	vm = tenant_vm(s, r->tenant);
	if (vm == NULL) {
		fs_debug_done(&dbg);
		fs_sb_request_end(s->sb, (unsigned)s->sb_slot, r->tenant->sb,
		                  503, FS_SB_FAULT, 0);
		static const char msg[] = "no VM for this site\n";

		log_access(p, n, r, 503, sizeof(msg) - 1, 0);
		return fs_write_plain(503, msg, write, ctx);
	}
	memset(&req, 0, sizeof(req));
	req.method = param_str(p, n, "REQUEST_METHOD", "GET");
	req.uri = param_str(p, n, "REQUEST_URI", "/");
	req.query = param_str(p, n, "QUERY_STRING", "");
	req.remote_addr = param_str(p, n, "REMOTE_ADDR", "");
	req.headers = headers;
	req.header_count = guest_headers(p, n, headers, names, sizeof(names));
	req.body = body;
	req.body_len = body_len;
	if (kc_vm_request_debug(vm, &req, &res, dbg.on ? &dbg.kc : NULL) !=
	    KC_OK)
		fs_log(res.status == KC_ERR_INTERNAL ? LOG_ERR : LOG_WARNING,
		       r->tenant->conf->name, "%s %.*s: %s: %s", req.method.ptr,
		       (int)req.uri.len, req.uri.ptr,
		       kc_status_name(res.status), res.error);
	fs_debug_done(&dbg);
	rc = fs_write_response(&res, write, ctx);
	usec = usec_since(&start);
	fs_sb_request_end(s->sb, (unsigned)s->sb_slot, r->tenant->sb,
	                  fs_http_status(&res), sb_kind(res.status),
	                  usec * 1000);
	log_access(p, n, r, fs_http_status(&res), res.body.len, usec);
	if (kc_vm_reset(vm) || res.status == KC_ERR_INTERNAL)
		drop_vm(s, (size_t)(r->tenant - s->tenants->v));
	return rc;
}

static int answer_upload(struct fs_server *s, const struct fs_route *r,
                         const struct fs_param *p, size_t n, const void *elf,
                         size_t len, fs_write_fn *write, void *ctx)
{
	struct timespec start;
	unsigned long usec;
	int rc, status;

	clock_gettime(CLOCK_MONOTONIC, &start);
	rc = fs_upload_answer(s, r, elf, len, write, ctx, &status);
	usec = usec_since(&start);
	fs_sb_request_end(s->sb, (unsigned)s->sb_slot, r->tenant->sb, status,
	                  FS_SB_OK, usec * 1000);
	log_access(p, n, r, status, 0, usec);
	return rc;
}

/* Requests the server answers itself (ping, status, errors). */
static int answer_server(struct fs_server *s, const struct fs_route *r,
                         const struct fs_param *p, size_t n, fs_write_fn *write,
                         void *ctx)
{
	int rc, status = r->kind == FS_ROUTE_ERROR ? r->status : 200;
	size_t bytes = 0;

	if (r->kind == FS_ROUTE_PING)
		rc = fs_write_plain(200, "pong\n", write, ctx);
	else if (r->kind == FS_ROUTE_STATUS)
		rc = answer_status(s, p, n, write, ctx);
	else {
		fs_log(LOG_INFO, r->host[0] ? r->host : NULL, "%d: %.*s",
		       r->status, (int)strcspn(r->message, "\n"), r->message);
		rc = fs_write_plain(r->status, r->message, write, ctx);
		bytes = strlen(r->message);
	}
	log_access(p, n, r, status, bytes, 0);
	fs_sb_request_end(s->sb, (unsigned)s->sb_slot,
	                  r->tenant ? r->tenant->sb : -1, status, FS_SB_OK, 0);
	return rc;
}

int fs_answer(struct fs_server *s, const struct fs_route *r,
              const struct fs_param *p, size_t n, const void *body,
              size_t body_len, fs_write_fn *write, void *ctx)
{
	s->served++;
	fs_sb_request_begin(s->sb, (unsigned)s->sb_slot,
	                    r->tenant ? r->tenant->sb : -1);
	if (r->kind == FS_ROUTE_TENANT)
		return answer_tenant(s, r, p, n, body, body_len, write, ctx);
	if (r->kind == FS_ROUTE_UPLOAD)
		return answer_upload(s, r, p, n, body, body_len, write, ctx);
	return answer_server(s, r, p, n, write, ctx);
}
