/* fs_host: normalise HTTP Host header values for tenant routing. */
#ifndef FS_HOST_H
#define FS_HOST_H

#include <stddef.h>

/* Longest normalised host name (RFC 1035), not counting the NUL. */
#define FS_HOST_MAX 253

/*
 * Normalise the Host value in[0..len) into out (NUL-terminated): drop the
 * port, lower-case, drop one trailing dot; a bracketed IPv6 literal is
 * rewritten in its canonical form ("[0:0::1]:80" -> "[::1]").  Names may
 * hold only [a-z0-9.-] with 1..63-byte labels and 253 bytes in all.
 * Returns the length written, -EINVAL for a malformed host or port, or
 * -ENAMETOOLONG when out is too small.
 */
int fs_host_normalize(const char *in, size_t len, char *out, size_t outsize);

#endif
