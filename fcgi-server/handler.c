/* Answering a routed request (tenant, live update, ping, status, the
 * server's own errors), and accounting for it once at its end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "debug.h"
#include "guest_req.h"
#include "log.h"
#include "scoreboard.h"
#include "status.h"
#include "server.h"
#include "upload.h"

#define GUEST_HEADERS_MAX 128

/* How a request ended, for the scoreboard and the access log. */
struct outcome {
	int status;
	enum fs_sb_kind kind;
	size_t bytes; /* body bytes answered */
};

void fs_route(struct fs_server *s, const struct fs_param *p, size_t n,
              struct fs_route *r)
{
	const struct fs_router rt = {s->conf, s->tenants, s->status_only};

	fs_route_params(&rt, p, n, r);
	if (r->kind != FS_ROUTE_TENANT)
		return;
	fs_tenant_refresh(r->tenant, s->sb);
	if (r->tenant->img == NULL)
		fs_route_error(r, 503, "the site's program is not loaded\n");
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

/* The end of every request: the scoreboard, and the access-log line
 * (ping, the health probes, is not logged). */
static void request_end(struct fs_server *s, const struct fs_route *r,
                        const struct fs_param *p, size_t n,
                        const struct outcome *o, unsigned long usec)
{
	fs_sb_request_end(s->sb, (unsigned)s->sb_slot,
	                  r->tenant ? r->tenant->sb : -1, o->status, o->kind,
	                  (uint64_t)usec * 1000);
	if (r->kind == FS_ROUTE_PING)
		return;
	fs_access_log(param_str(p, n, "REMOTE_ADDR", "-").ptr,
	              r->host[0] ? r->host : "-",
	              param_str(p, n, "REQUEST_METHOD", "GET").ptr,
	              param_str(p, n, "REQUEST_URI", "/").ptr, o->status,
	              r->head ? 0 : o->bytes, usec);
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

/* An answer of the server's own text. */
static int answer_plain(int status, const char *msg, struct outcome *o,
                        fs_write_fn *write, void *ctx)
{
	o->status = status;
	o->bytes = strlen(msg);
	return fs_write_plain(status, msg, write, ctx);
}

/* The status page: one snapshot of the scoreboard, in the asked format. */
static int answer_status(struct fs_server *s, const struct fs_param *p,
                         size_t n, struct outcome *o, fs_write_fn *write,
                         void *ctx)
{
	enum fs_status_format fmt =
	    fs_status_format_from_query(fs_param_get(p, n, "QUERY_STRING"));
	static const char cache[] = "Cache-Control: no-store\r\n";
	struct fs_sb_snapshot snap;
	const char *type;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (s->sb == NULL || fs_sb_snapshot(s->sb, &snap))
		return answer_plain(503, "no status\n", o, write, ctx);
	rc = fs_status_render(&snap, fmt, &text, &len);
	fs_sb_snapshot_free(&snap);
	if (rc)
		return answer_plain(500, "status failed\n", o, write, ctx);
	type = fs_status_content_type(fmt);
	o->status = 200;
	o->bytes = len;
	rc = fs_write_answer(200, (struct kc_str){type, strlen(type)},
	                     (struct kc_str){cache, sizeof(cache) - 1},
	                     (struct kc_str){text, len}, write, ctx);
	free(text);
	return rc;
}

/* Run the request in the tenant's VM and answer what it made. */
static int run_tenant(struct fs_server *s, const struct fs_route *r,
                      const struct fs_param *p, size_t n, const void *body,
                      size_t body_len, struct kc_vm *vm, struct fs_debug *dbg,
                      struct outcome *o, fs_write_fn *write, void *ctx)
{
	struct kc_header headers[GUEST_HEADERS_MAX];
	char names[8192];
	struct kc_request req;
	struct kc_result res;
	int rc;

	memset(&req, 0, sizeof(req));
	req.method = param_str(p, n, "REQUEST_METHOD", "GET");
	req.uri = param_str(p, n, "REQUEST_URI", "/");
	req.query = param_str(p, n, "QUERY_STRING", "");
	req.remote_addr = param_str(p, n, "REMOTE_ADDR", "");
	req.headers = headers;
	req.header_count = fs_guest_headers(
	    p, n, body_len, headers, GUEST_HEADERS_MAX, names, sizeof(names));
	req.body = body;
	req.body_len = body_len;
	if (kc_vm_request_debug(vm, &req, &res, dbg->on ? &dbg->kc : NULL) !=
	    KC_OK)
		fs_log(res.status == KC_ERR_INTERNAL ? LOG_ERR : LOG_WARNING,
		       r->tenant->conf->name, "%s %.*s: %s: %s", req.method.ptr,
		       (int)req.uri.len, req.uri.ptr,
		       kc_status_name(res.status), res.error);
	fs_debug_done(dbg);
	rc = fs_write_response(&res, write, ctx);
	o->status = fs_http_status(&res);
	o->kind = sb_kind(res.status);
	o->bytes = res.body.len;
	/* The reset waits for the end of the request (server.h). */
	s->reset_due = r->tenant;
	s->drop_due = res.status == KC_ERR_INTERNAL;
	return rc;
}

static int answer_tenant(struct fs_server *s, const struct fs_route *r,
                         const struct fs_param *p, size_t n, const void *body,
                         size_t body_len, struct outcome *o, fs_write_fn *write,
                         void *ctx)
{
	struct fs_debug dbg;
	struct kc_vm *vm;

	fs_debug_prepare(&dbg, s->conf, r->tenant->conf, p, n);
	if (dbg.status)
		return answer_plain(dbg.status, dbg.message, o, write, ctx);
	vm = fs_server_vm(s, r->tenant);
	if (vm == NULL) {
		fs_debug_done(&dbg);
		o->kind = FS_SB_FAULT;
		return answer_plain(503, "no VM for this site\n", o, write,
		                    ctx);
	}
	return run_tenant(s, r, p, n, body, body_len, vm, &dbg, o, write, ctx);
}

/* Ping, status and the server's refusals. */
static int answer_server(struct fs_server *s, const struct fs_route *r,
                         const struct fs_param *p, size_t n, struct outcome *o,
                         fs_write_fn *write, void *ctx)
{
	if (r->kind == FS_ROUTE_PING && fs_sb_store_waiting(s->sb))
		return answer_plain(503, "catching up with etcd\n", o, write,
		                    ctx);
	if (r->kind == FS_ROUTE_PING)
		return answer_plain(200, "pong\n", o, write, ctx);
	if (r->kind == FS_ROUTE_STATUS)
		return answer_status(s, p, n, o, write, ctx);
	fs_log(LOG_INFO, r->host[0] ? r->host : NULL, "%d: %.*s", r->status,
	       (int)strcspn(r->message, "\n"), r->message);
	return answer_plain(r->status, r->message, o, write, ctx);
}

int fs_answer(struct fs_server *s, const struct fs_route *r,
              const struct fs_param *p, size_t n, const void *body,
              size_t body_len, fs_write_fn *write, void *ctx)
{
	struct outcome o = {500, FS_SB_OK, 0};
	struct fs_head_only head;
	struct timespec start;
	int rc;

	if (r->head) {
		fs_head_only_init(&head, write, ctx);
		write = fs_head_only_write;
		ctx = &head;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	s->served++;
	fs_sb_request_begin(s->sb, (unsigned)s->sb_slot,
	                    r->tenant ? r->tenant->sb : -1);
	if (r->kind == FS_ROUTE_TENANT)
		rc = answer_tenant(s, r, p, n, body, body_len, &o, write, ctx);
	else if (r->kind == FS_ROUTE_UPLOAD)
		rc = fs_upload_answer(s, r, body, body_len, write, ctx,
		                      &o.status);
	else
		rc = answer_server(s, r, p, n, &o, write, ctx);
	request_end(s, r, p, n, &o, usec_since(&start));
	return rc;
}
