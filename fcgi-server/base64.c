/* RFC 4648 base64, written here: neither libcurl nor jansson offers it,
 * and OpenSSL for 40 lines is not worth a dependency. */
#include <errno.h>
#include <string.h>

#include "base64.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void fs_base64_encode(const void *src, size_t len, char *dst)
{
	const unsigned char *s = src;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*dst++ = b64[s[i] >> 2];
		*dst++ = b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		*dst++ = b64[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
		*dst++ = b64[s[i + 2] & 63];
	}
	if (i < len) {
		unsigned v = (unsigned)s[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)s[i + 1] << 8;
		*dst++ = b64[v >> 18];
		*dst++ = b64[(v >> 12) & 63];
		*dst++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*dst++ = '=';
	}
	*dst = 0;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

long fs_base64_decode(const char *src, size_t len, void *dst)
{
	unsigned char *d = dst;
	unsigned acc = 0;
	int bits = 0;
	size_t i;

	if (len % 4)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		int v = b64_value(src[i]);

		if (src[i] == '=') {
			/* Padding: one or two, only at the very end. */
			size_t pad = len - i;

			if (pad > 2 || i % 4 < 2 ||
			    (pad == 2 && src[i + 1] != '='))
				return -EINVAL;
			break;
		}
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*d++ = (unsigned char)(acc >> bits);
		}
	}
	return (long)(d - (unsigned char *)dst);
}
