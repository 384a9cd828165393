/* Log escaping: a log line is one line, and reads as what was logged.
 * The UTF-8 check is written here rather than taken from a library: no
 * Debian library this project already uses offers one (libunistring and
 * GLib would come in for a dozen lines), and mbrtowc() depends on the
 * process's locale. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "escape.h"

/* Code points that are well-formed but change how a line reads: C1
 * controls (U+009B is CSI to some terminals), U+2028/9 (line breaks to
 * some viewers), and the bidirectional embeddings, overrides and
 * isolates. */
static bool invisible(uint32_t cp)
{
	return cp < 0xa0 || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The length of the printable UTF-8 sequence at s (n bytes left), or 0
 * for a byte to escape: a stray continuation byte, an overlong form, a
 * surrogate, a code point over U+10FFFF, a cut sequence, or one of the
 * invisible code points. */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
	static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = s[0] & (0x7fu >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < least[len] || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp > 0x10ffff || invisible(cp))
		return 0;
	return len;
}

size_t fs_escape(char *dst, size_t dstlen, const char *src, size_t len,
                 const char *extra)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, n = 0, ok;

	if (dstlen == 0)
		return 0;
	while (i < len) {
		unsigned char c = s[i];

		if (c >= 0x80)
			ok = utf8_printable(s + i, len - i);
		else
			ok = c >= 0x20 && c != 0x7f && !strchr(extra, c);
		if (ok == 0) {
			if (dstlen - n < 5)
				break;
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hex[c >> 4];
			dst[n++] = hex[c & 15];
			i++;
			continue;
		}
		if (dstlen - n < ok + 1)
			break;
		memcpy(dst + n, s + i, ok);
		n += ok;
		i += ok;
	}
	dst[n] = 0;
	return n;
}
