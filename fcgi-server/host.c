/* Host header normalisation: the one place a client's Host becomes a key. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "host.h"

#define LABEL_MAX 63

/* The port after the host: empty (RFC 3986 allows it) or 0..65535. */
static int check_port(const char *p, size_t len)
{
	unsigned long port = 0;
	size_t i;

	if (len > 5)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		port = port * 10 + (unsigned long)(p[i] - '0');
	}
	return port > 65535 ? -EINVAL : 0;
}

/* "[v6]" or "[v6]:port" -> "[canonical v6]". */
static int normalize_ipv6(const char *in, size_t len, char *out, size_t outsize)
{
	char addr[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN];
	const char *end = memchr(in, ']', len);
	struct in6_addr a;
	size_t alen, tlen;

	if (!end)
		return -EINVAL;
	alen = (size_t)(end - in) - 1;
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	if (end + 1 < in + len &&
	    (end[1] != ':' ||
	     check_port(end + 2, (size_t)(in + len - end - 2))))
		return -EINVAL;
	memcpy(addr, in + 1, alen);
	addr[alen] = '\0';
	/* inet_pton stops at NUL: reject one hidden in the brackets. */
	if (strlen(addr) != alen || inet_pton(AF_INET6, addr, &a) != 1 ||
	    !inet_ntop(AF_INET6, &a, text, sizeof(text)))
		return -EINVAL;
	tlen = strlen(text);
	if (tlen + 3 > outsize)
		return -ENAMETOOLONG;
	out[0] = '[';
	memcpy(out + 1, text, tlen);
	out[tlen + 1] = ']';
	out[tlen + 2] = '\0';
	return (int)tlen + 2;
}

/* Lower-case a name and check its characters and labels. */
static int normalize_name(const char *in, size_t len, char *out)
{
	size_t i, label = 0;

	for (i = 0; i < len; i++) {
		char ch = in[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (ch == '.') {
			if (label == 0)
				return -EINVAL;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') ||
		           (ch >= '0' && ch <= '9') || ch == '-') {
			if (++label > LABEL_MAX)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
		out[i] = ch;
	}
	if (label == 0)
		return -EINVAL;
	out[len] = '\0';
	return (int)len;
}

int fs_host_normalize(const char *in, size_t len, char *out, size_t outsize)
{
	const char *colon;
	size_t hlen;

	if (len == 0)
		return -EINVAL;
	if (in[0] == '[')
		return normalize_ipv6(in, len, out, outsize);
	colon = memchr(in, ':', len);
	hlen = colon ? (size_t)(colon - in) : len;
	if (colon && check_port(colon + 1, len - hlen - 1))
		return -EINVAL;
	if (hlen > 0 && in[hlen - 1] == '.')
		hlen--;
	if (hlen == 0 || hlen > FS_HOST_MAX)
		return -EINVAL;
	if (hlen + 1 > outsize)
		return -ENAMETOOLONG;
	return normalize_name(in, hlen, out);
}
