/* fs_parse_*: the syntax of config values (times, sizes, booleans, listen). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "values.h"

#define NS_PER_S      1000000000ULL
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Largest first, so printing picks the shortest exact form. */
const struct fs_parse_unit fs_parse_time_units[] = {
    {"s", NS_PER_S}, {"ms", 1000000}, {"us", 1000},
    {"ns", 1},       {"", NS_PER_S},  {NULL, 0},
};
const struct fs_parse_unit fs_parse_size_units[] = {
    {"G", 1ULL << 30}, {"M", 1ULL << 20}, {"K", 1ULL << 10}, {"", 1}, {NULL, 0},
};

/* "digits[.digits]" times unit; it must come to a whole number. */
static int parse_scaled(const char *s, size_t n, uint64_t unit, uint64_t *out)
{
	uint64_t ip = 0, fp = 0, scale = 1;
	unsigned __int128 frac;
	size_t i = 0;

	if (n == 0 || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (ip > (UINT64_MAX - d) / 10)
			return -ERANGE;
		ip = ip * 10 + d;
	}
	if (i < n && (s[i++] != '.' || i == n))
		return -EINVAL;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || scale >= 1000000000000000000ULL)
			return -EINVAL;
		fp = fp * 10 + (uint64_t)(s[i] - '0');
		scale *= 10;
	}
	frac = (unsigned __int128)fp * unit;
	if (frac % scale)
		return -EINVAL;
	if (ip > UINT64_MAX / unit ||
	    ip * unit > UINT64_MAX - (uint64_t)(frac / scale))
		return -ERANGE;
	*out = ip * unit + (uint64_t)(frac / scale);
	return 0;
}

int fs_parse_units(const char *s, const struct fs_parse_unit *u, uint64_t *out)
{
	size_t n = strspn(s, "0123456789.");

	for (; u->suffix; u++)
		if (!strcasecmp(s + n, u->suffix))
			return parse_scaled(s, n, u->mult, out);
	return -EINVAL;
}

int fs_parse_time(const char *s, uint64_t *ns)
{
	return fs_parse_units(s, fs_parse_time_units, ns);
}

int fs_parse_size(const char *s, uint64_t *bytes)
{
	return fs_parse_units(s, fs_parse_size_units, bytes);
}

int fs_parse_bool(const char *s, bool *b)
{
	static const struct {
		const char *word;
		bool val;
	} words[] = {
	    {"yes", true},  {"no", false},    {"on", true}, {"off", false},
	    {"true", true}, {"false", false}, {"1", true},  {"0", false},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(words); i++) {
		if (!strcasecmp(s, words[i].word)) {
			*b = words[i].val;
			return 0;
		}
	}
	return -EINVAL;
}

int fs_parse_uint(const char *s, uint64_t *v)
{
	if (!*s || s[strspn(s, "0123456789")])
		return -EINVAL;
	return parse_scaled(s, strlen(s), 1, v);
}

static int parse_inet(const char *s, const char *colon,
                      struct sockaddr_storage *sa, socklen_t *salen)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
	struct sockaddr_in *in4 = (struct sockaddr_in *)sa;
	char host[INET6_ADDRSTRLEN + 2];
	size_t hlen = (size_t)(colon - s);
	uint64_t port;

	if (fs_parse_uint(colon + 1, &port) || port == 0 || port > 65535 ||
	    hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (hlen > 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
			return -EINVAL;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*salen = sizeof(*in6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
		return -EINVAL;
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t)port);
	*salen = sizeof(*in4);
	return 0;
}

int fs_parse_listen(const char *s, struct sockaddr_storage *sa,
                    socklen_t *salen)
{
	struct sockaddr_un *un = (struct sockaddr_un *)sa;
	const char *colon = strrchr(s, ':');
	size_t n = strlen(s);

	memset(sa, 0, sizeof(*sa));
	if (s[0] != '/' && colon)
		return parse_inet(s, colon, sa, salen);
	/* A bare port would silently become a socket file named "9000". */
	if (n == 0 || n >= sizeof(un->sun_path) || !s[strspn(s, "0123456789")])
		return -EINVAL;
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, s, n + 1);
	*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}
