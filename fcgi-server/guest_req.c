/* The request headers a tenant sees: the HTTP_* parameters. */
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

size_t fs_guest_headers(const struct fs_param *p, size_t n, size_t body_len,
                        struct kc_header *h, size_t hmax, char *buf,
                        size_t buflen)
{
	struct builder b = {h, 0, hmax, buf, 0, buflen};
	size_t i;

	(void)body_len;
	for (i = 0; i < n; i++) {
		const char *name = p[i].name + 5;

		if (strncmp(p[i].name, "HTTP_", 5) != 0)
			continue;
		add(&b, name, strlen(name), p[i].value, strlen(p[i].value));
	}
	return b.count;
}
