/* libFuzzer harness: client Host values through fs_host_normalize, the
 * one place a Host header becomes a tenant key. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

/* What routing relies on: a name of [a-z0-9.-] in 1..63-byte labels, or
 * a bracketed IPv6 literal; normalising it again changes nothing. */
static void check_key(const char *key, int n)
{
	char again[FS_HOST_MAX + 1];
	int i;

	assert(n > 0 && n <= FS_HOST_MAX && (size_t)n == strlen(key));
	if (key[0] == '[') {
		assert(key[n - 1] == ']');
	} else {
		for (i = 0; i < n; i++)
			assert((key[i] >= 'a' && key[i] <= 'z') ||
			       (key[i] >= '0' && key[i] <= '9') ||
			       key[i] == '-' || key[i] == '.');
		assert(key[0] != '.' && key[n - 1] != '.' &&
		       !strstr(key, ".."));
	}
	assert(fs_host_normalize(key, (size_t)n, again, sizeof(again)) == n);
	assert(!memcmp(again, key, (size_t)n + 1));
}

/*
 * The first byte picks the output size (to reach -ENAMETOOLONG with an
 * exactly sized buffer ASan watches); the rest is the Host value, in an
 * exactly sized copy.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t outsize, len;
	char *in, *out;
	int n;

	if (size == 0)
		return 0;
	outsize = data[0] < 128 ? FS_HOST_MAX + 1 : (size_t)(data[0] - 127);
	len = size - 1;
	in = malloc(len ? len : 1);
	out = malloc(outsize);
	assert(in && out);
	memcpy(in, data + 1, len);
	n = fs_host_normalize(in, len, out, outsize);
	if (n >= 0) {
		assert((size_t)n < outsize);
		check_key(out, n);
	} else {
		assert(n == -EINVAL || n == -ENAMETOOLONG);
	}
	free(in);
	free(out);
	return 0;
}
