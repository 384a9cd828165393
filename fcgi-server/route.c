/* Routing from the CGI parameters alone: ping, status, tenant by Host,
 * live update, or the server's own refusal. */
#include <arpa/inet.h>
#include <string.h>

#include "host.h"
#include "route.h"
#include "upload.h"
#include "values.h"

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

static void route_tenant(const struct fs_router *rt, const struct fs_param *p,
                         size_t n, struct fs_route *r)
{
	const char *host = fs_param_get(p, n, "HTTP_HOST");
	const char *cl = fs_param_get(p, n, "CONTENT_LENGTH");
	const char *key;

	if (host == NULL || *host == 0)
		return fs_route_error(r, 400, "missing Host header\n");
	if (fs_host_normalize(host, strlen(host), r->host, sizeof(r->host)) < 0)
		return fs_route_error(r, 400, "invalid Host header\n");
	r->tenant = fs_tenants_find(rt->tenants, r->host);
	if (r->tenant == NULL)
		return fs_route_error(r, 404, "unknown host\n");
	if (cl && *cl && fs_parse_uint(cl, &r->content_length))
		return fs_route_error(r, 400, "invalid Content-Length\n");
	key = fs_param_get(p, n, "HTTP_X_LIVEUPDATE");
	if (key)
		return fs_upload_route(rt->conf, p, n, key, r);
	if (r->content_length > r->tenant->conf->limits.max_body_size)
		return fs_route_error(r, 413, "request body too large\n");
	r->kind = FS_ROUTE_TENANT;
}

void fs_route_params(const struct fs_router *rt, const struct fs_param *p,
                     size_t n, struct fs_route *r)
{
	const char *method = fs_param_get(p, n, "REQUEST_METHOD");
	const char *path;
	size_t len = request_path(p, n, &path);

	memset(r, 0, sizeof(*r));
	r->head = method && strcmp(method, "HEAD") == 0;
	if (path_is(path, len, rt->conf->ping_path)) {
		r->kind = FS_ROUTE_PING;
	} else if (path_is(path, len, rt->conf->status_path)) {
		if (status_allowed(rt->conf, fs_param_get(p, n, "REMOTE_ADDR")))
			r->kind = FS_ROUTE_STATUS;
		else
			fs_route_error(r, 403,
			               "status is not allowed from here\n");
	} else if (rt->status_only) {
		fs_route_error(r, 404,
		               "only status and ping are served here\n");
	} else {
		route_tenant(rt, p, n, r);
	}
}
