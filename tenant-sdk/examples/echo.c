/* Echoes the request back as JSON: method, URI, query, headers and body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm-fpm.h"

#define MAX_HEADERS 24

/* A growing output buffer; after a failed allocation it stays failed. */
struct out {
	char *p;
	size_t len, cap;
	int failed;
};

static void put(struct out *o, const void *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *p;

		while (cap < o->len + n)
			cap *= 2;
		p = realloc(o->p, cap);
		if (p == NULL) {
			o->failed = 1;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_raw(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	if (c == 0xed)
		hi = 0x9f; /* surrogates */
	if (c == 0xf0)
		lo = 0x90; /* overlong */
	if (c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* A JSON string.  Valid UTF-8 passes through; each byte of invalid UTF-8
 * becomes \u00XX (read as Latin-1), so the output is always valid JSON. */
static void put_json(struct out *o, const void *data, size_t n)
{
	const unsigned char *s = data;
	char esc[8];
	size_t i = 0;

	put(o, "\"", 1);
	while (i < n) {
		size_t len = utf8_len(s + i, n - i);

		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)s[i];
			put(o, esc, 2);
		} else if (s[i] == '\n') {
			put(o, "\\n", 2);
		} else if (s[i] == '\r') {
			put(o, "\\r", 2);
		} else if (s[i] == '\t') {
			put(o, "\\t", 2);
		} else if (s[i] < 0x20 || len == 0) {
			snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
			put(o, esc, 6);
		} else {
			put(o, s + i, len);
			i += len;
			continue;
		}
		i++;
	}
	put(o, "\"", 1);
}

static void put_json_str(struct out *o, const char *s)
{
	put_json(o, s, strlen(s));
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copies the query value at s (up to '&') percent-decoded and lower-cased
 * into dst (size cap). */
static void decode_name(char *dst, size_t cap, const char *s)
{
	size_t n = 0;

	while (*s && *s != '&' && n + 1 < cap) {
		char c = *s++;

		if (c == '%' && hex(s[0]) >= 0 && hex(s[1]) >= 0) {
			c = (char)(hex(s[0]) << 4 | hex(s[1]));
			s += 2;
		}
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		dst[n++] = c;
	}
	dst[n] = 0;
}

static void put_header(struct out *o, const char *name, int first)
{
	const char *v = request_header(name);

	if (!first)
		puts_raw(o, ",");
	put_json_str(o, name);
	puts_raw(o, ":");
	if (v)
		put_json_str(o, v);
	else
		puts_raw(o, "null");
}

void my_backend(const char *url)
{
	char names[MAX_HEADERS][128] = {"host", "user-agent", "content-type"};
	int nnames = 3;
	size_t body_len;
	const void *body = request_body(&body_len);
	const char *q = request_query();
	struct out o = {0};
	char num[32];

	/* ?h=x-foo&h=x-bar: more headers to show, each once. */
	for (const char *p = q; *p; p += strcspn(p, "&"), p += *p == '&') {
		int dup = 0;

		if (strncmp(p, "h=", 2) != 0 || nnames == MAX_HEADERS)
			continue;
		decode_name(names[nnames], sizeof(names[0]), p + 2);
		for (int i = 0; i < nnames; i++)
			dup |= strcmp(names[i], names[nnames]) == 0;
		if (!dup && names[nnames][0])
			nnames++;
	}

	puts_raw(&o, "{\"method\":");
	put_json_str(&o, request_method());
	puts_raw(&o, ",\"uri\":");
	put_json_str(&o, url);
	puts_raw(&o, ",\"query\":");
	put_json_str(&o, q);
	puts_raw(&o, ",\"remote_addr\":");
	put_json_str(&o, request_remote_addr());
	puts_raw(&o, ",\"headers\":{");
	for (int i = 0; i < nnames; i++)
		put_header(&o, names[i], i == 0);
	puts_raw(&o, "},\"body\":");
	put_json(&o, body, body_len);
	snprintf(num, sizeof(num), ",\"body_length\":%zu}\n", body_len);
	puts_raw(&o, num);

	response_header("Cache-Control", "no-store");
	if (o.failed)
		backend_response_str(500, "text/plain", "out of memory\n");
	backend_response(200, "application/json", o.p, o.len);
}

int main(void)
{
	return 0;
}
