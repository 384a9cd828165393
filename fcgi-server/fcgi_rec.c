/* The FastCGI record layer: a pure parser over bytes, with fixed buffers.
 *
 * Written here rather than taken from libfcgi: libfcgi allocates whatever
 * a parameter length declares (its Malloc asserts, aborting the worker, on
 * lengths near 2^31), reads with blocking reads that no whole-request
 * deadline can bound, and cannot skip the tail of a finished request. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fcgi_rec.h"

/* What the record being read is for. */
enum act {
	ACT_SKIP,       /* ignored: other requests, types a responder ignores */
	ACT_BEGIN,      /* FCGI_BEGIN_REQUEST */
	ACT_PARAMS,     /* the active request's FCGI_PARAMS */
	ACT_STDIN,      /* the active request's FCGI_STDIN */
	ACT_STDIN_TAIL, /* stdin of an answered request: skipped */
	ACT_ABORT,      /* FCGI_ABORT_REQUEST for the active request */
	ACT_GET_VALUES, /* management: FCGI_GET_VALUES */
	ACT_UNKNOWN,    /* management, of a type we do not know */
};

static int fail(struct fs_fcgi_rec *p, int rc, const char *fmt, unsigned a,
                unsigned b)
{
	snprintf(p->why, sizeof(p->why), fmt, a, b);
	return rc;
}

static unsigned be16(const unsigned char *b)
{
	return (unsigned)b[0] << 8 | b[1];
}

void fs_fcgi_rec_init(struct fs_fcgi_rec *p, unsigned max_conns,
                      unsigned max_reqs)
{
	/* Only the small state: the buffers are written before read. */
	memset(p, 0, offsetof(struct fs_fcgi_rec, params));
	p->params_len = p->params_checked = p->npairs = p->mgmt_len = 0;
	p->max_conns = max_conns;
	p->max_reqs = max_reqs;
	p->why[0] = '\0';
}

void fs_fcgi_rec_header(unsigned char out[FS_FCGI_HEADER_LEN], int type,
                        uint16_t id, uint16_t len)
{
	out[0] = 1;
	out[1] = (unsigned char)type;
	out[2] = (unsigned char)(id >> 8);
	out[3] = (unsigned char)id;
	out[4] = (unsigned char)(len >> 8);
	out[5] = (unsigned char)len;
	out[6] = 0; /* no padding */
	out[7] = 0;
}

void fs_fcgi_rec_end_request(unsigned char out[16], uint16_t id,
                             uint32_t app_status, uint8_t protocol_status)
{
	fs_fcgi_rec_header(out, FS_FCGI_END_REQUEST, id, 8);
	out[8] = (unsigned char)(app_status >> 24);
	out[9] = (unsigned char)(app_status >> 16);
	out[10] = (unsigned char)(app_status >> 8);
	out[11] = (unsigned char)app_status;
	out[12] = protocol_status;
	memset(out + 13, 0, 3);
}

/*
 * A name or value length at b[at..len): 1 byte, or 4 with the top bit
 * set.  Returns the bytes it takes, or 0 when they are not all there.
 */
static size_t read_len(const unsigned char *b, size_t len, size_t at,
                       uint32_t *out)
{
	if (at >= len)
		return 0;
	if (!(b[at] & 0x80)) {
		*out = b[at];
		return 1;
	}
	if (len - at < 4)
		return 0;
	*out = (uint32_t)(b[at] & 0x7f) << 24 | (uint32_t)b[at + 1] << 16 |
	       (uint32_t)b[at + 2] << 8 | b[at + 3];
	return 4;
}

/*
 * Walk the complete pairs received so far, refusing any whose declared
 * lengths could not fit in what is left of FS_FCGI_PARAMS_MAX: a length
 * near 2^31 is refused as soon as its four bytes arrive.
 */
static int check_pairs(struct fs_fcgi_rec *p)
{
	size_t at = p->params_checked, h1, h2, room;
	uint32_t nl, vl;

	for (;;) {
		h1 = read_len(p->params, p->params_len, at, &nl);
		h2 = h1 ? read_len(p->params, p->params_len, at + h1, &vl) : 0;
		if (h2 == 0)
			break;
		room = FS_FCGI_PARAMS_MAX - at - h1 - h2;
		if (nl > room || vl > room - nl)
			return fail(p, -E2BIG,
			            "a parameter declares a %u-byte name and a "
			            "%u-byte value, over the 64 KiB limit",
			            nl, vl);
		if (at + h1 + h2 + nl + vl > p->params_len)
			break; /* the rest comes in later records */
		at += h1 + h2 + nl + vl;
	}
	p->params_checked = at;
	return 0;
}

/* Turn the checked pairs into NUL-terminated strings, in place: each pair
 * loses at least two length bytes and gains two NULs, so the writes never
 * pass the bytes still to be read. */
static int decode_pairs(struct fs_fcgi_rec *p)
{
	unsigned char *b = p->params;
	size_t at = 0, w = 0, h1, h2;
	uint32_t nl, vl;

	p->npairs = 0;
	while (at < p->params_len) {
		h1 = read_len(b, p->params_len, at, &nl);
		h2 = read_len(b, p->params_len, at + h1, &vl);
		at += h1 + h2;
		if (nl == 0) { /* nothing can look it up: drop it */
			at += vl;
			continue;
		}
		if (p->npairs == FS_FCGI_PAIRS_MAX)
			return fail(p, -E2BIG, "more than %u parameters",
			            FS_FCGI_PAIRS_MAX, 0);
		/* "HTTP_HOST\0x" would pass for a second HTTP_HOST */
		if (memchr(b + at, '\0', nl))
			return fail(p, -EPROTO,
			            "a parameter name contains a NUL byte", 0,
			            0);
		memmove(b + w, b + at, nl);
		b[w + nl] = '\0';
		p->pairs[p->npairs].name = (const char *)b + w;
		w += nl + 1;
		memmove(b + w, b + at + nl, vl);
		b[w + vl] = '\0';
		p->pairs[p->npairs++].value = (const char *)b + w;
		w += vl + 1;
		at += nl + vl;
	}
	return 0;
}

/* ---- record starts: what a header means, checked before any content --- */

static int start_begin(struct fs_fcgi_rec *p)
{
	if (p->left != 8)
		return fail(p, -EPROTO,
		            "FCGI_BEGIN_REQUEST of %u bytes (it has 8)",
		            p->left, 0);
	p->begin_have = 0;
	return ACT_BEGIN;
}

static bool is_active(const struct fs_fcgi_rec *p)
{
	return p->active && p->id == p->active && !p->finished;
}

static int start_params(struct fs_fcgi_rec *p)
{
	if (!is_active(p))
		return ACT_SKIP;
	if (p->params_done)
		return fail(p, -EPROTO, "FCGI_PARAMS after their end", 0, 0);
	if (p->left > FS_FCGI_PARAMS_MAX - p->params_len)
		return fail(p, -E2BIG,
		            "parameters over %u bytes (%u more declared)",
		            FS_FCGI_PARAMS_MAX, p->left);
	return ACT_PARAMS;
}

static int start_stdin(struct fs_fcgi_rec *p)
{
	if (p->active && p->id == p->active && p->finished)
		return ACT_STDIN_TAIL;
	if (!is_active(p))
		return ACT_SKIP;
	if (!p->params_done)
		return fail(p, -EPROTO, "FCGI_STDIN before the parameters end",
		            0, 0);
	if (p->stdin_done)
		return fail(p, -EPROTO, "FCGI_STDIN after its end", 0, 0);
	return ACT_STDIN;
}

static int start_abort(struct fs_fcgi_rec *p)
{
	return is_active(p) ? ACT_ABORT : ACT_SKIP;
}

/* Returns the act for the record whose header is complete, or < 0. */
static int start_record(struct fs_fcgi_rec *p)
{
	const unsigned char *h = p->hdr;

	if (h[0] != 1)
		return fail(p, -EPROTO, "not FastCGI (version %u)", h[0], 0);
	p->type = h[1];
	p->id = (uint16_t)be16(h + 2);
	p->left = be16(h + 4);
	p->pad = h[6];
	if (p->id == 0) { /* a management record */
		p->mgmt_len = 0;
		return p->type == FS_FCGI_GET_VALUES ? ACT_GET_VALUES
		                                     : ACT_UNKNOWN;
	}
	switch (p->type) {
	case FS_FCGI_BEGIN_REQUEST:
		return start_begin(p);
	case FS_FCGI_PARAMS:
		return start_params(p);
	case FS_FCGI_STDIN:
		return start_stdin(p);
	case FS_FCGI_ABORT_REQUEST:
		return start_abort(p);
	default: /* FCGI_DATA, types a server sends, future types */
		return ACT_SKIP;
	}
}

/* ---- record ends: the events --------------------------------------- */

static int reply(struct fs_fcgi_ev *ev, const unsigned char *data, size_t len)
{
	ev->type = FS_FCGI_EV_REPLY;
	ev->data = data;
	ev->len = len;
	return 1;
}

static int end_begin(struct fs_fcgi_rec *p, struct fs_fcgi_ev *ev)
{
	unsigned role = be16(p->begin);

	if (p->active && !p->finished) {
		if (p->id == p->active)
			return fail(
			    p, -EPROTO,
			    "a second FCGI_BEGIN_REQUEST for request %u", p->id,
			    0);
		/* FCGI_MPXS_CONNS is 0: refuse the other one, as the spec
		 * says, and go on with ours. */
		fs_fcgi_rec_end_request(p->reply, p->id, 0,
		                        FS_FCGI_CANT_MPX_CONN);
		return reply(ev, p->reply, 16);
	}
	if (role != FS_FCGI_RESPONDER) {
		fs_fcgi_rec_end_request(p->reply, p->id, 0,
		                        FS_FCGI_UNKNOWN_ROLE);
		return reply(ev, p->reply, 16);
	}
	/* A BEGIN_REQUEST while the answered request's stdin is still being
	 * skipped: the client is done with that one. */
	p->active = p->id;
	p->finished = p->params_done = p->stdin_done = false;
	p->params_len = p->params_checked = p->npairs = 0;
	ev->type = FS_FCGI_EV_BEGIN;
	ev->keep_conn = p->begin[2] & FS_FCGI_KEEP_CONN;
	return 1;
}

static int end_params(struct fs_fcgi_rec *p, bool empty, struct fs_fcgi_ev *ev)
{
	int rc = check_pairs(p);

	if (rc || !empty)
		return rc;
	if (p->params_checked != p->params_len)
		return fail(p, -EPROTO,
		            "FCGI_PARAMS end inside a name-value pair", 0, 0);
	rc = decode_pairs(p);
	if (rc)
		return rc;
	p->params_done = true;
	ev->type = FS_FCGI_EV_PARAMS;
	return 1;
}

/* The pairs of a FCGI_GET_VALUES_RESULT for the names asked that we know;
 * names cut off at FS_FCGI_MGMT_MAX are not answered. */
static int end_get_values(struct fs_fcgi_rec *p, struct fs_fcgi_ev *ev)
{
	static const char *const names[] = {"FCGI_MAX_CONNS", "FCGI_MAX_REQS",
	                                    "FCGI_MPXS_CONNS"};
	const unsigned values[] = {p->max_conns, p->max_reqs, 0};
	unsigned char *out = p->reply + FS_FCGI_HEADER_LEN;
	size_t at = 0, h1, h2, i, n = 0;
	unsigned done = 0;
	uint32_t nl, vl;

	while ((h1 = read_len(p->mgmt, p->mgmt_len, at, &nl)) &&
	       (h2 = read_len(p->mgmt, p->mgmt_len, at + h1, &vl)) &&
	       nl <= p->mgmt_len - at - h1 - h2) {
		at += h1 + h2;
		for (i = 0; i < 3; i++) {
			char v[16];
			size_t vlen;

			if (done & 1u << i || strlen(names[i]) != nl ||
			    memcmp(p->mgmt + at, names[i], nl))
				continue;
			done |= 1u << i;
			vlen = (size_t)snprintf(v, sizeof(v), "%u", values[i]);
			out[n] = (unsigned char)nl;
			out[n + 1] = (unsigned char)vlen;
			memcpy(out + n + 2, names[i], nl);
			memcpy(out + n + 2 + nl, v, vlen);
			n += 2 + nl + vlen;
		}
		if (vl > p->mgmt_len - at - nl)
			break;
		at += nl + vl;
	}
	fs_fcgi_rec_header(p->reply, FS_FCGI_GET_VALUES_RESULT, 0, (uint16_t)n);
	return reply(ev, p->reply, FS_FCGI_HEADER_LEN + n);
}

static int end_content(struct fs_fcgi_rec *p, bool empty, int act,
                       struct fs_fcgi_ev *ev)
{
	switch (act) {
	case ACT_BEGIN:
		return end_begin(p, ev);
	case ACT_PARAMS:
		return end_params(p, empty, ev);
	case ACT_STDIN:
		if (!empty)
			return 0;
		p->stdin_done = true;
		ev->type = FS_FCGI_EV_STDIN_END;
		return 1;
	case ACT_STDIN_TAIL:
		if (empty) /* the answered request is over at last */
			p->active = 0;
		return 0;
	case ACT_ABORT:
		ev->type = FS_FCGI_EV_ABORT;
		return 1;
	case ACT_GET_VALUES:
		return end_get_values(p, ev);
	case ACT_UNKNOWN:
		fs_fcgi_rec_header(p->reply, FS_FCGI_UNKNOWN_TYPE, 0, 8);
		memset(p->reply + 8, 0, 8);
		p->reply[8] = p->type;
		return reply(ev, p->reply, 16);
	default:
		return 0;
	}
}

/* ---- content -------------------------------------------------------- */

/* Take up to len content bytes; 1 with an event for stdin data. */
static int take_content(struct fs_fcgi_rec *p, int act, const unsigned char *b,
                        size_t len, size_t *k, struct fs_fcgi_ev *ev)
{
	size_t n = len < p->left ? len : p->left, keep;

	*k = n;
	p->left -= (uint32_t)n;
	switch (act) {
	case ACT_BEGIN:
		memcpy(p->begin + p->begin_have, b, n); /* left was 8 */
		p->begin_have += (unsigned)n;
		return 0;
	case ACT_PARAMS: /* fits: checked in start_params */
		memcpy(p->params + p->params_len, b, n);
		p->params_len += n;
		return 0;
	case ACT_GET_VALUES:
		keep = FS_FCGI_MGMT_MAX - p->mgmt_len;
		keep = n < keep ? n : keep;
		memcpy(p->mgmt + p->mgmt_len, b, keep);
		p->mgmt_len += keep;
		return 0;
	case ACT_STDIN:
		ev->type = FS_FCGI_EV_STDIN;
		ev->data = b;
		ev->len = n;
		return 1;
	default:
		return 0;
	}
}

int fs_fcgi_rec_next(struct fs_fcgi_rec *p, const unsigned char *buf,
                     size_t len, size_t *used, struct fs_fcgi_ev *ev)
{
	size_t pos = 0, k;
	int r = 0;

	while (r == 0) {
		if (p->hdr_have < FS_FCGI_HEADER_LEN) {
			if (pos == len)
				break;
			k = FS_FCGI_HEADER_LEN - p->hdr_have;
			k = k < len - pos ? k : len - pos;
			memcpy(p->hdr + p->hdr_have, buf + pos, k);
			p->hdr_have += (unsigned)k;
			pos += k;
			if (p->hdr_have < FS_FCGI_HEADER_LEN)
				break;
			r = start_record(p);
			if (r < 0)
				break;
			p->act = (uint8_t)r;
			r = p->left ? 0 : end_content(p, true, p->act, ev);
		} else if (p->left) {
			if (pos == len)
				break;
			r = take_content(p, p->act, buf + pos, len - pos, &k,
			                 ev);
			pos += k;
			if (r == 0 && p->left == 0)
				r = end_content(p, false, p->act, ev);
		} else if (p->pad) {
			if (pos == len)
				break;
			k = p->pad < len - pos ? p->pad : len - pos;
			p->pad -= (uint32_t)k;
			pos += k;
		}
		if (r >= 0 && p->hdr_have == FS_FCGI_HEADER_LEN && !p->left &&
		    !p->pad)
			p->hdr_have = 0; /* the record is done */
	}
	*used = pos;
	return r;
}

void fs_fcgi_rec_finish(struct fs_fcgi_rec *p)
{
	if (p->stdin_done)
		p->active = 0;
	else
		p->finished = true;
}

bool fs_fcgi_rec_busy(const struct fs_fcgi_rec *p)
{
	if (p->active && !p->finished)
		return true;
	if (p->hdr_have == 0)
		return false;
	if (p->hdr_have < FS_FCGI_HEADER_LEN)
		return true;
	return p->act == ACT_BEGIN || p->act == ACT_GET_VALUES ||
	       p->act == ACT_UNKNOWN;
}
