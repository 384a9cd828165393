/* fs_parse: the syntax of config values (times, sizes, booleans, listen). */
#ifndef FS_VALUES_H
#define FS_VALUES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* A unit suffix and what it multiplies by. */
struct fs_parse_unit {
	const char *suffix;
	uint64_t mult;
};

/*
 * The time units (to ns: s, ms, us, ns, "" for seconds) and the size units
 * (to bytes: G, M, K, ""), largest first, so that the first unit dividing a
 * value gives its shortest exact form; each ends with a NULL suffix.
 */
extern const struct fs_parse_unit fs_parse_time_units[];
extern const struct fs_parse_unit fs_parse_size_units[];

/*
 * Parse "digits[.digits]" followed by one suffix from units (any case); the
 * result must come to a whole number.  0, -EINVAL, or -ERANGE.
 */
int fs_parse_units(const char *s, const struct fs_parse_unit *units,
                   uint64_t *out);

/* Parse a plain decimal whole number, digits only.  0, -EINVAL, or -ERANGE. */
int fs_parse_uint(const char *s, uint64_t *v);

/*
 * Parse a time: seconds with an optional unit, "0.3", "300ms", "1.5s",
 * "250us", "10ns".  Stores nanoseconds.  0, -EINVAL, or -ERANGE.
 */
int fs_parse_time(const char *s, uint64_t *ns);

/*
 * Parse a size: bytes with an optional binary K, M or G, "1024", "64M",
 * "1.5M" (must come to whole bytes).  0, -EINVAL, or -ERANGE.
 */
int fs_parse_size(const char *s, uint64_t *bytes);

/* Parse yes/no, on/off, true/false, 1/0 (any case).  0 or -EINVAL. */
int fs_parse_bool(const char *s, bool *b);

/*
 * Parse a listen address: a unix socket path (starting with '/', or
 * without ':' and not all digits), "1.2.3.4:port" or "[v6]:port" with
 * port 1..65535.
 * Fills sa (sockaddr_un/_in/_in6) and its length.  0 or -EINVAL.
 */
int fs_parse_listen(const char *s, struct sockaddr_storage *sa,
                    socklen_t *salen);

#endif
