/* glibc C with Debian's static zlib and jansson (kvm-fpm-cc --libc=glibc):
 * "zlib=ok json={...}\n" when both work. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "kvm-fpm.h"

static const char text[] = "kvm-fpm kvm-fpm kvm-fpm kvm-fpm kvm-fpm";

static const char *zlib_roundtrip(void)
{
	unsigned char packed[256], back[256];
	uLongf plen = sizeof(packed), blen = sizeof(back);

	if (compress2(packed, &plen, (const Bytef *)text, sizeof(text), 9) !=
	        Z_OK ||
	    plen >= sizeof(text))
		return "compress failed";
	if (uncompress(back, &blen, packed, plen) != Z_OK ||
	    blen != sizeof(text) || memcmp(back, text, blen) != 0)
		return "uncompress failed";
	return "ok";
}

void my_backend(const char *url)
{
	json_t *j =
	    json_pack("{s:s, s:i, s:[b, n]}", "url", url, "n", 42, "l", 1);
	char *json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS), body[256];

	snprintf(body, sizeof(body), "zlib=%s json=%s\n", zlib_roundtrip(),
	         json ? json : "(null)");
	backend_response_str(200, "text/plain", body);
}

int main(void)
{
	return 0;
}
