/* The request headers a tenant sees: HTTP_* parameters plus the body's
 * CONTENT_TYPE and CONTENT_LENGTH, each once. */
#include <stdio.h>
#include <string.h>

#include "guest_req.h"

struct builder {
	struct kc_header *h;
	size_t count, hmax;
	char *buf;
	size_t used, buflen;
};

/* "USER_AGENT" -> "user-agent" into the builder's buffer. */
static void add(struct builder *b, const char *name, size_t len,
                const char *value, size_t value_len)
{
	char *out = b->buf + b->used;
	size_t j;

	if (b->count >= b->hmax || len == 0 || len > b->buflen - b->used)
		return;
	for (j = 0; j < len; j++) {
		char c = name[j];

		out[j] = c == '_'                 ? '-'
		         : (c >= 'A' && c <= 'Z') ? (char)(c + 32)
		                                  : c;
	}
	b->used += len;
	b->h[b->count].name = (struct kc_str){out, len};
	b->h[b->count].value = (struct kc_str){value, value_len};
	b->count++;
}

static const char *nonempty(const struct fs_param *p, size_t n,
                            const char *name)
{
	const char *v = fs_param_get(p, n, name);

	return v && *v ? v : NULL;
}

/* The body's length as a decimal in the buffer, for a body read without
 * CONTENT_LENGTH. */
static void add_length(struct builder *b, size_t body_len)
{
	char num[24];
	int k = snprintf(num, sizeof(num), "%zu", body_len);
	size_t need = sizeof("CONTENT_LENGTH") - 1 + (size_t)k;

	if (need > b->buflen - b->used)
		return;
	memcpy(b->buf + b->used, num, (size_t)k);
	b->used += (size_t)k;
	add(b, "CONTENT_LENGTH", sizeof("CONTENT_LENGTH") - 1,
	    b->buf + b->used - k, (size_t)k);
}

size_t fs_guest_headers(const struct fs_param *p, size_t n, size_t body_len,
                        struct kc_header *h, size_t hmax, char *buf,
                        size_t buflen)
{
	const char *type = nonempty(p, n, "CONTENT_TYPE");
	const char *length = nonempty(p, n, "CONTENT_LENGTH");
	struct builder b = {h, 0, hmax, buf, 0, buflen};
	size_t i;

	if (type)
		add(&b, "CONTENT_TYPE", 12, type, strlen(type));
	if (length)
		add(&b, "CONTENT_LENGTH", 14, length, strlen(length));
	else if (body_len > 0)
		add_length(&b, body_len);
	for (i = 0; i < n; i++) {
		const char *name = p[i].name + 5;

		if (strncmp(p[i].name, "HTTP_", 5) != 0)
			continue;
		if ((type && strcmp(name, "CONTENT_TYPE") == 0) ||
		    ((length || body_len > 0) &&
		     strcmp(name, "CONTENT_LENGTH") == 0))
			continue;
		add(&b, name, strlen(name), p[i].value, strlen(p[i].value));
	}
	return b.count;
}
