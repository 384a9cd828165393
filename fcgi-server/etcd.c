/* An etcd v3 client on etcd's JSON gateway: libcurl carries the HTTP,
 * jansson the JSON, base64.c the keys' and values' encoding. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base64.h"
#include "etcd.h"

#define TIMEOUT_MS   2000 /* a unary call on one endpoint */
#define CONNECT_MS   1000
#define ANSWER_MAX   (64u << 20) /* bigger than any range we ask for */
#define GRPC_UNAVAIL 14          /* gRPC codes meaning "ask another member" */
#define GRPC_TIMEOUT 4

/* ---- endpoints and calls ------------------------------------------------- */

static void say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void fs_etcd_close(struct fs_etcd *e)
{
	size_t i;

	for (i = 0; i < e->nep; i++)
		free(e->ep[i]);
	free(e->ep);
	if (e->curl)
		curl_easy_cleanup(e->curl);
	free(e->conns);
	memset(e, 0, sizeof(*e));
}

void fs_etcd_forget(struct fs_etcd *e)
{
	size_t i;

	for (i = 0; e->conns && i < FS_ETCD_CONNS; i++)
		if (e->conns[i] >= 0)
			close(e->conns[i]);
	memset(e, 0, sizeof(*e));
}

/* libcurl's sockets, recorded so that a child can close them; close on
 * exec too.  None past FS_ETCD_CONNS (twice what libcurl keeps). */
static curl_socket_t open_conn(void *ctx, curlsocktype purpose,
                               struct curl_sockaddr *a)
{
	int *conns = ctx, i, fd;

	(void)purpose;
	for (i = 0; i < FS_ETCD_CONNS && conns[i] >= 0; i++)
		;
	if (i == FS_ETCD_CONNS)
		return CURL_SOCKET_BAD;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd < 0)
		return CURL_SOCKET_BAD;
	conns[i] = fd;
	return fd;
}

static int close_conn(void *ctx, curl_socket_t fd)
{
	int *conns = ctx, i;

	for (i = 0; i < FS_ETCD_CONNS; i++)
		if (conns[i] == fd)
			conns[i] = -1;
	return close(fd);
}

/* Again after every curl_easy_reset, which forgets them. */
static void record_conns(struct fs_etcd *e)
{
	curl_easy_setopt(e->curl, CURLOPT_OPENSOCKETFUNCTION, open_conn);
	curl_easy_setopt(e->curl, CURLOPT_OPENSOCKETDATA, e->conns);
	curl_easy_setopt(e->curl, CURLOPT_CLOSESOCKETFUNCTION, close_conn);
	curl_easy_setopt(e->curl, CURLOPT_CLOSESOCKETDATA, e->conns);
	curl_easy_setopt(e->curl, CURLOPT_MAXCONNECTS, (long)FS_ETCD_CONNS / 2);
}

static CURL *new_handle(struct fs_etcd *e)
{
	int i;

	e->conns = malloc(FS_ETCD_CONNS * sizeof(*e->conns));
	if (e->conns == NULL)
		return NULL;
	for (i = 0; i < FS_ETCD_CONNS; i++)
		e->conns[i] = -1;
	e->curl = curl_easy_init();
	if (e->curl)
		record_conns(e);
	return e->curl;
}

static int add_endpoint(struct fs_etcd *e, const char *s, size_t n)
{
	char **v = realloc(e->ep, (e->nep + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	e->ep = v;
	while (n > 0 && s[n - 1] == '/')
		n--;
	e->ep[e->nep] = strndup(s, n);
	return e->ep[e->nep++] ? 0 : -ENOMEM;
}

int fs_etcd_open(struct fs_etcd *e, const char *endpoints, char *err,
                 size_t errlen)
{
	const char *p = endpoints;
	int r = 0;

	memset(e, 0, sizeof(*e));
	e->timeout_ms = TIMEOUT_MS;
	while (r == 0 && p && *p) {
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n == 0)
			break;
		if (strncmp(p, "http://", 7) && strncmp(p, "https://", 8)) {
			say(err, errlen,
			    "etcd endpoint \"%.*s\" is not "
			    "http:// or https://",
			    (int)n, p);
			r = -EINVAL;
		} else {
			r = add_endpoint(e, p, n);
		}
		p += n;
	}
	if (r == 0 && e->nep == 0) {
		say(err, errlen, "no etcd endpoint");
		r = -EINVAL;
	}
	if (r == 0) {
		e->curl = new_handle(e);
		r = e->curl ? 0 : -ENOMEM;
	}
	if (r == -ENOMEM)
		say(err, errlen, "out of memory");
	if (r)
		fs_etcd_close(e);
	return r;
}

struct buf {
	char *p;
	size_t n, cap;
};

static size_t on_data(char *d, size_t size, size_t nmemb, void *ctx)
{
	struct buf *b = ctx;
	size_t n = size * nmemb;

	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *p = cap > ANSWER_MAX ? NULL : realloc(b->p, cap);

		if (p == NULL)
			return 0; /* curl stops: CURLE_WRITE_ERROR */
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = 0;
	return n;
}

/* The options every request shares; the caller sets the URL and body. */
static void set_common(CURL *h, struct curl_slist *hdr)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
}

/* Whether an error answer means another member may do better. */
static int grpc_error(json_t *ans, char *err, size_t errlen)
{
	json_int_t code = json_integer_value(json_object_get(ans, "code"));
	const char *msg = json_string_value(json_object_get(ans, "message"));

	say(err, errlen, "etcd: %s", msg ? msg : "error without a message");
	return code == GRPC_UNAVAIL || code == GRPC_TIMEOUT ? -EHOSTUNREACH
	                                                    : -EIO;
}

/* POST body to path on endpoint i; its JSON answer into *ans. */
static int post_one(struct fs_etcd *e, size_t i, const char *path,
                    const char *body, json_t **ans, char *err, size_t errlen)
{
	struct curl_slist *hdr =
	    curl_slist_append(NULL, "Content-Type: application/json");
	struct buf b = {0};
	char url[512];
	long code = 0;
	CURLcode c;
	int r;

	snprintf(url, sizeof(url), "%s%s", e->ep[i], path);
	curl_easy_reset(e->curl);
	record_conns(e);
	set_common(e->curl, hdr);
	curl_easy_setopt(e->curl, CURLOPT_URL, url);
	curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, e->timeout_ms);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &b);
	c = curl_easy_perform(e->curl);
	curl_slist_free_all(hdr);
	if (c != CURLE_OK) {
		say(err, errlen, "etcd at %s: %s", e->ep[i],
		    curl_easy_strerror(c));
		free(b.p);
		return -EHOSTUNREACH;
	}
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &code);
	*ans = b.p ? json_loadb(b.p, b.n, 0, NULL) : NULL;
	free(b.p);
	if (*ans == NULL) {
		say(err, errlen, "etcd at %s: HTTP %ld without JSON", e->ep[i],
		    code);
		return code >= 500 ? -EHOSTUNREACH : -EIO;
	}
	if (code == 200)
		return 0;
	r = grpc_error(*ans, err, errlen);
	json_decref(*ans);
	*ans = NULL;
	return r;
}

static void prefix_reason(char *err, size_t errlen, const char *what)
{
	char was[256];

	snprintf(was, sizeof(was), "%s", err);
	snprintf(err, errlen, "%s%s", what, was);
}

/* POST req (consumed) to path on the endpoint that answered last, then
 * on each other in turn. */
static int call(struct fs_etcd *e, const char *path, json_t *req, json_t **ans,
                char *err, size_t errlen)
{
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	size_t k;
	int r = -ENOMEM;

	json_decref(req);
	if (body == NULL) {
		say(err, errlen, "out of memory");
		return r;
	}
	for (k = 0; k < e->nep; k++) {
		size_t i = (e->cur + k) % e->nep;

		r = post_one(e, i, path, body, ans, err, errlen);
		if (r != -EHOSTUNREACH) {
			e->cur = i;
			break;
		}
	}
	free(body);
	if (r == -EHOSTUNREACH && e->nep > 1)
		prefix_reason(err, errlen, "no etcd endpoint answered; last: ");
	return r;
}

/* ---- JSON helpers -------------------------------------------------------- */

/* The gateway writes int64 as strings and leaves zero values out. */
static int64_t jint(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static json_t *jbytes(const void *p, size_t len)
{
	char *s = malloc(4 * ((len + 2) / 3) + 1);
	json_t *v;

	if (s == NULL)
		return NULL;
	fs_base64_encode(p, len, s);
	v = json_string(s);
	free(s);
	return v;
}

static json_t *jkey(const char *key)
{
	return jbytes(key, strlen(key));
}

/* Base64 field name of o, decoded into a new buffer (NUL-terminated). */
static int unbytes(json_t *o, const char *name, char **out, size_t *len)
{
	const char *s = json_string_value(json_object_get(o, name));
	size_t n = s ? strlen(s) : 0;
	long got;

	*out = malloc(n / 4 * 3 + 1);
	if (*out == NULL)
		return -ENOMEM;
	got = fs_base64_decode(s ? s : "", n, *out);
	if (got < 0) {
		free(*out);
		*out = NULL;
		return -EIO;
	}
	(*out)[got] = 0;
	*len = (size_t)got;
	return 0;
}

static int parse_kv(json_t *o, struct fs_etcd_kv *kv)
{
	size_t klen;
	int r;

	memset(kv, 0, sizeof(*kv));
	r = unbytes(o, "key", &kv->key, &klen);
	if (r == 0)
		r = unbytes(o, "value", (char **)&kv->val, &kv->len);
	kv->mod_revision = jint(o, "mod_revision");
	if (r)
		fs_etcd_kv_free(kv);
	return r;
}

void fs_etcd_kv_free(struct fs_etcd_kv *kv)
{
	free(kv->key);
	free(kv->val);
	memset(kv, 0, sizeof(*kv));
}

/* The end of the range of keys that start with prefix: its last byte
 * plus one (etcd's own convention). */
static json_t *jprefix_end(const char *prefix)
{
	size_t n = strlen(prefix);
	char *end = strdup(prefix);
	json_t *v;

	if (end == NULL || n == 0) {
		free(end);
		return jbytes("\0", 1); /* every key */
	}
	while (n > 0 && (unsigned char)end[n - 1] == 0xff)
		n--;
	if (n == 0) {
		free(end);
		return jbytes("\0", 1);
	}
	end[n - 1]++;
	v = jbytes(end, n);
	free(end);
	return v;
}

/* ---- the calls ----------------------------------------------------------- */

static int range(struct fs_etcd *e, json_t *req, struct fs_etcd_kv *kv,
                 size_t max, size_t *n, int64_t *rev, char *err, size_t errlen)
{
	json_t *ans = NULL, *kvs;
	size_t i;
	int r = call(e, "/v3/kv/range", req, &ans, err, errlen);

	*n = 0;
	if (r)
		return r;
	if (rev)
		*rev = jint(json_object_get(ans, "header"), "revision");
	kvs = json_object_get(ans, "kvs");
	for (i = 0; i < json_array_size(kvs) && i < max && r == 0; i++) {
		r = parse_kv(json_array_get(kvs, i), &kv[i]);
		if (r == 0)
			(*n)++;
	}
	if (r) {
		while (*n > 0)
			fs_etcd_kv_free(&kv[--*n]);
		say(err, errlen, "etcd: a key or value is not base64");
	}
	json_decref(ans);
	return r;
}

int fs_etcd_get(struct fs_etcd *e, const char *key, struct fs_etcd_kv *kv,
                int64_t *rev, char *err, size_t errlen)
{
	size_t n;
	int r;

	memset(kv, 0, sizeof(*kv)); /* freeable whatever happens */
	r = range(e, json_pack("{s:o}", "key", jkey(key)), kv, 1, &n, rev, err,
	          errlen);

	if (r == 0 && n == 0) {
		say(err, errlen, "etcd has no %s", key);
		r = -ENOENT;
	}
	return r;
}

int fs_etcd_get_prefix(struct fs_etcd *e, const char *prefix,
                       struct fs_etcd_kv *kv, size_t max, size_t *n,
                       int64_t *rev, char *err, size_t errlen)
{
	json_t *req =
	    json_pack("{s:o, s:o, s:I}", "key", jkey(prefix), "range_end",
	              jprefix_end(prefix), "limit", (json_int_t)max);

	return range(e, req, kv, max, n, rev, err, errlen);
}

int fs_etcd_put(struct fs_etcd *e, const char *key, const void *val, size_t len,
                char *err, size_t errlen)
{
	json_t *ans = NULL;
	int r = call(e, "/v3/kv/put",
	             json_pack("{s:o, s:o}", "key", jkey(key), "value",
	                       jbytes(val, len)),
	             &ans, err, errlen);

	json_decref(ans);
	return r;
}

int fs_etcd_txn_put(struct fs_etcd *e, const char *cmp_key, int64_t cmp_rev,
                    const struct fs_etcd_kv *kv, size_t n, int64_t *rev,
                    char *err, size_t errlen)
{
	json_t *puts = json_array(), *ans = NULL, *req;
	char num[32];
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		json_array_append_new(puts,
		                      json_pack("{s:{s:o, s:o}}", "request_put",
		                                "key", jkey(kv[i].key), "value",
		                                jbytes(kv[i].val, kv[i].len)));
	snprintf(num, sizeof(num), "%lld", (long long)cmp_rev);
	req = json_pack("{s:[{s:o, s:s, s:s, s:s}], s:o}", "compare", "key",
	                jkey(cmp_key), "target", "MOD", "result", "EQUAL",
	                "mod_revision", num, "success", puts);
	r = call(e, "/v3/kv/txn", req, &ans, err, errlen);
	if (r)
		return r;
	if (rev)
		*rev = jint(json_object_get(ans, "header"), "revision");
	if (!json_is_true(json_object_get(ans, "succeeded"))) {
		say(err, errlen, "%s changed meanwhile", cmp_key);
		r = -ECANCELED;
	}
	json_decref(ans);
	return r;
}

/* ---- watch --------------------------------------------------------------- */

struct watch {
	struct buf b;
	fs_etcd_event_fn *fn;
	void *ctx;
	int created; /* the stream is up: its end is the answer */
	int result;  /* nonzero: stop, with this */
	char *err;
	size_t errlen;
};

/* One message of the stream: a result with events, or its end. */
static int watch_message(struct watch *w, json_t *msg)
{
	json_t *res = json_object_get(msg, "result"), *evs, *ev;
	size_t i;

	if (res == NULL) {
		const char *s = json_string_value(
		    json_object_get(json_object_get(msg, "error"), "message"));

		say(w->err, w->errlen, "etcd watch: %s", s ? s : "error");
		return -EHOSTUNREACH;
	}
	if (json_is_true(json_object_get(res, "created")))
		w->created = 1;
	if (json_is_true(json_object_get(res, "canceled"))) {
		const char *s =
		    json_string_value(json_object_get(res, "cancel_reason"));

		say(w->err, w->errlen,
		    "etcd watch canceled (compacted at %lld)%s%s",
		    (long long)jint(res, "compact_revision"), s ? ": " : "",
		    s ? s : "");
		return -ECANCELED;
	}
	evs = json_object_get(res, "events");
	json_array_foreach(evs, i, ev)
	{
		json_t *kv = json_object_get(ev, "kv");
		char *key;
		size_t klen;
		int r;

		if (unbytes(kv, "key", &key, &klen))
			return -EIO;
		r = w->fn(w->ctx, key, klen, jint(kv, "mod_revision"));
		free(key);
		if (r)
			return r;
	}
	return 0;
}

/* The gateway ends each message of a stream with a newline. */
static size_t on_watch_data(char *d, size_t size, size_t nmemb, void *ctx)
{
	struct watch *w = ctx;
	size_t n = on_data(d, size, nmemb, &w->b);
	char *nl;

	while (n && w->result == 0 && (nl = memchr(w->b.p, '\n', w->b.n))) {
		size_t len = (size_t)(nl - w->b.p) + 1;
		json_t *msg = json_loadb(w->b.p, len, 0, NULL);

		w->result = msg ? watch_message(w, msg) : -EIO;
		if (msg == NULL)
			say(w->err, w->errlen, "etcd watch: not JSON");
		json_decref(msg);
		memmove(w->b.p, w->b.p + len, w->b.n - len);
		w->b.n -= len;
	}
	return w->result ? 0 : n;
}

static int watch_one(struct fs_etcd *e, size_t i, const char *body,
                     struct watch *w)
{
	CURL *h = curl_easy_init();
	/* A member that loses its leader ends the stream instead of
	 * leaving it open and silent (etcd's "require leader"). */
	struct curl_slist *hdr = curl_slist_append(
	    curl_slist_append(NULL, "Content-Type: application/json"),
	    "Grpc-Metadata-hasleader: true");
	char url[512];
	CURLcode c;

	if (h == NULL || hdr == NULL) {
		curl_easy_cleanup(h);
		curl_slist_free_all(hdr);
		return -ENOMEM;
	}
	snprintf(url, sizeof(url), "%s/v3/watch", e->ep[i]);
	set_common(h, hdr);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_watch_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
	/* A peer that vanishes without a reset is noticed in seconds. */
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 1L);
	c = curl_easy_perform(h);
	if (w->result == 0)
		say(w->err, w->errlen, "etcd watch at %s ended: %s", e->ep[i],
		    c == CURLE_OK ? "closed" : curl_easy_strerror(c));
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	return w->result ? w->result : -EHOSTUNREACH;
}

int fs_etcd_watch(struct fs_etcd *e, const char *prefix, int64_t start,
                  fs_etcd_event_fn *fn, void *ctx, char *err, size_t errlen)
{
	char num[32];
	json_t *req;
	char *body;
	size_t k;
	int r = -ENOMEM;

	snprintf(num, sizeof(num), "%lld", (long long)start);
	req = json_pack("{s:{s:o, s:o, s:s}}", "create_request", "key",
	                jkey(prefix), "range_end", jprefix_end(prefix),
	                "start_revision", num);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (body == NULL) {
		say(err, errlen, "out of memory");
		return r;
	}
	for (k = 0; k < e->nep; k++) {
		size_t i = (e->cur + k) % e->nep;
		struct watch w = {{0}, fn, ctx, 0, 0, err, errlen};

		r = watch_one(e, i, body, &w);
		free(w.b.p);
		if (w.created || r != -EHOSTUNREACH) {
			e->cur = i;
			break;
		}
	}
	free(body);
	return r;
}
