/* libFuzzer harness for the FastCGI record parser (fcgi_rec.c): arbitrary
 * bytes, cut into chunks whose sizes come from the first input byte, with
 * requests answered at their parameters or at the end of their stdin. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_rec.h"

static struct fs_fcgi_rec parser;

/* What any event must satisfy, whatever the input. */
static void check_event(const struct fs_fcgi_rec *p,
                        const struct fs_fcgi_ev *ev, const uint8_t *chunk,
                        size_t len)
{
	size_t i;

	switch (ev->type) {
	case FS_FCGI_EV_STDIN:
		if (ev->data < chunk || ev->data + ev->len > chunk + len)
			abort();
		break;
	case FS_FCGI_EV_REPLY:
		if (ev->len > FS_FCGI_REPLY_MAX)
			abort();
		break;
	case FS_FCGI_EV_PARAMS:
		if (p->npairs > FS_FCGI_PAIRS_MAX)
			abort();
		for (i = 0; i < p->npairs; i++) /* in bounds, terminated */
			if (strlen(p->pairs[i].name) == 0 ||
			    (const unsigned char *)p->pairs[i].value +
			            strlen(p->pairs[i].value) >=
			        p->params + FS_FCGI_PARAMS_MAX)
				abort();
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 1, step;
	bool answer_early;

	if (size < 1)
		return 0;
	step = (data[0] & 0x3f) + 1;
	answer_early = data[0] & 0x40;
	fs_fcgi_rec_init(&parser, 4, 4);
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step, at = 0;
		/* an exact copy, so any over-read is caught */
		uint8_t *chunk = malloc(n);

		memcpy(chunk, data + pos, n);
		while (at < n) {
			struct fs_fcgi_ev ev;
			size_t used = 0;
			int rc = fs_fcgi_rec_next(&parser, chunk + at, n - at,
			                          &used, &ev);

			if (used > n - at)
				abort();
			at += used;
			if (rc < 0) {
				free(chunk);
				return 0; /* the connection would close */
			}
			if (rc == 0)
				break;
			check_event(&parser, &ev, chunk, n);
			if ((ev.type == FS_FCGI_EV_PARAMS && answer_early) ||
			    ev.type == FS_FCGI_EV_STDIN_END ||
			    ev.type == FS_FCGI_EV_ABORT)
				fs_fcgi_rec_finish(&parser);
			(void)fs_fcgi_rec_busy(&parser);
		}
		free(chunk);
		pos += n;
	}
	return 0;
}
