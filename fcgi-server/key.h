/* Tenant keys (live update, X-Debug), compared in constant time. */
#ifndef FS_KEY_H
#define FS_KEY_H

#include <stdbool.h>
#include <string.h>

/* Whether the key a client sent equals want, in time that depends on the
 * lengths only.  false when want is NULL or empty (no key configured). */
static inline bool fs_key_equal(const char *want, const char *got)
{
	size_t wl, gl, i;
	unsigned char diff;

	if (want == NULL || got == NULL || want[0] == 0)
		return false;
	wl = strlen(want);
	gl = strlen(got);
	diff = wl != gl;
	/* Every byte of got is looked at whatever matched before. */
	for (i = 0; i < gl; i++)
		diff |= (unsigned char)(got[i] ^ want[i % wl]);
	return diff == 0;
}

#endif
